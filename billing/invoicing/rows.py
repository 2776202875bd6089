"""Plain shapes the repository returns where ORM objects would cost too much (a cycle of
10,000 invoices) or where no table row fits (sums, filters)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Select

from billing.invoicing.models import InvoiceLineKind, InvoiceStatus
from config.key_arrays import ARRAY_CHUNK

__all__ = [
    "ARRAY_CHUNK",
    "CHUNK",
    "BilledUsage",
    "ClientInfo",
    "InvoiceFilter",
    "LateEvent",
    "LineFigure",
    "UsageFigure",
    "chunks",
]

CHUNK = 500
"""Ids per `IN (...)` list: far below both databases' parameter limits."""

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    status: InvoiceStatus | None = None
    client_id: str | None = None
    period_start: date | None = None
    period_from: date | None = None
    period_to: date | None = None


@dataclass
class BilledUsage:
    """What the client's standing invoices billed (and cleared) of one usage type and period."""

    quantity: Decimal = Decimal(0)
    charge: int = 0
    cost: int = 0
    unbilled_cleared: int = 0
    cost_cleared: int = 0
    watermark: datetime | None = None


@dataclass(frozen=True, slots=True)
class LateEvent:
    client_id: str
    usage_type: str
    occurred_at: datetime
    received_at: datetime


class LineFigure(NamedTuple):
    """A line's figures without the ORM object (issuing thousands at once)."""

    kind: InvoiceLineKind
    usage_type: str | None
    amount_minor: int
    origin_period_start: date | None = None
    adjusts: InvoiceLineKind | None = None


@dataclass(slots=True)
class UsageFigure:
    """A usage row's figures without the ORM object; issuing fills in the cleared amounts."""

    id: int
    usage_type: str
    origin_period_start: date
    charge_minor: int
    cost_minor: int
    unbilled_cleared_minor: int = 0
    cost_cleared_minor: int = 0


class ClientInfo(NamedTuple):
    """What closing needs of a client, without loading ORM objects for thousands of them."""

    id: str
    timezone: str
    billing_anchor_day: int
    currency: str
    created_at: datetime
