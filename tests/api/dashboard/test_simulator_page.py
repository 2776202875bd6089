"""The simulator page: a proposal edited in the form and compared, bad input named, and
"Apply from next period" confirmed first, then written through the ordinary change path with
source `web` and the user's e-mail."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from urllib.parse import unquote_plus

import pytest
from sqlmodel import Session, col, select

from api.app import create_app
from api.dashboard.users import create_user
from billing.pricing.models import ChangeSource, PriceChange
from tests.api.dashboard.conftest import PASSWORD, sign_in
from tests.billing.simulation.helpers import row_counts
from tests.billing.simulation.world import NOW, setup

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PAGE = "/dashboard/p/sim/simulator"
PROPOSAL = {
    "period": "2026-11",
    "plan": "std",
    "plan_usage_type": "voice",
    "plan_price": "0.12",
    "wholesale_type": "voice",
    "wholesale_rate": "0.09",
}


@pytest.fixture
def page_client(engine: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr("api.dashboard.routes_simulator.utcnow", lambda: NOW)
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


@pytest.fixture
def token(page_client: TestClient, session: Session) -> str:
    setup(session)
    create_user(session, "sam@sim.example", PASSWORD, "partner", "sim")
    session.commit()
    return sign_in(page_client, "sam@sim.example")


def _minor(html: str, test_id: str, key: str, side: str) -> list[int]:
    table = html[html.index(f'data-testid="{test_id}"') :]
    table = table[: table.index("</table>")]
    row = re.search(rf'data-key="{re.escape(key)}" data-side="{side}"[^>]*>(.*?)</tr>', table, re.S)
    assert row, (key, side)
    return [int(v) for v in re.findall(r'data-minor="(-?\d+)"', row.group(1))]


def test_compare_a_proposal(page_client: TestClient, token: str, session: Session) -> None:
    counts = row_counts(session)
    blank = page_client.get(PAGE)
    assert blank.status_code == 200
    assert 'aria-current="page">Simulator' in blank.text
    answer = page_client.get(PAGE, params={"run": "1", **PROPOSAL})
    assert answer.status_code == 200, answer.text
    html = answer.text
    # revenue, cost, margin (scoping world: +7.70 of revenue, +40.00 of voice cost)
    assert _minor(html, "sim-portfolio", "total", "before") == [13519, 5060, 8459]
    assert _minor(html, "sim-portfolio", "total", "after") == [14289, 9060, 5229]
    assert _minor(html, "sim-portfolio", "total", "change") == [770, 4000, -3230]
    assert "135.19 USD" in html and "142.89 USD" in html
    assert "plan std: voice at" in html and "wholesale voice:" in html
    # usage types by the names people know; the fee row said in words (data-key keeps the code)
    assert 'rowspan="3">Voice minutes <span' in html
    assert 'rowspan="3">Base fees, minimum true-ups and discounts <span' in html
    assert 'data-testid="apply-form"' in html
    session.rollback()
    assert row_counts(session) == counts


def test_bad_proposal_is_named(page_client: TestClient, token: str) -> None:
    answer = page_client.get(
        PAGE, params={"run": "1", "period": "2026-11", "plan": "std", "base_fee": "1.005"}
    )
    assert answer.status_code == 422
    assert "changes[0].base_fee" in answer.text
    answer = page_client.get(PAGE, params={"run": "1", "period": "2026-11", "plan_price": "1"})
    assert answer.status_code == 422
    assert "plan_price: choose the plan" in answer.text


def test_apply_confirms_then_writes_through_the_change_path(
    page_client: TestClient, token: str, session: Session
) -> None:
    form = {"csrf_token": token, **PROPOSAL}
    assert page_client.post(f"{PAGE}/apply", data={**form, "csrf_token": "x"}).status_code == 403
    confirm = page_client.post(f"{PAGE}/apply", data=form)
    assert confirm.status_code == 200
    assert "plan std: voice at" in confirm.text and "from each client's next period" in confirm.text
    session.rollback()
    assert not session.exec(select(PriceChange).where(PriceChange.source == "web")).all()
    done = page_client.post(f"{PAGE}/apply", data={**form, "confirmed": "1"})
    assert done.status_code == 303
    assert "Applied from each client's next period: 2 change(s)" in unquote_plus(
        done.headers["location"]
    )
    session.rollback()
    logged = session.exec(
        select(PriceChange).where(col(PriceChange.source) == ChangeSource.WEB)
    ).all()
    assert sorted((c.object_key, c.reference, c.effective_from) for c in logged) == [
        ("std.voice", "sam@sim.example", NOW.date()),
        ("voice", "sam@sim.example", NOW.date()),
    ]


def test_apply_is_all_or_nothing(page_client: TestClient, token: str, session: Session) -> None:
    session.rollback()
    counts = row_counts(session)
    bad = {**PROPOSAL, "client": "a", "discount": "101", "csrf_token": token, "confirmed": "1"}
    answer = page_client.post(f"{PAGE}/apply", data=bad)
    assert answer.status_code == 422
    assert "Nothing was applied" in answer.text and "discount_percent" in answer.text
    session.rollback()
    assert row_counts(session) == counts
