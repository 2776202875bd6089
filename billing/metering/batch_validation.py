"""The clean-batch path of validation: a whole batch checked column by column.

Almost every batch a partner sends is clean: known, active clients, known usage types, plain
quantities and timestamps, no corrections. For those, the per-event validator's work (a dozen
branches and a dataclass per event, each check with its message ready) cost more than the
database's insert. Here each rule is applied to a column at once with built-ins that loop in C
(`set` differences, `"".join(...).isascii()`, `max(map(len, ...))`), and what must be done per
event (parse the number and the instant, hash the body, price the wholesale cost) is done once,
in one loop.

It decides nothing on its own: when any rule does not hold for any event, `clean_batch` returns
None and the caller validates event by event with `EventValidator`, which names the field and
the reason of each rejection. So a clean batch gives exactly the `ValidEvent`s the validator
would give (a property test holds the two paths equal), and a dirty one costs the wasted part
of this pass, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.metering.event_properties import InvalidEventError, encode_properties
from billing.metering.models import QUANTITY_SCALE
from billing.metering.validation import (
    FUTURE_TOLERANCE,
    MAX_ADJUSTED,
    MAX_EVENT_ID,
    MAX_PROPERTIES_BYTES,
    Catalog,
    ValidEvent,
    body_hash,
)
from config.money import to_minor
from config.text import text_problem

__all__ = ["clean_batch"]

# An event of a clean batch names only these; `adjusts` (a correction) takes the full path,
# which links it to the event it corrects.
_PLAIN_FIELDS = frozenset({"event_id", "client", "usage_type", "quantity", "occurred_at"})
_WITH_PROPERTIES = _PLAIN_FIELDS | {"properties"}


def clean_batch(
    catalog: Catalog, received_at: datetime, raws: Sequence[object], indexes: Sequence[int]
) -> list[ValidEvent] | None:
    """Every event of `raws` validated, in order, or None when any one of them is not clean
    (then nothing here says which: the per-event validator does). `indexes` are the events'
    places in what was sent, which their `ValidEvent`s keep. Call it in the exact
    decimal context the validator runs in (`quantity x rate` is exact before it is rounded)."""
    if not raws or not all(type(raw) is dict for raw in raws):
        return None
    events: Sequence[dict[str, Any]] = raws  # type: ignore[assignment]
    if not _fields_are_plain(events):
        return None
    event_ids = [raw["event_id"] for raw in events]
    clients = [raw["client"] for raw in events]
    codes = [raw["usage_type"] for raw in events]
    try:  # a set of values that are not hashable (a list sent as a client) is a TypeError
        if not (
            _all_text(event_ids, MAX_EVENT_ID)
            and _all_active(clients, catalog.clients)
            and catalog.usage_types.keys() >= set(codes)
        ):
            return None
        return _events(catalog, received_at, events, indexes, event_ids, clients, codes)
    except (InvalidEventError, InvalidOperation, ValueError, OverflowError, TypeError):
        return None


def _fields_are_plain(events: Sequence[dict[str, Any]]) -> bool:
    """Every event has exactly the plain fields, plus properties at most."""
    shapes = {frozenset(raw) for raw in events}
    return all(shape in (_PLAIN_FIELDS, _WITH_PROPERTIES) for shape in shapes)


def _all_text(values: list[Any], longest: int) -> bool:
    """All non-empty strings of at most `longest` characters that both databases can store."""
    if set(map(type, values)) != {str}:
        return False
    lengths = list(map(len, values))
    if min(lengths) == 0 or max(lengths) > longest:
        return False
    joined = "".join(values)
    if joined.isascii():
        return "\x00" not in joined
    return all(text_problem(value) is None for value in values)


def _all_active(clients: list[Any], statuses: dict[str, str]) -> bool:
    """Every client is known (its status was read) and not archived."""
    named = set(clients)
    if not named.issubset(statuses):
        return False
    return all(statuses[client] != "archived" for client in named)


def _events(
    catalog: Catalog,
    received_at: datetime,
    events: Sequence[dict[str, Any]],
    indexes: Sequence[int],
    event_ids: list[str],
    clients: list[str],
    codes: list[str],
) -> list[ValidEvent] | None:
    latest = received_at + FUTURE_TOLERANCE
    rules = catalog.usage_types
    currency = catalog.currency
    # A quantity of a usage type of precision p is a whole number of 10^(6-p) millionths.
    steps = {code: 10 ** (QUANTITY_SCALE - rule.precision) for code, rule in rules.items()}
    # Real usage repeats its quantities (one SMS, one run): each cost is rounded once per batch.
    costs: dict[str, dict[int, int]] = {code: {} for code in rules}
    checked: list[ValidEvent] = []
    append = checked.append
    for position, raw in enumerate(events):
        code = codes[position]
        quantity = raw["quantity"]
        if type(quantity) is not Decimal:
            quantity = _quantity(quantity)
            if quantity is None:
                return None
        if not quantity.is_finite() or (quantity and quantity.adjusted() > MAX_ADJUSTED):
            return None
        exact = quantity.scaleb(QUANTITY_SCALE)
        scaled = int(exact)
        if scaled < 0 or scaled != exact or scaled % steps[code]:
            return None
        stamp = raw["occurred_at"]
        if type(stamp) is not str:
            return None
        parsed = datetime.fromisoformat(stamp)
        if parsed.tzinfo is None:
            return None
        occurred_at = parsed.astimezone(UTC)
        if occurred_at > latest:
            return None
        properties = raw.get("properties")
        properties_json = None
        if properties is not None:
            properties, properties_json = _properties(properties)
        occurred_text = occurred_at.isoformat(" ", "microseconds")[:26]
        client_id = clients[position]
        cost = costs[code].get(scaled)
        if cost is None:
            cost = to_minor(quantity * rules[code].wholesale_rate, currency)
            costs[code][scaled] = cost
        append(
            ValidEvent(
                indexes[position],
                event_ids[position],
                client_id,
                code,
                quantity,
                scaled,
                occurred_at,
                occurred_text,
                properties,
                properties_json,
                None,
                cost,
                body_hash(client_id, code, scaled, occurred_text, properties_json, None),
            )
        )
    return checked


def _quantity(value: object) -> Decimal | None:
    """A quantity sent as a whole number or as text, as the validator reads it; None when
    the validator would refuse it for its type."""
    if type(value) is int:
        return Decimal(value)
    if type(value) is str and value.strip():
        return Decimal(value.strip())
    return None


def _properties(value: object) -> tuple[dict[str, Any] | None, str | None]:
    """What is stored of `properties`; an empty object is stored as none."""
    if type(value) is not dict:
        raise ValueError("properties must be an object")
    if not value:
        return None, None
    text = encode_properties(value)
    size = len(text)
    if size * 4 > MAX_PROPERTIES_BYTES:
        size = len(text.encode())
    if size > MAX_PROPERTIES_BYTES:
        raise ValueError("properties too large")
    return value, text
