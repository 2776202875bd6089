"""Re-tagging books posted before postings recorded their service period.

Posted entries never change. Each entry of the books that carries revenue, cost or unbilled
receivable without a service period (and was neither reversed nor is itself a reversal) is
reversed, on its own date, and posted again with every leg in its period:
- an accrual: its period is in its source (`{client}:{period start}`); the copy is dated
  inside the client's period and the partner's calendar month it starts in, as accrual now
  dates entries (re-dating the usage that landed in the next month of the partner's calendar);
- an invoice's issue entry: usage legs split per usage row (its own period, and each prior-
  period adjustment's origin) by what each row cleared and billed, the other legs (receivable,
  tax, base fee, true-up, discount) in the invoice's own period; the copy keeps the issue date;
- a credit note: each credited line in the period of the invoice line it credits.
A split is checked against the original leg by leg (per account and dimensions); one that does
not add up (books edited by hand, say) puts the whole entry in the invoice's period instead and
is reported. A voided invoice's issue entry and its void are left as they are: they cancel out.

Keys: `retag:{original key}` and `retag-reversal:{original key}` (hashed when too long), so a
second run finds nothing to do; a dry run computes everything and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from billing.invoicing.attribution import line_period, split_lines
from billing.invoicing.models import CreditNote, Invoice, InvoiceLineKind
from billing.invoicing.posting import USAGE_LINE_KINDS
from billing.invoicing.repository import InvoiceRepository
from billing.pricing.book import client_period
from billing.pricing.components import DISCOUNT, SUBSCRIPTION, recognition_moment
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from ledger import (
    AccountRole,
    EntrySpec,
    JournalEntry,
    Posting,
    PostingSpec,
    post_entries,
    reverse_entry,
)
from ledger.models import Account
from ledger.repository import LedgerRepository

__all__ = ["RetagResult", "retag_periods"]

_KEY_LIMIT = 200
_SOURCES = ("accrual", "invoice", "credit_note")
_PERIOD_ROLES = frozenset(
    {
        AccountRole.UNBILLED_RECEIVABLE,
        AccountRole.USAGE_REVENUE,
        AccountRole.SUBSCRIPTION_REVENUE,
        AccountRole.DISCOUNTS,
        AccountRole.CREDIT_NOTES,
        AccountRole.WHOLESALE_COST,
        AccountRole.WHOLESALE_PAYABLE,
    }
)


@dataclass
class RetagResult:
    partner_id: str
    applied: bool
    retagged: Counter[str] = field(default_factory=Counter)
    redated: int = 0
    fallbacks: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.retagged.values())


def _key(prefix: str, key: str) -> str:
    found = f"{prefix}:{key}"
    if len(found) <= _KEY_LIMIT:
        return found
    return f"{prefix}:{hashlib.blake2b(key.encode(), digest_size=24).hexdigest()}"


Leg = tuple[Posting, Account]
_Dims = tuple[str, str, str | None, str | None]  # account, currency, client, usage type


def _candidates(session: Session, partner_id: str) -> list[JournalEntry]:
    """Entries to re-tag: not reversed, not reversals, with an untagged leg on an account of
    revenue, cost or unbilled receivable."""
    reversal = aliased(JournalEntry)
    account_ids = [
        a.id
        for a in LedgerRepository(session).accounts(partner_id)
        if a.role in _PERIOD_ROLES and a.id is not None
    ]
    untagged = (
        select(col(Posting.id))
        .where(
            col(Posting.entry_id) == col(JournalEntry.id),
            col(Posting.service_period).is_(None),
            col(Posting.account_id).in_(account_ids),
        )
        .exists()
    )
    reversed_ = exists().where(col(reversal.reverses_entry_id) == col(JournalEntry.id))
    query = (
        select(JournalEntry)
        .where(
            col(JournalEntry.partner_id) == partner_id,
            col(JournalEntry.source_type).in_(_SOURCES),
            col(JournalEntry.reverses_entry_id).is_(None),
            untagged,
            ~reversed_,
        )
        .order_by(col(JournalEntry.id))
    )
    return list(session.scalars(query))


def _spec(leg: Leg, amount: int, period: date | None) -> PostingSpec:
    posting, account = leg
    return PostingSpec(
        account.code, amount, posting.currency, posting.client_id, posting.usage_type, period
    )


def _all_in(legs: Sequence[Leg], period: date | None) -> list[PostingSpec]:
    return [_spec(leg, leg[0].amount, period) for leg in legs]


def _merged(legs: Sequence[Leg]) -> list[tuple[Leg, int]]:
    """Legs of one account and dimensions as one amount (an entry may carry several)."""
    found: dict[tuple[int, str, str | None, str | None], tuple[Leg, int]] = {}
    for leg in legs:
        posting, _ = leg
        key = (posting.account_id, posting.currency, posting.client_id, posting.usage_type)
        first, amount = found.get(key, (leg, 0))
        found[key] = (first, amount + posting.amount)
    return [(leg, amount) for leg, amount in found.values() if amount]


def _sums(specs: Sequence[PostingSpec]) -> dict[_Dims, int]:
    found: dict[_Dims, int] = defaultdict(int)
    for spec in specs:
        found[(spec.account, spec.currency, spec.client_id, spec.usage_type)] += spec.amount
    return {k: v for k, v in found.items() if v}


def _issue_legs(
    repo: InvoiceRepository, invoice: Invoice, legs: Sequence[Leg]
) -> list[PostingSpec]:
    """Usage legs split by usage row (cleared, billed beyond cleared, cost beyond cost
    cleared); base fee with true-up and discount by the periods of the lines billing them
    when the leg is all they bill (nothing of them was accrued); the rest in the invoice's
    period."""
    rows = repo.usage_rows([invoice.invoice_id])[invoice.invoice_id]
    own = invoice.period_start
    billed = split_lines(own, repo.lines([invoice.invoice_id])[invoice.invoice_id])
    fixed: dict[str, list[tuple[date, int]]] = {
        AccountRole.SUBSCRIPTION_REVENUE.value: [
            (p, -a) for (p, c), a in billed.items() if c == SUBSCRIPTION
        ],
        AccountRole.DISCOUNTS.value: [(p, -a) for (p, c), a in billed.items() if c == DISCOUNT],
    }
    specs: list[PostingSpec] = []
    for leg, total in _merged(legs):
        posting, account = leg
        usage = posting.usage_type
        role = account.role
        parts: list[tuple[date, int]] = []
        if usage is not None and role == AccountRole.UNBILLED_RECEIVABLE:
            parts = [
                (r.origin_period_start, -r.unbilled_cleared_minor)
                for r in rows
                if r.usage_type == usage
            ]
        elif usage is not None and role == AccountRole.USAGE_REVENUE:
            parts = [
                (r.origin_period_start, r.unbilled_cleared_minor - r.charge_minor)
                for r in rows
                if r.usage_type == usage
            ]
        elif usage is not None and role == AccountRole.WHOLESALE_COST:
            parts = [
                (r.origin_period_start, r.cost_minor - r.cost_cleared_minor)
                for r in rows
                if r.usage_type == usage
            ]
        elif usage is not None and role == AccountRole.WHOLESALE_PAYABLE:
            parts = [
                (r.origin_period_start, r.cost_cleared_minor - r.cost_minor)
                for r in rows
                if r.usage_type == usage
            ]
        elif usage is None and role is not None and role in fixed:
            parts = fixed[role]
            if sum(amount for _, amount in parts) != total:
                parts = []
        if not parts:
            specs.append(_spec(leg, total, own))
            continue
        specs += [_spec(leg, amount, period) for period, amount in parts if amount]
    return specs


def _credit_legs(
    repo: InvoiceRepository, invoice: Invoice, number: str, legs: Sequence[Leg]
) -> list[PostingSpec]:
    """Credit note legs by the period of each credited line, the rest in the invoice's."""
    own = invoice.period_start
    notes = [
        n for n in repo.credit_notes(invoice.partner_id, invoice.invoice_id) if n.number == number
    ]
    lines = {ln.id: ln for ln in repo.lines([invoice.invoice_id])[invoice.invoice_id]}
    net: dict[tuple[str | None, date], int] = defaultdict(int)
    for note in notes:
        for line in repo.credit_note_lines([note.id or 0])[note.id or 0]:
            if line.kind is InvoiceLineKind.TAX:
                continue
            source = lines.get(line.invoice_line_id)
            period = line_period(own, source.origin_period_start if source else None)
            usage = line.usage_type if line.kind in USAGE_LINE_KINDS else None
            net[(usage, period)] += line.amount_minor
    specs: list[PostingSpec] = []
    for leg, total in _merged(legs):
        posting, account = leg
        if account.role != AccountRole.CREDIT_NOTES:
            specs.append(_spec(leg, total, own))
            continue
        parts = [(p, a) for (u, p), a in net.items() if u == posting.usage_type and a]
        specs += [_spec(leg, amount, period) for period, amount in parts] or [
            _spec(leg, total, own)
        ]
    return specs


