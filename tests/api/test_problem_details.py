"""Every error of the JSON API is one shape: RFC 9457 problem details
(`application/problem+json`), with each field's path for validation errors; the dashboard's
pages keep their own answers."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from api.app import create_app
from config.problems import ABOUT_BLANK, DATABASE_UNAVAILABLE, PROBLEM_MEDIA_TYPE, VALIDATION
from tests.api.conftest import Keys

MEMBERS = {"type", "title", "status", "detail", "instance"}


def problem(response: Any, status: int, path: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert set(body) >= MEMBERS
    assert (body["status"], body["instance"]) == (status, path)
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_a_missing_row_is_a_404_problem(api: TestClient, keys: Keys) -> None:
    answer = api.get("/v1/clients/nobody", headers=Keys.header(keys.acme))
    body = problem(answer, 404, "/v1/clients/nobody")
    assert (body["type"], body["title"]) == (ABOUT_BLANK, "Not Found")
    assert body["detail"] == "client 'nobody' not found"
    # another partner's client is the same 404, as if it did not exist
    other = api.get("/v1/clients/gamma", headers=Keys.header(keys.acme))
    assert problem(other, 404, "/v1/clients/gamma")["detail"] == "client 'gamma' not found"
    # a path no route serves, too
    assert problem(api.get("/v1/nothing-here"), 404, "/v1/nothing-here")["title"] == "Not Found"


def test_keys_are_401_and_403_problems(api: TestClient, keys: Keys) -> None:
    missing = problem(api.get("/v1/clients"), 401, "/v1/clients")
    assert missing["title"] == "Unauthorized" and "missing API key" in missing["detail"]
    assert api.get("/v1/clients").headers["www-authenticate"] == "Bearer"  # headers kept
    wrong = api.get("/v1/clients", headers=Keys.header("rbk_nonsense"))
    assert problem(wrong, 401, "/v1/clients")["detail"] == "invalid or revoked API key"
    scope = api.post("/v1/clients", json={"id": "z", "name": "Z"}, headers=Keys.header(keys.acme))
    body = problem(scope, 403, "/v1/clients")
    assert (body["title"], body["detail"]) == (
        "Forbidden",
        "this API key does not have the admin scope",
    )


def test_a_validation_error_names_each_nested_field(api: TestClient, keys: Keys) -> None:
    spec = {
        "id": "delta",
        "name": "Delta",
        "billing_email": "not an address",
        "address": {"line1": "1 Main St", "country": "Narnia"},
    }
    answer = api.post("/v1/clients", json=spec, headers=Keys.header(keys.acme_admin))
    body = problem(answer, 422, "/v1/clients")
    assert (body["type"], body["title"]) == (VALIDATION, "Invalid request")
    paths = [e["path"] for e in body["errors"]]
    assert paths == ["body.billing_email", "body.address.country"]
    assert all(e["message"] and e["type"] for e in body["errors"])
    assert body["errors"][1]["input"] == "Narnia"  # a short refused value is echoed
    assert body["detail"].startswith("2 invalid fields: body.billing_email: ")
    assert "body.address.country: " in body["detail"]
    query = api.get("/v1/clients?limit=0", headers=Keys.header(keys.acme))
    assert [e["path"] for e in problem(query, 422, "/v1/clients")["errors"]] == ["query.limit"]


def test_pricing_refusals_are_validation_problems_too(api: TestClient, keys: Keys) -> None:
    bad = {"prices": {"sms": {"model": "volume", "tiers": [{"up_to": 10, "unit_price": "1"}]}}}
    answer = api.put("/v1/clients/alpha/prices", json=bad, headers=Keys.header(keys.acme_admin))
    body = problem(answer, 422, "/v1/clients/alpha/prices")
    assert body["type"] == VALIDATION
    assert [e["path"] for e in body["errors"]] == ["body.prices.sms.tiers[0].up_to"]
    assert body["detail"].endswith("(nothing was changed)")


def test_a_storage_fault_is_a_503_problem_with_retry_after(
    api: TestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x"))

    monkeypatch.setattr("billing.tenants.service.list_usage_types", unavailable)
    answer = api.get("/v1/usage-types", headers=Keys.header(keys.acme))
    body = problem(answer, 503, "/v1/usage-types")
    assert answer.headers["retry-after"] == "5"
    assert (body["type"], body["title"]) == (DATABASE_UNAVAILABLE, "Database unavailable")
    assert body["detail"] == "database unavailable: the database is not initialised: run `init`"


def test_a_bug_is_a_500_problem_without_its_details(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("billing.tenants.service.list_usage_types", broken)
    with TestClient(create_app(), raise_server_exceptions=False) as api:
        answer = api.get("/v1/usage-types", headers=Keys.header(keys.acme))
    body = problem(answer, 500, "/v1/usage-types")
    assert "secret" not in answer.text and body["title"] == "Internal Server Error"


def test_the_dashboard_keeps_its_own_answers(api: TestClient) -> None:
    answer = api.get("/dashboard/no-such-page")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"


def test_the_openapi_document_describes_errors_as_sent(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"Problem", "ValidationProblem", "FieldProblem"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if (
                    status[0] in "45"
                    and path.startswith("/v1/")
                    and (path, method)
                    != (
                        "/v1/usage",
                        "post",
                    )
                ):
                    assert list(response["content"]) == [PROBLEM_MEDIA_TYPE], (path, status)
            assert "503" in operation["responses"], (path, method)
    created = spec["paths"]["/v1/clients"]["post"]["responses"]["422"]
    schema = created["content"][PROBLEM_MEDIA_TYPE]["schema"]
    # a refused body (ValidationProblem), or, with an Idempotency-Key, a key spent elsewhere
    refs = [choice["$ref"] for choice in schema.get("anyOf", [schema])]
    assert any(ref.endswith("/ValidationProblem") for ref in refs), refs


def test_a_rate_too_large_to_quantize_is_a_422_not_a_500(api: TestClient, keys: Keys) -> None:
    spec = {"code": "huge", "display_name": "Huge", "unit": "u", "wholesale_rate": 1e22}
    answer = api.post("/v1/usage-types", json=spec, headers=Keys.header(keys.acme_admin))
    [error] = problem(answer, 422, "/v1/usage-types")["errors"]
    assert error["path"] == "body.wholesale_rate" and "too large" in error["message"]
