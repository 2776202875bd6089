"""Checks one raw usage event and turns it into what gets stored, or says exactly why not.

This is the hot path of ingestion (a million events per run), so it is plain Python over
dicts with everything per-partner looked up once in a `Catalog`, not a Pydantic model per
event. The body hash covers what makes two sends "the same event": client, usage type, the
exact quantity, the instant (whatever offset it was written in) and the properties.

Late usage (the partner's `late_event_days`): an event of a billing period that was never
invoiced is always accepted, however old, and is billed when that period is. Once the period's
invoice was issued, the event is still accepted up to `late_event_days` after that issue (it
goes on the client's next invoice as a prior-period adjustment); later than that it is
refused, naming the invoice. `late_rejection` applies the rule to a valid event given the
client's issued periods, which the service reads once per batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.metering.event_properties import InvalidEventError, encode_properties
from billing.metering.models import QUANTITY_SCALE
from config.money import to_minor
from config.text import printable, text_problem

__all__ = [
    "EVENT_FIELDS",
    "FUTURE_TOLERANCE",
    "MAX_ADJUSTED",
    "MAX_EVENT_ID",
    "MAX_PROPERTIES_BYTES",
    "Catalog",
    "EventValidator",
    "IssuedPeriod",
    "Rejection",
    "UsageTypeRule",
    "ValidEvent",
    "body_hash",
    "late_rejection",
]

EVENT_FIELDS = frozenset(
    {"event_id", "client", "usage_type", "quantity", "occurred_at", "properties", "adjusts"}
)
MAX_PROPERTIES_BYTES = 16 * 1024
MAX_EVENT_ID = 200
FUTURE_TOLERANCE = timedelta(hours=24)
# A stored quantity is a signed 64-bit count of 10^-QUANTITY_SCALE units.
MAX_ADJUSTED = 18 - QUANTITY_SCALE - 1


@dataclass(frozen=True, slots=True)
class UsageTypeRule:
    code: str
    precision: int
    wholesale_rate: Decimal
    quantum: Decimal = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantum", Decimal(1).scaleb(-self.precision))


@dataclass(slots=True)
class Catalog:
    """One partner's lookups for a batch; `clients` maps known client ids to their status."""

    partner_id: str
    currency: str
    late_event_days: int
    usage_types: dict[str, UsageTypeRule]
    clients: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IssuedPeriod:
    """A client's billing period whose invoice was issued and stands (not voided): the
    period as UTC instants (`end` exclusive), when it was issued and its number."""

    start: datetime
    end: datetime
    issued_at: datetime
    number: str


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    field: str
    reason: str
    event_id: str | None = None


@dataclass(slots=True)
class ValidEvent:
    index: int
    event_id: str
    client_id: str
    usage_type: str
    quantity: Decimal
    quantity_scaled: int
    occurred_at: datetime
    occurred_text: str
    properties: dict[str, Any] | None
    properties_json: str | None
    adjusts: str | None
    wholesale_cost: int
    body_hash: str
    # Assigned when stored, as 32 hex digits (`config.db_types.uuid7_hex`); for an adjustment,
    # the id of the stored original in the same form.
    id: str | None = None
    adjusts_id: str | None = None


