"""Importing the platform's actual wholesale bill (CSV `usage_type,quantity,amount`, amount in
major units of the partner's currency) for one period; importing again replaces the period."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from sqlmodel import Session

from billing.tenants.repository import TenantRepository
from config.money import to_minor
from sync.reconcile.books_repository import replace_wholesale_bill
from sync.reconcile.models import WholesaleBillLine
from sync.reconcile.service import parse_period

__all__ = ["WholesaleImportError", "import_wholesale_bill"]

_COLUMNS = ("usage_type", "quantity", "amount")


class WholesaleImportError(ValueError):
    """A bad bill: names the line and field."""


def _decimal(value: str, line: int, name: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation as exc:
        raise WholesaleImportError(f"line {line}: {name}: {value!r} is not a number") from exc
    if not number.is_finite():
        raise WholesaleImportError(f"line {line}: {name}: {value!r} is not a finite number")
    return number


def import_wholesale_bill(session: Session, partner_id: str, period: str, text: str) -> int:
    """Replace the period's bill with the CSV's lines (one per usage type); caller commits."""
    parse_period(period)
    partner = TenantRepository(session).partner(partner_id)
    if partner is None:
        raise WholesaleImportError(f"partner: {partner_id!r} does not exist")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != _COLUMNS:
        raise WholesaleImportError(
            f"header: expected {','.join(_COLUMNS)}, got {reader.fieldnames}"
        )
    lines: dict[str, WholesaleBillLine] = {}
    for number, row in enumerate(reader, start=2):
        usage_type = (row["usage_type"] or "").strip()
        if not usage_type:
            raise WholesaleImportError(f"line {number}: usage_type: empty")
        if usage_type in lines:
            raise WholesaleImportError(f"line {number}: usage_type: {usage_type!r} repeated")
        lines[usage_type] = WholesaleBillLine(
            partner_id=partner_id,
            period=period,
            usage_type=usage_type,
            quantity=_decimal(row["quantity"] or "", number, "quantity"),
            amount_minor=to_minor(
                _decimal(row["amount"] or "", number, "amount"), partner.currency
            ),
            currency=partner.currency,
        )
    replace_wholesale_bill(session, partner_id, period, lines.values())
    return len(lines)
