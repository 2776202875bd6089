"""What a client-facing document says: the one object the invoicing core fills to get a PDF and
an e-mail.

The classes are frozen and hold only what the client may read. Wholesale cost and margin have no
field here on purpose: the renderer cannot leak what it is never given. Totals are not fields
either but sums of the lines (docs/invoice-arithmetic.md: the total is the sum of the rounded lines), so
a document whose figures disagree with each other cannot be built.

Amounts are `int` minor units of `InvoiceDocument.currency`; quantities and unit prices are exact
`Decimal`s. Construction refuses floats, naive mistakes (a credit note without the invoice it
credits, an invoice without a due date). Who the document is from and to (`PartnerBranding`,
`ClientDetails`) lives in `parties`, with the check of the branding's colour.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from billing.rating.lines import ChargeLine
from config.money import currency_exponent

from .formatting import format_date, format_money
from .parties import ClientDetails, PartnerBranding

__all__ = [
    "DocumentKind",
    "DocumentLine",
    "DocumentLineKind",
    "InvoiceDocument",
    "TaxDetails",
    "document_lines",
]


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentLineKind(enum.StrEnum):
    """Why a line is there. The values of `billing.rating.LineKind` are a subset, so a rating
    line converts with `DocumentLineKind(line.kind.value)`."""

    BASE_FEE = "base_fee"
    USAGE = "usage"
    INCLUDED = "included"
    OVERAGE = "overage"
    MINIMUM_TRUE_UP = "minimum_true_up"
    DISCOUNT = "discount"
    TAX = "tax"
    PRIOR_PERIOD_ADJUSTMENT = "prior_period_adjustment"


# Lines shown in the totals block rather than in the itemised table.
_TOTALS_KINDS = frozenset({DocumentLineKind.DISCOUNT, DocumentLineKind.TAX})


def _require_decimal(value: object, what: str) -> None:
    # A float here would already be a different number from the one the partner typed.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{what} must be a finite Decimal, got {value!r}")


def _require_minor(value: object, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int in minor units, got {value!r}")


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One printed line. `unit_price` is per `unit` (e.g. "minute", "block of 1000 message");
    `tier` is the 0-based tier of a graduated or volume line, whose description (written by
    rating: "Voice AI minutes, 1,001-5,000") is printed with its rate ("... at 0.12"), since
    each tier of one usage type has its own; `tier_label` is an optional note under it."""

    kind: DocumentLineKind
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount_minor: int
    usage_type: str | None = None
    unit: str | None = None
    tier_label: str | None = None
    tier: int | None = None
    position: int | None = None  # the stored invoice line's; None for document-only rows

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DocumentLineKind(self.kind))
        _require_decimal(self.quantity, f"line {self.description!r}: quantity")
        _require_decimal(self.unit_price, f"line {self.description!r}: unit_price")
        _require_minor(self.amount_minor, f"line {self.description!r}: amount_minor")

    @classmethod
    def from_charge_line(
        cls,
        line: ChargeLine,
        *,
        unit: str | None = None,
        tier_label: str | None = None,
        kind: DocumentLineKind | None = None,
    ) -> DocumentLine:
        """A rating line as printed (its tier range is in its description). A block-priced
        line's unit becomes "block of <size> <unit>"."""
        if line.block_size is not None:
            size = f"{line.block_size:,f}"
            unit = f"block of {size} {unit}" if unit else f"block of {size}"
        return cls(
            kind=kind or DocumentLineKind(line.kind.value),
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount_minor=line.amount,
            usage_type=line.usage_type,
            unit=unit,
            tier_label=tier_label,
            tier=line.tier,
        )


