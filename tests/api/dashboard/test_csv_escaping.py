"""The dashboard's CSV downloads (usage drill-down, the events behind an invoice line) escape
cells a spreadsheet would run as formulas; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from billing.invoicing.closing import refresh_draft
from billing.invoicing.models import Invoice
from tests.api.dashboard.conftest import World, sign_in
from tests.billing.invoicing.builders import at, send

ATTACK = "=cmd|' /C calc'!A0"


def test_usage_csv_escapes_formulas(app_client: TestClient, world: World, session: Session) -> None:
    send(
        session,
        [
            (ATTACK, "c1", "voice", "3", at(world.last, 9)),
            ("+SUM(A1:A9)", "c1", "voice", "4", at(world.last, 9)),
        ],
    )
    session.commit()
    sign_in(app_client, "ann@acme.example")
    exported = app_client.get("/dashboard/p/acme/usage.csv", params={"period": "all"})
    ids = {r["event_id"] for r in csv.DictReader(io.StringIO(exported.text))}
    assert {"'" + ATTACK, "'+SUM(A1:A9)"} <= ids
    assert not any(i.startswith(("=", "+", "-", "@")) for i in ids)


def test_line_events_csv_escapes_formulas(
    app_client: TestClient, world: World, session: Session
) -> None:
    send(session, [("@" + ATTACK, "c2", "voice", "5", at(world.last, 3))])
    draft = session.exec(
        select(Invoice).where(
            Invoice.partner_id == "acme",
            Invoice.client_id == "c2",
            Invoice.period_start == world.last,
        )
    ).one()
    refresh_draft(session, "acme", draft.invoice_id)
    session.commit()
    sign_in(app_client, "ann@acme.example")
    page = app_client.get(f"/dashboard/p/acme/invoices/{draft.id}").text
    link = re.search(r'href="([^"]+/lines/(\d+))" data-testid="line-events-\d+"', page)
    assert link, page
    table = list(csv.DictReader(io.StringIO(app_client.get(link.group(1) + "/events.csv").text)))
    event_ids = [r["event_id"] for r in table]
    assert "'@" + ATTACK in event_ids
    assert not any(i.startswith(("=", "+", "-", "@")) for i in event_ids)
    assert all(int(r["wholesale_cost_minor"]) >= 0 for r in table)
