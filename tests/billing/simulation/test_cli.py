"""`python main.py prices simulate` against the scoping world's open November."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from billing.pricing.models import PriceChange, PriceVersion
from main import app
from tests.billing.simulation.helpers import row_counts
from tests.billing.simulation.world import NOW, setup

runner = CliRunner()


@pytest.fixture
def world(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr("billing.simulation.cli.utcnow", lambda: NOW)
    with Session(engine) as session:
        setup(session)
    return engine


def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
    result = runner.invoke(app, ["prices", "simulate", "-p", "sim", *args], input=stdin)
    assert result.exit_code == code, result.output
    return result.output


def test_table_and_json(world: Engine) -> None:
    with Session(world) as session:
        counts = row_counts(session)
    price = '{ model = "per_unit", unit_price = "0.12" }'
    text = run("--period", "2026-11", "--plan", "std", "--usage-type", "voice", "--price", price)
    assert text.index("Portfolio") < text.index("By usage type") < text.index("rise most")
    assert "plan std: voice at" in text
    # portfolio: 135.19 -> 135.19 + 2.00 (a) + 5.70 (c: 6.00 less 5 %) = 142.89
    assert "135.19 USD" in text and "142.89 USD" in text and "+7.70 USD" in text
    assert "c " in text and "a " in text
    # usage types by the names people know, the fee row said in words (JSON keeps the codes)
    assert "  Voice minutes\n" in text and "  Base fees, minimum true-ups and discounts" in text
    payload = json.loads(
        run("--period", "2026-11", "--wholesale", "voice=0.09", "--json", "--top", "2")
    )
    assert payload["written"] is False
    [total] = payload["portfolio"]
    assert total["change"]["revenue"] == 0 and total["change"]["cost"] == 4000
    assert [c["key"] for c in payload["crossed_below"]] == ["c", "d"]
    with Session(world) as session:
        assert row_counts(session) == counts


def test_file_proposal(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "proposal.toml"
    path.write_text(
        'periods = ["2026-11"]\n'
        "[[changes]]\n"
        'kind = "plan_fees"\nplan = "pro"\nminimum_spend = "40.00"\n'
        "[[changes]]\n"
        'kind = "client_discount"\nclient = "a"\ndiscount_percent = 10\n',
        encoding="utf-8",
    )
    payload = json.loads(run("--file", str(path), "--json"))
    revenue = {c["key"]: c["after"]["revenue"] for c in payload["clients"]}
    assert revenue == {"a": 1890, "b": 2600, "c": 3819, "d": 4000}


def test_json_file_with_a_period_flag(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "proposal.json"
    change = {
        "kind": "client_price",
        "client": "b",
        "usage_type": "voice",
        "price": {"model": "per_unit", "unit_price": 0.05},
    }
    path.write_text(json.dumps({"changes": [change]}), encoding="utf-8")
    payload = json.loads(run("--file", str(path), "--period", "2026-11", "--json"))
    # b: 10.00 + 200 x 0.05 = 20.00 (was 26.00); nobody else moves
    assert [(m["client"], m["change"]) for m in payload["falls"]] == [("b", -600)]
    assert payload["rises"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--plan", "nope", "--base-fee", "1"), "changes[0].plan: unknown plan 'nope'"),
        (("--plan", "std", "--usage-type", "voice", "--price", '{ model = "per_hour" }'),
         "changes[0].price.model"),
        (("--client", "a", "--discount", "120"), "changes[0].discount_percent"),
        (("--wholesale", "voice"), "--wholesale 'voice': write usage_type=rate"),
        (("--price", "{}"), "--price needs --usage-type"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    world: Engine, args: tuple[str, ...], message: str
) -> None:
    result = runner.invoke(app, ["prices", "simulate", "-p", "sim", "--period", "2026-11", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error")]) == 1


def test_bad_period(world: Engine) -> None:
    assert "periods[0]" in run("--period", "2026-13", code=2)


def test_apply_asks_then_writes(world: Engine) -> None:
    args = ("--period", "2026-11", "--plan", "std", "--base-fee", "12.00", "--apply")
    assert "Nothing applied." in run(*args, code=1, stdin="n\n")
    with Session(world) as session:
        assert not session.exec(select(PriceChange).where(PriceChange.source == "cli")).all()
    text = run(*args, "--yes")
    assert "Apply from each client's next period" in text
    assert "base_fee: 10.00 -> 12.00" in text or "base fee" in text
    with Session(world) as session:
        [log] = session.exec(select(PriceChange).where(PriceChange.source == "cli")).all()
        assert (log.object_key, log.effective_from) == ("std", NOW.date())
        assert not session.exec(
            select(PriceVersion).where(PriceVersion.source == "cli")
        ).all()  # the base fee is the plan's header, not a price
