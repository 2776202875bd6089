"""The clean-batch path (`clean_batch`) against the per-event validator it stands in for.

Its one promise: for a batch the validator accepts whole, exactly the validator's `ValidEvent`s;
for any other batch, None (so the validator runs and names each rejection). Corrections
(`adjusts`) always take the validator's path. Random batches mix
clean events with every kind of flaw the validator refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.metering.batch_validation import clean_batch
from billing.metering.validation import Catalog, EventValidator, UsageTypeRule, ValidEvent

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
CATALOG = Catalog(
    partner_id="acme",
    currency="USD",
    late_event_days=90,
    usage_types={
        "sms": UsageTypeRule("sms", 0, Decimal("0.0075")),
        "voice_minutes": UsageTypeRule("voice_minutes", 2, Decimal("0.013")),
        "runs": UsageTypeRule("runs", 3, Decimal("0.00125")),
    },
    clients={"alpha": "active", "beta": "suspended", "gone": "archived", "ünï": "active"},
)


def by_validator(raws: list[object]) -> list[object]:
    validator = EventValidator(CATALOG, NOW)
    with localcontext(Context(prec=60)):
        return [validator.validate(index, raw) for index, raw in enumerate(raws)]


def by_clean_path(raws: list[object]) -> list[ValidEvent] | None:
    with localcontext(Context(prec=60)):
        return clean_batch(CATALOG, NOW, raws, list(range(len(raws))))


def fields(event: ValidEvent) -> tuple[object, ...]:
    return tuple(getattr(event, name) for name in ValidEvent.__slots__)


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2026, 10, 16, 11, 0)
).map(lambda moment: moment.replace(tzinfo=UTC))
offsets = st.sampled_from(["Z", "+00:00", "-04:00", "+05:30", "+14:00"])


@st.composite
def stamps(draw: st.DrawFn) -> str:
    instant = draw(instants)
    offset = draw(offsets)
    hours = 0 if offset in ("Z", "+00:00") else int(offset[:3])
    minutes = 0 if offset in ("Z", "+00:00") else int(offset[0] + offset[4:])
    local = instant + timedelta(hours=hours, minutes=minutes)
    return local.replace(tzinfo=None).isoformat() + offset


@st.composite
def clean_events(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from(sorted(CATALOG.usage_types)))
    precision = CATALOG.usage_types[code].precision
    units = draw(st.integers(min_value=0, max_value=10**9))
    quantity = Decimal(units).scaleb(-precision)
    form = draw(st.sampled_from(["decimal", "text", "int"]))
    sent: object = quantity
    if form == "text":
        sent = f" {quantity} "
    elif form == "int" and precision == 0:
        sent = units
    event: dict[str, Any] = {
        "event_id": draw(st.text(min_size=1, max_size=40).filter(lambda t: "\x00" not in t)),
        "client": draw(st.sampled_from(["alpha", "beta", "ünï"])),
        "usage_type": code,
        "quantity": sent,
        "occurred_at": draw(stamps()),
    }
    if draw(st.booleans()):
        event["properties"] = draw(
            st.one_of(
                st.none(),
                st.just({}),
                st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5)),
            )
        )
    return event


FLAWS: list[tuple[str, object]] = [
    ("client", "gone"),
    ("client", "nobody"),
    ("client", ["alpha"]),
    ("usage_type", "fax"),
    ("quantity", Decimal("-1")),
    ("quantity", Decimal("1.2345")),
    ("quantity", Decimal("NaN")),
    ("quantity", "1e30"),
    ("quantity", True),
    ("quantity", "twelve"),
    ("occurred_at", "2026-10-15T10:00:00"),
    ("occurred_at", "2026-10-20T10:00:00Z"),
    ("occurred_at", "0001-01-01T00:00:00+01:00"),
    ("occurred_at", 1760000000),
    ("event_id", ""),
    ("event_id", "x" * 201),
    ("event_id", "a\x00b"),
    ("event_id", "\ud800"),
    ("properties", ["a"]),
    ("properties", {"a": "\x00"}),
    ("adjusts", "e-1"),
    ("colour", "red"),
]


@st.composite
def batches(draw: st.DrawFn) -> list[object]:
    events: list[object] = draw(st.lists(clean_events(), min_size=1, max_size=12))
    if draw(st.booleans()):
        position = draw(st.integers(min_value=0, max_value=len(events) - 1))
        name, value = draw(st.sampled_from(FLAWS))
        flawed = dict(events[position])  # type: ignore[call-overload]
        flawed[name] = value
        events[position] = flawed
    if draw(st.integers(min_value=0, max_value=20)) == 0:
        events.append("not an object")
    return events


@settings(max_examples=400, deadline=None)
@given(batches())
def test_the_clean_path_equals_the_validator_or_steps_aside(raws: list[object]) -> None:
    expected = by_validator(raws)
    clean = by_clean_path(raws)
    corrections = any(isinstance(e, ValidEvent) and e.adjusts is not None for e in expected)
    if all(isinstance(event, ValidEvent) for event in expected) and not corrections:
        assert clean is not None, "a batch the validator accepts whole is clean"
        assert [fields(e) for e in clean] == [fields(e) for e in expected]  # type: ignore[arg-type]
    else:
        assert clean is None, [e for e in expected if not isinstance(e, ValidEvent)]


def test_the_events_keep_their_places_in_what_was_sent() -> None:
    raws: list[object] = [
        {
            "event_id": f"e-{n}",
            "client": "alpha",
            "usage_type": "sms",
            "quantity": Decimal(n),
            "occurred_at": "2026-10-15T10:00:00Z",
        }
        for n in range(3)
    ]
    with localcontext(Context(prec=60)):
        clean = clean_batch(CATALOG, NOW, raws, [7, 2, 40])
    assert clean is not None
    assert [(e.index, e.event_id) for e in clean] == [(7, "e-0"), (2, "e-1"), (40, "e-2")]


@pytest.mark.parametrize("empty", [[], [{}]])
def test_an_empty_batch_or_event_is_not_clean(empty: list[object]) -> None:
    assert by_clean_path(empty) is None
