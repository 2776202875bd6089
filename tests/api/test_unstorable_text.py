"""Text neither database can store (a lone surrogate, NUL) never fails more than its own event
or request: one odd event in a batch is rejected with its index, field path and reason, and the
rest is kept, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Keys
from tests.billing.factories import event


def post_raw(api: TestClient, key: str, text: str) -> Any:
    """`text` as written: JSON escapes such as \\ud83d reach the server untouched."""
    return api.post("/v1/usage", content=text.encode(), headers=Keys.header(key))


def batch_text(*events: dict[str, Any], raw: dict[int, tuple[str, str]] | None = None) -> str:
    """A JSON array of events where `raw[i] = (placeholder, escape)` swaps a placeholder value
    in event i for a JSON escape the standard encoder would never write (`\\ud83d`)."""
    parts = []
    for index, body in enumerate(events):
        text = json.dumps(body)
        if raw and index in raw:
            placeholder, escape = raw[index]
            text = text.replace(placeholder, escape)
        parts.append(text)
    return "[" + ",".join(parts) + "]"


ODD_EVENTS: list[tuple[str, dict[str, Any], tuple[str, str], str, str]] = [
    ("lone surrogate in a property", event("b", properties={"k": "@"}), ("@", "\\ud83d"),
     "properties.k", "contains a lone surrogate (U+D83D)"),
    ("lone surrogate in a nested key", event("b", properties={"a": [{"@": 1}]}), ("@", "x\\udc00"),
     "properties.a[0].x\\udc00", "the key contains a lone surrogate (U+DC00)"),
    ("NUL in a property", event("b", properties={"k": {"j": "@"}}), ("@", "a\\u0000b"),
     "properties.k.j", "contains a NUL character (U+0000)"),
    ("NUL in a property key", event("b", properties={"@": "v"}), ("@", "\\u0000"),
     "properties.\\u0000", "the key contains a NUL character"),
    ("NUL in event_id", event("@"), ("@", "e\\u0000"), "event_id", "contains a NUL character"),
    ("surrogate in event_id", event("@"), ("@", "\\ud800"), "event_id", "lone surrogate"),
    ("NUL in client", event("b", client="@"), ("@", "alpha\\u0000"), "client", "NUL"),
    ("surrogate in client", event("b", client="@"), ("@", "\\udfff"), "client", "lone surrogate"),
    ("NUL in usage_type", event("b", usage_type="@"), ("@", "sms\\u0000"), "usage_type", "NUL"),
    ("NUL in adjusts", event("b", quantity="-1", adjusts="@"), ("@", "ok-0\\u0000"), "adjusts",
     "NUL"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("odd", "swap", "field", "reason"), [o[1:] for o in ODD_EVENTS], ids=[o[0] for o in ODD_EVENTS]
)
def test_one_odd_event_never_fails_the_batch(
    api: TestClient, keys: Keys, odd: dict[str, Any], swap: tuple[str, str], field: str, reason: str
) -> None:
    text = batch_text(event("ok-0"), odd, event("ok-2"), raw={1: swap})
    response = post_raw(api, keys.acme, text)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    [rejection] = body["rejections"]
    assert (rejection["index"], rejection["field"]) == (1, field)
    assert reason in rejection["reason"]
    stored = api.get("/v1/usage", headers=Keys.header(keys.acme)).json()["items"]
    assert sorted(e["event_id"] for e in stored) == ["ok-0", "ok-2"]
    # the platform's retry of the same batch is not stuck: the good ones are duplicates now
    again = post_raw(api, keys.acme, text).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 1)


def test_a_deep_but_parsable_property_costs_only_its_event(api: TestClient, keys: Keys) -> None:
    deep = "[" * 200 + "]" * 200
    text = batch_text(event("ok-0"), event("deep", properties={"k": "@"}), raw={1: ('"@"', deep)})
    body = post_raw(api, keys.acme, text).json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["rejections"][0]["field"].startswith("properties.k[0][0]")
    assert "nested deeper than 32 levels" in body["rejections"][0]["reason"]


def test_a_body_too_deep_to_parse_is_400(api: TestClient, keys: Keys) -> None:
    response = post_raw(api, keys.acme, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