def retag_periods(session: Session, partner_id: str, *, apply: bool) -> RetagResult:
    """Reverse and re-post, with service periods, every entry posted without them (see the
    module doc). Services never commit: without `apply` the caller rolls back."""
    partner = get_partner(session, partner_id)
    ledger = LedgerRepository(session)
    ledger.claim_sqlite_writer()
    invoices = InvoiceRepository(session)
    clients = {c.id: c for c in TenantRepository(session).clients(partner_id)}
    result = RetagResult(partner_id, apply)
    entries = _candidates(session, partner_id)
    legs: dict[int, list[Leg]] = defaultdict(list)
    for posting, account in ledger.postings_of([e.entry_id for e in entries]):
        legs[posting.entry_id].append((posting, account))
    specs: list[EntrySpec] = []
    for entry in entries:
        original = legs[entry.entry_id]
        moment = entry.effective_at
        if entry.source_type == "accrual":
            client_id, _, start = (entry.source_id or "").partition(":")
            client = clients.get(client_id)
            first = date.fromisoformat(start)
            tagged = _all_in(original, first)
            if client is not None:
                period = client_period(client.billing_anchor_day, first)
                moment = recognition_moment(
                    period, client.timezone, partner.timezone, entry.effective_at
                )
                result.redated += moment != entry.effective_at
        else:
            number = entry.source_id or ""
            invoice = (
                invoices.invoice_by_number(partner_id, number)
                if entry.source_type == "invoice"
                else _credited_invoice(session, partner_id, number)
            )
            if invoice is None:
                result.fallbacks.append(f"{entry.idempotency_key}: no invoice {number!r}")
                continue
            if entry.source_type == "invoice":
                tagged = _issue_legs(invoices, invoice, original)
            else:
                tagged = _credit_legs(invoices, invoice, number, original)
            if _sums(tagged) != _sums(_all_in(original, None)):
                result.fallbacks.append(
                    f"{entry.idempotency_key}: legs do not split by period; all in "
                    f"{invoice.period_start}"
                )
                tagged = _all_in(original, invoice.period_start)
        reverse_entry(
            session,
            partner_id,
            entry.entry_id,
            effective_at=entry.effective_at,
            memo=f"Re-tagging with service periods: reversal of {entry.idempotency_key}"[:500],
            idempotency_key=_key("retag-reversal", entry.idempotency_key),
        )
        specs.append(
            EntrySpec(
                idempotency_key=_key("retag", entry.idempotency_key),
                effective_at=moment,
                postings=tuple(tagged),
                memo=f"{entry.memo} (re-tagged with service periods)"[:500],
                source_type=entry.source_type,
                source_id=entry.source_id,
            )
        )
        result.retagged[entry.source_type] += 1
    if specs:
        post_entries(session, partner_id, specs)
    return result


def _credited_invoice(session: Session, partner_id: str, number: str) -> Invoice | None:
    note = session.scalars(
        select(CreditNote).where(
            col(CreditNote.partner_id) == partner_id, col(CreditNote.number) == number
        )
    ).first()
    return None if note is None else session.get(Invoice, note.invoice_id)
