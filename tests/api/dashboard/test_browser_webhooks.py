"""The Webhooks page in a real browser: add an endpoint (its secret shown once), see a dead
delivery with its HTTP answer, replay it with the button, and see it delivered with the same
webhook-id; the page fits a phone's width."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session
from standardwebhooks import Webhook

from billing.webhooks import EventType, emit
from billing.webhooks.delivery import deliver_due
from config.settings import get_settings
from connectors.connections.crypto import cipher_from_settings
from tests.api.dashboard.browser import expect, live_server, shoot
from tests.api.dashboard.conftest import build_world
from tests.api.dashboard.test_browser import browser, signed_in
from tests.api.dashboard.test_browser_invoices import PHONE, WIDEST
from tests.billing.webhooks.receiver import Receiver, running_receiver
from workqueue import RetryPolicy

__all__ = ["browser"]  # the module-scoped chromium of test_browser.py

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DATA = {
    "reconciliation_id": "1",
    "period": "2026-10",
    "differences": 0,
    "started_at": "2026-11-01T06:00:00+00:00",
    "finished_at": "2026-11-01T06:00:01+00:00",
}


@pytest.fixture
def site(
    engine: object, session: Session, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Receiver]]:
    monkeypatch.setenv("REBILL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
    get_settings.cache_clear()
    build_world(session)
    with running_receiver() as receiver, live_server() as base:
        yield base, receiver
    get_settings.cache_clear()


@pytest.mark.slow
def test_add_an_endpoint_and_replay_a_dead_delivery(
    browser: Any, site: tuple[str, Receiver], engine: Any, session: Session
) -> None:
    base, receiver = site
    page = signed_in(browser, base, "ann@acme.example")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    page.get_by_label("URL (https)").fill(receiver.url)
    page.get_by_label("Description").fill("our ERP")
    page.get_by_label("reconciliation.completed").check()
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_test_id("secret-value").inner_text().strip()
    assert secret.startswith("whsec_")
    expect(page.get_by_test_id("endpoint-1")).to_contain_text("our ERP")

    emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="1")
    session.commit()
    receiver.script = [500]
    box = cipher_from_settings()
    once = RetryPolicy(max_attempts=1)
    assert deliver_due(engine, box, now=datetime.now(UTC), policy=once).dead == 1
    page.goto("/dashboard/p/acme/webhooks")
    row = page.get_by_test_id("delivery-1")
    expect(row).to_contain_text("dead")
    expect(row).to_contain_text("answer 500")
    expect(row).to_contain_text(receiver.ids[0])
    shoot(page, "webhooks-dead")
    row.get_by_role("button", name="Replay delivery 1").click()
    expect(page.get_by_test_id("replayed")).to_contain_text("Delivery 1 queued again")
    receiver.script = [200]
    assert deliver_due(engine, box, now=datetime.now(UTC)).delivered == 1
    page.reload()
    expect(page.get_by_test_id("delivery-1")).to_contain_text("succeeded")
    assert receiver.ids == [receiver.ids[0]] * 2
    Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)

    phone = signed_in(browser, base, "ann@acme.example", viewport=PHONE)
    phone.goto("/dashboard/p/acme/webhooks")
    overflow = phone.evaluate("document.documentElement.scrollWidth > innerWidth")
    assert not overflow, phone.evaluate(WIDEST)