@dataclass(frozen=True, slots=True)
class TaxDetails:
    name: str
    percent: Decimal

    def __post_init__(self) -> None:
        _require_decimal(self.percent, "tax percent")


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """An invoice or credit note, ready to render.

    `period_end` is the last day included (printed as is; a rating `BillingPeriod` gives it as
    `last_day`). `subtotal_minor` is every line except discount and tax (so it includes any
    minimum-spend true-up and prior-period adjustments), and
    `total_minor == subtotal_minor + discount_minor + tax_minor == sum of all lines`; the discount
    is a negative line. A credit note names the invoice it credits and why; its amounts are the
    credited amounts, positive.
    """

    kind: DocumentKind
    number: str
    status: str
    issue_date: date
    due_date: date | None
    period_start: date
    period_end: date
    currency: str
    partner: PartnerBranding
    client: ClientDetails
    lines: Sequence[DocumentLine]
    tax: TaxDetails | None = None
    auto_charge: bool = False
    card_on_file: bool = False
    net_days: int = 30
    credited_invoice: str | None = None
    credit_reason: str | None = None
    #: The client portal's link (`billing.portal`), printed in the e-mail only: the PDF is
    #: stored and may be forwarded, and a link there would outlive its revocation on paper.
    portal_url: str | None = None
    _sums: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DocumentKind(self.kind))
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "currency", self.currency.upper())
        currency_exponent(self.currency)  # raises on a code that is not ISO 4217-shaped
        if not self.number.strip():
            raise ValueError("number must not be empty")
        if self.period_end < self.period_start:
            raise ValueError(f"period_end {self.period_end} is before {self.period_start}")
        if self.net_days < 0:
            raise ValueError("net_days must not be negative")
        if self.kind is DocumentKind.INVOICE and self.due_date is None:
            raise ValueError(f"invoice {self.number}: due_date is required")
        if self.kind is DocumentKind.CREDIT_NOTE and not (
            self.credited_invoice and self.credit_reason
        ):
            raise ValueError(
                f"credit note {self.number}: credited_invoice and credit_reason are required"
            )
        subtotal = discount = tax = 0
        for line in self.lines:
            if not isinstance(line, DocumentLine):
                raise TypeError(f"lines must be DocumentLine, got {type(line).__name__}")
            if line.kind is DocumentLineKind.DISCOUNT:
                discount += line.amount_minor
            elif line.kind is DocumentLineKind.TAX:
                tax += line.amount_minor
            else:
                subtotal += line.amount_minor
        object.__setattr__(self, "_sums", (subtotal, discount, tax))

    @property
    def subtotal_minor(self) -> int:
        return self._sums[0]

    @property
    def discount_minor(self) -> int:
        """Zero or negative: the discount as the line that takes it off."""
        return self._sums[1]

    @property
    def tax_minor(self) -> int:
        return self._sums[2]

    @property
    def total_minor(self) -> int:
        return sum(self._sums)

    @property
    def itemised_lines(self) -> tuple[DocumentLine, ...]:
        """The lines of the period's table; discount and tax are shown among the totals,
        prior-period adjustments in their own table after the discount."""
        return tuple(
            line
            for line in self.lines
            if line.kind not in _TOTALS_KINDS
            and line.kind is not DocumentLineKind.PRIOR_PERIOD_ADJUSTMENT
        )

    @property
    def adjustment_lines(self) -> tuple[DocumentLine, ...]:
        """Prior-period adjustments: earlier periods re-rated in full (their own minimum and
        discount applied), added after this period's discount and taxed with it."""
        return tuple(
            line for line in self.lines if line.kind is DocumentLineKind.PRIOR_PERIOD_ADJUSTMENT
        )

    @property
    def discount_lines(self) -> tuple[DocumentLine, ...]:
        return tuple(line for line in self.lines if line.kind is DocumentLineKind.DISCOUNT)

    @property
    def title(self) -> str:
        return "Invoice" if self.kind is DocumentKind.INVOICE else "Credit note"

    @property
    def locale(self) -> str:
        return self.partner.locale

    @property
    def charged_to_card(self) -> bool:
        """The client is auto-charged and a card is on file (a fact the caller looked up:
        the document never queries)."""
        return self.kind is DocumentKind.INVOICE and self.auto_charge and self.card_on_file

    @property
    def shows_payment_details(self) -> bool:
        """Bank details and the pay link are printed where the client pays by hand: on an
        invoice that no card will settle. A credit note asks for no payment, and printing
        bank details beside "charged to your card" invites paying twice."""
        return self.kind is DocumentKind.INVOICE and not self.charged_to_card

    @property
    def payment_note(self) -> str:
        """How the money moves, in the words the client reads.

        An auto-charged client without a card on file is told the due date and that no card
        is on file: promising a charge that cannot happen leaves the invoice unpaid while the
        client believes it settled, and the due date is what a finance person needs to act
        on (add a card, or pay by the instructions printed below) before it is overdue."""
        if self.kind is DocumentKind.CREDIT_NOTE:
            return (
                f"This credit note reduces invoice {self.credited_invoice} by "
                f"{format_money(self.total_minor, self.currency, self.locale)}. "
                "No payment is due."
            )
        if self.charged_to_card:
            return "This invoice will be charged to your card on file."
        assert self.due_date is not None  # checked in __post_init__
        days = "day" if self.net_days == 1 else "days"
        due = f"Due by {format_date(self.due_date, self.locale)}, net {self.net_days} {days}."
        if self.auto_charge:
            how = (
                "add one before the due date, or pay as shown below"
                if self.partner.payment_instructions or self.partner.pay_link
                else "add one, or pay by another means, before the due date"
            )
            return f"{due} No card is on file for automatic payment: {how}."
        return due


def document_lines(lines: Sequence[ChargeLine], units: Mapping[str, str]) -> list[DocumentLine]:
    """Rating lines as printed, each usage line with its usage type's unit from `units`."""
    return [
        DocumentLine.from_charge_line(
            line, unit=units.get(line.usage_type) if line.usage_type else None
        )
        for line in lines
    ]
