"""PDF through WeasyPrint: the printable HTML laid out on A4 or Letter pages.

WeasyPrint may only read `data:` URIs here (the embedded logo). Every value in the HTML is
escaped, so this is defence in depth: even a template mistake cannot make rendering fetch a URL
(a slow or hostile server, an internal address) or read a local file into a client's invoice.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from config.settings import get_settings

from .document import InvoiceDocument
from .files import atomic_write_bytes, safe_file_name
from .render import Logo, render_invoice_html

__all__ = ["document_path", "render_invoice_pdf", "stored_path", "write_invoice_pdf"]


_local = threading.local()


def _font_config() -> Any:
    """Font discovery is the slowest fixed cost of a render: once per thread (a Pango font map
    must not be shared between threads, e.g. API workers rendering at the same time)."""
    config = getattr(_local, "font_config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

        config = _local.font_config = FontConfiguration()
    return config


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    return URLFetcher(allowed_protocols={"data"}, timeout=5, allow_redirects=False)


def render_invoice_pdf(doc: InvoiceDocument, logo: Logo | None = None) -> bytes:
    """The document as PDF bytes (see `render_invoice_html` for `logo`). WeasyPrint is imported
    here, not at module level: it costs most of a second, and every CLI command (the sync
    worker included) would pay it at start-up without rendering anything."""
    from weasyprint import HTML  # type: ignore[import-untyped]

    html = HTML(string=render_invoice_html(doc, logo), url_fetcher=_fetcher())
    pdf = html.write_pdf(font_config=_font_config())
    assert isinstance(pdf, bytes)
    return pdf


def document_path(
    doc: InvoiceDocument, directory: Path | None = None, suffix: str = ".pdf"
) -> Path:
    """`<directory>/<partner>/<number><suffix>`; `directory` defaults to the configured
    documents directory. Refuses a partner id or number that is not a plain file name."""
    return stored_path(doc.partner.partner_id, doc.number, directory, suffix)


def stored_path(
    partner_id: str, number: str, directory: Path | None = None, suffix: str = ".pdf"
) -> Path:
    """Where the document numbered `number` of `partner_id` is written (`document_path`)."""
    root = directory if directory is not None else get_settings().documents_dir
    return root / safe_file_name(partner_id) / safe_file_name(f"{number}{suffix}")


def write_invoice_pdf(
    doc: InvoiceDocument, directory: Path | None = None, *, pdf: bytes | None = None
) -> Path:
    """Render (unless `pdf` is given) and write the PDF atomically; returns its path.
    Writing again replaces the file, so re-running after a crash is safe."""
    data = pdf if pdf is not None else render_invoice_pdf(doc)
    return atomic_write_bytes(document_path(doc, directory), data)
