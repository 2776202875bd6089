"""HTML and text renderings of an `InvoiceDocument`, from the Jinja2 templates beside this module.

Every figure is formatted here, in Python, with exact `Decimal`/int arithmetic, and the templates
only place strings: a template cannot do arithmetic wrongly or print a float. Autoescaping is on
for every `.html` template, so a client called `<script>` is printed, not run. Values that land
in CSS (the colour, the paper size) are validated by `PartnerBranding`, because HTML escaping
does not protect a style sheet.

The logo is the partner's uploaded logo (`PartnerBranding.logo`), embedded as a `data:` URI in
the PDF and a `cid:` part in e-mail: nothing is fetched or read from a stored path at render
time. `load_logo` reads a file only for documents built in code (`PartnerBranding.logo_path`);
a file that is missing, unreadable, too large or not an image is left out with a warning.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .document import (
    DocumentKind,
    DocumentLine,
    DocumentLineKind,
    InvoiceDocument,
)
from .formatting import (
    format_amount,
    format_date,
    format_money,
    format_percent,
    format_quantity,
    format_rate,
)
from .parties import Logo, PartnerBranding

__all__ = [
    "MAX_LOGO_BYTES",
    "Logo",
    "document_view",
    "load_logo",
    "logo_of",
    "render_email_html",
    "render_email_text",
    "render_invoice_html",
]

log = logging.getLogger(__name__)

MAX_LOGO_BYTES = 1024 * 1024
_LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp"})


def load_logo(path: Path | None) -> Logo | None:
    """The logo's bytes, or None (with a warning) when there is no usable image at `path`."""
    if path is None:
        return None
    mime_type, _ = mimetypes.guess_type(path.name)
    if mime_type not in _LOGO_TYPES:
        log.warning("logo %s skipped: not a PNG, JPEG, GIF, SVG or WebP file name", path)
        return None
    try:
        size = path.stat().st_size
        if size > MAX_LOGO_BYTES:
            log.warning("logo %s skipped: %d bytes, over %d", path, size, MAX_LOGO_BYTES)
            return None
        return Logo(path.read_bytes(), mime_type)
    except OSError as exc:
        log.warning("logo %s skipped: %s", path, exc)
        return None


def logo_of(partner: PartnerBranding) -> Logo | None:
    """The logo a document shows: the uploaded one, else a file given in code."""
    return partner.logo or load_logo(partner.logo_path)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("billing.documents", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True, slots=True)
class _LineView:
    description: str
    tier_label: str | None
    quantity: str
    unit: str | None
    unit_price: str
    amount: str
    included: bool
    position: int | None


@dataclass(frozen=True, slots=True)
class _View:
    """Everything a template prints, already formatted."""

    doc: InvoiceDocument
    logo_src: str | None
    period: str
    issue_date: str
    due_date: str | None
    banner: str | None
    lines: tuple[_LineView, ...]
    adjustments: tuple[_LineView, ...]
    totals: tuple[tuple[str, str], ...]
    total_label: str
    total: str


def _banner(doc: InvoiceDocument) -> str | None:
    status = doc.status.lower()
    if status in ("draft", "approved"):  # not issued yet: a preview for review
        return "Draft: not a request for payment"
    if status == "void":
        return "Void"
    return None


def _line_view(line: DocumentLine, currency: str, locale: str) -> _LineView:
    """A tier line reads with its rate ("Voice AI minutes, 1,001-5,000 at 0.12"): one usage
    type's tiers are priced differently, and the rate next to the range is what a client
    checks against its price list."""
    rate = format_rate(line.unit_price, currency, locale)
    description = line.description if line.tier is None else f"{line.description} at {rate}"
    return _LineView(
        description=description,
        tier_label=line.tier_label,
        quantity=format_quantity(line.quantity, locale),
        unit=line.unit,
        unit_price=rate,
        amount=format_amount(line.amount_minor, currency, locale),
        included=line.kind is DocumentLineKind.INCLUDED and line.amount_minor == 0,
        position=line.position,
    )


def _view(doc: InvoiceDocument, logo_src: str | None) -> _View:
    """Totals in the invoice's arithmetic: the period's subtotal, its discount, prior-period
    adjustments (already net of their own period's minimum and discount), tax, total. Every
    figure and date in the partner's locale."""
    currency, locale = doc.currency, doc.locale

    def money(amount_minor: int) -> str:
        return format_money(amount_minor, currency, locale)

    def day(value: date) -> str:
        return format_date(value, locale)

    lines = tuple(_line_view(line, currency, locale) for line in doc.itemised_lines)
    adjustments = tuple(_line_view(line, currency, locale) for line in doc.adjustment_lines)
    adjusted = sum(line.amount_minor for line in doc.adjustment_lines)
    totals = [("Subtotal", money(doc.subtotal_minor - adjusted))]
    discounts = doc.discount_lines
    if discounts or doc.discount_minor:
        label = discounts[0].description if len(discounts) == 1 else "Discount"
        totals.append((label, money(doc.discount_minor)))
    if adjustments:
        totals.append(("Prior-period adjustments", money(adjusted)))
    if doc.tax is not None:
        label = f"{doc.tax.name} ({format_percent(doc.tax.percent, locale)})"
        totals.append((label, money(doc.tax_minor)))
    elif doc.tax_minor:
        totals.append(("Tax", money(doc.tax_minor)))
    credit = doc.kind is DocumentKind.CREDIT_NOTE
    return _View(
        doc=doc,
        logo_src=logo_src,
        period=f"{day(doc.period_start)} \u2013 {day(doc.period_end)}",
        issue_date=day(doc.issue_date),
        due_date=day(doc.due_date) if doc.due_date else None,
        banner=_banner(doc),
        lines=lines,
        adjustments=adjustments,
        totals=tuple(totals),
        total_label="Total credit" if credit else "Total due",
        total=money(doc.total_minor),
    )


def document_view(doc: InvoiceDocument) -> _View:
    """What the PDF and the e-mail print (dates, lines, totals formatted in the partner's
    locale), for other pages that show the same document: the client portal prints these
    strings, never its own."""
    return _view(doc, None)


def _render(template: str, doc: InvoiceDocument, logo_src: str | None) -> str:
    view = _view(doc, logo_src)
    return (
        _environment().get_template(template).render(v=view, brand=doc.partner, logo_src=logo_src)
    )


def render_invoice_html(doc: InvoiceDocument, logo: Logo | None = None) -> str:
    """The printable document (what the PDF is made of), logo embedded as a data URI.
    `logo` defaults to the partner's logo file; pass one to render many documents of one
    partner without reading the file each time."""
    logo = logo or logo_of(doc.partner)
    return _render("invoice.html", doc, logo.data_uri if logo else None)


def render_email_html(doc: InvoiceDocument, logo_cid: str | None = None) -> str:
    """The HTML body of the e-mail; `logo_cid` is the Content-ID of the inline logo part."""
    return _render("email.html", doc, f"cid:{logo_cid.strip('<>')}" if logo_cid else None)


def render_email_text(doc: InvoiceDocument) -> str:
    return _render("email.txt", doc, None)
