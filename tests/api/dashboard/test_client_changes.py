"""Onboarding and changing clients from the dashboard: the same services and rules as the API
and `config apply`, every pricing change in the change log with the user, effective from the
period start the user chose, and all or nothing."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import unquote_plus

from sqlmodel import Session, col, select

from billing.pricing.book import client_period, local_today
from billing.pricing.models import ChangeSource, PriceChange
from billing.pricing.service import pricing_for
from billing.tenants.models import Client
from tests.api.dashboard.conftest import World, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def said(answer: object) -> str:
    """Where the form sent the browser back, with its message readable."""
    return unquote_plus(answer.headers["location"])  # type: ignore[attr-defined]


def _changes(session: Session, key: str) -> list[PriceChange]:
    session.rollback()  # a new read transaction: what the app committed
    return list(
        session.scalars(
            select(PriceChange)
            .where(
                col(PriceChange.partner_id) == "acme",
                col(PriceChange.object_key).contains(key),
                col(PriceChange.source) == ChangeSource.WEB,  # not the world's partner file
            )
            .order_by(col(PriceChange.id))
        )
    )


def test_onboard_a_client_on_a_plan(app_client: TestClient, world: World, session: Session) -> None:
    token = sign_in(app_client, "ann@acme.example")
    answer = app_client.post(
        "/dashboard/p/acme/clients",
        data={
            "csrf_token": token,
            "id": "bistro",
            "name": "Bistro Uno",
            "email": "pay@bistro.example",
            "timezone": "Europe/Rome",
            "anchor_day": "15",
            "plan": "std",
        },
    )
    assert answer.status_code == 303
    assert said(answer).startswith("/dashboard/p/acme/clients/bistro?notice=")
    client = session.get(Client, ("acme", "bistro"))
    assert client is not None and client.billing_email == "pay@bistro.example"
    assert (client.timezone, client.billing_anchor_day) == ("Europe/Rome", 15)
    today = local_today("Europe/Rome", datetime.now(UTC))
    period = client_period(15, today)
    assert pricing_for(session, "acme", "bistro", period).plan.name == "Standard"
    logged = _changes(session, "bistro")
    assert logged and {(c.source, c.reference) for c in logged} == {
        (ChangeSource.WEB, "ann@acme.example")
    }
    assert all(c.effective_from == period.start for c in logged)
    page = app_client.get(said(answer)).text
    assert "Client bistro created." in page


def test_bad_input_names_the_field_and_keeps_nothing(
    app_client: TestClient, world: World, session: Session
) -> None:
    token = sign_in(app_client, "ann@acme.example")
    bad_email = app_client.post(
        "/dashboard/p/acme/clients",
        data={"csrf_token": token, "id": "x1", "name": "X", "email": "not-an-email"},
    )
    assert "billing_email" in said(bad_email)
    unknown_plan = app_client.post(
        "/dashboard/p/acme/clients",
        data={"csrf_token": token, "id": "x2", "name": "X", "plan": "gold"},
    )
    assert "gold" in said(unknown_plan)
    session.rollback()
    assert session.get(Client, ("acme", "x1")) is None
    assert session.get(Client, ("acme", "x2")) is None  # the client is not kept without its plan
    duplicate = app_client.post(
        "/dashboard/p/acme/clients", data={"csrf_token": token, "id": "c1", "name": "Again"}
    )
    assert "already exists" in said(duplicate)
    assert app_client.post("/dashboard/p/acme/clients", data={"id": "x3"}).status_code == 403


def test_a_change_takes_effect_next_period_by_default(
    app_client: TestClient, world: World, session: Session
) -> None:
    token = sign_in(app_client, "ann@acme.example")
    client = session.get(Client, ("acme", "c2"))
    assert client is not None
    today = local_today(client.timezone, datetime.now(UTC))
    this = client_period(client.billing_anchor_day, today)
    following = client_period(client.billing_anchor_day, this.end)
    answer = app_client.post(
        "/dashboard/p/acme/clients/c2/pricing",
        data={
            "csrf_token": token,
            "discount_percent": "12.5",
            "replace_prices": "1",
            "price.voice": "0.08",
        },
    )
    assert "notice=" in said(answer), said(answer)
    session.rollback()  # end the test's read transaction: see what the app committed
    now = pricing_for(session, "acme", "c2", this)
    later = pricing_for(session, "acme", "c2", following)
    assert now.terms.discount_percent == Decimal(0) and not now.terms.price_overrides
    assert later.terms.discount_percent == Decimal("12.5")
    assert later.terms.price_overrides["voice"].unit_price == Decimal("0.08")  # type: ignore[union-attr]
    assert {c.effective_from for c in _changes(session, "c2")} == {this.end}

    tiered = app_client.post(
        "/dashboard/p/acme/clients/c1/pricing",
        data={
            "csrf_token": token,
            "replace_prices": "1",
            "price.voice": '{ model = "graduated", tiers = [ { up_to = 100, unit_price = "0.2" },'
            ' { unit_price = "0.05" } ] }',
        },
    )
    assert "notice=" in said(tiered), said(tiered)
    session.rollback()
    c1 = session.get(Client, ("acme", "c1"))
    assert c1 is not None
    c1_next = client_period(c1.billing_anchor_day, this.end)
    voice = pricing_for(session, "acme", "c1", c1_next).terms.price_overrides["voice"]
    assert voice.model == "graduated" and len(voice.tiers) == 2  # type: ignore[union-attr]
    broken = app_client.post(
        "/dashboard/p/acme/clients/c1/pricing",
        data={"csrf_token": token, "replace_prices": "1", "price.voice": '{ model = "graduated" }'},
    )
    assert "error=" in said(broken) and "prices.voice" in said(broken), said(broken)
    refused = app_client.post(
        "/dashboard/p/acme/clients/c2/pricing",
        data={"csrf_token": token, "effective": "yesterday", "discount_percent": "5"},
    )
    assert "effective" in said(refused)
    wrong = app_client.post(
        "/dashboard/p/acme/clients/c2/pricing",
        data={"csrf_token": token, "discount_percent": "120", "plan": "std"},
    )
    assert "error=" in said(wrong) and "discount" in said(wrong)
    assert {c.effective_from for c in _changes(session, "c2")} == {this.end}  # nothing kept


def test_suspend_archive_and_reactivate(
    app_client: TestClient, world: World, session: Session
) -> None:
    token = sign_in(app_client, "ann@acme.example")
    for state in ("suspended", "archived", "active"):
        answer = app_client.post(
            "/dashboard/p/acme/clients/c1/status", data={"csrf_token": token, "status": state}
        )
        assert answer.status_code == 303
        session.rollback()
        assert session.get(Client, ("acme", "c1")).status == state  # type: ignore[union-attr]
    other = app_client.post(
        "/dashboard/p/globex/clients/c1/status", data={"csrf_token": token, "status": "archived"}
    )
    assert other.status_code == 404