class EventValidator:
    """Validates events for one partner against one arrival time (the batch's)."""

    def __init__(self, catalog: Catalog, received_at: datetime) -> None:
        self.catalog = catalog
        self.received_at = received_at
        self.latest = received_at + FUTURE_TOLERANCE

    def validate(self, index: int, raw: object) -> ValidEvent | Rejection:
        try:
            return self._validate(index, raw)
        except InvalidEventError as problem:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            # echoed back only when it can be (a lone surrogate has no JSON-over-UTF-8 form)
            event_id = (
                event_id if isinstance(event_id, str) and not text_problem(event_id) else None
            )
            return Rejection(index, problem.field, problem.reason, event_id)

    def _validate(self, index: int, raw: object) -> ValidEvent:
        if not isinstance(raw, dict):
            raise InvalidEventError("event", "must be a JSON object")
        if not EVENT_FIELDS.issuperset(raw):
            unknown = sorted(printable(str(key)) for key in raw if key not in EVENT_FIELDS)
            raise InvalidEventError(unknown[0], "unknown field")
        event_id = raw.get("event_id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
            raise InvalidEventError("event_id", _required_text(event_id, MAX_EVENT_ID))
        _storable("event_id", event_id)
        catalog = self.catalog
        # A client or usage type found in the catalog was read from the database, so it is
        # storable text: only names not found are checked (the same rejection, less work).
        client_id = raw.get("client")
        if not isinstance(client_id, str):
            raise InvalidEventError("client", _required_text(client_id, 64))
        status = catalog.clients.get(client_id)
        if status is None:
            _storable("client", client_id)
            raise InvalidEventError("client", f"unknown client {client_id!r}")
        if status == "archived":
            raise InvalidEventError("client", f"client {client_id!r} is archived")
        code = raw.get("usage_type")
        if not isinstance(code, str):
            raise InvalidEventError("usage_type", _required_text(code, 64))
        rule = catalog.usage_types.get(code)
        if rule is None:
            _storable("usage_type", code)
            raise InvalidEventError("usage_type", f"unknown usage type {code!r}")
        adjusts = raw.get("adjusts")
        if adjusts is not None and (not isinstance(adjusts, str) or not adjusts):
            raise InvalidEventError(
                "adjusts", "must be the event_id of the event this one corrects"
            )
        if adjusts is not None:
            _storable("adjusts", adjusts)
        quantity = _quantity(raw.get("quantity"), rule, adjustment=adjusts is not None)
        occurred_at = self._occurred_at(raw.get("occurred_at"))
        occurred_text = occurred_at.isoformat(" ", "microseconds")[:26]
        properties = raw.get("properties")
        properties_json: str | None = None
        if properties is not None:
            if not isinstance(properties, dict):
                raise InvalidEventError("properties", "must be a JSON object")
            if properties:
                properties_json = encode_properties(properties)
                size = len(properties_json)
                if size * 4 > MAX_PROPERTIES_BYTES:
                    size = len(properties_json.encode())
                if size > MAX_PROPERTIES_BYTES:
                    raise InvalidEventError("properties", f"is {size} bytes; the limit is 16 KiB")
            else:
                properties = None
        scaled = int(quantity.scaleb(QUANTITY_SCALE))
        return ValidEvent(
            index,
            event_id,
            client_id,
            code,
            quantity,
            scaled,
            occurred_at,
            occurred_text,
            properties,
            properties_json,
            adjusts,
            to_minor(quantity * rule.wholesale_rate, catalog.currency),
            body_hash(client_id, code, scaled, occurred_text, properties_json, adjusts),
        )

    def _occurred_at(self, value: object) -> datetime:
        if value is None or value == "":
            raise InvalidEventError("occurred_at", "is required")
        if not isinstance(value, str):
            raise InvalidEventError("occurred_at", "must be an ISO 8601 timestamp string")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidEventError(
                "occurred_at", f"{value[:40]!r} is not an ISO 8601 timestamp"
            ) from None
        if parsed.tzinfo is None:
            raise InvalidEventError(
                "occurred_at", "has no time zone: add Z or an offset such as +02:00"
            )
        try:
            occurred = parsed.astimezone(UTC)
        except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
            raise InvalidEventError("occurred_at", f"{value[:40]!r} is out of range") from None
        if occurred > self.latest:
            raise InvalidEventError("occurred_at", "is more than 24 hours in the future")
        return occurred


def body_hash(
    client_id: str,
    usage_type: str,
    quantity_scaled: int,
    occurred_text: str,
    properties_json: str | None,
    adjusts: str | None,
) -> str:
    """What makes two sends "the same event" (a replay, not a conflict), hashed: client, usage
    type, the exact quantity, the instant in UTC, the properties and what it corrects. Both
    validation paths call this one function."""
    canonical = "\x1f".join(
        (
            client_id,
            usage_type,
            str(quantity_scaled),
            occurred_text,
            properties_json or "",
            adjusts or "",
        )
    )
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def late_rejection(
    event: ValidEvent,
    periods: Sequence[IssuedPeriod],
    received_at: datetime,
    late_event_days: int,
) -> Rejection | None:
    """The rejection of `event` when its period's invoice was issued more than
    `late_event_days` before `received_at`; None when it may be stored (no issued invoice
    covers it, or it arrived within the window). `periods` are the client's, by start."""
    occurred = event.occurred_at
    for period in reversed(periods):
        if period.start > occurred:
            continue
        if occurred >= period.end:
            return None  # between periods, or after the newest: never invoiced
        deadline = period.issued_at + timedelta(days=late_event_days)
        if received_at <= deadline:
            return None
        fix = "; correct an older period with a credit note" if event.adjusts else ""
        return Rejection(
            event.index,
            "occurred_at",
            f"is in the period of invoice {period.number}, issued {period.issued_at:%Y-%m-%d}; "
            f"usage of an invoiced period is accepted for late_event_days ({late_event_days}) "
            f"after its invoice was issued, that is until {deadline:%Y-%m-%d %H:%M} UTC{fix}",
            event.event_id,
        )
    return None


def _quantity(value: object, rule: UsageTypeRule, *, adjustment: bool) -> Decimal:
    if type(value) is Decimal:
        quantity = value
    elif type(value) is str:
        if not value.strip():
            raise InvalidEventError("quantity", "is required")
        try:
            quantity = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidEventError("quantity", f"{value[:40]!r} is not a number") from None
    elif type(value) is int:
        quantity = Decimal(value)
    elif value is None:
        raise InvalidEventError("quantity", "is required")
    else:
        raise InvalidEventError("quantity", f"must be a decimal number, not {type(value).__name__}")
    if not quantity.is_finite():
        raise InvalidEventError("quantity", "must be finite (NaN and infinity are refused)")
    if quantity < 0 and not adjustment:
        raise InvalidEventError("quantity", "must not be negative (only adjustments may be)")
    if quantity and quantity.adjusted() > MAX_ADJUSTED:
        raise InvalidEventError("quantity", "is too large")
    # Exact: the quotient has at most 18 digits once the magnitude is bounded as above.
    if quantity % rule.quantum:
        raise InvalidEventError(
            "quantity",
            f"has more decimal places than usage type {rule.code!r} allows ({rule.precision})",
        )
    return quantity


def _storable(field: str, value: str) -> None:
    problem = text_problem(value)
    if problem is not None:
        raise InvalidEventError(field, problem)


def _required_text(value: object, limit: int) -> str:
    if value is None or value == "":
        return "is required"
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    return f"must be at most {limit} characters"
