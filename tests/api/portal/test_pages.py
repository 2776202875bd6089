"""The portal from a link in a real queued e-mail: the invoice, its PDF (the stored document),
the usage behind a line and its CSV (the same rows as the e-mail's CSV), earlier invoices;
security headers; and every way a link must open nothing: forged, expired, revoked, another
client's invoice."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import col, select

from billing.documents.events_csv import EVENTS_CSV_HEADER
from billing.invoicing.explain import explain_invoice, line_event_rows
from billing.invoicing.models import Invoice, InvoiceLine, InvoiceLineKind
from billing.invoicing.pdfs import invoice_pdf
from billing.portal import PortalLink, issue_link, revoke_client_links, revoke_link
from billing.portal.tokens import sign_token
from config.db_types import utcnow
from tests.api.portal.conftest import World
from tests.billing.factories import make_key

SECURITY = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex, nofollow",
}
SECRETS = ("Client One", "Client Two", "Acme", "ACME-")


def _secured(response: Any) -> None:
    for name, value in SECURITY.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))


def _usage_line(world: World) -> InvoiceLine:
    with world.session() as session:
        lines = session.exec(
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == world.last.id)
            .order_by(col(InvoiceLine.position))
        ).all()
    return next(line for line in lines if line.kind is InvoiceLineKind.USAGE)


def test_the_link_in_the_email_opens_the_invoice(
    client: TestClient, link: str, world: World
) -> None:
    page = client.get(link)
    assert page.status_code == 200
    _secured(page)
    html = page.text
    assert world.last.number in html and "Client One" in html
    assert "#7A1F5C" in html  # the partner's colour
    assert "IBAN DE00 1234 5678 9012 3456 78" in html  # no Stripe: the instructions
    assert 'data-testid="pay"' not in html
    assert world.earlier.number in html  # earlier invoices listed
    assert world.other.number not in html and "Client Two" not in html
    # nothing internal: no wholesale cost, no margin
    token = link.split("/portal/", 1)[1].split("/")[0]  # random base64: may hold "cost"
    body = html.split("</style>", 1)[1].replace(token, "").lower()
    assert "wholesale" not in body and "margin" not in body and "cost" not in body
    from billing.documents.formatting import format_amount

    assert format_amount(world.last.cost_minor, "USD") not in body


def test_the_amount_due_is_the_apis(client: TestClient, link: str, world: World) -> None:
    """The portal and the API show the same amount due (Invoice.amount_due_minor)."""
    with world.session() as session:
        key = make_key(session, "acme")
        session.commit()
    api = client.get(
        f"/v1/invoices/{world.last.number}", headers={"Authorization": f"Bearer {key}"}
    )
    assert api.status_code == 200, api.text
    due = api.json()["amount_due_minor"]
    page = client.get(link)
    from billing.documents.formatting import format_money

    assert f'data-testid="amount-due"><strong>{format_money(due, "USD")}' in page.text
    total = api.json()["total_minor"]
    assert f'data-testid="total">{format_money(total, "USD")}<' in page.text


def test_the_pdf_is_the_stored_document(client: TestClient, link: str, world: World) -> None:
    response = client.get(f"{link}/invoices/{world.last.id}/pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    _secured(response)
    with world.session() as session:
        assert response.content == invoice_pdf(session, world.last)


def test_the_lines_table_is_the_pdfs(client: TestClient, link: str, world: World) -> None:
    """The page prints the document's own lines (`document_view`), so each row's description
    and amount are the stored PDF's, in its order: the client sees one invoice, not two."""
    page = client.get(f"{link}/invoices/{world.last.id}").text
    table = page.split('data-testid="lines"')[1].split("</table>")[0]
    rows = [
        [re.sub(r"<[^>]+>", " ", cell).split("Usage:")[0].strip() for cell in cells]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], flags=re.S)
        )
    ]
    assert rows and all(len(cells) == 4 for cells in rows)
    with world.session() as session:
        pdf = invoice_pdf(session, world.last)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    found = 0
    for description, _quantity, _rate, amount in rows:
        spot = flat.find(" ".join(html.unescape(description).split()), found)
        assert spot >= 0, (description, flat)
        assert html.unescape(amount) in flat[spot:], (amount, description)
        found = spot


