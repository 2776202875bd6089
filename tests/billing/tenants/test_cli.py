"""`partners`, `clients`, `usage-types` and `apikeys` from the command line."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from billing.tenants import AuthenticationError, Scope, authenticate
from main import app

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_set_up_a_partner_from_the_shell(engine: Engine) -> None:
    out = run(
        "partners",
        "create",
        "--id",
        "acme",
        "--name",
        "Acme Agency",
        "--currency",
        "GBP",
        "--timezone",
        "Europe/London",
        "--late-event-days",
        "30",
    )
    assert "created partner acme" in out
    run(
        "clients",
        "create",
        "-p",
        "acme",
        "--id",
        "bistro",
        "--name",
        "Bistro",
        "--email",
        "billing@bistro.example",
        "--country",
        "GB",
        "--anchor-day",
        "15",
    )
    run(
        "clients",
        "create",
        "-p",
        "acme",
        "--id",
        "cafe",
        "--name",
        "Cafe",
        "--timezone",
        "America/New_York",
        "--currency",
        "USD",
    )
    run("clients", "update", "-p", "acme", "--id", "cafe", "--status", "suspended")
    run(
        "usage-types",
        "create",
        "-p",
        "acme",
        "--code",
        "voice_minutes",
        "--name",
        "Voice",
        "--unit",
        "minute",
        "--precision",
        "2",
        "--wholesale-rate",
        "0.013",
    )

    [partner] = json.loads(run("partners", "list", "--json"))
    assert (partner["id"], partner["currency"], partner["settings"]["late_event_days"]) == (
        "acme",
        "GBP",
        30,
    )
    clients = {c["id"]: c for c in json.loads(run("clients", "list", "-p", "acme", "--json"))}
    assert clients["bistro"]["address"] == {"country": "GB"}
    assert (clients["bistro"]["currency"], clients["bistro"]["billing_anchor_day"]) == ("GBP", 15)
    assert (clients["cafe"]["status"], clients["cafe"]["timezone"]) == (
        "suspended",
        "America/New_York",
    )
    suspended = run("clients", "list", "-p", "acme", "--status", "suspended")
    assert "cafe" in suspended and "bistro" not in suspended
    [voice] = json.loads(run("usage-types", "list", "-p", "acme", "--json"))
    assert (voice["code"], voice["precision"], voice["wholesale_rate"]) == (
        "voice_minutes",
        2,
        "0.013",
    )


def test_errors_are_one_clear_line(engine: Engine) -> None:
    out = run("partners", "create", "--id", "Bad Id", "--name", "X", code=1)
    assert "error: id:" in out
    out = run("clients", "create", "-p", "nobody", "--id", "c", "--name", "C", code=1)
    assert "partner 'nobody' not found" in out
    out = run(
        "usage-types",
        "create",
        "-p",
        "x",
        "--code",
        "a",
        "--name",
        "A",
        "--unit",
        "u",
        "--wholesale-rate",
        "cheap",
        code=1,
    )
    assert "is not a decimal" in out
    out = run("clients", "update", "-p", "x", "--id", "c", code=1)
    assert "nothing to change" in out


def test_api_key_is_the_last_line_and_can_be_revoked(engine: Engine, session: Session) -> None:
    run("partners", "create", "--id", "acme", "--name", "Acme")
    out = run("apikeys", "create", "--partner", "acme", "--scope", "ingest", "--scope", "admin")
    key = out.strip().splitlines()[-1]
    principal = authenticate(session, key)
    assert principal.partner_id == "acme"
    assert principal.scopes == {Scope.INGEST, Scope.ADMIN}
    listed = run("apikeys", "list", "-p", "acme")
    assert principal.key_prefix in listed and key not in listed
    session.rollback()  # end this session's snapshot: the CLI wrote in its own transaction
    run("apikeys", "revoke", principal.key_prefix)
    with pytest.raises(AuthenticationError):
        authenticate(session, key)
    assert "revoked" in run("apikeys", "list", "-p", "acme")


def test_platform_key(engine: Engine, session: Session) -> None:
    key = run("apikeys", "create", "--platform").strip().splitlines()[-1]
    assert authenticate(session, key).partner_id is None
    out = run("apikeys", "create", code=1)
    assert "exactly one of --partner P or --platform" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["partners", "create", "--id", "evil", "--name", "Evil\r\nBcc: x@y.example"],
            "name: contains a control character (U+000D)",
        ),
        (
            ["partners", "create", "--id", "evil", "--name", "Evil", "--currency", "usd"],
            "write currency codes in capitals",
        ),
        (
            ["clients", "create", "-p", "acme", "--id", "c9", "--name", "Line\nbreak"],
            "name: contains a control character (U+000A)",
        ),
        (
            [
                "clients",
                "create",
                "-p",
                "acme",
                "--id",
                "c9",
                "--name",
                "C9",
                "--email",
                "ap@dental",
            ],
            "'ap@dental' is not a valid e-mail address",
        ),
        (["clients", "update", "-p", "acme", "--id", "bistro", "--city", "Ly\x00on"], "NUL"),
        (["apikeys", "create", "-p", "acme", "--name", "bot\nkey"], "control character"),
    ],
)
def test_the_cli_refuses_what_the_api_and_the_partner_file_refuse(
    engine: Engine, args: list[str], message: str
) -> None:
    run("partners", "create", "--id", "acme", "--name", "Acme")
    run("clients", "create", "-p", "acme", "--id", "bistro", "--name", "Bistro")
    out = run(*args, code=1)
    assert message in out
