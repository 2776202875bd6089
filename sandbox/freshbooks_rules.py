"""What the FreshBooks fake checks and computes, kept apart from its routing.

- Validation answers FreshBooks' envelope, ``{"response": {"errors": [{"errno", "field",
  "message", "object", "value"}]}}`` with HTTP 422 (the errno values are the fake's own; the
  connector relies on `field` and `message`, never on a number).
- Money: ``{"amount": "12.34", "code": "USD"}``, amounts as decimal strings. A line's amount
  is recomputed as ``qty x unit_cost`` (the fake keeps 2 decimals of each, or the currency's
  own for a unit cost in a 3-decimal currency, as the connector assumes, and rounds the
  product half-up to the currency's minor unit); a line's ``taxAmount1``/``taxAmount2`` are
  percentages applied per line and rounded again.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

__all__ = [
    "CURRENCIES",
    "InvalidError",
    "envelope",
    "errors_response",
    "invoice_totals",
    "money",
    "parse_amount",
    "quantize",
]

CURRENCIES = {"USD": 2, "CAD": 2, "EUR": 2, "GBP": 2, "AUD": 2, "JPY": 0, "BHD": 3}
ERRNO_REQUIRED = 2001
ERRNO_INVALID = 2002
ERRNO_DUPLICATE = 2003
ERRNO_NOT_FOUND = 1012


class InvalidError(Exception):
    """One validation failure, answered as FreshBooks' error envelope."""

    def __init__(
        self, obj: str, field: str, message: str, value: object = None, *, errno: int = 2002
    ) -> None:
        super().__init__(message)
        self.entry = {
            "errno": errno,
            "field": field,
            "message": message,
            "object": obj,
            "value": None if value is None else str(value),
        }


def _dumps(body: Any) -> bytes:
    def default(item: object) -> str:
        if isinstance(item, Decimal):
            return format(item, "f")
        raise TypeError(type(item).__name__)

    return json.dumps(body, default=default).encode()


def envelope(result: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        content=_dumps({"response": {"result": result}}),
        headers={"Content-Type": "application/json"},
    )


def errors_response(status: int, *entries: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        status,
        content=_dumps({"response": {"errors": list(entries)}}),
        headers={"Content-Type": "application/json"},
    )


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_amount(value: object, obj: str, field: str) -> Decimal:
    raw = value.get("amount") if isinstance(value, dict) else value
    try:
        amount = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise InvalidError(obj, field, "must be a decimal amount", raw) from None
    if not amount.is_finite():
        raise InvalidError(obj, field, "must be a decimal amount", raw)
    return amount


def quantity(value: object, obj: str, field: str) -> Decimal:
    """A line's ``qty``: FreshBooks documents it as a number (its examples send ``"qty": 1``),
    so a JSON string is refused here, as a strict reading of the documentation would."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidError(obj, field, "must be a number", value)
    return parse_amount(value, obj, field)


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": format(quantize(amount, CURRENCIES.get(currency, 2)), "f"), "code": currency}


def invoice_totals(
    lines: list[dict[str, Any]], currency: str, obj: str = "invoice"
) -> tuple[list[dict[str, Any]], Decimal]:
    """Lines with their recomputed amounts, and the document total (lines + line taxes)."""
    places = CURRENCIES.get(currency, 2)
    total = Decimal(0)
    stored: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise InvalidError(obj, f"lines[{index}]", "must be an object")
        qty = quantize(quantity(line.get("qty", 1), obj, f"lines[{index}].qty"), 2)
        cost = parse_amount(line.get("unit_cost"), obj, f"lines[{index}].unit_cost")
        unit = quantize(cost, max(2, places))
        if not str(line.get("name") or "").strip():
            raise InvalidError(obj, f"lines[{index}].name", "is required", errno=ERRNO_REQUIRED)
        amount = quantize(qty * unit, places)
        tax = Decimal(0)
        for key in ("taxAmount1", "taxAmount2"):
            if line.get(key):
                percent = parse_amount(line[key], obj, f"lines[{index}].{key}")
                tax += quantize(amount * percent / 100, places)
        total += amount + tax
        stored.append(
            {
                **line,
                "qty": format(qty, "f"),
                "unit_cost": {"amount": format(unit, "f"), "code": currency},
                "amount": money(amount, currency),
                "lineid": index + 1,
            }
        )
    return stored, total
