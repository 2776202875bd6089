"""Sign-in throttling counts in the database: two API instances (as two server processes
would be) share one count; the window slides on the clock, tested with a fake one; and the
session cookie is Secure exactly when the public URL is https."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from api.dashboard.session import COOKIE_NAME
from api.dashboard.throttle import SignInThrottle
from config.settings import get_settings
from tests.api.dashboard.conftest import PASSWORD, World, csrf_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _attempt(client: TestClient, email: str, password: str) -> int:
    page = client.get("/dashboard/signin")
    return client.post(
        "/dashboard/signin",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    ).status_code


def test_two_api_instances_share_one_count(engine: Engine, world: World) -> None:
    with (
        TestClient(create_app(), follow_redirects=False) as first,
        TestClient(create_app(), follow_redirects=False) as second,
    ):
        codes = [
            _attempt(first if n % 2 == 0 else second, "gus@globex.example", f"wrong-{n}-pass")
            for n in range(10)
        ]
        assert codes == [401] * 10
        # The eleventh, on either instance, even with the right password: throttled.
        assert _attempt(second, "gus@globex.example", PASSWORD) == 429
        assert _attempt(first, "gus@globex.example", "wrong-again-pass") == 429
        # Another user from elsewhere is not affected by gus's count... but the same client
        # address is (both keys count): TestClient always comes from "testclient".
        assert _attempt(first, "ann@acme.example", PASSWORD) == 429


def test_the_window_slides_and_success_forgets(session: Session, engine: Engine) -> None:
    now = [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    throttle = SignInThrottle(3, 300, clock=lambda: now[0])
    keys = ("email:a@x.example", "ip:10.0.0.1")
    for _ in range(3):
        assert not throttle.blocked(session, *keys)
        throttle.failed(session, *keys)
        now[0] += timedelta(seconds=60)
    assert throttle.blocked(session, *keys)
    assert throttle.blocked(session, "ip:10.0.0.1")
    assert not throttle.blocked(session, "email:b@x.example", "ip:10.0.0.2")
    now[0] += timedelta(seconds=121)  # the first failure is now older than 300 s
    assert not throttle.blocked(session, *keys)
    throttle.failed(session, *keys)
    assert throttle.blocked(session, *keys)
    throttle.succeeded(session, "email:a@x.example")
    assert not throttle.blocked(session, "email:a@x.example")
    assert throttle.blocked(session, "ip:10.0.0.1")


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [("https://billing.example", True), ("http://127.0.0.1:8000", False)],
)
def test_the_session_cookie_is_secure_behind_https(
    public_url: str, secure: bool, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REBILL_PUBLIC_URL", public_url)
    get_settings.cache_clear()
    with TestClient(create_app(), base_url=public_url, follow_redirects=False) as client:
        page = client.get("/dashboard/signin")
    cookie = next(
        value
        for name, value in page.headers.multi_items()
        if name == "set-cookie" and value.startswith(COOKIE_NAME)
    )
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert ("secure" in attributes) is secure
    assert "httponly" in attributes


def test_an_explicit_setting_wins(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REBILL_PUBLIC_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("REBILL_DASHBOARD_SECURE_COOKIES", "true")
    get_settings.cache_clear()
    with TestClient(create_app(), follow_redirects=False) as client:
        page = client.get("/dashboard/signin")
    assert "secure" in page.headers["set-cookie"].lower()
