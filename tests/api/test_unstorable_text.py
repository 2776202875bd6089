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
    (
        "lone surrogate in a property",
        event("b", properties={"k": "@"}),
        ("@", "\\ud83d"),
        "properties.k",
        "contains a lone surrogate (U+D83D)",
    ),
    (
        "lone surrogate in a nested key",
        event("b", properties={"a": [{"@": 1}]}),
        ("@", "x\\udc00"),
        "properties.a[0].x\\udc00",
        "the key contains a lone surrogate (U+DC00)",
    ),
    (
        "NUL in a property",
        event("b", properties={"k": {"j": "@"}}),
        ("@", "a\\u0000b"),
        "properties.k.j",
        "contains a NUL character (U+0000)",
    ),
    (
        "NUL in a property key",
        event("b", properties={"@": "v"}),
        ("@", "\\u0000"),
        "properties.\\u0000",
        "the key contains a NUL character",
    ),
    ("NUL in event_id", event("@"), ("@", "e\\u0000"), "event_id", "contains a NUL character"),
    ("surrogate in event_id", event("@"), ("@", "\\ud800"), "event_id", "lone surrogate"),
    ("NUL in client", event("b", client="@"), ("@", "alpha\\u0000"), "client", "NUL"),
    ("surrogate in client", event("b", client="@"), ("@", "\\udfff"), "client", "lone surrogate"),
    ("NUL in usage_type", event("b", usage_type="@"), ("@", "sms\\u0000"), "usage_type", "NUL"),
    (
        "NUL in adjusts",
        event("b", quantity="-1", adjusts="@"),
        ("@", "ok-0\\u0000"),
        "adjusts",
        "NUL",
    ),
]


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


# --- every other text input: the same rules, and a 4xx that names the field, never a 500 ---


def send_json(api: TestClient, method: str, url: str, key: str, text: str) -> Any:
    headers = {**Keys.header(key), "Content-Type": "application/json"}
    return api.request(method, url, content=text.encode(), headers=headers)


BAD_TEXT_INPUTS: list[tuple[str, str, str, str, str]] = [
    # (id, method, url, body with a JSON escape, what the error names)
    ("client name NUL", "POST", "/v1/clients", '{"id": "c9", "name": "A\\u0000B"}', "NUL"),
    (
        "client name surrogate",
        "POST",
        "/v1/clients",
        '{"id": "c9", "name": "A\\ud83d"}',
        "lone surrogate",
    ),
    (
        "client name CRLF",
        "POST",
        "/v1/clients",
        '{"id": "c9", "name": "A\\r\\nBcc: x@y.z"}',
        "control character",
    ),
    ("client id NUL", "POST", "/v1/clients", '{"id": "c\\u0000", "name": "A"}', "NUL"),
    (
        "address line surrogate",
        "POST",
        "/v1/clients",
        '{"id": "c9", "name": "A", "address": {"city": "\\udc80"}}',
        "address.city",
    ),
    (
        "billing e-mail",
        "PATCH",
        "/v1/clients/alpha",
        '{"billing_email": "ap@dental"}',
        "not a valid e-mail address",
    ),
    (
        "partner name LF",
        "PATCH",
        "/v1/partners/acme",
        '{"name": "Acme\\nAgency"}',
        "control character",
    ),
    (
        "finance e-mail",
        "PATCH",
        "/v1/partners/acme",
        '{"settings": {"finance_emails": ["finance@acme.example", "nobody"]}}',
        "'nobody' is not a valid e-mail address",
    ),
    (
        "branding free key NUL",
        "PATCH",
        "/v1/partners/acme",
        '{"branding": {"tagline": "x\\u0000"}}',
        "tagline",
    ),
    (
        "connection setting surrogate",
        "PATCH",
        "/v1/partners/acme",
        '{"settings": {"connections": {"xero": {"account\\ud800": "200"}}}}',
        "lone surrogate",
    ),
    (
        "usage type unit CR",
        "POST",
        "/v1/usage-types",
        '{"code": "fax", "display_name": "Fax", "unit": "page\\r"}',
        "control character",
    ),
    (
        "plan name LF",
        "POST",
        "/v1/plans",
        '{"code": "p9", "name": "P\\n9", "prices": {}}',
        "control character",
    ),
    ("void reason NUL", "POST", "/v1/invoices/1/void", '{"reason": "\\u0000"}', "NUL"),
    (
        "payment reference NUL",
        "POST",
        "/v1/invoices/1/payments",
        '{"amount": "1.00", "reference": "r\\u0000"}',
        "NUL",
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "text", "named"),
    [b[1:] for b in BAD_TEXT_INPUTS],
    ids=[b[0] for b in BAD_TEXT_INPUTS],
)
def test_bad_text_on_any_route_is_refused_with_its_field(
    api: TestClient, keys: Keys, method: str, url: str, text: str, named: str
) -> None:
    response = send_json(api, method, url, keys.acme_admin, text)
    assert response.status_code == 422, response.text
    assert named in response.text
    assert "\\ud83d" not in response.text.lower() or "u+d83d" in response.text.lower()
    response.json()  # valid JSON in UTF-8, even when the input was not storable


def test_the_partner_file_and_the_api_refuse_the_same_names(api: TestClient, keys: Keys) -> None:
    from config.partner_file import PartnerFileError, parse_partner_toml

    toml = '[partner]\nid = "acme"\nname = "Acme\\nAgency"\ncurrency = "USD"\ntimezone = "UTC"\n'
    with pytest.raises(PartnerFileError) as refused:
        parse_partner_toml(toml)
    assert "partner.name: contains a control character (U+000A)" in str(refused.value)
    api_answer = send_json(
        api, "PATCH", "/v1/partners/acme", keys.acme_admin, '{"name": "Acme\\nAgency"}'
    )
    assert "contains a control character (U+000A)" in api_answer.text
