"""What every portal page shares: the templates, the security headers, the partner's branding,
the link check, and the pages that say a link opens nothing.

Headers, on every answer (pages, PDF, CSV, error pages, redirects):
- `Cache-Control: no-store`: an invoice is nobody else's business, a shared computer's cache
  included;
- `Referrer-Policy: no-referrer`: the token is in the URL, and a click to Stripe (or to the
  partner's site) must not carry it in a `Referer`;
- `X-Robots-Tag: noindex, nofollow`: a link pasted somewhere public is not indexed;
- no framing, no sniffing, and a Content-Security-Policy that runs no script at all (the pages
  have none) and submits forms only here or to Stripe Checkout.

A refused link gets one neutral page (no partner name, no client, no invoice): 403 for a token
we never signed (or signed under a key since rotated), 410 for one expired or revoked. An
invoice outside the link's client is 404, the same page as an invoice that does not exist.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from billing.documents.formatting import (
    format_amount,
    format_date,
    format_money,
    format_quantity,
    format_rate,
)
from billing.documents.parties import Logo, PartnerBranding
from billing.portal import (
    LinkExpiredError,
    LinkForgedError,
    LinkRevokedError,
    PortalError,
    PortalInvoiceNotFoundError,
)
from billing.tenants.logos import get_logo
from billing.tenants.service import get_partner

__all__ = [
    "HEADERS",
    "Brand",
    "brand_of",
    "install_log_redaction",
    "refused_page",
    "render",
    "secured",
    "templates",
]

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
}

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@dataclass(frozen=True, slots=True)
class Brand:
    """The partner as the client knows it: the same branding as the PDF and the e-mail."""

    branding: PartnerBranding
    logo_src: str | None

    @property
    def name(self) -> str:
        return self.branding.name

    @property
    def color(self) -> str:
        return self.branding.primary_color

    @property
    def locale(self) -> str:
        return self.branding.locale

    def money(self, amount_minor: int, currency: str) -> str:
        return format_money(amount_minor, currency, self.locale)

    def amount(self, amount_minor: int, currency: str) -> str:
        return format_amount(amount_minor, currency, self.locale)

    def rate(self, value: Decimal, currency: str) -> str:
        return format_rate(value, currency, self.locale)

    def quantity(self, value: Decimal) -> str:
        """Exact, without the trailing zeros of the stored scale (`300.000000` → `300`)."""
        normal = value.normalize()
        exponent = normal.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            normal = normal.quantize(Decimal(1))
        return format_quantity(normal, self.locale)

    def day(self, value: date | None) -> str:
        return "" if value is None else format_date(value, self.locale)


def brand_of(session: Session, partner_id: str) -> Brand:
    partner = get_partner(session, partner_id)
    logo = Logo.of(get_logo(session, partner_id))
    branding = PartnerBranding.from_partner(partner, logo=logo)
    return Brand(branding, logo.data_uri if logo else None)


def secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return secured(response)


_REFUSALS: dict[type[PortalError], tuple[int, str, str]] = {
    LinkForgedError: (
        403,
        "This link is not valid",
        "The link may have been copied incompletely, or it is no longer accepted (for example "
        "after a security update). Please use the link in your most recent invoice e-mail, or "
        "ask the sender for a new one.",
    ),
    LinkExpiredError: (
        410,
        "This link has expired",
        "Links to invoices work for a limited time. Please use the link in your most recent "
        "invoice e-mail, or ask the sender for a new one.",
    ),
    LinkRevokedError: (
        410,
        "This link has been withdrawn",
        "The sender withdrew this link. Please ask them for a new one.",
    ),
    PortalInvoiceNotFoundError: (
        404,
        "Invoice not found",
        "There is no such invoice here.",
    ),
}


def refused_page(request: Request, error: PortalError, **context: Any) -> Response:
    status_code, title, text = _REFUSALS.get(type(error), _REFUSALS[LinkForgedError])
    # No brand: a refused link must not even say whose invoices it was for.
    return render(
        request,
        "refused.html",
        status_code=status_code,
        title=title,
        text=text,
        brand=None,
        **context,
    )


_TOKEN_IN_PATH = re.compile(r"(/portal/)[^/?#\s\"]+")


class _RedactPortalTokens(logging.Filter):
    """Replaces the token in access-log lines (`/portal/<token>/...` → `/portal/…/...`): the
    log is read by more people than the client, and a token is a key to their invoices."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def install_log_redaction() -> None:
    """Add the redaction to uvicorn's access log (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactPortalTokens) for f in access.filters):
        access.addFilter(_RedactPortalTokens())
