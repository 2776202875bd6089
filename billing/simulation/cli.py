"""`python main.py prices simulate`: try a price change against a past period's real usage,
and with `--apply` write it as a change effective from each client's next period.

A proposal is given by flags (one change of each kind per run) or by `--file` (TOML or JSON:
`periods = [...]` and a `[[changes]]` list as `POST /v1/simulations` takes it), or both (the
file's changes first). Bad input is one line per problem, each naming its field, exit 2.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from billing.pricing.errors import InvalidPricingError
from billing.pricing.models import ChangeSource
from billing.pricing.render import change_lines
from billing.simulation.apply import apply_proposal
from billing.simulation.out import simulation_out
from billing.simulation.render import describe_change, simulation_lines
from billing.simulation.schemas import SimulationIn, parse_proposal
from billing.simulation.service import simulate
from billing.tenants.errors import TenantError
from config.cli_helpers import AsJson, echo_json, fail
from config.db import session_scope
from config.db_types import utcnow
from config.partner_file import ConfigProblem

__all__ = ["simulate_command"]

Opt = typer.Option


def _refuse(problems: list[ConfigProblem] | tuple[ConfigProblem, ...]) -> typer.Exit:
    for problem in problems:
        typer.secho(f"error: {problem}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


def _price(text: str, option: str) -> Any:
    """A price as JSON or a TOML inline table (`{ model = "per_unit", unit_price = "0.15" }`),
    numbers kept exact."""
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError:
        pass
    try:
        return tomllib.loads(f"price = {text}", parse_float=Decimal)["price"]
    except tomllib.TOMLDecodeError as exc:
        raise _refuse([ConfigProblem((option,), f"neither JSON nor a TOML table: {exc}")]) from exc


def _file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"--file: cannot read {path}: {exc.strerror}", 2) from exc
    try:
        data = (
            json.loads(text, parse_float=Decimal)
            if path.suffix == ".json"
            else tomllib.loads(text, parse_float=Decimal)
        )
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise fail(f"--file: {path} is not valid {path.suffix[1:] or 'TOML'}: {exc}", 2) from exc
    if not isinstance(data, dict):
        raise fail(f"--file: {path} must hold a table with periods and changes", 2)
    return data


def _flag_changes(
    plan: str | None,
    client: str | None,
    usage_type: str | None,
    price: str | None,
    base_fee: str | None,
    minimum: str | None,
    discount: str | None,
    wholesale: list[str],
) -> list[dict[str, Any]]:
    if plan and client:
        raise fail("give --plan or --client, not both", 2)
    changes: list[dict[str, Any]] = []
    if price is not None:
        if not usage_type or not (plan or client):
            raise fail("--price needs --usage-type and --plan or --client", 2)
        who = {"kind": "plan_price", "plan": plan} if plan else {"kind": "client_price"}
        if client:
            who["client"] = client
        changes.append({**who, "usage_type": usage_type, "price": _price(price, "--price")})
    if base_fee is not None or minimum is not None:
        if not plan:
            raise fail("--base-fee and --minimum need --plan", 2)
        fees: dict[str, Any] = {"kind": "plan_fees", "plan": plan}
        if base_fee is not None:
            fees["base_fee"] = base_fee
        if minimum is not None:
            fees["minimum_spend"] = None if minimum.lower() == "none" else minimum
        changes.append(fees)
    if discount is not None:
        if not client:
            raise fail("--discount needs --client", 2)
        changes.append({"kind": "client_discount", "client": client, "discount_percent": discount})
    for item in wholesale:
        code, sep, rate = item.partition("=")
        if not sep or not code or not rate:
            raise fail(f"--wholesale {item!r}: write usage_type=rate, e.g. voice=0.05", 2)
        changes.append(
            {
                "kind": "wholesale",
                "usage_type": code,
                "price": {"model": "per_unit", "unit_price": rate},
            }
        )
    return changes


def simulate_command(
    partner: Annotated[str, Opt("--partner", "-p", help="Partner id.")],
    period: Annotated[
        list[str] | None, Opt("--period", help="A month such as 2026-11 (repeatable).")
    ] = None,
    plan: Annotated[str | None, Opt("--plan", help="The plan a change is about.")] = None,
    client: Annotated[str | None, Opt("--client", "-c", help="The client it is about.")] = None,
    usage_type: Annotated[str | None, Opt("--usage-type", help="For --price.")] = None,
    price: Annotated[
        str | None,
        Opt("--price", help="Any price model, JSON or TOML inline table."),
    ] = None,
    base_fee: Annotated[str | None, Opt("--base-fee", help="A plan's base fee.")] = None,
    minimum: Annotated[
        str | None, Opt("--minimum", help="A plan's minimum spend ('none' removes it).")
    ] = None,
    discount: Annotated[str | None, Opt("--discount", help="A client's discount %.")] = None,
    wholesale: Annotated[
        list[str] | None, Opt("--wholesale", help="usage_type=rate per unit (repeatable).")
    ] = None,
    file: Annotated[Path | None, Opt("--file", help="A proposal in TOML or JSON.")] = None,
    top: Annotated[int, Opt("--top", min=1, max=100, help="Movers shown each way.")] = 10,
    *,
    every_client: Annotated[bool, Opt("--clients", help="Show every client too.")] = False,
    apply: Annotated[
        bool, Opt("--apply", help="Then write it, effective from each client's next period.")
    ] = False,
    yes: Annotated[bool, Opt("--yes", help="Apply without asking.")] = False,
    as_json: AsJson = False,
) -> None:
    """Re-rate past periods' real usage with a proposed price change: revenue, cost and margin
    before and after, per client, usage type and portfolio. Writes nothing unless --apply."""
    raw: dict[str, Any] = _file(file) if file else {}
    flags = _flag_changes(
        plan, client, usage_type, price, base_fee, minimum, discount, wholesale or []
    )
    raw["changes"] = list(raw.get("changes") or []) + flags
    if period:
        raw["periods"] = period
    raw["top"] = top
    if not raw.get("periods"):
        raise fail("give --period (a month such as 2026-11) or periods in --file", 2)
    try:
        body = parse_proposal(raw)
        with session_scope() as session:
            result = simulate(session, partner, body.periods, body.changes, utcnow(), top=top)
            session.rollback()  # nothing to write; say so to the database too
    except InvalidPricingError as exc:
        raise _refuse(exc.problems) from exc
    except TenantError as exc:
        raise fail(str(exc)) from exc
    if as_json and not apply:
        echo_json(simulation_out(result).model_dump(mode="json"))
        return
    for line in simulation_lines(result, every_client=every_client):
        typer.echo(line)
    if apply:
        _apply(partner, body, yes=yes)


def _apply(partner: str, body: SimulationIn, *, yes: bool) -> None:
    if not body.changes:
        raise fail("nothing to apply: the proposal has no change", 2)
    typer.echo("")
    typer.echo("Apply from each client's next period (all or nothing):")
    for change in body.changes:
        typer.echo(f"  {describe_change(change)}")
    if not yes and not typer.confirm("Apply these changes?", default=False):
        typer.echo("Nothing applied.")
        raise typer.Exit(1)
    try:
        with session_scope() as session:
            written = apply_proposal(
                session, partner, body.changes, utcnow(), source=ChangeSource.CLI
            )
    except InvalidPricingError as exc:
        raise _refuse(exc.problems) from exc
    except TenantError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"Applied ({len(written)} field change(s)):" if written else "No change to apply.")
    for what, field in written:
        for line in change_lines([field], f"  {what}: "):
            typer.echo(line)
