"""Properties over random usage, time zones, plans, accrual runs, issue dates and late events:

1. the prior-period adjustment is exactly `full re-rating - invoiced` (net of tax), whatever
   the price model, minimum spend and discount: what a client is billed for a period, its
   invoice plus the adjustments, never differs from a full re-rating of it;
2. for every closed period, margins = invoices net of tax + unbilled, per client and in total,
   where unbilled is the late usage no issued invoice carries yet, and the books' unbilled
   receivable of an invoiced period is zero.

The oracle re-rates each client's period from the generated events themselves (summed in the
client's time zone) with the rating functions, not with the code under test.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.closing import close_cycles
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import InvoiceLineKind, InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import approve_invoices
from billing.margins import parse_period, period_figures
from billing.margins.service import group
from billing.metering.service import ingest
from billing.pricing.accrual import accrue
from billing.pricing.apply import apply_partner_file
from billing.rating import BillingPeriod, ClientTerms, PlanPricing, rate_costs, rate_period
from config.partner_file import PartnerFile, entry_price, parse_partner_toml
from ledger import balances, trial_balance

_ids = itertools.count(1)
ZONES = ("UTC", "America/Los_Angeles", "America/Chicago", "Europe/London", "Asia/Tokyo")
MODELS = {
    "per_unit": 'model = "per_unit"\nunit_price = "0.05"',
    "graduated": 'model = "graduated"\ntiers = [ { up_to = 40, unit_price = "0.10" }, '
    '{ unit_price = "0.035" } ]',
    "volume": 'model = "volume"\ntiers = [ { up_to = 50, unit_price = "0.07" }, '
    '{ unit_price = "0.045" } ]',
    "package": 'model = "package"\nincluded = 30\nblock_size = 25\nblock_price = "1.15"',
    "package_unit": 'model = "package"\nincluded = 20\noverage_unit_price = "0.033"',
}
SEPTEMBER = date(2026, 9, 1)
OCTOBER = date(2026, 10, 1)


def _toml(partner: str, zone: str, clients: list[dict[str, Any]]) -> str:
    parts = [
        f'[partner]\nid = "{partner}"\nname = "P"\ncurrency = "USD"\ntimezone = "{zone}"\n'
        "late_event_days = 3650\n",
        '[usage_types.calls]\nname = "Calls"\nunit = "minute"\nprecision = 2\n'
        'wholesale = { model = "per_unit", unit_price = "0.013" }\n',
        '[usage_types.texts]\nname = "Texts"\n'
        'wholesale = { model = "graduated", tiers = [ { up_to = 60, unit_price = "0.011" }, '
        '{ unit_price = "0.007" } ] }\n',
    ]
    for client in clients:
        code = client["id"]
        plan = f"plan_{code}"
        minimum = f'minimum_spend = "{client["minimum"]}"\n' if client["minimum"] else ""
        parts.append(
            f'[plans.{plan}]\nname = "Plan {code}"\nbase_fee = "{client["base_fee"]}"\n{minimum}'
            f"[plans.{plan}.prices.calls]\n{MODELS[client['calls']]}\n"
            f"[plans.{plan}.prices.texts]\n{MODELS[client['texts']]}\n"
        )
        tax = f'tax = {{ name = "Tax", percent = "{client["tax"]}" }}\n' if client["tax"] else ""
        parts.append(
            f'[clients.{code}]\nname = "{code}"\nemail = "{code}@example.com"\nplan = "{plan}"\n'
            f'timezone = "{client["zone"]}"\ndiscount_percent = "{client["discount"]}"\n{tax}'
        )
    return "\n".join(parts)


client_strategy = st.fixed_dictionaries(
    {
        "zone": st.sampled_from(ZONES),
        "calls": st.sampled_from(sorted(MODELS)),
        "texts": st.sampled_from(sorted(MODELS)),
        "base_fee": st.sampled_from(["0", "4.99", "20"]),
        "minimum": st.sampled_from([None, "5", "12.5", "40"]),
        "discount": st.sampled_from(["0", "7.5", "10", "33"]),
        "tax": st.sampled_from([None, "8.25", "20"]),
    }
)
event_strategy = st.tuples(
    st.integers(0, 2),  # client index
    st.sampled_from(("calls", "texts")),
    st.integers(1, 80),  # quantity
    st.integers(0, 29),  # day of September (local)
    st.integers(0, 23),  # hour (local)
    st.booleans(),  # late: received after the invoice was issued
    st.booleans(),  # a correction: retracts half of a late quantity (negative)
)


def _send(
    session: Session, partner: str, rows: list[dict[str, Any]], received: datetime | None
) -> None:
    extra: dict[str, Any] = {} if received is None else {"received_at": received}
    result = ingest(session, partner, rows, **extra)
    assert not result.rejections, result.rejections
    session.commit()


def _oracle(
    parsed: PartnerFile, spec: dict[str, Any], quantities: dict[str, Decimal]
) -> tuple[int, int]:
    """(charge net of tax, wholesale cost) of a full rating of a client's September."""
    plan_spec = parsed.plans[f"plan_{spec['id']}"]
    plan = PlanPricing(
        plan_spec.name,
        plan_spec.base_fee,
        plan_spec.minimum_spend,
        {code: entry_price(entry) for code, entry in plan_spec.prices.items()},
    )
    terms = ClientTerms(discount_percent=Decimal(spec["discount"]))
    statement = rate_period(plan, quantities, "USD", BillingPeriod(SEPTEMBER, OCTOBER), terms)
    wholesale = {code: entry_price(t.wholesale) for code, t in parsed.usage_types.items()}
    used = {code: q for code, q in quantities.items() if code in wholesale}
    costs = rate_costs({c: p for c, p in wholesale.items() if c in used}, used, "USD")
    return statement.taxable, sum(c.amount for c in costs.values())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    partner_zone=st.sampled_from(ZONES),
    clients=st.lists(client_strategy, min_size=1, max_size=3),
    events=st.lists(event_strategy, min_size=0, max_size=14),
    accrue_first=st.booleans(),
    issue_days=st.integers(2, 20),
    invoice_late=st.booleans(),
)
def test_margins_are_invoices_plus_unbilled_and_adjustments_rerate_in_full(
    engine: Engine,
    partner_zone: str,
    clients: list[dict[str, Any]],
    events: list[tuple[int, str, int, int, int, bool, bool]],
    accrue_first: bool,
    issue_days: int,
    invoice_late: bool,
) -> None:
    partner = f"prop{next(_ids)}"
    for index, client in enumerate(clients):
        client["id"] = f"c{index}"
    parsed = parse_partner_toml(_toml(partner, partner_zone, clients))
    with Session(engine, expire_on_commit=False) as session:
        apply_partner_file(session, parsed, datetime(2026, 8, 1, tzinfo=UTC))
        session.commit()
        on_time: list[dict[str, Any]] = []
        late: list[dict[str, Any]] = []
        quantities: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for who, usage_type, quantity, day, hour, is_late, correction in events:
            spec = clients[who % len(clients)]
            moment = datetime.combine(
                SEPTEMBER + timedelta(days=day), time(hour), ZoneInfo(spec["zone"])
            ).astimezone(UTC)
            event_id = f"{partner}-{next(_ids)}"
            body = {
                "event_id": event_id,
                "client": spec["id"],
                "usage_type": usage_type,
                "quantity": str(quantity),
                "occurred_at": moment.isoformat(),
            }
            (late if is_late else on_time).append(body)
            quantities[spec["id"]][usage_type] += quantity
            if is_late and correction and quantity > 1:
                fix = {
                    **body,
                    "event_id": f"{event_id}-fix",
                    "quantity": str(-(quantity // 2)),
                    "adjusts": event_id,
                }
                late.append(fix)
                quantities[spec["id"]][usage_type] -= quantity // 2
        _send(session, partner, on_time, datetime(2026, 10, 1, 8, tzinfo=UTC))
        if accrue_first:
            accrue(session, partner, datetime(2026, 10, 1, 9, tzinfo=UTC))
            session.commit()
        issued_at = datetime(2026, 10, 1, 15, tzinfo=UTC) + timedelta(days=issue_days)
        close_cycles(session, partner, issued_at, period="2026-09")
        approve_invoices(session, partner, by="test")
        repo = InvoiceRepository(session)
        ids = repo.ids_with_status(partner, InvoiceStatus.APPROVED)
        septembers = issue_invoices(session, partner, ids, now=issued_at, documents=False)
        session.commit()
        invoiced = {
            i.client_id: (i.total_minor - i.tax_minor, i.cost_minor) for i in septembers.invoices
        }
        _send(session, partner, late, None)  # received now: after the invoices were issued
        now = issued_at + timedelta(days=1)
        if invoice_late:
            # October's invoices carry the adjustments; September is then fully invoiced.
            october_at = datetime(2026, 11, 3, 15, tzinfo=UTC)
            close_cycles(session, partner, october_at, period="2026-10")
            approve_invoices(session, partner, by="test")
            ids = repo.ids_with_status(partner, InvoiceStatus.APPROVED)
            octobers = issue_invoices(session, partner, ids, now=october_at, documents=False)
            session.commit()
            now = october_at + timedelta(hours=1)
            for invoice in octobers.invoices:
                lines = repo.lines([invoice.invoice_id])[invoice.invoice_id]
                adjustment = sum(
                    ln.amount_minor
                    for ln in lines
                    if ln.kind is InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT
                )
                cost = sum(
                    row.cost_minor
                    for row in repo.usage_rows([invoice.invoice_id])[invoice.invoice_id]
                    if row.origin_period_start == SEPTEMBER
                )
                spec = _spec(clients, invoice.client_id)
                full = _oracle(parsed, spec, quantities[invoice.client_id])
                before = invoiced.get(invoice.client_id, (0, 0))
                # Property 1: adjustment = full re-rating - invoiced, charge and cost.
                assert adjustment == full[0] - before[0]
                assert cost == full[1] - before[1]
                invoiced[invoice.client_id] = full
        cells = period_figures(session, partner, parse_period("2026-09"), now).cells
        rows = {row.key: row for row in group(cells, lambda c: c.client_id)}
        # Property 3: one client's figures (its page) are the partner's cells of that client.
        for spec in clients:
            own = period_figures(
                session, partner, parse_period("2026-09"), now, client_id=spec["id"]
            ).cells
            assert sorted(own, key=repr) == sorted(
                (c for c in cells if c.client_id == spec["id"]), key=repr
            )
        total_charge = total_unbilled = 0
        for spec in clients:
            full = _oracle(parsed, spec, quantities[spec["id"]])
            row = rows.get(spec["id"])
            charge, cost = (row.charge, row.cost) if row else (0, 0)
            unbilled = row.unbilled_charge if row else 0
            unbilled_cost = row.unbilled_cost if row else 0
            billed = invoiced.get(spec["id"], (0, 0))
            # Property 2: margins = invoices + unbilled, unbilled = re-rating - invoiced.
            assert (charge, cost) == full
            assert (charge - unbilled, cost - unbilled_cost) == billed
            if invoice_late:
                assert unbilled == 0 and unbilled_cost == 0
            total_charge += charge
            total_unbilled += unbilled
        [total] = group(cells, lambda _c: "total") or [None]
        if total is not None:
            assert (total.charge, total.unbilled_charge) == (total_charge, total_unbilled)
        # Books: the invoiced periods hold nothing in unbilled receivable.
        for row in balances(session, partner, by_client=True, by_period=True):
            if row.account_code == "1150" and row.service_period == SEPTEMBER:
                assert row.net == 0, row
        assert trial_balance(session, partner).is_balanced


def _spec(clients: list[dict[str, Any]], client_id: str) -> dict[str, Any]:
    return next(c for c in clients if c["id"] == client_id)
