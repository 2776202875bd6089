"""`/v1/plans`, `/v1/clients/{id}/prices`, `/v1/clients/{id}/usage/current`, `/v1/margins` and
`/v1/price-changes` over HTTP: scopes, tenant isolation, errors at their paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from billing.pricing import accrue, client_period
from tests.api.conftest import Keys
from tests.billing.factories import event, recent

GROWTH: dict[str, Any] = {
    "code": "growth",
    "name": "Growth",
    "base_fee": "99.00",
    "minimum_spend": "150.00",
    "prices": {
        "voice_minutes": {
            "model": "graduated",
            "tiers": [{"up_to": 1000, "unit_price": "0.15"}, {"unit_price": "0.12"}],
        },
        "sms": {"model": "package", "included": 100, "overage_unit_price": "0.02"},
    },
}


def _period_start() -> str:
    return client_period(1, datetime.now(UTC).date()).start.isoformat()


def _next_period_day() -> str:
    return (client_period(1, datetime.now(UTC).date()).end + timedelta(days=1)).isoformat()


def test_plans_create_list_version_and_conflict(api: TestClient, keys: Keys) -> None:
    admin = Keys.header(keys.acme_admin)
    created = api.post("/v1/plans", json=GROWTH, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["created"] is True
    [version] = body["plan"]["versions"]
    assert version["effective_from"] == "1970-01-01"  # a first version covers all time
    assert version["prices"]["sms"] == {
        "model": "package",
        "included": "100",
        "overage_unit_price": "0.02",
        "block_size": None,
        "block_price": None,
    }
    assert api.post("/v1/plans", json=GROWTH, headers=admin).status_code == 409
    new_version = {k: v for k, v in GROWTH.items() if k != "code"} | {"base_fee": "109.00"}
    put = api.put("/v1/plans/growth", json=new_version, headers=admin)
    assert put.status_code == 200, put.text
    assert [(c["name"], c["before"], c["after"]) for c in put.json()["changes"]] == [
        ("base_fee", "99", "109")
    ]
    assert len(put.json()["plan"]["versions"]) == 2
    listed = api.get("/v1/plans", headers=Keys.header(keys.acme_read)).json()["items"]
    assert [plan["code"] for plan in listed] == ["growth"]
    created_by_put = api.put("/v1/plans/starter", json={"name": "Starter"}, headers=admin)
    assert created_by_put.status_code == 201


def test_plan_errors_name_the_field_path(api: TestClient, keys: Keys) -> None:
    admin = Keys.header(keys.acme_admin)
    bad = {
        "code": "bad",
        "name": "Bad",
        "base_fee": "1.001",
        "prices": {
            "voice_minutes": {
                "model": "graduated",
                "tiers": [
                    {"up_to": 1000, "unit_price": "0.15"},
                    {"up_to": 500, "unit_price": "0.1"},
                    {"unit_price": "0.1"},
                ],
            },
            "fax": {"model": "per_unit", "unit_price": "1"},
            "sms": {"model": "tiered"},
        },
    }
    response = api.post("/v1/plans", json=bad, headers=admin)
    assert response.status_code == 422, response.text
    paths = [(e["path"], e["message"]) for e in response.json()["errors"]]
    assert (
        "body.prices.voice_minutes.tiers[1].up_to",
        "must be greater than tiers[0].up_to",
    ) in paths
    assert any(path == "body.prices.sms.model" for path, _ in paths)
    valid_shape = {**bad, "prices": {"fax": {"model": "per_unit", "unit_price": "1"}}}
    second = api.post("/v1/plans", json=valid_shape, headers=admin).json()["errors"]
    assert [e["path"] for e in second] == ["body.base_fee", "body.prices.fax"]
    # JSON numbers are read as exact decimals, never floats
    exact = {
        "code": "exact",
        "name": "Exact",
        "prices": {"sms": {"model": "per_unit", "unit_price": 0.0079}},
    }
    created = api.post("/v1/plans", json=exact, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["plan"]["versions"][0]["prices"]["sms"]["unit_price"] == "0.0079"


def test_scopes_and_tenant_isolation(api: TestClient, keys: Keys) -> None:
    assert (
        api.post("/v1/plans", json=GROWTH, headers=Keys.header(keys.acme_read)).status_code == 403
    )
    assert (
        api.post("/v1/plans", json=GROWTH, headers=Keys.header(keys.acme_admin)).status_code == 201
    )
    other = Keys.header(keys.globex)
    assert api.get("/v1/plans", headers=other).json() == {"items": [], "next_cursor": None}
    assert api.get("/v1/plans/growth", headers=other).status_code == 404
    assert api.get("/v1/clients/alpha/prices", headers=other).status_code == 404
    assert api.get("/v1/clients/alpha/usage/current", headers=other).status_code == 404
    put = api.put(
        "/v1/clients/alpha/prices", json={"plan": "growth"}, headers=Keys.header(keys.globex_admin)
    )
    assert put.status_code == 404
    assert api.get("/v1/price-changes", headers=other).json() == {
        "items": [],
        "next_cursor": None,
    }
    assert api.get("/v1/margins", headers=Keys.header(keys.globex_admin)).json()["rows"] == []
    assert api.get("/v1/margins", headers=other).status_code == 403  # cost: admin keys only
    platform = api.get("/v1/plans", headers=Keys.header(keys.platform))
    assert platform.status_code == 403


def test_client_prices_live_figures_and_margins(
    api: TestClient, keys: Keys, engine: Engine
) -> None:
    admin = Keys.header(keys.acme_admin)
    assert api.post("/v1/plans", json=GROWTH, headers=admin).status_code == 201
    body = {
        "plan": "growth",
        "prices": {"sms": {"model": "per_unit", "unit_price": "0.05"}},
        "discount_percent": "10",
        "tax": {"name": "VAT", "percent": "20"},
        "effective_from": _period_start(),
    }
    put = api.put("/v1/clients/alpha/prices", json=body, headers=admin)
    assert put.status_code == 200, put.text
    assert {c["name"] for c in put.json()["changes"]} == {
        "plan",
        "discount_percent",
        "tax",
        "auto_charge",
        "prices.sms",
    }
    assert (
        api.get("/v1/clients/alpha/prices", headers=Keys.header(keys.acme)).json()["wholesale"]
        is None
    )  # a read key never sees wholesale prices
    prices = api.get("/v1/clients/alpha/prices", headers=admin).json()
    assert prices["plan"] == "Growth"
    assert prices["price_sources"] == {"voice_minutes": "plan", "sms": "client"}
    # no wholesale price versions (no partner file): each usage type's per-unit rate
    assert prices["wholesale"]["voice_minutes"] == {
        "model": "per_unit",
        "unit_price": "0.013",
        "block_size": None,
    }
    assert prices["tax"] == {"name": "VAT", "percent": "20"}

    events = [
        event("e1", usage_type="voice_minutes", quantity="1200.5"),
        event("e2", usage_type="sms", quantity="30"),
        event("e3", usage_type="workflow_runs", quantity="2"),
    ]
    assert api.post("/v1/usage", json=events, headers=Keys.header(keys.acme)).status_code == 200
    live = api.get("/v1/clients/alpha/usage/current", headers=Keys.header(keys.acme))
    assert live.status_code == 200, live.text
    hidden = live.json()
    assert (hidden["cost"], hidden["margin"], hidden["cost_currency"]) == (None, None, None)
    assert all(u["cost"] is None and u["margin"] is None for u in hidden["usage"])
    figures = api.get("/v1/clients/alpha/usage/current", headers=admin).json()
    assert figures["total"] == hidden["total"] and figures["cost"] is not None
    usage = {u["usage_type"]: u for u in figures["usage"]}
    assert usage["voice_minutes"]["quantity"] == "1200.5"
    assert usage["voice_minutes"]["charge"] == 15000 + 2406  # 1000 x 0.15 + 200.5 x 0.12
    assert usage["sms"]["charge"] == 150
    assert usage["workflow_runs"]["priced"] is False and usage["workflow_runs"]["charge"] == 0
    assert figures["unpriced_usage"] == ["workflow_runs"]
    subtotal = 9900 + 17406 + 150
    assert figures["subtotal"] == subtotal and figures["minimum_true_up"] == 0
    assert figures["discount"] == -2746  # 10 % of 274.56
    assert figures["tax"] == 4942  # 20 % of 247.10
    assert figures["total"] == subtotal - 2746 + 4942
    assert figures["total"] == sum(line["amount"] for line in figures["lines"])

    with Session(engine) as session:
        accrue(session, "acme")
        session.commit()
    report = api.get("/v1/margins?group_by=usage_type", headers=admin).json()
    charges = {row["key"]: row["charge"] for row in report["rows"]}
    # The open period is the live figures: usage, and the base fee less the discount.
    assert charges == {"voice_minutes": 17406, "sms": 150, "(no usage type)": 9900 - 2746}
    assert sum(charges.values()) == figures["charge"] == figures["total"] - figures["tax"]
    assert report["totals"][0]["unbilled_charge"] == figures["charge"]  # not invoiced yet
    costs = {row["key"]: row["cost"] for row in report["rows"]}
    assert costs == {
        "voice_minutes": 1561,
        "sms": 23,
        "(no usage type)": 0,
    }  # 1200.5 x 0.013, 30 x 0.0075
    assert report["alert_below_percent"] is None
    changes = api.get("/v1/price-changes?key=alpha", headers=Keys.header(keys.acme)).json()["items"]
    assert {c["object"] for c in changes} == {"client_terms", "client_price"}
    assert {c["source"] for c in changes} == {"api"}
    assert all(c["reference"].startswith("rbk_") for c in changes)


def test_client_price_errors_and_dates(api: TestClient, keys: Keys) -> None:
    admin = Keys.header(keys.acme_admin)
    bad = {
        "plan": "nope",
        "prices": {"sms": {"model": "volume", "tiers": [{"up_to": 10, "unit_price": "0.1"}]}},
        "discount_percent": "120",
    }
    response = api.put("/v1/clients/alpha/prices", json=bad, headers=admin)
    assert response.status_code == 422
    paths = [e["path"] for e in response.json()["errors"]]
    assert paths == ["body.prices.sms.tiers[0].up_to", "body.discount_percent"]
    unknown = api.put("/v1/clients/alpha/prices", json={"plan": "nope"}, headers=admin).json()
    assert unknown["errors"] == [{"path": "body.plan", "message": "unknown plan 'nope'"}]
    assert (
        unknown["detail"] == "1 invalid field: body.plan: unknown plan 'nope' (nothing was changed)"
    )
    old = {
        "prices": {"sms": {"model": "per_unit", "unit_price": "1"}},
        "effective_from": "2001-01-01",
    }
    refused = api.put("/v1/clients/alpha/prices", json=old, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "body.effective_from"
    forced = api.put("/v1/clients/alpha/prices?force=true", json=old, headers=admin)
    assert forced.status_code == 200
    later = api.get(f"/v1/clients/alpha/prices?on={_next_period_day()}", headers=admin).json()
    assert later["prices"] == {"sms": {"model": "per_unit", "unit_price": "1", "block_size": None}}
    assert api.put("/v1/clients/alpha/prices", content=b"{", headers=admin).status_code == 400


def test_usage_current_without_prices_shows_usage_and_nothing_charged(
    api: TestClient, keys: Keys
) -> None:
    api.post(
        "/v1/usage",
        json=[event("x", quantity="3", occurred_at=recent())],
        headers=Keys.header(keys.acme),
    )
    figures = api.get("/v1/clients/alpha/usage/current", headers=Keys.header(keys.acme)).json()
    assert figures["plan"] == "No plan in force"
    assert figures["total"] == 0 and figures["usage"][0]["quantity"] == "3"


def test_margins_by_period_and_their_errors(api: TestClient, keys: Keys) -> None:
    assert api.get("/v1/margins", headers=Keys.header(keys.acme_read)).status_code == 403
    read = Keys.header(keys.acme_admin)  # margins carry cost: admin keys only
    month = datetime.now(UTC).date().replace(day=1)
    by_period = api.get(f"/v1/margins?period={month:%Y-%m}", headers=read)
    assert by_period.status_code == 200, by_period.text
    body = by_period.json()
    assert body["period"] == f"{month:%Y-%m}" and body["from"] == month.isoformat()
    ranged = api.get(
        "/v1/margins", params={"from": body["from"], "to": body["to"]}, headers=read
    ).json()
    assert ranged == body  # the same selection, the same report
    bad = api.get("/v1/margins?period=2026-13", headers=read)
    assert bad.status_code == 400 and "period: '2026-13' is not a month" in bad.text
    both = api.get(f"/v1/margins?period={month:%Y-%m}&from={month}", headers=read)
    assert both.status_code == 400 and "not both" in both.text
    backwards = api.get("/v1/margins?from=2026-11-30&to=2026-11-01", headers=read)
    assert backwards.status_code == 400 and "ends (2026-11-01) before it starts" in backwards.text
