"""What the API and the command line show of invoices, credit notes and the dispute pack, and
what they accept. One shape for both, so `--json` and `/v1/invoices` agree.

Exact numbers: quantities, unit prices and percentages are decimal strings; money is integer
minor units (`*_minor`). Wholesale cost and margin are in `internal`, which is filled only for
the partner's admin keys and the operator's command line, and is null for `read` keys (which
may be handed to a client portal): cost never reaches a client.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer

from billing.invoicing.credits import CreditRequest
from billing.invoicing.explain import InvoiceExplanation
from billing.invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from billing.rating import margin_percent
from billing.tenants.schemas import ONE_PAGE
from config.prices import canonical_decimal
from config.text import CheckedInput, StoredText

__all__ = [
    "CreditLineIn",
    "CreditNoteIn",
    "CreditNotePage",
    "CreditNoteRead",
    "EventShareRead",
    "ExplanationRead",
    "InternalFigures",
    "InvoiceLineRead",
    "InvoicePage",
    "InvoiceRead",
    "VoidIn",
    "credit_note_read",
    "exact",
    "explanation_read",
    "invoice_read",
]

Exact = Annotated[Decimal, PlainSerializer(lambda v: canonical_decimal(v), return_type=str)]


def exact(value: Decimal) -> str:
    return canonical_decimal(value)


class InvoiceLineRead(BaseModel):
    position: int
    kind: str
    usage_type: str | None
    description: str
    quantity: Exact
    unit_price: Exact
    amount_minor: int
    tier: int | None = None
    block_size: Exact | None = None
    origin_period_start: date | None = None


class InternalLine(BaseModel):
    position: int
    cost_minor: int


class InternalFigures(BaseModel):
    """Wholesale cost (partner currency) and margin: admin keys and the CLI only. Margin is
    (subtotal + discount - cost), before tax; null when the invoice is in another currency
    than the cost (no conversion is guessed)."""

    cost_minor: int
    cost_currency: str
    margin_minor: int | None
    margin_percent: Exact | None
    lines: list[InternalLine]


class InvoiceRead(BaseModel):
    id: str
    number: str | None
    client: str
    status: str
    currency: str
    period_start: date
    period_end: date = Field(description="The last day of the period (inclusive).")
    timezone: str
    plan_name: str
    lines: list[InvoiceLineRead]
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    discount_percent: Exact
    tax_name: str | None
    tax_percent: Exact | None
    amount_paid_minor: int
    credited_minor: int
    amount_due_minor: int
    auto_charge: bool
    approved_at: datetime | None
    approved_by: str | None
    issued_at: datetime | None
    issue_date: date | None
    due_at: date | None = Field(description="The due date (client's calendar).")
    voided_at: datetime | None
    void_reason: str | None
    usage_events: int
    version: int
    created_at: datetime
    internal: InternalFigures | None = None


class InvoicePage(BaseModel):
    items: list[InvoiceRead]
    next_cursor: str | None


class CreditNoteLineRead(BaseModel):
    position: int
    invoice_line_id: str | None
    kind: str
    usage_type: str | None
    description: str
    quantity: Exact
    unit_price: Exact
    amount_minor: int


class CreditNoteRead(BaseModel):
    id: str
    number: str
    invoice: str | None
    client: str
    currency: str
    reason: str
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int
    issued_at: datetime
    lines: list[CreditNoteLineRead]


class CreditNotePage(BaseModel):
    """An invoice's credit notes (a handful at most: they cannot credit more than the
    invoice), in one page."""

    items: list[CreditNoteRead]
    next_cursor: str | None = Field(default=None, description=ONE_PAGE)


class CreditLineIn(CheckedInput):
    position: int = Field(ge=1, description="The invoice line to credit.")
    amount_minor: int | None = Field(
        default=None, gt=0, description="Part of the line; all that is left of it by default."
    )


class CreditNoteIn(CheckedInput):
    reason: StoredText = Field(min_length=1, max_length=500)
    lines: list[CreditLineIn] | None = Field(
        default=None, description="Lines to credit; omitted: the whole invoice."
    )

    def requests(self) -> list[CreditRequest] | None:
        if self.lines is None:
            return None
        return [CreditRequest(line.position, line.amount_minor) for line in self.lines]


class VoidIn(CheckedInput):
    reason: StoredText = Field(min_length=1, max_length=500)
    rebill: bool = Field(default=False, description="Draft the period again at once.")


class EventShareRead(BaseModel):
    event_id: str
    occurred_at: datetime
    received_at: datetime
    quantity: Exact
    share: Exact | None
    cost_minor: int | None = Field(description="Wholesale cost; null for read keys.")
    adjustment: bool


class LineExplanationRead(BaseModel):
    position: int
    kind: str
    usage_type: str | None
    description: str
    quantity: Exact
    events_total: Exact | None
    check: str
    ok: bool
    events: list[EventShareRead]


class UsageCheckRead(BaseModel):
    usage_type: str
    origin_period_start: str
    aggregation: str
    billed_quantity: Exact
    events: int
    events_quantity: Exact
    later_events: int
    ok: bool


class ExplanationRead(BaseModel):
    invoice: str
    number: str | None
    client: str
    ok: bool
    usage: list[UsageCheckRead]
    lines: list[LineExplanationRead]


def _line_read(line: InvoiceLine) -> InvoiceLineRead:
    return InvoiceLineRead(
        position=line.position,
        kind=str(line.kind),
        usage_type=line.usage_type,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount_minor=line.amount_minor,
        tier=line.tier,
        block_size=line.block_size,
        origin_period_start=line.origin_period_start,
    )


def invoice_read(invoice: Invoice, lines: list[InvoiceLine], *, internal: bool) -> InvoiceRead:
    figures = None
    if internal:
        charge = invoice.subtotal_minor + invoice.discount_minor
        same = invoice.currency == invoice.cost_currency
        figures = InternalFigures(
            cost_minor=invoice.cost_minor,
            cost_currency=invoice.cost_currency,
            margin_minor=charge - invoice.cost_minor if same else None,
            margin_percent=margin_percent(charge, invoice.cost_minor) if same else None,
            lines=[InternalLine(position=ln.position, cost_minor=ln.cost_minor) for ln in lines],
        )
    return InvoiceRead(
        id=str(invoice.id),
        number=invoice.number,
        client=invoice.client_id,
        status=str(invoice.status),
        currency=invoice.currency,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        timezone=invoice.timezone,
        plan_name=invoice.plan_name,
        lines=[_line_read(line) for line in lines],
        subtotal_minor=invoice.subtotal_minor,
        discount_minor=invoice.discount_minor,
        tax_minor=invoice.tax_minor,
        total_minor=invoice.total_minor,
        discount_percent=invoice.discount_percent,
        tax_name=invoice.tax_name,
        tax_percent=invoice.tax_percent,
        amount_paid_minor=invoice.amount_paid_minor,
        credited_minor=invoice.credited_minor,
        amount_due_minor=invoice.amount_due_minor,
        auto_charge=invoice.auto_charge,
        approved_at=invoice.approved_at,
        approved_by=invoice.approved_by,
        issued_at=invoice.issued_at,
        issue_date=invoice.issue_date,
        due_at=invoice.due_at,
        voided_at=invoice.voided_at,
        void_reason=invoice.void_reason,
        usage_events=invoice.usage_events,
        version=invoice.version,
        created_at=invoice.created_at,
        internal=figures,
    )


def credit_note_read(
    note: CreditNote, lines: list[CreditNoteLine], invoice_number: str | None
) -> CreditNoteRead:
    return CreditNoteRead(
        id=str(note.id),
        number=note.number,
        invoice=invoice_number,
        client=note.client_id,
        currency=note.currency,
        reason=note.reason,
        subtotal_minor=note.subtotal_minor,
        discount_minor=note.discount_minor,
        tax_minor=note.tax_minor,
        total_minor=note.total_minor,
        issued_at=note.issued_at,
        lines=[
            CreditNoteLineRead(
                position=line.position,
                invoice_line_id=str(line.invoice_line_id) if line.invoice_line_id else None,
                kind=str(line.kind),
                usage_type=line.usage_type,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount_minor=line.amount_minor,
            )
            for line in lines
        ],
    )


def explanation_read(explanation: InvoiceExplanation, *, costs: bool) -> ExplanationRead:
    """`costs` False hides the per-event wholesale cost (keys that must not see it)."""
    return ExplanationRead(
        invoice=str(explanation.invoice_id),
        number=explanation.number,
        client=explanation.client_id,
        ok=explanation.ok,
        usage=[
            UsageCheckRead(
                usage_type=u.usage_type,
                origin_period_start=u.origin_period_start,
                aggregation=u.aggregation,
                billed_quantity=u.billed_quantity,
                events=u.events,
                events_quantity=u.events_quantity,
                later_events=u.later_events,
                ok=u.ok,
            )
            for u in explanation.usage
        ],
        lines=[
            LineExplanationRead(
                position=line.position,
                kind=line.kind,
                usage_type=line.usage_type,
                description=line.description,
                quantity=line.quantity,
                events_total=line.events_total,
                check=line.check or "no usage events behind this line",
                ok=line.ok,
                events=[
                    EventShareRead(
                        event_id=e.event_id,
                        occurred_at=e.occurred_at,
                        received_at=e.received_at,
                        quantity=e.quantity,
                        share=e.share,
                        cost_minor=e.cost_minor if costs else None,
                        adjustment=e.adjustment,
                    )
                    for e in line.events
                ],
            )
            for line in explanation.lines
        ],
    )
