"""Two partners with two periods of usage (one issued, one drafted), dashboard users, and a
helper that signs a TestClient in the way a browser does (sign-in page, CSRF token, cookie)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from api.app import create_app
from api.dashboard.users import create_user
from billing.invoicing.closing import close_cycles
from billing.pricing.accrual import accrue
from billing.tenants.models import Scope
from tests.billing.factories import make_key
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    month_text,
    run_accrual,
    send,
    setup_partner,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def before(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


@dataclass(frozen=True)
class World:
    last: date  # first day of last month: drafts
    earlier: date  # the month before: issued
    keys: dict[str, str]


def build_world(session: Session) -> World:
    """acme: c1 grows, c2 shrinks (its margin falls); globex: one client. Threshold 75%."""
    setup_partner(session, SIMPLE, margin_alert_percent=75)
    setup_partner(
        session,
        SIMPLE.replace('id = "acme"', 'id = "globex"', 1)
        .replace('"ACME-"', '"GLOBEX-"')
        .replace('name = "Acme AI Agency"', 'name = "Globex"'),
    )
    last = last_month()
    earlier = before(last)
    send(
        session,
        [
            ("e1", "c1", "voice", "100", at(earlier, 2)),
            ("e2", "c2", "voice", "500", at(earlier, 3)),
        ],
    )
    accrue(session, "acme", datetime.combine(last, datetime.min.time(), UTC) + timedelta(hours=1))
    session.commit()
    close_and_issue(session, earlier)
    send(
        session,
        [
            ("l1", "c1", "voice", "300", at(last, 1)),
            ("l2", "c1", "voice", "150", at(last, 5)),
            ("l3", "c2", "voice", "20", at(last, 2)),
        ],
    )
    send(session, [("g1", "c1", "voice", "40", at(last, 1))], partner="globex")
    run_accrual(session)
    run_accrual(session, "globex")
    close_cycles(session, "acme", period=month_text(last))
    close_cycles(session, "globex", period=month_text(last))
    session.commit()
    now = datetime.now(UTC) - timedelta(minutes=5)
    send(session, [("n1", "c1", "voice", "7", now.isoformat())])
    keys = {
        "acme": make_key(session, "acme", Scope.READ, Scope.ADMIN),
        "globex": make_key(session, "globex", Scope.READ, Scope.ADMIN),
    }
    create_user(session, "op@rebill.example", PASSWORD, "operator")
    create_user(session, "ann@acme.example", PASSWORD, "partner", "acme")
    create_user(session, "gus@globex.example", PASSWORD, "partner", "globex")
    session.commit()
    return World(last, earlier, keys)


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@pytest.fixture
def app_client(engine: object) -> Iterator[TestClient]:
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in; returns the session's CSRF token."""
    page = client.get("/dashboard/signin")
    assert page.status_code == 200
    done = client.post(
        "/dashboard/signin",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert done.status_code == 303, done.text
    landing = client.get(done.headers["location"], follow_redirects=True)
    assert landing.status_code == 200
    return csrf_of(landing.text)
