"""`make demo`: the main job, end to end, on a demo partner (`partner.toml` beside this module,
shipped as package data so that an installed `rebill demo` has it).

1. the partner file is applied (20 clients across every price model), as `config apply` does;
2. a month of synthetic usage (fixed seed, so every run makes the same events) goes through the
   metering bulk ingest: calls of realistic lengths in business hours, SMS threads, chats,
   workflow runs, e-mail batches, active phone numbers;
3. accrual posts it to the books as a run early in the next month would;
4. the cycle is closed: a draft per client; 12 clients are set to auto-approve, the other 8
   drafts are reviewed (the reviewer looks at total and margin and approves);
5. everything approved is issued: numbers, ledger entries, PDFs on disk, e-mails queued, then
   the outbox is sent with the configured backend (files under `var/mail` by default);
6. a summary: invoices, totals, margins, the dispute-pack check, where the files are, and the
   trial balance.
Run again, it finds everything done and says so (idempotent end to end).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine, select
from sqlmodel import col

from billing.documents import OutgoingEmail, mail_backend_from_settings, send_due_emails
from billing.invoicing.closing import close_cycles
from billing.invoicing.explain import explain_invoice
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import InvoiceStatus
from billing.invoicing.repository import InvoiceFilter, InvoiceRepository
from billing.invoicing.service import approve_invoice, list_invoices, set_auto_approve
from billing.metering import ingest
from billing.portal import issue_link_for
from billing.pricing.accrual import accrue
from billing.pricing.apply import apply_partner_file
from billing.rating import margin_percent
from billing.simulation import simulate
from billing.simulation.render import describe_change
from billing.simulation.schemas import WholesaleChange
from config.db import session_scope
from config.money import format_minor
from config.partner_file import load_partner_file
from config.settings import get_settings
from ledger.cli import render_trial_balance
from ledger.reports import trial_balance

__all__ = ["DEMO_FILE", "demo_month", "run_demo", "synthetic_usage"]

DEMO_FILE = Path(__file__).resolve().parent / "partner.toml"
PARTNER = "brightline"
SEED = 2026
REVIEWER = "reviewer@brightline.example"
AUTO_APPROVED = (
    "dental-co",
    "bright-smiles",
    "peak-fitness",
    "lakeside-realty",
    "urban-eats",
    "greenleaf-spa",
    "metro-auto",
    "cedar-vets",
    "bluewave-pools",
    "sunrise-bakery",
    "keystone-hvac",
    "riverbend-school",
)

# Monthly volume per plan: (usage type, events (low, high), quantity per event (low, high)).
_PROFILES: dict[str, list[tuple[str, tuple[int, int], tuple[int, int]]]] = {
    "Starter": [
        ("voice_minutes", (80, 260), (0, 0)),
        ("sms", (60, 160), (1, 8)),
        ("chat_conversations", (40, 200), (1, 1)),
    ],
    "Growth": [
        ("voice_minutes", (300, 900), (0, 0)),
        ("sms", (150, 400), (1, 10)),
        ("chat_conversations", (100, 400), (1, 1)),
        ("phone_numbers", (40, 120), (1, 1)),
    ],
    "Scale": [
        ("voice_minutes", (1500, 3000), (0, 0)),
        ("sms", (500, 900), (2, 12)),
        ("workflow_runs", (800, 1600), (1, 12)),
        ("email_automations", (150, 300), (20, 300)),
    ],
    "Enterprise": [
        ("voice_minutes", (3000, 5000), (0, 0)),
        ("chat_conversations", (2000, 3500), (1, 1)),
        ("phone_numbers", (200, 400), (1, 1)),
    ],
    "Unlimited": [("voice_minutes", (4000, 5000), (0, 0)), ("sms", (300, 600), (1, 10))],
    "Pay as you go": [
        ("voice_minutes", (40, 200), (0, 0)),
        ("sms", (40, 150), (1, 6)),
        ("workflow_runs", (100, 400), (1, 10)),
    ],
    "Quill custom": [
        ("voice_minutes", (200, 500), (0, 0)),
        ("workflow_runs", (600, 1200), (1, 12)),
    ],
}
_HOURS = [(h, 3 if 9 <= h < 17 else 1) for h in range(7, 21)]


@dataclass(frozen=True, slots=True)
class _Client:
    id: str
    timezone: str
    plan_name: str


def demo_month(now: datetime, grace_hours: int = 24) -> date:
    """Last month, or the month before while last month is still in its grace period (every
    demo client's period has ended by 08:00 UTC on the 1st)."""
    first = now.date().replace(day=1)
    last = (first - timedelta(days=1)).replace(day=1)
    ready = datetime.combine(first, time(8), UTC) + timedelta(hours=grace_hours)
    return last if now >= ready else (last - timedelta(days=1)).replace(day=1)


def synthetic_usage(clients: list[_Client], month: date, seed: int = SEED) -> list[dict[str, Any]]:
    """A month of events per client, in its time zone's business hours, the same every run."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible on purpose
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    days = (following - month).days
    events: list[dict[str, Any]] = []
    for client in clients:
        zone = ZoneInfo(client.timezone)
        numbers = [f"+1555{rng.randrange(10**6):06d}" for _ in range(rng.randrange(4, 40))]
        for usage_type, (low, high), (q_low, q_high) in _PROFILES.get(client.plan_name, []):
            for n in range(rng.randint(low, high)):
                day = month + timedelta(days=rng.randrange(days))
                hour = rng.choices([h for h, _ in _HOURS], [w for _, w in _HOURS])[0]
                local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))
                occurred = local.replace(tzinfo=zone).astimezone(UTC)
                event: dict[str, Any] = {
                    "event_id": f"{month:%Y%m}-{client.id}-{usage_type}-{n:05d}",
                    "client": client.id,
                    "usage_type": usage_type,
                    "occurred_at": occurred.isoformat(),
                }
                if usage_type == "voice_minutes":
                    minutes = max(0.1, rng.expovariate(1 / 3.2))
                    event["quantity"] = str(Decimal(str(round(minutes, 2))))
                else:
                    event["quantity"] = str(rng.randint(q_low, q_high))
                if usage_type == "phone_numbers":
                    event["properties"] = {"number": rng.choice(numbers)}
                events.append(event)
    return events


def _say(text: str = "") -> None:
    typer.echo(text)


def run_demo(engine: Engine, now: datetime | None = None) -> None:
    moment = now or datetime.now(UTC)
    settings = get_settings()
    partner_file = load_partner_file(DEMO_FILE)
    with session_scope(engine) as session:
        report = apply_partner_file(
            session, partner_file, moment, reference=str(DEMO_FILE), base_dir=DEMO_FILE.parent
        )
    _say(
        f"1. {DEMO_FILE.name} applied: {report.count('created')} created, "
        f"{report.count('updated')} updated, {report.count('unchanged')} unchanged"
    )
    month = demo_month(moment, partner_file.partner.grace_period_hours)
    clients = [
        _Client(
            code,
            spec.timezone or partner_file.partner.timezone,
            (
                spec.plan_override.name
                if spec.plan_override
                else partner_file.plans[spec.plan or ""].name
            ),
        )
        for code, spec in partner_file.clients.items()
    ]
    events = synthetic_usage(clients, month)
    accepted = duplicates = 0
    for start in range(0, len(events), 5000):
        with session_scope(engine) as session:
            result = ingest(session, PARTNER, events[start : start + 5000])
        accepted += result.accepted
        duplicates += result.duplicates
        if result.rejections:
            raise RuntimeError(f"demo events rejected: {result.rejections[:3]}")
    _say(
        f"2. usage for {month:%B %Y}: {len(events):,} events, {accepted:,} new, "
        f"{duplicates:,} already stored"
    )
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    with session_scope(engine) as session:
        accrued = accrue(session, PARTNER, datetime.combine(following, time(12), UTC))
    _say(f"3. accrual: {accrued.entries} ledger entries for {len(accrued.clients)} clients")
    with session_scope(engine) as session:
        for client in AUTO_APPROVED:
            set_auto_approve(session, PARTNER, client, value=True)
        closed = close_cycles(session, PARTNER, moment, period=f"{month:%Y-%m}")
    _say(
        f"4. cycle close: {len(closed.created)} drafts ({closed.auto_approved} auto-approved), "
        f"{closed.already_closed} already closed"
    )
    _review(engine, month)
    with session_scope(engine) as session:
        repo = InvoiceRepository(session)
        approved = repo.ids_with_status(PARTNER, InvoiceStatus.APPROVED)
        issued = issue_invoices(session, PARTNER, approved, now=moment)
    sent = send_due_emails(engine, mail_backend_from_settings(settings))
    _say(
        f"5. issued {len(issued.invoices)} invoices ({len(issued.documents)} PDFs written); "
        f"e-mails sent: {sent.sent}, retrying: {sent.retrying}"
    )
    if not (report.changed or accepted or closed.created or issued.invoices or sent.sent):
        _say("   nothing new: the demo had already run (it is idempotent)")
    _summary(engine, month)


def _review(engine: Engine, month: date) -> None:
    """The reviewer's pass over the drafts that were not auto-approved."""
    with session_scope(engine) as session:
        drafts = list_invoices(
            session, PARTNER, InvoiceFilter(InvoiceStatus.DRAFT, period_start=month)
        )
        if not drafts:
            _say("   review: no drafts waiting")
            return
        _say(f"   review by {REVIEWER}:")
        for draft in drafts:
            charge = draft.subtotal_minor + draft.discount_minor
            percent = margin_percent(charge, draft.cost_minor)
            note = (
                "margin below the 40% alert, approved as agreed"
                if (percent is not None and percent < 40)
                else "looks right"
            )
            _say(
                f"     {draft.client_id:<18} {format_minor(draft.total_minor, draft.currency):>14}"
                f"  margin {percent if percent is not None else '-'}%  -> approve ({note})"
            )
            approve_invoice(session, PARTNER, draft.invoice_id, by=REVIEWER)


def _approver(by: str | None) -> str:
    return "reviewer" if by == REVIEWER else (by or "-")[:11]


def _summary(engine: Engine, month: date) -> None:
    settings = get_settings()
    with session_scope(engine) as session:
        invoices = list_invoices(session, PARTNER, InvoiceFilter(period_start=month))
        numbers = {i.number for i in invoices if i.number}
        emails = session.scalars(
            select(OutgoingEmail).where(
                col(OutgoingEmail.partner_id) == PARTNER,
                col(OutgoingEmail.related_id).in_(sorted(numbers)),
            )
        ).all()
        mail = {e.related_id: str(e.status) for e in emails}
        checked = [explain_invoice(session, invoice).ok for invoice in invoices]
        balance = trial_balance(session, PARTNER)
    _say()
    _say(f"Invoices for {month:%B %Y} ({PARTNER}):")
    _say(
        f"  {'number':<11} {'client':<18} {'plan':<14} {'total':>14} {'cost':>12} "
        f"{'margin':>12} {'%':>7}  approved by  e-mail"
    )
    totals = [0, 0, 0]
    for invoice in invoices:
        charge = invoice.subtotal_minor + invoice.discount_minor
        margin = charge - invoice.cost_minor
        percent = margin_percent(charge, invoice.cost_minor)
        totals = [
            totals[0] + invoice.total_minor,
            totals[1] + invoice.cost_minor,
            totals[2] + margin,
        ]
        _say(
            f"  {invoice.number or '-':<11} {invoice.client_id:<18} {invoice.plan_name[:14]:<14} "
            f"{format_minor(invoice.total_minor, invoice.currency):>14} "
            f"{format_minor(invoice.cost_minor, invoice.cost_currency):>12} "
            f"{format_minor(margin, invoice.currency):>12} "
            f"{str(percent) if percent is not None else '-':>7}  "
            f"{_approver(invoice.approved_by):<11}  {mail.get(invoice.number or '', '-')}"
        )
    _say(
        f"  {'total':<45} {format_minor(totals[0], 'USD'):>14} {format_minor(totals[1], 'USD'):>12} "
        f"{format_minor(totals[2], 'USD'):>12}"
    )
    _say(
        f"Dispute packs: {sum(checked)} of {len(checked)} invoices add up event by event "
        "(python main.py invoices explain BL-000001)"
    )
    _say(
        f"Margins of {month:%B %Y} by billing period (invoices net of tax, plus what is not "
        f"invoiced yet): python main.py margins --partner {PARTNER} --period {month:%Y-%m}"
    )
    _say(f"PDFs and usage CSVs: {settings.documents_dir / PARTNER}")
    _say(
        f"E-mails: {settings.mail_dir} ({'files' if settings.email_backend == 'file' else 'SMTP'})"
    )
    _say(f"Trial balance of {PARTNER}:")
    for line in render_trial_balance(balance):
        _say(line)
    _portal_and_what_if(engine, month, invoices[0].number if invoices else None)


#: The what-if the demo asks: the platform raises the voice wholesale price by a cent a minute.
WHAT_IF = WholesaleChange(
    kind="wholesale",
    usage_type="voice_minutes",
    price={"model": "per_unit", "unit_price": "0.055"},
)


def _portal_and_what_if(engine: Engine, month: date, number: str | None) -> None:
    """The two things a partner asks next: what its client sees, and what a price change would
    have done to this month's margins (re-rated, nothing written)."""
    if number is not None:
        with session_scope(engine) as session:
            url = issue_link_for(session, PARTNER, number).url
        _say(f"Client portal of {number} (after `python main.py serve`): {url}")
    with session_scope(engine) as session:
        result = simulate(session, PARTNER, [f"{month:%Y-%m}"], [WHAT_IF], datetime.now(UTC))
    _say(f"What if {describe_change(WHAT_IF)} (python main.py prices simulate):")
    for row in result.portfolio:
        before, after = row.before, row.after
        _say(
            f"  margin {format_minor(before.margin, row.currency)} "
            f"({before.margin_percent}%) -> {format_minor(after.margin, row.currency)} "
            f"({after.margin_percent}%); clients crossing below the threshold: "
            f"{', '.join(c.key for c in result.crossed_below) or 'none'}"
        )
