"""The dashboard in a real browser (Playwright + Debian's chromium, headless, --no-sandbox):
sign in, portfolio figures equal the API's, approve a draft and see it issued, drill down from
an invoice line to its events and export them, partner isolation by URL, CSRF-less posts
refused. Screenshots of every page go to var/test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from api.dashboard.figures import month_end
from tests.api.dashboard.browser import CHROMIUM, expect, live_server, require_chromium, shoot
from tests.api.dashboard.conftest import PASSWORD, World, build_world

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def site(engine: object, session: Session) -> Iterator[tuple[str, World]]:
    world = build_world(session)
    with live_server() as base:
        yield base, world


def signed_in(browser: Any, base: str, email: str, **context: Any) -> Any:
    page = browser.new_context(base_url=base, **context).new_page()
    page.set_default_timeout(20_000)
    page.goto("/dashboard/p/acme")  # redirected to sign-in, then back
    assert "/dashboard/signin" in page.url
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


@pytest.mark.slow
def test_sign_in_and_portfolio_equals_the_api(browser: Any, site: tuple[str, World]) -> None:
    base, world = site
    anonymous = browser.new_context(base_url=base).new_page()
    anonymous.goto("/dashboard/signin")
    shoot(anonymous, "01-signin")
    page = signed_in(browser, base, "ann@acme.example")
    period = f"{world.last:%Y-%m}"
    page.goto(f"/dashboard/p/acme?period={period}")
    assert page.get_by_role("heading", name="Portfolio").is_visible()
    shown = {
        name: int(page.get_by_test_id(name).get_attribute("data-minor"))
        for name in ("revenue", "cost", "margin")
    }
    api = httpx.get(
        f"{base}/v1/margins",
        params={"from": world.last.isoformat(), "to": month_end(world.last).isoformat()},
        headers={"Authorization": f"Bearer {world.keys['acme']}"},
        timeout=10,
    ).json()
    [total] = api["totals"]
    assert shown == {"revenue": total["charge"], "cost": total["cost"], "margin": total["margin"]}
    assert page.get_by_test_id("margin-percent").inner_text() == f"{total['margin_percent']}%"
    assert page.locator("svg.chart").count() == 1
    page.keyboard.press("Tab")  # keyboard users reach "skip to content" first
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.locator("a.skip").is_visible()
    shoot(page, "02-portfolio")
    page.get_by_role("link", name="Client One").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Period to date").is_visible()
    shoot(page, "03-client")
    page.get_by_role("link", name="Sync").click()
    assert page.get_by_test_id("no-reconciliation").is_visible()
    shoot(page, "07-sync")
    phone = signed_in(browser, base, "op@rebill.example", viewport={"width": 390, "height": 844})
    phone.goto(f"/dashboard/p/acme?period={period}")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    shoot(phone, "08-portfolio-phone")


@pytest.mark.slow
def test_approve_a_draft_and_see_it_issued(browser: Any, site: tuple[str, World]) -> None:
    base, _ = site
    page = signed_in(browser, base, "ann@acme.example")
    page.get_by_role("link", name="Invoices").click()
    expect(page.get_by_test_id("drafts").locator("tbody tr")).to_have_count(2)
    shoot(page, "04-invoices-drafts")
    page.get_by_label("Select the draft of c1").check()
    page.get_by_role("button", name="Approve and issue selected").click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("issued-message")).to_contain_text("ACME-000003")
    expect(page.get_by_test_id("drafts").locator("tbody tr")).to_have_count(1)
    issued = page.get_by_test_id("issued").get_by_role("row").filter(has_text="ACME-000003")
    assert "issued" in issued.inner_text()
    shoot(page, "05-invoices-issued")
    with page.expect_response("**/pdf") as response:
        issued.get_by_role("link", name="PDF").evaluate("a => fetch(a.href)")
    assert response.value.status == 200


@pytest.mark.slow
def test_drill_down_from_a_line_to_its_events_and_export(
    browser: Any, site: tuple[str, World]
) -> None:
    base, world = site
    page = signed_in(browser, base, "ann@acme.example")
    page.goto("/dashboard/p/acme/invoices")
    row = page.get_by_test_id("drafts").get_by_role("row").filter(has_text="c1")
    row.get_by_role("link", name="lines").click()
    page.wait_for_load_state()
    shoot(page, "06-invoice")
    page.locator("[data-testid^=line-events-]").first.click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("line-events").locator("tbody tr")).to_have_count(2)
    assert "adds up" in page.locator("main").inner_text()
    shoot(page, "06-line-events")
    with page.expect_download() as download:
        page.get_by_test_id("line-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert sorted(r["event_id"] for r in csv.DictReader(io.StringIO(text))) == ["l1", "l2"]
    page.goto(f"/dashboard/p/acme/usage?client=c1&period={world.last:%Y-%m}")
    expect(page.get_by_test_id("events").locator("tbody tr")).to_have_count(2)
    shoot(page, "06-usage")
    with page.expect_download() as download:
        page.get_by_test_id("usage-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert sorted(r["event_id"] for r in csv.DictReader(io.StringIO(text))) == ["l1", "l2"]


@pytest.mark.slow
def test_a_partner_user_cannot_open_another_partners_pages(
    browser: Any, site: tuple[str, World]
) -> None:
    base, _ = site
    page = signed_in(browser, base, "ann@acme.example")
    for path in (
        "/dashboard/p/globex",
        "/dashboard/p/globex/invoices",
        "/dashboard/p/globex/clients/c1",
        "/dashboard/p/globex/usage",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
    assert page.locator("select#partner-switch").count() == 0  # no switcher for partners
    shoot(page, "09-other-partner-404")


@pytest.mark.slow
def test_posts_without_the_csrf_token_are_refused(browser: Any, site: tuple[str, World]) -> None:
    base, _ = site
    page = signed_in(browser, base, "ann@acme.example")
    page.goto("/dashboard/p/acme/invoices")
    refused = page.request.post(f"{base}/dashboard/p/acme/invoices/approve", form={"invoice": "1"})
    assert refused.status == 403
    form = page.locator('form[action$="/invoices/approve"]')
    form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    page.locator("input[name=invoice]").first.check()
    with page.expect_response("**/invoices/approve") as response:
        page.get_by_role("button", name="Approve and issue selected").click()
    assert response.value.status == 403
    page.goto("/dashboard/p/acme/invoices")
    expect(page.get_by_test_id("drafts").locator("tbody tr")).to_have_count(2)  # nothing issued


@pytest.mark.slow
def test_sync_page_shows_dead_rows_and_retries_them(
    browser: Any, site: tuple[str, World], session: Session
) -> None:
    from sqlmodel import select

    from billing.invoicing.models import Invoice
    from connectors.connections.models import Connection
    from tests.api.dashboard.test_sync_page import _outbox

    base, _ = site
    connection = Connection(partner_id="acme", name="books", provider="quickbooks", status="active")
    session.add(connection)
    session.commit()
    first, second = session.exec(
        select(Invoice)
        .where(Invoice.partner_id == "acme", Invoice.number.is_not(None))  # type: ignore[union-attr]
        .order_by(Invoice.id)
    ).all()
    _outbox(session, "acme", connection.id, "dead", first)
    _outbox(session, "acme", connection.id, "done", second)
    page = signed_in(browser, base, "ann@acme.example")
    page.goto("/dashboard/p/acme/sync")
    expect(page.get_by_test_id("dead").locator("tbody tr")).to_have_count(1)
    shoot(page, "07-sync-dead-rows")
    page.get_by_test_id("dead").get_by_role("checkbox").check()
    page.get_by_role("button", name="Retry selected").click()
    expect(page.get_by_test_id("retried")).to_contain_text("1 row(s) queued again")
    assert page.get_by_test_id("dead").count() == 0


@pytest.mark.slow
def test_portfolio_and_trend_equal_margins_by_period(browser: Any, site: tuple[str, World]) -> None:
    """The page's totals, clients, usage types and every point of its 12-period trend are
    `/v1/margins?period=`'s figures, read from what the browser shows."""
    base, world = site
    key = {"Authorization": f"Bearer {world.keys['acme']}"}

    def api(**params: str) -> dict[str, Any]:
        found = httpx.get(f"{base}/v1/margins", params=params, headers=key, timeout=10)
        assert found.status_code == 200, found.text
        return dict(found.json())

    page = signed_in(browser, base, "ann@acme.example")
    for first in (world.last, world.earlier):
        period = f"{first:%Y-%m}"
        page.goto(f"/dashboard/p/acme?period={period}")
        expect(page.get_by_role("heading", name="Portfolio")).to_be_visible()
        [total] = api(period=period)["totals"]
        shown = {
            name: int(page.get_by_test_id(name).get_attribute("data-minor") or "0")
            for name in ("revenue", "unbilled", "cost", "margin")
        }
        assert shown == {
            "revenue": total["charge"],
            "unbilled": total["unbilled_charge"],
            "cost": total["cost"],
            "margin": total["margin"],
        }
        for test_id, group_by in (("clients", "client"), ("usage-types", "usage_type")):
            rows = page.get_by_test_id(test_id).locator("tbody tr[data-key]")
            seen = {}
            for index in range(rows.count()):
                row = rows.nth(index)
                cells = row.locator("td[data-minor]")
                values = [int(cells.nth(i).get_attribute("data-minor") or "0") for i in range(4)]
                seen[row.get_attribute("data-key")] = tuple(values)
            expected = {
                r["key"]: (r["charge"], r["unbilled_charge"], r["cost"], r["margin"])
                for r in api(period=period, group_by=group_by)["rows"]
            }
            assert seen == expected, test_id
            if group_by == "client":
                ranked = sorted(expected.items(), key=lambda item: (-item[1][3], item[0]))
                for test_id_, picked in (("best", ranked[:5]), ("worst", ranked[::-1][:5])):
                    rows = page.get_by_test_id(test_id_).locator("tbody tr[data-key]")
                    keys = [rows.nth(i).get_attribute("data-key") for i in range(rows.count())]
                    assert keys == [k for k, _ in picked], test_id_
        trend = page.get_by_test_id("trend").locator("tr[data-period]")
        assert trend.count() == 12
        for index in range(trend.count()):
            point = trend.nth(index)
            label = point.get_attribute("data-period") or ""
            cells = point.locator("td[data-minor]")
            values = [int(cells.nth(i).get_attribute("data-minor") or "0") for i in range(4)]
            totals = api(period=label)["totals"]
            [figures] = [
                [t["charge"], t["unbilled_charge"], t["cost"], t["margin"]] for t in totals
            ] or [[0, 0, 0, 0]]
            assert values == figures, label
        assert trend.last.get_attribute("data-period") == period
        shoot(page, f"09-portfolio-{period}")