def test_a_lines_usage_and_its_csv(client: TestClient, link: str, world: World) -> None:
    line = _usage_line(world)
    page = client.get(f"{link}/invoices/{world.last.id}/lines/{line.position}")
    assert page.status_code == 200
    _secured(page)
    # read the events table's row headers, not the whole page: the link's token is random
    # base64 and may itself contain "l3"
    table = page.text.split('data-testid="line-events"')[1].split("</table>")[0]
    assert re.findall(r'<th scope="row" class="event">([^<]*)</th>', table) == ["l1", "l2"]
    assert "wholesale" not in page.text.lower()
    response = client.get(f"{link}/invoices/{world.last.id}/lines/{line.position}/usage.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    _secured(response)
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == EVENTS_CSV_HEADER
    assert [r[1] for r in rows[1:]] == ["l1", "l2"]
    from decimal import Decimal

    assert sum(Decimal(r[3]) for r in rows[1:]) == line.quantity
    # the same rows as the e-mail's CSV, for this line
    with world.session() as session:
        expected = [
            r for r in line_event_rows(session, world.last) if r[0].startswith(f"{line.position}. ")
        ]
        explained = {x.position: x for x in explain_invoice(session, world.last).lines}
    assert [r[1] for r in expected] == [r[1] for r in rows[1:]]
    assert explained[line.position].events_total == line.quantity


def test_earlier_invoice_opens_within_the_links_scope(
    client: TestClient, link: str, world: World
) -> None:
    page = client.get(f"{link}/invoices/{world.earlier.id}")
    assert page.status_code == 200 and world.earlier.number in page.text


def test_another_clients_invoice_is_not_found(client: TestClient, link: str, world: World) -> None:
    for path in ("", "/pdf", "/lines/1", "/lines/1/usage.csv"):
        response = client.get(f"{link}/invoices/{world.other.id}{path}")
        assert response.status_code == 404, path
        _secured(response)
        assert "Client Two" not in response.text and world.other.number not in response.text
    assert client.get(f"{link}/invoices/999999").status_code == 404
    assert client.post(f"{link}/invoices/{world.other.id}/pay").status_code == 404


def _refused(response: Any, status: int) -> None:
    assert response.status_code == status
    _secured(response)
    for secret in SECRETS:
        assert secret not in response.text, secret


def test_forged_links_are_refused_without_data(client: TestClient, link: str, world: World) -> None:
    token = link.rsplit("/", 1)[1]
    link_id, expires, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (
        f"{link_id}.{expires}.{flipped}",
        f"{int(link_id) + 1}.{expires}.{signature}",
        f"{link_id}.{int(expires) + 86400}.{signature}",
        f"{link_id}.{expires}",
        "nonsense",
        sign_token(int(link_id), int(expires), secret="another-secret-key-of-32-chars!!"),
    ):
        _refused(client.get(f"/portal/{bad}"), 403)
        _refused(client.get(f"/portal/{bad}/invoices/{world.last.id}/pdf"), 403)


def test_expired_and_revoked_links_are_gone(client: TestClient, world: World) -> None:
    with world.session() as session:
        old = issue_link(session, world.last, now=utcnow() - timedelta(days=10), days=1)
        one = issue_link(session, world.last)
        session.commit()
    _refused(client.get(f"/portal/{old.token}"), 410)
    assert "expired" in client.get(f"/portal/{old.token}").text
    assert client.get(f"/portal/{one.token}").status_code == 200
    with world.session() as session:
        revoke_link(session, one.link.link_id)
        session.commit()
    _refused(client.get(f"/portal/{one.token}"), 410)
    _refused(client.get(f"/portal/{one.token}/invoices/{world.last.id}/pdf"), 410)
    assert "withdrawn" in client.get(f"/portal/{one.token}").text


def test_revoking_a_clients_links_closes_the_emailed_one(
    client: TestClient, link: str, world: World
) -> None:
    assert client.get(link).status_code == 200
    with world.session() as session:
        assert revoke_client_links(session, "acme", "c1") >= 1
        session.commit()
    _refused(client.get(link), 410)
    with world.session() as session:  # c2's link still works
        c2_links = session.exec(select(PortalLink).where(col(PortalLink.client_id) == "c2")).all()
        assert c2_links and all(x.revoked_at is None for x in c2_links)


def test_a_void_invoice_has_no_pay_button(client: TestClient, link: str, world: World) -> None:
    from billing.invoicing.service import void_invoice

    with world.session() as session:
        void_invoice(session, "acme", world.last.invoice_id, reason="test")
        session.commit()
    page = client.get(link)
    assert page.status_code == 200 and "void" in page.text
    assert 'data-testid="pay"' not in page.text and "IBAN" not in page.text


def test_last_used_is_recorded(client: TestClient, link: str, world: World) -> None:
    client.get(link)
    link_id = int(link.rsplit("/", 1)[1].split(".")[0])
    with world.session() as session:
        row = session.get(PortalLink, link_id)
        assert row is not None and row.last_used_at is not None
        assert row.client_id == "c1" and row.invoice_id == world.last.id


def test_draft_invoices_are_never_shown(client: TestClient, link: str, world: World) -> None:
    with world.session() as session:
        drafts = session.exec(select(Invoice).where(col(Invoice.number).is_(None))).all()
    for draft in drafts:
        assert client.get(f"{link}/invoices/{draft.id}").status_code == 404
