"""A partner in New York with clients in Los Angeles, Chicago and Tokyo, and helpers that run
the month at chosen moments (usage received, accrual, close and issue a week later)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from billing.invoicing.closing import close_cycles
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import ISSUED_STATES, Invoice, InvoiceLineKind, InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import approve_invoices
from billing.margins import Cell, MarginRow, PeriodFigures, parse_period, period_figures
from billing.margins.service import group
from billing.metering.service import ingest
from billing.pricing.accrual import accrue
from billing.pricing.apply import apply_partner_file
from config.partner_file import parse_partner_toml
from ledger import balances

PARTNER = "hudson"

TOML = """
[partner]
id = "hudson"
name = "Hudson Voice Agency"
currency = "USD"
timezone = "America/New_York"
invoice_prefix = "HV-"
grace_period_hours = 24
late_event_days = 3650
margin_alert_percent = "40"

[usage_types.voice]
name = "Voice minutes"
unit = "minute"
precision = 2
wholesale = { model = "per_unit", unit_price = "0.04" }

[usage_types.sms]
name = "SMS"
unit = "message"
wholesale = { model = "per_unit", unit_price = "0.0079" }

[plans.studio]
name = "Studio"
base_fee = "50.00"
[plans.studio.prices.voice]
model = "graduated"
tiers = [ { up_to = 100, unit_price = "0.20" }, { unit_price = "0.15" } ]
[plans.studio.prices.sms]
model = "volume"
tiers = [ { up_to = 100, unit_price = "0.03" }, { unit_price = "0.02" } ]

[plans.floor]
name = "Floor"
minimum_spend = "10.00"
[plans.floor.prices.sms]
model = "per_unit"
unit_price = "0.05"

[plans.pack]
name = "Pack"
base_fee = "20.00"
[plans.pack.prices.voice]
model = "package"
included = 100
block_size = 50
block_price = "6.00"

[clients.la]
name = "Sunset Dental (Los Angeles)"
email = "ap@sunset.example"
plan = "studio"
timezone = "America/Los_Angeles"
discount_percent = "10"
tax = { name = "Sales tax", percent = "9.5" }

[clients.chicago]
name = "Loop Realty (Chicago)"
email = "ap@loop.example"
plan = "floor"
timezone = "America/Chicago"

[clients.tokyo]
name = "Shibuya Ramen (Tokyo)"
email = "ap@shibuya.example"
plan = "pack"
timezone = "Asia/Tokyo"
tax = { name = "Consumption tax", percent = "10" }
"""

SEPTEMBER = date(2026, 9, 1)
ACCRUED_AT = datetime(2026, 10, 1, 12, tzinfo=UTC)  # in every client's grace period
ISSUED_AT = datetime(2026, 10, 8, 15, tzinfo=UTC)  # a week later
_ids = iter(range(1, 1_000_000))


def local(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone)).astimezone(UTC)


def setup(session: Session) -> None:
    apply_partner_file(session, parse_partner_toml(TOML), datetime(2026, 8, 20, tzinfo=UTC))
    session.commit()


def send(
    session: Session,
    rows: list[tuple[str, str, str, datetime]],
    received_at: datetime | None = None,
) -> None:
    """(client, usage type, quantity, occurred_at); received at `received_at` (default: now,
    after any invoice already issued: what makes an event late)."""
    body = [
        {
            "event_id": f"e{next(_ids)}",
            "client": c,
            "usage_type": u,
            "quantity": q,
            "occurred_at": t.isoformat(),
        }
        for c, u, q, t in rows
    ]
    extra: dict[str, Any] = {} if received_at is None else {"received_at": received_at}
    result = ingest(session, PARTNER, body, **extra)
    assert not result.rejections, result.rejections
    session.commit()


def september_usage(session: Session) -> None:
    """Usage near every boundary: each event belongs to its client's own September."""
    la, chi, tyo = "America/Los_Angeles", "America/Chicago", "Asia/Tokyo"
    send(
        session,
        [
            ("la", "voice", "80", local(la, date(2026, 9, 1), 0, 30)),  # 07:30 UTC on the 1st
            ("la", "voice", "45.5", local(la, date(2026, 9, 30), 22)),  # 1 October, UTC and NY
            ("la", "sms", "120", local(la, date(2026, 9, 14), 9)),
            ("chicago", "sms", "100", local(chi, date(2026, 9, 30), 23, 30)),  # 1 October NY
            ("tokyo", "voice", "130", local(tyo, date(2026, 9, 1), 1)),  # 31 August UTC and NY
            ("tokyo", "voice", "40", local(tyo, date(2026, 9, 30), 20)),
        ],
        received_at=datetime(2026, 10, 1, 8, tzinfo=UTC),
    )


