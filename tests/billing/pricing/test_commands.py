"""`usage current`, `ledger accrue` and `prices show|set|history` from the shell."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from main import app
from tests.billing.pricing.helpers import PARTNER_FILE, event, send

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def _moments_ago() -> datetime:
    """Inside the open period unless the test runs in the first minute of a new one."""
    return datetime.now(UTC) - timedelta(seconds=30)


def _setup(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(PARTNER_FILE.format(partner="acme"), encoding="utf-8")
    run("config", "apply", str(path))
    with Session(engine) as session:
        send(
            session,
            "acme",
            [
                event("v1", "beta", "voice", "150.5", _moments_ago()),
                event("s1", "beta", "sms", "20", _moments_ago()),
            ],
            received_at=datetime.now(UTC),
        )


def test_usage_current_and_accrue(engine: Engine, tmp_path: Path) -> None:
    _setup(engine, tmp_path)
    text = run("usage", "current", "-p", "acme", "-c", "beta")
    assert "beta (acme): Pro, period" in text
    assert "Voice minutes, 101-500" in text
    payload = json.loads(run("usage", "current", "-p", "acme", "-c", "beta", "--json"))
    voice = next(u for u in payload["usage"] if u["usage_type"] == "voice")
    assert voice["quantity"] == "150.5" and voice["charge"] == 1500 + 606
    sms = next(u for u in payload["usage"] if u["usage_type"] == "sms")
    assert sms["charge"] == 22  # beta's own price: 20 x 0.011
    assert payload["total"] == sum(line["amount"] for line in payload["lines"])

    first = run("ledger", "accrue", "-p", "acme")
    assert "1 accrual entry for 1 client;" in first  # voice, sms and base fee legs
    assert "nothing to accrue" in run("ledger", "accrue", "-p", "acme")
    entries = json.loads(run("ledger", "entries", "-p", "acme", "--source", "accrual", "--json"))
    assert {leg["client"] for entry in entries for leg in entry["postings"]} == {"beta"}
    run("usage", "current", "-p", "acme", "-c", "nobody", code=1)


def test_prices_show_set_and_history(engine: Engine, tmp_path: Path) -> None:
    _setup(engine, tmp_path)
    shown = json.loads(run("prices", "show", "-p", "acme", "-c", "beta", "--json"))
    assert shown["price_sources"]["sms"] == "client" and shown["plan"] == "Pro"
    body = json.dumps({"discount_percent": "7"})
    out = run("prices", "set", "-p", "acme", "-c", "beta", "--json-body", body)
    assert "beta: updated" in out and "discount_percent: 0 -> 7" in out
    assert "beta: no changes" in run(
        "prices", "set", "-p", "acme", "-c", "beta", "--json-body", body
    )
    bad = runner.invoke(
        app,
        [
            "prices",
            "set",
            "-p",
            "acme",
            "-c",
            "beta",
            "--json-body",
            json.dumps({"prices": {"sms": {"model": "per_unit", "unit_price": "-1"}}}),
        ],
    )
    assert bad.exit_code == 2 and "prices.sms.unit_price: must not be negative" in bad.output
    history = run("prices", "history", "-p", "acme", "--key", "beta")
    assert "cli  client_terms beta updated from" in history
    logged = json.loads(run("prices", "history", "-p", "acme", "--json", "--limit", "500"))
    assert {item["source"] for item in logged} == {"file", "cli"}


def test_clients_create_on_a_plan(engine: Engine, tmp_path: Path) -> None:
    """`clients create --plan`: the client and its plan from its first period, recorded as the
    CLI's change; a plan that does not exist keeps no client."""
    from billing.pricing.book import client_period, local_today
    from billing.pricing.models import ChangeSource, PriceChange
    from billing.pricing.service import pricing_for
    from billing.tenants.models import Client

    _setup(engine, tmp_path)
    out = run(
        "clients", "create", "-p", "acme", "--id", "delta", "--name", "Delta", "--plan", "pro"
    )
    assert "created client delta of acme" in out and "plan pro" in out
    with Session(engine) as session:
        client = session.get(Client, ("acme", "delta"))
        assert client is not None
        period = client_period(1, local_today(client.timezone, datetime.now(UTC)))
        assert pricing_for(session, "acme", "delta", period).plan.name == "Pro"
        logged = session.exec(
            select(PriceChange).where(
                PriceChange.partner_id == "acme", PriceChange.object_key == "delta"
            )
        ).all()
        assert logged and {c.source for c in logged} == {ChangeSource.CLI}
    refused = runner.invoke(
        app, ["clients", "create", "-p", "acme", "--id", "echo", "--name", "E", "--plan", "gold"]
    )
    assert refused.exit_code == 2 and "gold" in refused.output
    with Session(engine) as session:
        assert session.get(Client, ("acme", "echo")) is None
