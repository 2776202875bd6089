"""The invoice e-mail carries the client-portal link in both bodies when it has one, and the
PDF never does (it is stored and forwarded; a link there would outlive its revocation)."""

from __future__ import annotations

from billing.documents import build_invoice_email, render_invoice_html
from tests.billing.documents.builders import invoice
from tests.billing.documents.test_mail import PDF, parse

URL = "https://billing.example.com/portal/12.1800000000.c2lnbmF0dXJl"


def _bodies(doc: object) -> tuple[str, str]:
    message = parse(build_invoice_email(doc, PDF).as_bytes())  # type: ignore[arg-type]
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_the_link_is_in_both_bodies_and_not_in_the_pdf() -> None:
    text, html = _bodies(invoice(portal_url=URL))
    assert URL in text and f'href="{URL}"' in html
    assert URL not in render_invoice_html(invoice(portal_url=URL))


def test_no_link_no_mention() -> None:
    text, html = _bodies(invoice())
    assert "/portal/" not in text and "/portal/" not in html
    assert "online" not in text
