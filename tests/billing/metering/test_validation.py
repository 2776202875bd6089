"""The per-event rules, without a database: every rejection names its field and a clear reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.metering.batch_body import BatchTooLargeError, MalformedBatchError, parse_batch
from billing.metering.event_properties import encode_properties
from billing.metering.validation import (
    MAX_PROPERTIES_BYTES,
    Catalog,
    EventValidator,
    Rejection,
    UsageTypeRule,
    ValidEvent,
)

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)


def validator(late_event_days: int = 90) -> EventValidator:
    catalog = Catalog(
        partner_id="acme",
        currency="USD",
        late_event_days=late_event_days,
        usage_types={
            "sms": UsageTypeRule("sms", 0, Decimal("0.0075")),
            "voice_minutes": UsageTypeRule("voice_minutes", 2, Decimal("0.013")),
        },
        clients={"alpha": "active", "gone": "archived"},
    )
    return EventValidator(catalog, NOW)


def raw(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "e-1",
        "client": "alpha",
        "usage_type": "voice_minutes",
        "quantity": Decimal("12.5"),
        "occurred_at": "2026-10-15T10:00:00Z",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def rejected(body: object) -> Rejection:
    result = validator().validate(7, body)
    assert isinstance(result, Rejection), result
    assert result.index == 7
    return result


def accepted(body: object, **kwargs: Any) -> ValidEvent:
    result = validator(**kwargs).validate(0, body)
    assert isinstance(result, ValidEvent), result
    return result


def test_a_valid_event_is_normalised_to_utc_and_costed() -> None:
    event = accepted(raw(occurred_at="2026-10-15T06:00:00-04:00"))
    assert event.occurred_at == datetime(2026, 10, 15, 10, 0, tzinfo=UTC)
    assert event.quantity == Decimal("12.5")
    assert event.quantity_scaled == 12_500_000
    assert event.wholesale_cost == 16  # 12.5 x 0.013 = 0.1625 -> 16 cents, half-up


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"client": "nobody"}, "client", "unknown client 'nobody'"),
        ({"client": "gone"}, "client", "client 'gone' is archived"),
        ({"client": ...}, "client", "is required"),
        ({"usage_type": "fax"}, "usage_type", "unknown usage type 'fax'"),
        ({"quantity": ...}, "quantity", "is required"),
        ({"quantity": None}, "quantity", "is required"),
        ({"quantity": "twelve"}, "quantity", "'twelve' is not a number"),
        ({"quantity": True}, "quantity", "must be a decimal number, not bool"),
        ({"quantity": Decimal("-1")}, "quantity", "must not be negative (only adjustments may be)"),
        ({"quantity": Decimal("NaN")}, "quantity", "must be finite (NaN and infinity are refused)"),
        ({"quantity": "Infinity"}, "quantity", "must be finite (NaN and infinity are refused)"),
        ({"quantity": "-inf"}, "quantity", "must be finite (NaN and infinity are refused)"),
        (
            {"quantity": "1.234"},
            "quantity",
            "has more decimal places than usage type 'voice_minutes' allows (2)",
        ),
        ({"quantity": "1e15"}, "quantity", "is too large"),
        ({"occurred_at": ...}, "occurred_at", "is required"),
        ({"occurred_at": "yesterday"}, "occurred_at", "'yesterday' is not an ISO 8601 timestamp"),
        (
            {"occurred_at": "2026-10-15T10:00:00"},
            "occurred_at",
            "has no time zone: add Z or an offset such as +02:00",
        ),
        (
            {"occurred_at": "2026-10-16T12:00:01Z"},
            "occurred_at",
            "is more than 24 hours in the future",
        ),
        (
            {"occurred_at": "0001-01-01T00:00:00+01:00"},
            "occurred_at",
            "'0001-01-01T00:00:00+01:00' is out of range",
        ),
        ({"properties": ["a"]}, "properties", "must be a JSON object"),
        ({"event_id": ""}, "event_id", "is required"),
        ({"event_id": 12}, "event_id", "must be a string, not int"),
        ({"event_id": "x" * 201}, "event_id", "must be at most 200 characters"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"adjusts": ""}, "adjusts", "must be the event_id of the event this one corrects"),
    ],
)
def test_each_rule_names_field_and_reason(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    problem = rejected(raw(**overrides))
    assert (problem.field, problem.reason) == (field, reason)


def test_a_non_object_is_rejected_as_a_whole() -> None:
    problem = rejected(["e-1", "alpha"])
    assert (problem.field, problem.reason, problem.event_id) == (
        "event",
        "must be a JSON object",
        None,
    )


def test_the_rejection_carries_the_senders_event_id() -> None:
    assert rejected(raw(client="nobody")).event_id == "e-1"


def test_the_boundaries_themselves_are_accepted() -> None:
    accepted(raw(occurred_at=(NOW + timedelta(hours=24)).isoformat()))
    accepted(raw(quantity=Decimal("0")))
    accepted(raw(quantity="12.50"))  # trailing zeros are not extra precision


def test_age_alone_is_no_reason_to_refuse() -> None:
    """How old an event is says nothing of whether its period was invoiced: the late-usage
    rule (`late_rejection`, tests/billing/metering/test_late_events.py) needs the client's
    issued periods, which the validator does not have."""
    accepted(raw(occurred_at=(NOW - timedelta(days=3650)).isoformat()), late_event_days=7)


def test_properties_over_16_kib_are_rejected_and_at_16_kib_kept() -> None:
    padding = MAX_PROPERTIES_BYTES - len('{"p":""}')
    accepted(raw(properties={"p": "x" * padding}))
    problem = rejected(raw(properties={"p": "x" * (padding + 1)}))
    assert problem.field == "properties"
    assert problem.reason == f"is {MAX_PROPERTIES_BYTES + 1} bytes; the limit is 16 KiB"


def test_properties_size_counts_utf8_bytes() -> None:
    # 6,000 euro signs are 18,000 bytes in UTF-8, though only 6,000 characters.
    problem = rejected(raw(properties={"p": "€" * 6000}))
    assert problem.field == "properties"


def test_an_adjustment_may_be_negative() -> None:
    event = accepted(raw(quantity=Decimal("-2.5"), adjusts="e-0"))
    assert event.quantity_scaled == -2_500_000
    assert event.wholesale_cost == -3  # -0.0325 rounds half-up (away from zero) to -3 cents


def test_the_same_instant_in_another_offset_has_the_same_body() -> None:
    one = accepted(raw(occurred_at="2026-10-15T10:00:00Z", quantity=Decimal("12.5")))
    two = accepted(raw(occurred_at="2026-10-15T12:00:00+02:00", quantity="12.50"))
    assert one.body_hash == two.body_hash
    other = accepted(raw(quantity="12.51"))
    assert other.body_hash != one.body_hash


@settings(deadline=None)  # CI machines are shared; the property, not the speed, is tested
@given(
    digits=st.integers(min_value=0, max_value=10**12),
    decimals=st.integers(min_value=0, max_value=8),
    precision=st.integers(min_value=0, max_value=6),
)
def test_precision_rule_matches_the_decimal_places_of_random_quantities(
    digits: int, decimals: int, precision: int
) -> None:
    text = str(Decimal(digits).scaleb(-decimals))
    value = Decimal(text)
    catalog = Catalog("acme", "USD", 90, {"t": UsageTypeRule("t", precision, Decimal("0.5"))})
    catalog.clients["alpha"] = "active"
    result = EventValidator(catalog, NOW).validate(0, raw(usage_type="t", quantity=text))
    places = max(0, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
    if value.adjusted() > 11:
        assert isinstance(result, Rejection)
    elif places <= precision:
        assert isinstance(result, ValidEvent), result
        assert Decimal(result.quantity_scaled).scaleb(-6) == value
    else:
        assert isinstance(result, Rejection)
        assert result.field == "quantity"


# Storable text: no NUL (st.text never draws lone surrogates: they are not characters).
storable = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False, places=4)
    | st.text(storable, max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(storable, max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(deadline=None)
@given(st.dictionaries(st.text(storable, max_size=8), json_values, max_size=5))
def test_properties_survive_encoding_exactly(properties: dict[str, Any]) -> None:
    text = encode_properties(properties)
    assert json.loads(text, parse_float=Decimal) == properties


BAD_TEXT = st.sampled_from(["\x00", "a\x00b", "\ud83d", "x\udc80y"])


@st.composite
def properties_with_one_bad_string(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """Good properties with one NUL or lone surrogate planted as a key or a value somewhere,
    and the path where it was planted."""
    properties = draw(
        st.dictionaries(st.text("abc", min_size=1, max_size=3), json_values, max_size=3)
    )
    bad = draw(BAD_TEXT)
    path = draw(st.lists(st.text("xyz", min_size=1, max_size=2), min_size=0, max_size=3))
    holder: dict[str, Any] = properties
    for key in path:
        if not isinstance(holder.get(key), dict):
            holder[key] = {}
        holder = holder[key]
    as_key = draw(st.booleans())
    if as_key:
        holder[bad] = draw(json_values)
    else:
        holder["bad"] = [Decimal("1.5"), bad] if draw(st.booleans()) else bad
    return properties, ".".join(path)


@settings(deadline=None)
@given(properties_with_one_bad_string())
def test_properties_with_a_nul_or_a_lone_surrogate_are_rejected_at_their_path(
    planted: tuple[dict[str, Any], str],
) -> None:
    properties, path = planted
    result = rejected(raw(properties=properties))
    assert result.field.startswith("properties")
    assert path in result.field
    assert "NUL" in result.reason or "surrogate" in result.reason
    json.dumps(result.field, ensure_ascii=False).encode()  # the answer can be sent as UTF-8


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("event_id", "e\x00", "NUL"),
        ("event_id", "e\ud83d", "surrogate"),
        ("client", "alpha\x00", "NUL"),
        ("client", "\udc80", "surrogate"),
        ("usage_type", "sms\x00", "NUL"),
        ("adjusts", "e-0\x00", "NUL"),
    ],
)
def test_text_fields_that_cannot_be_stored_are_rejected(
    field: str, value: str, reason: str
) -> None:
    result = rejected(raw(**{field: value}))
    assert (result.field, reason in result.reason) == (field, True)
    if field == "event_id":
        assert result.event_id is None  # not echoed: a lone surrogate has no UTF-8 form
    else:
        assert result.event_id == "e-1"


def test_properties_nested_too_deeply_are_rejected() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(40):
        inner["k"] = {}
        inner = inner["k"]
    result = rejected(raw(properties=deep))
    assert result.field.startswith("properties.k.k")
    assert "nested deeper than 32 levels" in result.reason
    assert isinstance(
        validator().validate(0, raw(properties={"a": {"b": [1, {"c": "d"}]}})), ValidEvent
    )


def test_a_placeholder_lookalike_in_a_value_stays_text() -> None:
    # the decimals' placeholders cannot be forged by a sender
    properties = {"a": Decimal("1.5"), "b": "\ue0000", "c": "\\u00000"}
    assert json.loads(encode_properties(properties), parse_float=Decimal) == properties


def test_parse_batch_reads_numbers_as_decimals() -> None:
    batch = parse_batch(b'[{"quantity": 0.1, "n": 3}]')
    assert batch == [{"quantity": Decimal("0.1"), "n": 3}]
    assert type(batch[0]["quantity"]) is Decimal  # type: ignore[index]


def test_parse_batch_says_where_the_json_broke() -> None:
    with pytest.raises(MalformedBatchError) as caught:
        parse_batch(b'[\n  {"event_id": "a"},\n  {"event_id": }\n]')
    assert (caught.value.line, caught.value.column) == (3, 16)
    assert "line 3, column 16" in str(caught.value)


def test_parse_batch_refuses_a_body_nested_too_deeply_for_the_parser() -> None:
    with pytest.raises(MalformedBatchError, match="nested too deeply"):
        parse_batch(b"[" * 100_000 + b"]" * 100_000)


def test_parse_batch_refuses_a_non_array_and_too_many_events() -> None:
    with pytest.raises(MalformedBatchError, match="must be a JSON array"):
        parse_batch(b'{"event_id": "a"}')
    with pytest.raises(BatchTooLargeError, match="3 events in one batch; the limit is 2"):
        parse_batch(b"[{}, {}, {}]", limit=2)
