"""The PDF: what a reader extracts from it, where it is written, and what it refuses."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from billing.documents import document_path, render_invoice_pdf, write_invoice_pdf
from billing.documents.render import Logo, render_invoice_html
from config.settings import get_settings
from tests.billing.documents.builders import PNG, branding, invoice, with_client


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_text_has_number_client_and_total(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    data = render_invoice_pdf(invoice(partner=branding(logo_path=logo)))
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in (
        "ACME-000042",
        "Bistro Ltd",
        "249.17 USD",
        "Tier 2: 1,001 to 5,000",
        "Due by 1 December 2026, net 30 days.",
        "Page 1 of 1",
    ):
        assert expected in text, expected


def test_non_latin_names_survive(tmp_path: Path) -> None:
    doc = with_client(invoice(), name="Café Łódź Ελληνικά")
    assert "Café Łódź Ελληνικά" in pdf_text(render_invoice_pdf(doc))


def test_many_lines_break_across_pages() -> None:
    doc = invoice(lines=list(invoice().lines) * 12)
    text = pdf_text(render_invoice_pdf(doc))
    assert "Page 2 of" in text and "ACME-000042" in text


def test_rendering_fetches_nothing(tmp_path: Path) -> None:
    """Only data: URIs load; a file or http reference (should one ever slip into the HTML)
    is not read into the client's PDF."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    from weasyprint import HTML

    from billing.documents import pdf as pdf_module

    html = render_invoice_html(invoice()).replace(
        "</body>", f'<img src="file://{secret}"><img src="http://127.0.0.1:9/x.png"></body>'
    )
    document = HTML(string=html, url_fetcher=pdf_module._fetcher()).render()
    images = [box for page in document.pages for box in _walk(page._page_box) if _is_image(box)]
    assert images == []


def _walk(box: object) -> list[object]:
    out = [box]
    for child in getattr(box, "children", []):
        out.extend(_walk(child))
    return out


def _is_image(box: object) -> bool:
    return type(box).__name__ in ("InlineReplacedBox", "BlockReplacedBox")


def test_written_under_documents_dir_atomically(engine: object) -> None:
    doc = invoice()
    path = write_invoice_pdf(doc)
    assert path == get_settings().documents_dir / "acme" / "ACME-000042.pdf"
    assert path.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in path.parent.iterdir()] == ["ACME-000042.pdf"]  # no temp file left
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    again = write_invoice_pdf(doc, pdf=b"%PDF-replaced")
    assert again == path and path.read_bytes() == b"%PDF-replaced"


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = invoice()
    path = write_invoice_pdf(doc, tmp_path, pdf=b"%PDF-old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_invoice_pdf(doc, tmp_path, pdf=b"%PDF-new")
    assert path.read_bytes() == b"%PDF-old"
    assert [p.name for p in path.parent.iterdir()] == ["ACME-000042.pdf"]


@pytest.mark.parametrize("number", ["../../etc/passwd", "a/b", ".hidden", "x\0y"])
def test_unsafe_numbers_never_become_paths(tmp_path: Path, number: str) -> None:
    with pytest.raises(ValueError, match="cannot be used as a file name"):
        document_path(invoice(number=number), tmp_path)


def test_one_logo_for_many_documents(tmp_path: Path) -> None:
    logo = Logo(PNG, "image/png")
    assert logo.data_uri in render_invoice_html(invoice(), logo)
    assert render_invoice_pdf(invoice(), logo).startswith(b"%PDF-")
