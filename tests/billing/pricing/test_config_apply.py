"""`python main.py config apply FILE.toml`: validate everything, apply all or nothing, print
what changed, idempotent, dry run."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from billing.pricing import PriceChange, PricingPlan
from billing.tenants.repository import TenantRepository
from ledger.repository import LedgerRepository
from main import app
from tests.billing.pricing.helpers import PARTNER_FILE

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def write(tmp_path: Path, text: str, name: str = "partner.toml") -> Path:
    path = tmp_path / name
    path.write_text(text.format(partner="acme"), encoding="utf-8")
    return path


def test_apply_creates_everything_then_a_second_apply_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, PARTNER_FILE)
    out = run("config", "apply", str(path))
    assert "partner acme: created" in out
    assert "chart of accounts USD: created" in out
    assert "usage type agents: created" in out
    assert "plan pro: created (in force from the beginning)" in out
    assert "prices.voice: graduated: up to 100 at 0.15, up to 500 at 0.12, above at 0.09" in out
    assert "client gamma: created" in out
    assert "plan_override.name: Gamma special" in out
    assert "11 created, 0 updated, 0 unchanged: applied" in out
    with Session(engine) as session:
        tenants = TenantRepository(session)
        assert [c.id for c in tenants.clients("acme")] == ["alpha", "beta", "gamma"]
        assert tenants.usage_type("acme", "agents").aggregation_property == "agent_id"  # type: ignore[union-attr]
        assert str(tenants.usage_type("acme", "voice").wholesale_rate) == "0.05"  # type: ignore[union-attr]
        assert tenants.partner("acme").settings["margin_alert_percent"] == "30"  # type: ignore[union-attr]
        assert session.get(PricingPlan, ("acme", "client:gamma")) is not None
        assert LedgerRepository(session).accounts("acme", "USD")
        sources = set(session.scalars(select(PriceChange.reference).distinct()))
        assert sources == {str(path)}
    second = run("config", "apply", str(path))
    assert "no changes (10 objects unchanged)" in second
    assert "plan pro: unchanged" in second


def test_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    out = run("config", "apply", str(write(tmp_path, PARTNER_FILE)), "--dry-run")
    assert "(dry run: nothing was written)" in out and ": would be applied" in out
    with Session(engine) as session:
        assert TenantRepository(session).partner("acme") is None
        assert session.scalars(select(PriceChange)).first() is None


def test_an_update_prints_each_field_before_and_after(engine: Engine, tmp_path: Path) -> None:
    run("config", "apply", str(write(tmp_path, PARTNER_FILE)))
    changed = (
        PARTNER_FILE.replace('base_fee = "49.00"', 'base_fee = "55.00"')
        .replace('name = "Beta"', 'name = "Beta Ltd"')
        .replace('unit_price = "0.0079"', 'unit_price = "0.008"')
    )
    out = run("config", "apply", str(write(tmp_path, changed, "v2.toml")))
    assert "      base_fee: 49 -> 55" in out
    assert "client beta: updated" in out and "name: Beta -> Beta Ltd" in out
    assert "wholesale: per_unit: 0.0079 -> per_unit: 0.008 (in force from" in out
    assert "wholesale (per event): 0.0079 -> 0.008" in out
    assert "0 created, 3 updated, 7 unchanged: applied" in out
    with Session(engine) as session:
        rows = session.scalars(
            select(PriceChange).where(
                col(PriceChange.object_type) == "plan", col(PriceChange.object_key) == "pro"
            )
        ).all()
        assert [
            (r.action, (r.before or {}).get("base_fee"), (r.after or {}).get("base_fee"))
            for r in rows
        ] == [
            ("created", None, "49.00"),
            ("updated", "49.00", "55.00"),
        ]


def test_file_problems_are_all_printed_and_nothing_is_applied(
    engine: Engine, tmp_path: Path
) -> None:
    broken = (
        PARTNER_FILE.replace('unit_price = "0.0079"', "unit_price = 0.0079")
        .replace('base_fee = "49.00"', 'base_fee = "49.001"')
        .replace(
            'tiers = [ {{ up_to = 100, unit_price = "0.15" }}, {{ up_to = 500',
            'tiers = [ {{ up_to = 100, unit_price = "0.15" }}, {{ up_to = 50',
        )
        .replace('plan = "pro"\ntimezone', 'plan = "premium"\ntimezone')
    )
    result = runner.invoke(app, ["config", "apply", str(write(tmp_path, broken))])
    assert result.exit_code == 2
    for path in (
        "usage_types.sms.wholesale.unit_price: must be written as a string",
        "plans.pro.base_fee: 49.001 has more than 2 decimal places, the minor unit of USD",
        "plans.pro.prices.voice.tiers[1].up_to: must be greater than tiers[0].up_to",
        "clients.alpha.plan: unknown plan 'premium'",
    ):
        assert path in result.output, result.output
    assert "4 problems in the partner file" in result.output
    with Session(engine) as session:
        assert TenantRepository(session).partner("acme") is None


def test_database_problems_are_all_printed_and_nothing_is_applied(
    engine: Engine, tmp_path: Path
) -> None:
    run("config", "apply", str(write(tmp_path, PARTNER_FILE)))
    broken = (
        PARTNER_FILE.replace('currency = "USD"', 'currency = "EUR"')
        .replace(
            "[usage_types.sms]",
            '[usage_types.sms-2]\nname = "x"\nwholesale = {{ model = "per_unit", unit_price = "0" }}\n\n[usage_types.sms]',
        )
        .replace("invoice_prefix", "invoice_prefix")
    )
    result = runner.invoke(app, ["config", "apply", str(write(tmp_path, broken, "v2.toml"))])
    assert result.exit_code == 2, result.output
    assert "partner.currency: cannot change from USD to EUR" in result.output
    assert "usage_types.sms-2: use 1-64 lowercase letters, digits or '_'" in result.output
    for client in ("alpha", "beta"):
        assert f"clients.{client}.plan: the client is billed in USD" in result.output
    with Session(engine) as session:
        assert TenantRepository(session).usage_type("acme", "sms-2") is None
        assert TenantRepository(session).partner("acme").currency == "USD"  # type: ignore[union-attr]


def test_a_backdated_change_is_refused_with_its_key_path(engine: Engine, tmp_path: Path) -> None:
    run("config", "apply", str(write(tmp_path, PARTNER_FILE)))
    backdated = PARTNER_FILE.replace(
        '[clients.beta.prices.sms]\nmodel = "per_unit"\nunit_price = "0.011"',
        '[clients.beta.prices.sms]\nmodel = "per_unit"\nunit_price = "0.012"\neffective_from = 2001-01-01',
    )
    result = runner.invoke(app, ["config", "apply", str(write(tmp_path, backdated, "v2.toml"))])
    assert result.exit_code == 2
    assert (
        "clients.beta.prices.sms.effective_from: 2001-01-01 is before the current period"
        in result.output
    )
    forced = run("config", "apply", str(write(tmp_path, backdated, "v2.toml")), "--force")
    assert "client beta: updated (in force from 2001-01-01)" in forced
    assert "      prices.sms: per_unit: 0.011 -> per_unit: 0.012\n" in forced


def test_unreadable_file(engine: Engine, tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "apply", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "cannot read the file" in result.output
