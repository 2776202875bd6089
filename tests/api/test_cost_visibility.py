"""Wholesale cost and margin are for admin keys only, on every route: walk every GET route of
the OpenAPI document on a seeded partner with a read key (and an ingest key) and find no cost,
margin or wholesale value anywhere in the answers (JSON fields null, CSV cells empty, routes
that are only cost 403), while the admin key sees them, so the walk can fail."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session

from api.app import create_app
from billing.tenants.cost_visibility import is_cost_field
from billing.webhooks.service import create_endpoint
from connectors.connections.crypto import cipher_from_settings
from tests.api.seeded import WHOLESALE_PRICE, Seeded, seed

QUERIES = {
    "/v1/usage/summary": "?period={last}",
    "/v1/margins": "?from={earlier}-01",
    "/v1/invoices": "?period={earlier}",
}
ADMIN_ONLY = {
    "/v1/margins",
    "/v1/reconciliations",
    "/v1/reconciliations/{run_id}",
    "/v1/webhook-endpoints",
    "/v1/webhook-endpoints/{endpoint_id}",
    "/v1/webhook-endpoints/{endpoint_id}/deliveries",
}


@pytest.fixture
def world(session: Session) -> Seeded:
    seeded = seed(session)
    create_endpoint(  # so that the webhook routes with an endpoint id are walked too
        session,
        cipher_from_settings(),
        "acme",
        url="https://hooks.example.com/rebill",
        event_types=["invoice.issued"],
    )
    session.commit()
    return seeded


def _paths(api: TestClient, world: Seeded) -> list[str]:
    values = {
        "client_id": "c1",
        "key": world.issued,
        "note": world.credit_note,
        "code": "std",
        "run_id": str(world.run_id),
        "partner_id": "acme",
        "provider": "quickbooks",
        "endpoint_id": "1",
    }
    document = api.get("/openapi.json").json()
    paths = []
    for path, operations in document["paths"].items():
        if "get" not in operations or not path.startswith("/v1/"):
            continue
        paths.append(re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path))
        if path in QUERIES:  # the seeded months, besides the defaults (this month)
            paths.append(path + QUERIES[path].format(earlier=world.months[0], last=world.months[1]))
        if "{key}" in path and not path.endswith("/pdf"):  # a draft too (drafts have no PDF):
            # its lines and costs are internal before issue
            paths.append(path.replace("{key}", world.draft))
    return paths


def _cost_values(value: Any, where: str = "") -> list[str]:
    """Where a cost-named field holds something (not null) in a JSON answer."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if is_cost_field(str(key)) and item is not None and item != {}:
                found.append(f"{where}.{key}")
            found += _cost_values(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _cost_values(item, f"{where}[{i}]")
    return found


def _csv_costs(text: str) -> list[str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return [
        f"row {i}.{k}"
        for i, row in enumerate(rows)
        for k, v in row.items()
        if is_cost_field(k) and v
    ]


def _leaks(answer: Any) -> list[str]:
    kind = answer.headers.get("content-type", "")
    if kind.startswith("text/csv"):
        return _csv_costs(answer.text)
    if kind.startswith("image/"):
        return []
    if kind.startswith("application/pdf"):  # what the client is sent: never cost or margin
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages)
        return [w for w in (WHOLESALE_PRICE, "wholesale", "margin") if w in text.lower()]
    return _cost_values(answer.json())


def test_no_route_shows_cost_or_margin_to_a_read_or_ingest_key(world: Seeded) -> None:
    with TestClient(create_app()) as api:
        paths = _paths(api, world)
        assert len(paths) >= 15, paths
        seen_by_admin: list[str] = []
        served: list[str] = []
        for path in paths:
            admin = api.get(path, headers={"Authorization": f"Bearer {world.keys['admin']}"})
            assert admin.status_code == 200, (path, admin.text)
            seen_by_admin += [f"{path}: {leak}" for leak in _leaks(admin)]
            for scope in ("read", "ingest"):
                answer = api.get(path, headers={"Authorization": f"Bearer {world.keys[scope]}"})
                if answer.status_code == 403:  # a scope this key lacks (or cost-only routes)
                    continue
                assert answer.status_code == 200, (scope, path, answer.text)
                assert _leaks(answer) == [], (scope, path)
                assert WHOLESALE_PRICE.encode() not in answer.content, (scope, path)
                if scope == "read":
                    served.append(path)
        assert all(
            not re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", p), s) for p in ADMIN_ONLY for s in served
        ), served
        # a read key still reads everything else that carries cost for an admin
        for route in (
            "/v1/usage",
            "/v1/usage/export.csv",
            "/v1/usage/summary",
            "/v1/clients/c1/usage/current",
            "/v1/usage-types",
            "/v1/clients/c1/prices",
            f"/v1/invoices/{world.issued}",
            f"/v1/invoices/{world.issued}/usage",
            "/v1/price-changes",
        ):
            assert route in served, route
        # the walk can fail: the admin key sees cost and margin on these routes
        for route in (
            "/v1/usage",
            "/v1/usage/export.csv",
            "/v1/usage/summary",
            "/v1/clients/c1/usage/current",
            "/v1/margins",
            "/v1/usage-types",
            "/v1/clients/c1/prices",
            f"/v1/invoices/{world.issued}",
        ):
            assert any(
                leak.split("?")[0].startswith(route + ":") or leak.startswith(route + "?")
                for leak in seen_by_admin
            ), route
        admin_text = api.get(
            "/v1/usage-types", headers={"Authorization": f"Bearer {world.keys['admin']}"}
        ).text
        assert WHOLESALE_PRICE in admin_text
