"""The clients page and the client's last 12 periods: found by search and filters, sorted by
figures, and every figure equal to `GET /v1/margins?period=` (the same computation)."""

from __future__ import annotations

import re
import warnings

from sqlmodel import Session

from billing.tenants import ClientStatus, ClientUpdate, update_client
from tests.api.dashboard.conftest import World, sign_in
from tests.billing.invoicing.builders import month_text

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ROW = re.compile(r'data-client="([^"]+)" data-charge="(-?\d+)" data-cost="(-?\d+)"')
PERIOD = re.compile(r'data-period="([^"]+)" data-charge="(-?\d+)" data-cost="(-?\d+)"')


def listed(client: TestClient, query: str = "") -> list[tuple[str, int, int]]:
    page = client.get(f"/dashboard/p/acme/clients{query}")
    assert page.status_code == 200, page.text
    return [(c, int(charge), int(cost)) for c, charge, cost in ROW.findall(page.text)]


def api_rows(client: TestClient, world: World, period: str) -> dict[str, tuple[int, int]]:
    answer = client.get(
        f"/v1/margins?period={period}&group_by=client",
        headers={"Authorization": f"Bearer {world.keys['acme']}"},
    )
    assert answer.status_code == 200, answer.text
    return {row["key"]: (row["charge"], row["cost"]) for row in answer.json()["rows"]}


def test_clients_page_figures_equal_the_margins_api(
    app_client: TestClient, world: World, session: Session
) -> None:
    sign_in(app_client, "ann@acme.example")
    for month in (world.last, world.earlier):
        period = month_text(month)
        shown = listed(app_client, f"?period={period}")
        assert [c for c, _, _ in shown] == ["c1", "c2"]  # by name: Client One, Client Two
        expected = api_rows(app_client, world, period)
        assert expected  # both months have figures
        assert {c: (charge, cost) for c, charge, cost in shown} == {
            c: expected.get(c, (0, 0)) for c, _, _ in shown
        }
    by_revenue = listed(app_client, f"?period={month_text(world.last)}&sort=revenue")
    assert [charge for _, charge, _ in by_revenue] == sorted(
        (charge for _, charge, _ in by_revenue), reverse=True
    )


def test_search_and_filters_find_the_right_clients(
    app_client: TestClient, world: World, session: Session
) -> None:
    sign_in(app_client, "ann@acme.example")
    assert [c for c, _, _ in listed(app_client, "?q=two%40example")] == ["c2"]  # e-mail
    assert [c for c, _, _ in listed(app_client, "?q=CLIENT+one")] == ["c1"]  # name, any case
    assert [c for c, _, _ in listed(app_client, "?q=c2")] == ["c2"]  # id
    assert [c for c, _, _ in listed(app_client, "?plan=std")] == ["c1", "c2"]
    assert listed(app_client, "?plan=own") == []
    update_client(session, "acme", "c2", ClientUpdate(status=ClientStatus.SUSPENDED))
    session.commit()
    assert [c for c, _, _ in listed(app_client, "?status=suspended")] == ["c2"]
    page = app_client.get("/dashboard/p/acme/clients?status=gone&plan=gold").text
    assert "status: &#39;gone&#39; is not one of active, suspended, archived" in page
    assert "plan: &#39;gold&#39; is not one of std, own" in page
    assert len(ROW.findall(page)) == 2  # the bad filters are left off
    assert app_client.get("/dashboard/p/globex/clients").status_code == 404  # not ann's partner


def test_a_clients_last_12_periods_equal_the_margins_api(
    app_client: TestClient, world: World, session: Session
) -> None:
    sign_in(app_client, "ann@acme.example")
    page = app_client.get("/dashboard/p/acme/clients/c1").text
    periods = {label: (int(c), int(k)) for label, c, k in PERIOD.findall(page)}
    assert len(periods) == 12
    for month in (world.last, world.earlier):
        label = month_text(month)
        assert periods[label] == api_rows(app_client, world, label)["c1"]
    issued = page.split(f'data-period="{month_text(world.earlier)}"', 1)[1].split("</tr>", 1)[0]
    assert "ACME-" in issued  # the period's invoice, linked
