"""The simulator page in a real browser: edit a proposal, compare, apply it from next period
after the confirmation, and find it in the change log with the user's e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, col, select

from api.dashboard.users import create_user
from billing.pricing.models import ChangeSource, PriceChange
from tests.api.dashboard.browser import expect, live_server, shoot
from tests.api.dashboard.conftest import PASSWORD
from tests.api.dashboard.test_browser import browser
from tests.billing.simulation.world import NOW, setup

__all__ = ["browser"]  # the module-scoped chromium of test_browser.py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def site(engine: object, session: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr("api.dashboard.routes_simulator.utcnow", lambda: NOW)
    setup(session)
    create_user(session, "sam@sim.example", PASSWORD, "partner", "sim")
    session.commit()
    with live_server() as base:
        yield base


@pytest.mark.slow
def test_compare_and_apply_a_proposal(browser: Any, site: str, session: Session) -> None:
    page = browser.new_context(base_url=site).new_page()
    page.set_default_timeout(20_000)
    page.goto("/dashboard/p/sim/simulator")
    page.get_by_label("E-mail").fill("sam@sim.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/simulator")
    page.get_by_label("Periods starting in (month)").fill("2026-11")
    page.locator("#s-plan").select_option("std")
    page.locator("#s-plan-type").select_option("voice")
    page.locator("#s-plan-price").fill("0.12")
    page.get_by_role("button", name="Compare").click()
    portfolio = page.get_by_test_id("sim-portfolio")
    expect(portfolio.locator('tr[data-side="change"] td').nth(1)).to_have_text("7.70 USD")
    expect(page.get_by_test_id("sim-rises").locator("tbody tr").first).to_contain_text("c")
    shoot(page, "simulator-compare")
    page.get_by_role("button", name="Apply from next period").click()
    expect(page.get_by_test_id("confirm-changes")).to_contain_text("plan std: voice at")
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_test_id("form-notice")).to_contain_text("1 change(s) recorded")
    session.rollback()
    [logged] = session.exec(
        select(PriceChange).where(col(PriceChange.source) == ChangeSource.WEB)
    ).all()
    assert (logged.object_key, logged.reference) == ("std.voice", "sam@sim.example")
