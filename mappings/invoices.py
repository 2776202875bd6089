"""Common builders: our clients, usage types, invoices and credit notes → the neutral specs of
`remote_specs`, resolved against one connection's `ConnectionMapping`.

Every remote recomputes a line's amount as quantity x unit price, and keeps only a few decimals
of each. So a line goes with its own quantity and unit price only when that product is the line
amount exactly and both numbers survive the remote's decimal limits; any other line (a tier
remainder, a prorated fee, a rate with six decimals) goes as quantity 1 at the line amount, and
the detail moves into the description. Tax lines become `tax_minor`. The spec's total is then
the sum of its line amounts plus tax, which is our total to the cent: the builders check it and
refuse to produce a spec that would not add up.

Pure functions: no database, no network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Context, Decimal
from typing import Protocol

from billing.invoicing.models import InvoiceLineKind
from config.money import currency_exponent, from_minor
from mappings.base import ADJUSTMENT_ITEM, ConnectionMapping
from mappings.customers import customer_spec, item_specs
from remote_specs import CreditNoteSpec, InvoiceSpec, LineSpec, RemoteRef

__all__ = [
    "SpecError",
    "credit_note_spec",
    "customer_spec",
    "decimals",
    "invoice_spec",
    "item_specs",
    "line_spec",
]

_EXACT = Context(prec=80)
_TIMES = "\u00d7"  # the multiplication sign, as invoices print it
_GENERIC_KINDS = frozenset({InvoiceLineKind.BASE_FEE, InvoiceLineKind.MINIMUM_TRUE_UP})
_ADJUSTMENT_KINDS = frozenset({InvoiceLineKind.DISCOUNT})


class SpecError(ValueError):
    """Our own document does not add up (a bug or corrupted data, never a partner's input)."""


class LineLike(Protocol):
    """What the builders read of an `InvoiceLine` or a `CreditNoteLine`."""

    @property
    def kind(self) -> InvoiceLineKind: ...
    @property
    def usage_type(self) -> str | None: ...
    @property
    def description(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit_price(self) -> Decimal: ...
    @property
    def amount_minor(self) -> int: ...


class InvoiceLike(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def number(self) -> str | None: ...
    @property
    def client_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def issue_date(self) -> date | None: ...
    @property
    def due_at(self) -> date | None: ...
    @property
    def period_start(self) -> date: ...
    @property
    def period_end(self) -> date: ...
    @property
    def tax_minor(self) -> int: ...
    @property
    def total_minor(self) -> int: ...


class CreditNoteLike(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def number(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def issue_date(self) -> date: ...
    @property
    def reason(self) -> str: ...
    @property
    def tax_minor(self) -> int: ...
    @property
    def total_minor(self) -> int: ...


def decimals(value: Decimal) -> int:
    """Decimal places `value` really needs (`1.2500` → 2, `100` → 0)."""
    exponent = value.normalize(_EXACT).as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers only: checked by the caller's column type
    return max(0, -exponent)


def _show(value: Decimal) -> str:
    """`1234.5` → `1,234.5`: the figure as a person reads it, without trailing zeros."""
    normal = value.normalize(_EXACT)
    places = decimals(normal)
    return f"{normal:,.{places}f}"


def _item_code(line: LineLike, mapping: ConnectionMapping) -> str:
    if line.kind in _GENERIC_KINDS:
        return mapping.item_code(None)
    if line.kind in _ADJUSTMENT_KINDS or line.usage_type is None:
        return mapping.item_code(ADJUSTMENT_ITEM)
    return mapping.item_code(line.usage_type)


def _account(line: LineLike, mapping: ConnectionMapping) -> str | None:
    if line.kind in _GENERIC_KINDS or line.kind in _ADJUSTMENT_KINDS:
        return mapping.income_account(None)
    return mapping.income_account(line.usage_type)


def line_spec(
    line: LineLike,
    currency: str,
    mapping: ConnectionMapping,
    *,
    taxed: bool,
    units: Mapping[str, str] | None = None,
) -> LineSpec:
    """One of our lines as the remote can take it (see the module docstring for the rule)."""
    amount = from_minor(line.amount_minor, currency)
    product = _EXACT.multiply(line.quantity, line.unit_price)
    fits = (
        product == amount
        and line.quantity != 0  # some remotes turn a zero quantity into 1 (Xero) or refuse it
        and decimals(line.unit_price) <= mapping.max_unit_price_decimals
        and decimals(line.quantity) <= mapping.max_quantity_decimals
    )
    description = line.description
    if fits:
        quantity, unit_price = line.quantity, line.unit_price
    else:
        quantity, unit_price = Decimal(1), amount
        unit = (units or {}).get(line.usage_type or "", "")
        shown_unit = f" {unit}" if unit else ""
        detail = f"{_show(line.quantity)}{shown_unit} {_TIMES} {_show(line.unit_price)}"
        description = f"{line.description} ({detail})" if line.description else detail
    return LineSpec(
        description=description[:4000],
        quantity=quantity,
        unit_price=unit_price,
        amount_minor=line.amount_minor,
        item_code=_item_code(line, mapping),
        account=_account(line, mapping),
        tax_code=mapping.tax_code(taxed=taxed),
        tracking=dict(mapping.tracking()),
    )


def _lines(
    lines: Iterable[LineLike],
    currency: str,
    mapping: ConnectionMapping,
    units: Mapping[str, str] | None,
) -> tuple[tuple[LineSpec, ...], int]:
    """Non-tax lines as specs, and the tax total."""
    materialised = list(lines)
    tax = sum(ln.amount_minor for ln in materialised if ln.kind is InvoiceLineKind.TAX)
    taxed = any(ln.kind is InvoiceLineKind.TAX for ln in materialised)
    specs = tuple(
        line_spec(ln, currency, mapping, taxed=taxed, units=units)
        for ln in materialised
        if ln.kind is not InvoiceLineKind.TAX
    )
    return specs, tax


def _check_total(what: str, specs: Sequence[LineSpec], tax: int, expected: int) -> int:
    subtotal = sum(spec.amount_minor for spec in specs)
    if subtotal + tax != expected:
        raise SpecError(
            f"{what}: lines {subtotal} + tax {tax} do not add up to the total {expected}"
        )
    return subtotal


def invoice_spec(
    invoice: InvoiceLike,
    lines: Sequence[LineLike],
    mapping: ConnectionMapping,
    customer_ref: RemoteRef,
    *,
    units: Mapping[str, str] | None = None,
) -> InvoiceSpec:
    """An issued invoice as every remote receives it. `units` (usage type → unit name) makes
    the detail of collapsed lines read "1,234.5 minute \u00d7 0.0125"."""
    if invoice.number is None or invoice.issue_date is None or invoice.id is None:
        raise SpecError(f"invoice {invoice.id}: only issued invoices are pushed")
    currency_exponent(invoice.currency)  # a clear error for an unknown currency
    specs, tax = _lines(lines, invoice.currency, mapping, units)
    if tax != invoice.tax_minor:
        raise SpecError(f"invoice {invoice.number}: tax lines {tax} != tax {invoice.tax_minor}")
    subtotal = _check_total(f"invoice {invoice.number}", specs, tax, invoice.total_minor)
    period = f"{invoice.period_start.isoformat()} to {invoice.period_end.isoformat()}"
    return InvoiceSpec(
        reference=str(invoice.id),
        number=invoice.number,
        customer_reference=invoice.client_id,
        customer=customer_ref,
        currency=invoice.currency,
        issue_date=invoice.issue_date,
        due_date=invoice.due_at,
        lines=specs,
        subtotal_minor=subtotal,
        tax_minor=tax,
        total_minor=invoice.total_minor,
        memo=f"Rebill invoice {invoice.number} (id {invoice.id}), period {period}",
        draft=mapping.draft,
        tax_code=mapping.tax_code(taxed=tax != 0),
    )


def credit_note_spec(
    note: CreditNoteLike,
    lines: Sequence[LineLike],
    mapping: ConnectionMapping,
    *,
    invoice_ref: RemoteRef,
    invoice_number: str,
    customer_ref: RemoteRef,
    units: Mapping[str, str] | None = None,
) -> CreditNoteSpec:
    """A credit note (positive amounts credited, a negative discount share, a tax share)."""
    if note.id is None:
        raise SpecError(f"credit note {note.number}: not stored")
    specs, tax = _lines(lines, note.currency, mapping, units)
    if tax != note.tax_minor:
        raise SpecError(f"credit note {note.number}: tax lines {tax} != tax {note.tax_minor}")
    _check_total(f"credit note {note.number}", specs, tax, note.total_minor)
    return CreditNoteSpec(
        reference=str(note.id),
        number=note.number,
        invoice=invoice_ref,
        invoice_number=invoice_number,
        customer=customer_ref,
        currency=note.currency,
        issue_date=note.issue_date,
        lines=specs,
        tax_minor=tax,
        total_minor=note.total_minor,
        reason=note.reason,
    )
