"""One list shape everywhere: every list route answers `{"items": [...], "next_cursor": ...}`,
and the lists that grow (reconciliation runs, the price change log) page with a cursor that
returns every row exactly once, in order, whatever the page size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from api.app import create_app
from billing.pricing.models import ChangeSource, PriceChange
from sync.reconcile.models import ReconcileRun
from tests.api.seeded import Seeded, seed

ONE_PAGE_LISTS = ("/v1/usage-types", "/v1/plans", "/v1/partners")


@pytest.fixture
def world(session: Session) -> Seeded:
    return seed(session)


@pytest.fixture
def api(engine: object) -> Any:
    with TestClient(create_app()) as client:
        yield client


def _admin(world: Seeded) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.keys['admin']}"}


def _page(api: TestClient, url: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = api.get(url, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"items", "next_cursor"}, url
    assert isinstance(body["items"], list)
    return body


def _all_pages(api: TestClient, url: str, headers: dict[str, str], limit: int) -> list[Any]:
    rows: list[Any] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = _page(api, url, headers, **params)
        assert len(page["items"]) <= limit
        rows.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
        assert page["items"], "a cursor after an empty page"
    raise AssertionError("paging never ended")


def test_every_list_route_answers_a_page(api: TestClient, world: Seeded) -> None:
    admin = _admin(world)
    for url in (*ONE_PAGE_LISTS, f"/v1/invoices/{world.issued}/credit-notes"):
        page = _page(api, url, admin)
        assert page["items"] and page["next_cursor"] is None, url
    for url in (
        "/v1/clients",
        "/v1/invoices",
        "/v1/payments",
        "/v1/usage",
        "/v1/reconciliations",
        "/v1/price-changes",
    ):
        assert _page(api, url, admin)["items"], url
    [note] = _page(api, f"/v1/invoices/{world.issued}/credit-notes", admin)["items"]
    assert note["number"] == world.credit_note
    platform = {"Authorization": f"Bearer {world.keys['platform']}"}
    assert [p["id"] for p in _page(api, "/v1/partners", platform)["items"]] == ["acme"]


def _add_runs_and_changes(session: Session, count: int) -> None:
    """More runs, and price changes logged in the same instant (the cursor must still part
    them: the order is by time, then id)."""
    now = datetime.now(UTC)
    same_instant = now - timedelta(days=1)
    for n in range(count):
        session.add(
            ReconcileRun(
                partner_id="acme",
                period="2026-01",
                period_start=datetime(2026, 1, 1, tzinfo=UTC).date(),
                period_end=datetime(2026, 1, 31, tzinfo=UTC).date(),
                started_at=now,
                finished_at=now,
            )
        )
        session.add(
            PriceChange(
                partner_id="acme",
                changed_at=same_instant if n % 2 else now - timedelta(minutes=n),
                source=ChangeSource.API,
                object_type="client_price",
                object_key=f"c{n}",
                action="updated",
            )
        )
    session.commit()


def test_paging_returns_every_row_once_in_order(
    api: TestClient, world: Seeded, session: Session
) -> None:
    _add_runs_and_changes(session, 9)
    admin = _admin(world)
    runs = _page(api, "/v1/reconciliations", admin, limit=200)["items"]
    changes = _page(api, "/v1/price-changes", admin, limit=1000)["items"]
    assert len(runs) == 10 and len(changes) > 9
    assert [r["id"] for r in runs] == sorted((r["id"] for r in runs), reverse=True)
    stamps = [c["changed_at"] for c in changes]
    assert stamps == sorted(stamps, reverse=True)

    @settings(
        max_examples=8,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(limit=st.integers(min_value=1, max_value=12))
    def pages_add_up(limit: int) -> None:
        assert _all_pages(api, "/v1/reconciliations", admin, limit) == runs
        assert _all_pages(api, "/v1/price-changes", admin, limit) == changes

    pages_add_up()


def test_cursors_are_checked_and_partner_scoped(api: TestClient, world: Seeded) -> None:
    admin = _admin(world)
    for url in ("/v1/reconciliations", "/v1/price-changes"):
        for cursor in ("x", "0", "9" * 40):
            answer = api.get(url, params={"cursor": cursor}, headers=admin)
            assert answer.status_code == 400, (url, cursor, answer.text)
            assert answer.json()["detail"] == "cursor: not one this API returned"
    # a read key pages over what it may see: no wholesale price change, and full pages
    read = {"Authorization": f"Bearer {world.keys['read']}"}
    seen = _all_pages(api, "/v1/price-changes", read, 1)
    assert seen and not any("wholesale" in c["object"] for c in seen)
    everything = _page(api, "/v1/price-changes", admin, limit=1000)["items"]
    assert any("wholesale" in c["object"] for c in everything)
