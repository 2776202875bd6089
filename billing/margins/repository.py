"""Every query margins run: the books by service period, and what standing invoices billed of
each period (their lines attributed as issuing attributes them, less credit notes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from billing.invoicing.attribution import line_component
from billing.invoicing.models import (
    ISSUED_STATES,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceLineKind,
    InvoiceUsage,
)
from billing.invoicing.posting import USAGE_LINE_KINDS
from billing.margins.selection import PeriodSelection
from billing.pricing.components import is_usage
from ledger import AccountRole, AccountType, balances
from ledger.repository import LedgerRepository

__all__ = ["Amount", "MarginsRepository"]

Amount = tuple[str, date, str | None, str, int]
"""(client, service period, usage type or None, currency, amount in minor units)."""

_STANDING = sorted(ISSUED_STATES)


def _in(column: Any, selection: PeriodSelection) -> Any:
    return and_(column >= selection.first, column <= selection.last)


class MarginsRepository:
    """With `client_id`, every query answers for that one client: a client's page reads its
    own rows instead of the whole partner's and filtering them afterwards."""

    def __init__(self, session: Session, client_id: str | None = None) -> None:
        self.session = session
        self.client_id = client_id

    def _mine(self, column: Any) -> Any:
        """The client filter as a WHERE term (always true without one)."""
        return true() if self.client_id is None else column == self.client_id

    def booked(self, partner_id: str, selection: PeriodSelection) -> Iterator[tuple[str, Amount]]:
        """("charge" | "cost", amount) of every revenue and wholesale cost posting whose
        service period is selected: revenue (contra-revenue included) credit-positive, cost
        debit-positive."""
        kinds = {
            (a.code, a.currency): (a.role, a.type)
            for a in LedgerRepository(self.session).accounts(partner_id)
        }
        rows = balances(
            self.session,
            partner_id,
            by_client=True,
            by_usage_type=True,
            by_period=True,
            periods=(selection.first, selection.last),
            client_id=self.client_id,
        )
        for row in rows:
            role, kind = kinds[(row.account_code, row.currency)]
            if row.client_id is None or row.service_period is None:
                continue
            key = (row.client_id, row.service_period, row.usage_type, row.currency)
            if role == AccountRole.WHOLESALE_COST:
                yield "cost", (*key, row.debits - row.credits)
            elif kind is AccountType.REVENUE:
                yield "charge", (*key, row.credits - row.debits)

    def invoiced_charges(self, partner_id: str, selection: PeriodSelection) -> Iterator[Amount]:
        """Standing issued invoices' lines net of tax, each in its service period (its own
        period, or a prior-period adjustment's origin) and usage type (None for base fee,
        true-up, discount); credit notes' lines negative, in the period of the line they
        credit."""
        line = InvoiceLine
        period = func.coalesce(col(line.origin_period_start), col(Invoice.period_start))
        query = (
            select(
                col(Invoice.client_id),
                period,
                col(line.kind),
                col(line.usage_type),
                col(line.adjusts),
                col(Invoice.currency),
                func.sum(col(line.amount_minor)),
            )
            .join(Invoice, col(Invoice.id) == col(line.invoice_id))
            .where(
                col(Invoice.partner_id) == partner_id,
                self._mine(col(Invoice.client_id)),
                col(Invoice.status).in_(_STANDING),
                col(line.kind) != InvoiceLineKind.TAX,
                or_(
                    _in(col(line.origin_period_start), selection),
                    and_(
                        col(line.origin_period_start).is_(None),
                        _in(col(Invoice.period_start), selection),
                    ),
                ),
            )
            .group_by(
                col(Invoice.client_id),
                period,
                col(line.kind),
                col(line.usage_type),
                col(line.adjusts),
                col(Invoice.currency),
            )
        )
        for client, start, kind, usage_type, adjusts, currency, amount in self.session.execute(
            query
        ):
            component = line_component(kind, usage_type, adjusts)
            bucket = component if component and is_usage(component) else None
            yield client, start, bucket, currency, int(amount)
        credited = aliased(InvoiceLine)
        note_period = func.coalesce(col(credited.origin_period_start), col(Invoice.period_start))
        notes = (
            select(
                col(CreditNote.client_id),
                note_period,
                col(CreditNoteLine.kind),
                col(CreditNoteLine.usage_type),
                col(CreditNote.currency),
                func.sum(col(CreditNoteLine.amount_minor)),
            )
            .join(CreditNote, col(CreditNote.id) == col(CreditNoteLine.credit_note_id))
            .join(Invoice, col(Invoice.id) == col(CreditNote.invoice_id))
            .outerjoin(credited, col(credited.id) == col(CreditNoteLine.invoice_line_id))
            .where(
                col(CreditNote.partner_id) == partner_id,
                self._mine(col(CreditNote.client_id)),
                col(CreditNoteLine.kind) != InvoiceLineKind.TAX,
                note_period >= selection.first,
                note_period <= selection.last,
            )
            .group_by(
                col(CreditNote.client_id),
                note_period,
                col(CreditNoteLine.kind),
                col(CreditNoteLine.usage_type),
                col(CreditNote.currency),
            )
        )
        for client, start, kind, usage_type, currency, amount in self.session.execute(notes):
            bucket = usage_type if kind in USAGE_LINE_KINDS else None
            yield client, start, bucket, currency, -int(amount)

    def invoiced_costs(self, partner_id: str, selection: PeriodSelection) -> Iterator[Amount]:
        """The wholesale cost standing issued invoices carry, by origin period and usage
        type (a credit note gives money back to the client, not to the platform)."""
        row = InvoiceUsage
        query = (
            select(
                col(row.client_id),
                col(row.origin_period_start),
                col(row.usage_type),
                col(Invoice.cost_currency),
                func.sum(col(row.cost_minor)),
            )
            .join(Invoice, col(Invoice.id) == col(row.invoice_id))
            .where(
                col(row.partner_id) == partner_id,
                self._mine(col(row.client_id)),
                col(Invoice.status).in_(_STANDING),
                _in(col(row.origin_period_start), selection),
            )
            .group_by(
                col(row.client_id),
                col(row.origin_period_start),
                col(row.usage_type),
                col(Invoice.cost_currency),
            )
        )
        for client, start, usage_type, currency, amount in self.session.execute(query):
            yield client, start, usage_type, currency, int(amount or 0)

    def issued_periods(self, partner_id: str, first: date, last: date) -> set[tuple[str, date]]:
        """(client, period start) with a standing issued invoice of its own, starting in
        `[first, last]`."""
        query = select(col(Invoice.client_id), col(Invoice.period_start)).where(
            col(Invoice.partner_id) == partner_id,
            self._mine(col(Invoice.client_id)),
            col(Invoice.status).in_(_STANDING),
            col(Invoice.period_start) >= first,
            col(Invoice.period_start) <= last,
        )
        return {(client, start) for client, start in self.session.execute(query)}
