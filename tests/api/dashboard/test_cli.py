"""`python main.py users create|list|disable`."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from api.dashboard.users import authenticate
from main import app
from tests.billing.factories import make_partner

runner = CliRunner()


def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return result.output


def test_create_users_from_the_shell(engine: Engine, session: Session) -> None:
    make_partner(session, "acme")
    out = run(
        "users",
        "create",
        "--email",
        "Op@Rebill.example",
        "--role",
        "operator",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert "created operator user op@rebill.example" in out
    out = run(
        "users",
        "create",
        "--email",
        "ann@acme.example",
        "--role",
        "partner",
        "--partner",
        "acme",
        stdin="prompted password\nprompted password\n",
    )
    assert "for partner acme" in out
    assert authenticate(session, "ann@acme.example", "prompted password") is not None
    assert authenticate(session, "op@rebill.example", "a long enough password") is not None
    assert "ann@acme.example  partner  acme" in run("users", "list")
    run("users", "disable", "ann@acme.example")
    session.rollback()
    assert authenticate(session, "ann@acme.example", "prompted password") is None


def test_bad_input_names_the_field(engine: Engine, session: Session) -> None:
    make_partner(session, "acme")
    for args, message in (
        (("--email", "nope", "--role", "operator"), "email:"),
        (("--email", "a@b.example", "--role", "partner"), "partner: a partner user needs"),
        (("--email", "a@b.example", "--role", "partner", "--partner", "zzz"), "no partner 'zzz'"),
        (("--email", "a@b.example", "--role", "operator", "--partner", "acme"), "partner:"),
    ):
        out = run(
            "users", "create", *args, "--password-stdin", code=2, stdin="a long enough password\n"
        )
        assert message in out
    out = run(
        "users",
        "create",
        "--email",
        "a@b.example",
        "--role",
        "operator",
        "--password-stdin",
        code=2,
        stdin="short\n",
    )
    assert "password: must be at least 10 characters" in out
    run(
        "users",
        "create",
        "--email",
        "a@b.example",
        "--role",
        "operator",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    out = run(
        "users",
        "create",
        "--email",
        "A@B.example",
        "--role",
        "operator",
        "--password-stdin",
        code=2,
        stdin="a long enough password\n",
    )
    assert "already has an account" in out
