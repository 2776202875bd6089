"""`/v1/partners`, `/v1/clients`, `/v1/usage-types`, and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Keys


def test_a_platform_key_manages_partners(api: TestClient, keys: Keys) -> None:
    as_platform = Keys.header(keys.platform)
    spec = {
        "id": "initech",
        "name": "Initech",
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "branding": {"primary_color": "#112233", "logo_url": "https://x.example/l.png"},
        "settings": {"late_event_days": 30},
    }
    created = api.post("/v1/partners", json=spec, headers=as_platform)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["invoice_prefix"], body["settings"]["late_event_days"]) == ("INITECH", 30)
    assert body["branding"] == spec["branding"]
    assert api.post("/v1/partners", json=spec, headers=as_platform).status_code == 409
    listed = api.get("/v1/partners", headers=as_platform).json()["items"]
    assert [p["id"] for p in listed] == ["acme", "globex", "initech"]
    patched = api.patch(
        "/v1/partners/initech", json={"settings": {"late_event_days": 7}}, headers=as_platform
    )
    assert patched.json()["settings"]["late_event_days"] == 7
    bad = api.post(
        "/v1/partners", json={**spec, "id": "x2", "currency": "EURO"}, headers=as_platform
    )
    assert bad.status_code == 422


def test_a_partner_admin_sees_only_its_own_partner(api: TestClient, keys: Keys) -> None:
    as_acme = Keys.header(keys.acme_admin)
    assert [p["id"] for p in api.get("/v1/partners", headers=as_acme).json()["items"]] == ["acme"]
    assert api.get("/v1/partners/acme", headers=as_acme).status_code == 200
    assert api.get("/v1/partners/globex", headers=as_acme).status_code == 404
    assert api.patch("/v1/partners/globex", json={"name": "X"}, headers=as_acme).status_code == 404
    new = api.post("/v1/partners", json={"id": "mine", "name": "Mine"}, headers=as_acme)
    assert new.status_code == 403
    assert new.json()["detail"] == "only a platform key creates partners"
    renamed = api.patch("/v1/partners/acme", json={"name": "Acme Ltd"}, headers=as_acme)
    assert renamed.json()["name"] == "Acme Ltd"
    assert api.get("/v1/partners", headers=Keys.header(keys.acme)).status_code == 403


def test_a_partner_admin_manages_its_clients(api: TestClient, keys: Keys) -> None:
    as_acme = Keys.header(keys.acme_admin)
    spec = {
        "id": "delta",
        "name": "Delta",
        "external_ref": "crm-9",
        "billing_email": "ap@delta.example",
        "timezone": "Asia/Kolkata",
        "billing_anchor_day": 31,
        "address": {"line1": "1 Main St", "city": "Pune", "country": "IN"},
    }
    created = api.post("/v1/clients", json=spec, headers=as_acme)
    assert created.status_code == 201, created.text
    assert created.json()["partner_id"] == "acme" and created.json()["currency"] == "USD"
    assert api.post("/v1/clients", json=spec, headers=as_acme).status_code == 409
    again = api.post("/v1/clients", json={**spec, "id": "epsilon"}, headers=as_acme)
    assert again.status_code == 409  # external_ref taken
    invalid = api.post(
        "/v1/clients", json={"id": "z", "name": "Z", "billing_email": "nope"}, headers=as_acme
    )
    assert invalid.status_code == 422
    patched = api.patch("/v1/clients/delta", json={"status": "archived"}, headers=as_acme)
    assert patched.json()["status"] == "archived"
    assert api.patch("/v1/clients/gamma", json={"name": "x"}, headers=as_acme).status_code == 404
    # the same client id can exist under another partner
    other = api.post(
        "/v1/clients",
        json={"id": "delta", "name": "Theirs"},
        headers=Keys.header(keys.globex_admin),
    )
    assert other.status_code == 201


def test_client_listing_pages_and_filters(api: TestClient, keys: Keys) -> None:
    as_admin = Keys.header(keys.acme_admin)
    for i in range(7):
        api.post("/v1/clients", json={"id": f"c{i}", "name": f"C{i}"}, headers=as_admin)
    api.patch("/v1/clients/c3", json={"status": "suspended"}, headers=as_admin)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 4}
    while True:
        page = api.get("/v1/clients", params=params, headers=Keys.header(keys.acme_read)).json()
        seen.extend(c["id"] for c in page["items"])
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ["alpha", "beta", *(f"c{i}" for i in range(7))]
    suspended = api.get("/v1/clients", params={"status": "suspended"}, headers=as_admin).json()
    assert [c["id"] for c in suspended["items"]] == ["c3"]


def test_clients_need_a_partner_key_with_the_right_scope(api: TestClient, keys: Keys) -> None:
    spec = {"id": "zeta", "name": "Zeta"}
    platform = api.post("/v1/clients", json=spec, headers=Keys.header(keys.platform))
    assert platform.status_code == 403
    assert platform.json()["detail"] == "a platform key manages partners only; use a partner key"
    assert (
        api.post("/v1/clients", json=spec, headers=Keys.header(keys.acme_read)).status_code == 403
    )
    assert api.get("/v1/clients", headers=Keys.header(keys.acme_read)).status_code == 200
    assert api.get("/v1/clients").status_code == 401


def test_usage_types(api: TestClient, keys: Keys) -> None:
    as_admin = Keys.header(keys.acme_admin)
    spec = {
        "code": "agents",
        "display_name": "Active agents",
        "unit": "agent",
        "aggregation": "unique_count",
        "aggregation_property": "agent_id",
        "wholesale_rate": "1.50",
    }
    created = api.post("/v1/usage-types", json=spec, headers=as_admin)
    assert created.status_code == 201, created.text
    assert created.json()["wholesale_rate"] == "1.50"
    assert api.post("/v1/usage-types", json=spec, headers=as_admin).status_code == 409
    codes = [
        t["code"]
        for t in api.get("/v1/usage-types", headers=Keys.header(keys.acme)).json()["items"]
    ]
    assert "agents" in codes and "sms" in codes
    assert (
        api.get("/v1/usage-types", headers=Keys.header(keys.globex)).json()["items"][0][
            "partner_id"
        ]
        == "globex"
    )


def test_openapi_documents_every_route(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    expected = {
        ("/v1/partners", "get"),
        ("/v1/partners", "post"),
        ("/v1/partners/{partner_id}", "get"),
        ("/v1/partners/{partner_id}", "patch"),
        ("/v1/clients", "get"),
        ("/v1/clients", "post"),
        ("/v1/clients/{client_id}", "get"),
        ("/v1/clients/{client_id}", "patch"),
        ("/v1/usage-types", "get"),
        ("/v1/usage-types", "post"),
        ("/v1/usage", "post"),
        ("/v1/usage", "get"),
        ("/v1/usage/export.csv", "get"),
        ("/v1/usage/summary", "get"),
        ("/v1/plans", "get"),
        ("/v1/plans", "post"),
        ("/v1/plans/{code}", "get"),
        ("/v1/plans/{code}", "put"),
        ("/v1/clients/{client_id}/prices", "get"),
        ("/v1/clients/{client_id}/prices", "put"),
        ("/v1/clients/{client_id}/usage/current", "get"),
        ("/v1/margins", "get"),
        ("/v1/price-changes", "get"),
    }
    operations = {
        (path, method): op for path, item in spec["paths"].items() for method, op in item.items()
    }
    assert expected <= set(operations)
    for path, method in expected:
        operation = operations[(path, method)]
        assert operation.get("security") == [{"ApiKey": []}], (path, method)
        responses = operation["responses"]
        assert {"401", "403"} <= set(responses), (path, method)
        ok = responses.get("200") or responses["201"]
        assert ok["content"], (path, method)
        if path != "/v1/usage/export.csv":
            assert "$ref" in str(ok["content"]["application/json"]["schema"]), (path, method)
    ingest = operations[("/v1/usage", "post")]
    assert {"400", "413"} <= set(ingest["responses"])
    assert ingest["requestBody"]["content"]["application/json"]["schema"]["maxItems"] == 10_000
    assert "text/csv" in operations[("/v1/usage/export.csv", "get")]["responses"]["200"]["content"]
