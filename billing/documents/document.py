"""What a client-facing document says: the one object the invoicing core fills to get a PDF and
an e-mail.

The classes are frozen and hold only what the client may read. Wholesale cost and margin have no
field here on purpose: the renderer cannot leak what it is never given. Totals are not fields
either but sums of the lines (docs/invoice-arithmetic.md: the total is the sum of the rounded lines), so
a document whose figures disagree with each other cannot be built.

Amounts are `int` minor units of `InvoiceDocument.currency`; quantities and unit prices are exact
`Decimal`s. Construction refuses floats, naive mistakes (a credit note without the invoice it
credits, an invoice without a due date) and colours that are not `#RRGGBB` (the colour goes into
CSS, where HTML escaping does not protect).
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from billing.rating.lines import ChargeLine
from billing.tenants.models import Client, Partner, PartnerLogo
from config.money import DEFAULT_LOCALE, currency_exponent
from config.validators import check_https_url, check_locale, check_tax_id

from .formatting import address_lines, format_date, format_money

__all__ = [
    "DEFAULT_PRIMARY_COLOR",
    "ClientDetails",
    "DocumentKind",
    "DocumentLine",
    "DocumentLineKind",
    "InvoiceDocument",
    "Logo",
    "PartnerBranding",
    "TaxDetails",
    "document_lines",
]

DEFAULT_PRIMARY_COLOR = "#1F2937"
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
PaperSize = Literal["A4", "Letter"]


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
class Logo:
    """An image embedded in documents: bytes already checked (`billing.tenants.logos`)."""

    data: bytes
    mime_type: str

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    @classmethod
    def of(cls, stored: PartnerLogo | None) -> Logo | None:
        return None if stored is None else cls(stored.content, stored.media_type)


@dataclass(frozen=True, slots=True)
class PartnerBranding:
    """The sender of the document, as the client sees it. `logo` is the partner's uploaded
    logo; `logo_path` is for documents built in code from a file (tests, benches), never
    from anything stored or sent."""

    partner_id: str
    name: str
    sender_email: str | None = None
    sender_name: str | None = None
    logo_path: Path | None = None
    primary_color: str = DEFAULT_PRIMARY_COLOR
    address: Sequence[str] = ()
    footer: str | None = None
    paper_size: PaperSize = "A4"
    logo: Logo | None = None
    tax_id: str | None = None
    payment_instructions: Sequence[str] = ()
    pay_link: str | None = None
    locale: str = DEFAULT_LOCALE

    def __post_init__(self) -> None:
        if not _COLOR.match(self.primary_color):
            raise ValueError(f"primary_color must be #RRGGBB, got {self.primary_color!r}")
        object.__setattr__(self, "primary_color", self.primary_color.upper())
        object.__setattr__(self, "address", tuple(self.address))
        object.__setattr__(self, "payment_instructions", tuple(self.payment_instructions))
        if self.paper_size not in ("A4", "Letter"):
            raise ValueError(f"paper_size must be A4 or Letter, got {self.paper_size!r}")
        # The link is printed as a link: only https (`config.validators`), never javascript:.
        if self.pay_link is not None:
            check_https_url(self.pay_link)
        if self.tax_id is not None:
            object.__setattr__(self, "tax_id", check_tax_id(self.tax_id))
        object.__setattr__(self, "locale", check_locale(self.locale))

    @property
    def display_sender(self) -> str:
        return self.sender_name or self.name

    @classmethod
    def from_partner(cls, partner: Partner, *, logo: Logo | None = None) -> PartnerBranding:
        """Read the partner's `branding` JSON, whichever way it was written: the partner file's
        keys (`primary_color`, `sender_name`, `sender_email`, `address`) or the API's
        (`display_name`, `footer`). The logo is the one uploaded (`logo`, from
        `billing.tenants.logos`): a path or URL stored in the branding is never read or
        fetched. The tax number, payment instructions and pay link come from the branding too;
        the `locale` from the partner's settings. A stored value that no longer passes its
        check (a colour that is not `#RRGGBB`, a pay link that is not https, an unknown
        locale) is left out or falls back to the default rather than stopping an invoice run:
        documents were validated on the way in (`config.validators`)."""
        branding: Mapping[str, Any] = partner.branding or {}
        settings: Mapping[str, Any] = partner.settings or {}
        color = branding.get("primary_color")
        paper = branding.get("paper_size")
        return cls(
            partner_id=partner.id,
            name=_text(branding.get("display_name")) or partner.name,
            sender_email=_text(branding.get("sender_email")),
            sender_name=_text(branding.get("sender_name")),
            logo=logo,
            primary_color=color
            if isinstance(color, str) and _COLOR.match(color)
            else DEFAULT_PRIMARY_COLOR,
            address=address_lines(branding.get("address")),
            footer=_text(branding.get("footer")),
            paper_size="Letter" if isinstance(paper, str) and paper.lower() == "letter" else "A4",
            tax_id=_checked(check_tax_id, branding.get("tax_id")),
            payment_instructions=address_lines(_text(branding.get("payment_instructions"))),
            pay_link=_checked(check_https_url, branding.get("pay_link")),
            locale=_checked(check_locale, settings.get("locale")) or DEFAULT_LOCALE,
        )


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _checked(check: Callable[[str], str], value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return check(text)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ClientDetails:
    """The recipient: who the document is addressed to and where it is e-mailed."""

    name: str
    email: str | None = None
    address: Sequence[str] = ()
    external_ref: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", tuple(self.address))

    @classmethod
    def from_client(cls, client: Client) -> ClientDetails:
        return cls(
            name=client.name,
            email=client.billing_email,
            address=address_lines(client.address),
            external_ref=client.external_ref,
        )


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
