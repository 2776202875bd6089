"""Absurd but well-formed input from an authenticated key is a 400 that names the parameter,
never a 500 from an overflow deep inside (the cases found by trying the API from outside)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Keys

FORTY_DIGITS = "9" * 40

CASES = [
    ("summary far future", "/v1/usage/summary?period=9999-12", "period: '9999-12' is outside"),
    (
        "summary day 1",
        "/v1/usage/summary?from=0001-01-01&to=0001-01-31",
        "from: 0001-01-01 is outside",
    ),
    ("invoices month 0", "/v1/invoices?period=0000-00", "period: '0000-00' is not a month"),
    ("invoices far future", "/v1/invoices?period=9999-12", "period: '9999-12' is outside"),
    ("invoice cursor", f"/v1/invoices?cursor={FORTY_DIGITS}", "cursor: not one this API returned"),
    ("invoice cursor digits", "/v1/invoices?cursor=%C2%B2", "cursor: not one this API returned"),
    ("payment cursor", f"/v1/payments?cursor={FORTY_DIGITS}", "cursor: not one this API returned"),
    ("invoice id", f"/v1/invoices/{FORTY_DIGITS}", "key: '9999"),
    ("invoice usage", f"/v1/invoices/{FORTY_DIGITS}/usage", "key: '9999"),
    ("payments of invoice", f"/v1/payments?invoice={FORTY_DIGITS}", "invoice: '9999"),
    (
        "margins all time",
        "/v1/margins?from=0001-01-01&to=9999-12-31",
        "from: 0001-01-01 is outside",
    ),
    ("margins to", "/v1/margins?to=9999-12-31", "to: 9999-12-31 is outside"),
    ("prices on", "/v1/clients/alpha/prices?on=9999-12-31", "on: 9999-12-31 is outside"),
    ("usage current on", "/v1/clients/alpha/usage/current?on=0001-01-01", "on: 0001-01-01"),
    ("NUL in a path", "/v1/clients/al%00pha", "path parameter 'client_id': contains a NUL"),
    ("NUL in a query", "/v1/usage?client=a%00", "query parameter 'client': contains a NUL"),
]


@pytest.mark.parametrize(("url", "detail"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_absurd_parameters_are_400_naming_them(
    api: TestClient, keys: Keys, url: str, detail: str
) -> None:
    response = api.get(url, headers=Keys.header(keys.acme_admin))
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]


def test_absurd_dates_in_bodies_are_refused_at_their_field(api: TestClient, keys: Keys) -> None:
    admin = Keys.header(keys.acme_admin)
    prices = api.put(
        "/v1/clients/alpha/prices", json={"effective_from": "9999-12-31"}, headers=admin
    )
    assert prices.status_code == 422
    assert prices.json()["errors"] == [
        {"path": "body.effective_from", "message": "9999-12-31 is outside 1970-01-01 to 2999-12-31"}
    ]
    plan = {"code": "p", "name": "P", "effective_from": "0001-01-01", "prices": {}}
    created = api.post("/v1/plans", json=plan, headers=admin)
    assert created.status_code == 422
    assert created.json()["errors"][0]["path"] == "body.effective_from"
