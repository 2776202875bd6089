"""Price books: versions (each period rated with the version in force at its start, the past
never rewritten), client overrides versus the plan, whole-plan overrides, the change log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from billing.pricing import (
    BEGINNING,
    ClientPricingIn,
    InvalidPricingError,
    PriceChange,
    client_period,
    live_figures,
    pricing_for,
    put_client_pricing,
)
from billing.rating import effective_prices
from config.partner_file import PartnerFileError
from config.prices import parse_price
from tests.billing.pricing.helpers import NOW, PARTNER_FILE, apply_text, event, send

JAN = datetime(2026, 1, 20, 12, tzinfo=UTC)
FEB = datetime(2026, 2, 10, 12, tzinfo=UTC)
MAR = datetime(2026, 3, 10, 12, tzinfo=UTC)
PRO_BASE = 'base_fee = "49.00"'


def _base_fee(session: Session, client: str, day: date) -> int:
    line = live_figures(session, "acme", client, MAR, on=day).statement.base_fee
    return 0 if line is None else line.amount


def _usage_everywhere(session: Session) -> None:
    events = [
        event(f"v{month}", "alpha", "voice", "200", datetime(2026, month, 5, 12, tzinfo=UTC))
        for month in (1, 2, 3)
    ]
    send(session, "acme", events, received_at=NOW)


def test_a_change_without_a_date_starts_with_the_next_period(session: Session) -> None:
    apply_text(session, "acme", now=JAN)
    _usage_everywhere(session)
    january_before = live_figures(session, "acme", "alpha", MAR, on=date(2026, 1, 16)).statement
    changed = PARTNER_FILE.replace(PRO_BASE, 'base_fee = "59.00"')
    report = apply_text(session, "acme", now=FEB, text=changed)
    [plan] = [o for o in report.objects if o.kind == "plan"]
    assert plan.action == "updated"
    assert [(f.name, f.before, f.after, f.effective_from) for f in plan.fields] == [
        ("base_fee", "49", "59", date(2026, 2, 10))
    ]
    # alpha's February period began on 1 February, before the change: it keeps 49.00.
    assert _base_fee(session, "alpha", date(2026, 1, 16)) == 4900
    assert _base_fee(session, "alpha", date(2026, 2, 16)) == 4900
    assert _base_fee(session, "alpha", date(2026, 3, 16)) == 5900
    # beta's period starting 15 February is the first that began after the change.
    assert _base_fee(session, "beta", date(2026, 2, 14)) == 4900
    assert _base_fee(session, "beta", date(2026, 2, 16)) == 5900
    january_after = live_figures(session, "acme", "alpha", MAR, on=date(2026, 1, 16)).statement
    assert january_after == january_before


def test_each_period_is_rated_with_its_own_dated_version(session: Session) -> None:
    apply_text(session, "acme", now=JAN)
    _usage_everywhere(session)
    dated = PARTNER_FILE.replace(
        'tiers = [ {{ up_to = 100, unit_price = "0.15" }}',
        'effective_from = 2026-03-01\ntiers = [ {{ up_to = 100, unit_price = "0.25" }}',
    )
    apply_text(session, "acme", now=FEB, text=dated)
    feb = live_figures(session, "acme", "alpha", MAR, on=date(2026, 2, 16))
    mar = live_figures(session, "acme", "alpha", MAR, on=date(2026, 3, 16))
    assert feb.charge("voice") == 100 * 15 + 100 * 12
    assert mar.charge("voice") == 100 * 25 + 100 * 12
    # applying the same file again changes nothing
    again = apply_text(session, "acme", now=MAR, text=dated)
    assert not again.changed


def test_a_date_inside_a_started_period_is_refused_unless_forced(session: Session) -> None:
    apply_text(session, "acme", now=JAN)
    backdated = PARTNER_FILE.replace(
        'name = "Pro"\n', 'name = "Pro"\neffective_from = 2026-01-15\n'
    ).replace(PRO_BASE, 'base_fee = "59.00"')
    with pytest.raises(PartnerFileError) as caught:
        apply_text(session, "acme", now=FEB, text=backdated)
    session.rollback()
    assert caught.value.paths == ("plans.pro.effective_from",)
    assert "current period of client 'alpha', which started 2026-02-01" in str(caught.value)
    assert _base_fee(session, "alpha", date(2026, 2, 16)) == 4900  # nothing was applied
    apply_text(session, "acme", now=FEB, text=backdated, force=True)
    # forced: the started February period changes; January began before 15 January.
    assert _base_fee(session, "alpha", date(2026, 2, 16)) == 5900
    assert _base_fee(session, "alpha", date(2026, 1, 16)) == 4900


def test_client_price_overrides_the_plan_and_own_plan_replaces_it(session: Session) -> None:
    apply_text(session, "acme", now=JAN)
    period = client_period(1, date(2026, 3, 5))
    alpha = pricing_for(session, "acme", "alpha", period)
    beta = pricing_for(session, "acme", "beta", client_period(15, date(2026, 3, 20)))
    gamma = pricing_for(session, "acme", "gamma", period)
    assert effective_prices(alpha.plan, alpha.terms)["sms"].model == "volume"
    assert effective_prices(beta.plan, beta.terms)["sms"] == parse_price(
        {"model": "per_unit", "unit_price": "0.011"}
    )
    assert effective_prices(beta.plan, beta.terms)["voice"].model == "graduated"  # the plan's
    assert gamma.plan.name == "Gamma special" and set(gamma.plan.prices) == {"voice"}
    send(
        session,
        "acme",
        [
            event("a", "alpha", "sms", "20", datetime(2026, 3, 12, tzinfo=UTC)),
            event("b", "beta", "sms", "20", datetime(2026, 3, 12, tzinfo=UTC)),
            event("g", "gamma", "sms", "20", datetime(2026, 3, 12, tzinfo=UTC)),
        ],
        received_at=NOW,
    )
    assert live_figures(session, "acme", "alpha", MAR).charge("sms") == 60  # 20 x 0.03
    assert live_figures(session, "acme", "beta", MAR).charge("sms") == 22  # 20 x 0.011
    gamma_now = live_figures(session, "acme", "gamma", MAR)
    assert gamma_now.charge("sms") == 0 and gamma_now.statement.unpriced_usage == ("sms",)
    assert gamma_now.cost("sms") == 16  # cost still counts: 20 x 0.0079


def test_api_style_override_is_versioned_and_logged(session: Session) -> None:
    apply_text(session, "acme", now=JAN)
    body = ClientPricingIn.model_validate(
        {"prices": {"sms": {"model": "per_unit", "unit_price": "0.02"}}, "discount_percent": "5"}
    )
    changes = put_client_pricing(session, "acme", "alpha", body, FEB)
    session.commit()
    assert {(c.name, c.before, c.after) for c in changes} == {
        ("discount_percent", "10", "5"),
        ("prices.sms", None, "per_unit: 0.02"),
    }
    feb = pricing_for(session, "acme", "alpha", client_period(1, date(2026, 2, 5)))
    mar = pricing_for(session, "acme", "alpha", client_period(1, date(2026, 3, 5)))
    assert "sms" not in feb.terms.price_overrides and feb.terms.discount_percent == 10
    assert mar.terms.price_overrides["sms"].model == "per_unit"
    assert mar.terms.discount_percent == 5
    logged = session.scalars(
        select(PriceChange).where(col(PriceChange.source) == "api").order_by(col(PriceChange.id))
    ).all()
    assert [(r.object_type, r.object_key, r.action) for r in logged] == [
        ("client_terms", "alpha", "updated"),
        ("client_price", "alpha.sms", "created"),
    ]
    assert logged[0].before is not None and logged[0].before["discount_percent"] == "10"
    assert logged[0].after is not None and logged[0].after["discount_percent"] == "5"
    assert logged[1].effective_from == date(2026, 2, 10)


def test_removing_a_price_stops_charging_from_the_next_period(session: Session) -> None:
    apply_text(session, "acme", now=JAN)
    body = ClientPricingIn.model_validate({"prices": {}})
    assert put_client_pricing(session, "acme", "beta", body, FEB)  # drops beta's own sms price
    session.commit()
    before = pricing_for(session, "acme", "beta", client_period(15, date(2026, 2, 1)))
    after = pricing_for(session, "acme", "beta", client_period(15, date(2026, 2, 20)))
    assert "sms" in before.terms.price_overrides and "sms" not in after.terms.price_overrides


def test_api_changes_check_usage_types_money_and_dates(session: Session) -> None:
    apply_text(session, "acme", now=JAN)
    body = ClientPricingIn.model_validate(
        {
            "prices": {
                "fax": {"model": "per_unit", "unit_price": "1"},
                "voice": {
                    "model": "graduated",
                    "tiers": [{"up_to": "1.555", "unit_price": "1"}, {"unit_price": "1"}],
                },
                "chat": {
                    "model": "package",
                    "included": 1,
                    "block_size": 5,
                    "block_price": "1.001",
                },
            },
            "effective_from": "2026-01-01",
        }
    )
    with pytest.raises(InvalidPricingError) as caught:
        put_client_pricing(session, "acme", "alpha", body, FEB)
    assert [p.path for p in caught.value.problems] == [
        "prices.fax",
        "prices.voice.tiers[0].up_to",
        "prices.chat.block_price",
    ]
    valid = ClientPricingIn.model_validate(
        {
            "prices": {"sms": {"model": "per_unit", "unit_price": "1"}},
            "effective_from": "2026-01-01",
        }
    )
    with pytest.raises(InvalidPricingError) as dated:
        put_client_pricing(session, "acme", "alpha", valid, FEB)
    assert [p.path for p in dated.value.problems] == ["effective_from"]
    session.rollback()


def test_first_versions_cover_all_time_before_them(session: Session) -> None:
    apply_text(session, "acme", now=FEB)
    rows = session.scalars(select(PriceChange).where(col(PriceChange.object_type) == "plan")).all()
    assert {row.effective_from for row in rows} == {BEGINNING}
    january = pricing_for(session, "acme", "alpha", client_period(1, date(2025, 12, 5)))
    assert january.plan.base_fee == Decimal("49.00")