def close_and_issue(session: Session, month: str, closed_at: datetime) -> list[Invoice]:
    close_cycles(session, PARTNER, closed_at, period=month)
    approve_invoices(session, PARTNER, by="test")
    repo = InvoiceRepository(session)
    ids = repo.ids_with_status(PARTNER, InvoiceStatus.APPROVED)
    issued = issue_invoices(session, PARTNER, ids, now=closed_at, documents=False).invoices
    session.commit()
    return issued


def run_september(session: Session) -> list[Invoice]:
    setup(session)
    september_usage(session)
    accrue(session, PARTNER, ACCRUED_AT)
    session.commit()
    return close_and_issue(session, "2026-09", ISSUED_AT)


def figures(session: Session, month: str, now: datetime) -> PeriodFigures:
    return period_figures(session, PARTNER, parse_period(month), now)


def rows_by(cells: tuple[Cell, ...], key: str) -> dict[tuple[str, str], MarginRow]:
    keys = {
        "client": lambda c: c.client_id,
        "usage_type": lambda c: c.usage_type or "-",
        "total": lambda _c: "total",
    }
    return {(row.key, row.currency): row for row in group(cells, keys[key])}


def invoiced(session: Session, month_start: date) -> dict[str, dict[str, int]]:
    """What the standing invoices say of the periods starting in a month, read from the
    invoices themselves (lines net of tax by their own or origin period, less credit notes):
    client -> {"charge", "cost", usage type or "-" -> charge}."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    repo = InvoiceRepository(session)
    invoices = [
        i
        for i in session.exec(select(Invoice).where(Invoice.partner_id == PARTNER))
        if i.status in ISSUED_STATES
    ]
    lines = repo.lines([i.invoice_id for i in invoices])
    usage = repo.usage_rows([i.invoice_id for i in invoices])
    for invoice in invoices:
        for line in lines[invoice.invoice_id]:
            period = line.origin_period_start or invoice.period_start
            if line.kind is InvoiceLineKind.TAX or (period.year, period.month) != (
                month_start.year,
                month_start.month,
            ):
                continue
            usage_line = line.usage_type is not None and line.adjusts in (
                None,
                InvoiceLineKind.USAGE,
            )
            found[invoice.client_id]["charge"] += line.amount_minor
            found[invoice.client_id][line.usage_type if usage_line else "-"] += line.amount_minor
        for row in usage[invoice.invoice_id]:
            if (row.origin_period_start.year, row.origin_period_start.month) == (
                month_start.year,
                month_start.month,
            ):
                found[invoice.client_id]["cost"] += row.cost_minor
        for note in repo.credit_notes(PARTNER, invoice.invoice_id):
            for line in repo.credit_note_lines([note.id or 0])[note.id or 0]:
                if line.kind is InvoiceLineKind.TAX:
                    continue
                source = next(
                    ln for ln in lines[invoice.invoice_id] if ln.id == line.invoice_line_id
                )
                period = source.origin_period_start or invoice.period_start
                if (period.year, period.month) == (month_start.year, month_start.month):
                    found[invoice.client_id]["charge"] -= line.amount_minor
    return found


def unbilled_receivable(session: Session) -> dict[tuple[str, date], int]:
    """(client, service period) -> unbilled receivable balance from the books."""
    found: dict[tuple[str, date], int] = defaultdict(int)
    for row in balances(session, PARTNER, by_client=True, by_period=True):
        if row.account_code == "1150" and row.client_id and row.service_period:
            found[(row.client_id, row.service_period)] += row.net
    return found


def as_of_day(moment: datetime) -> datetime:
    return moment + timedelta(seconds=1)
