"""What every dashboard page shares: templates and their filters, the signed-in user, the
partner in view (404 when the user may not see it: existence is never leaked), CSRF checks
on every POST, and partner branding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select

from api.dashboard.models import DashboardRole
from api.dashboard.session import SessionData, csrf_ok, read_session
from api.dashboard.signins import session_user
from billing.documents.formatting import format_amount, format_money, format_quantity
from billing.documents.parties import PartnerBranding
from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from config.bounds import month_days
from config.db import session_scope
from config.request_session import AppEngine

__all__ = [
    "Brand",
    "BrowserSession",
    "SignInRequired",
    "SignedIn",
    "Viewer",
    "brand_of",
    "check_csrf",
    "month_of",
    "not_found",
    "partner_in_view",
    "render",
    "templates",
    "viewer",
]

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#1f4e79"
PAGE_HEADERS = {
    # no framing (an approve button under someone else's page), no sniffing, no leaking URLs
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _percent(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:f}%"


def _quantity(value: Decimal) -> str:
    """`Decimal("7.000000")` -> `"7"`, `Decimal("1234.50")` -> `"1,234.5"`."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        normal = normal.quantize(Decimal(1))
    return format_quantity(normal)


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


templates.env.filters["money"] = _money
templates.env.filters["amount"] = format_amount
templates.env.filters["pct"] = _percent
templates.env.filters["qty"] = _quantity
templates.env.filters["urlq"] = lambda value: quote(str(value), safe="")


class SignInRequired(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by `viewer` when there is no valid session; the app redirects to sign-in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user and their session (for the CSRF token)."""

    user_id: int
    email: str
    role: DashboardRole
    partner_id: str | None
    session: SessionData

    @property
    def operator(self) -> bool:
        return self.role is DashboardRole.OPERATOR

    def may_see(self, partner_id: str) -> bool:
        return self.operator or self.partner_id == partner_id


def viewer(request: Request, engine: AppEngine) -> Viewer:
    """The signed-in user (read again from the database, in its own short transaction), or
    `SignInRequired`."""
    data = read_session(request)
    if data is None or data.token is None:
        raise SignInRequired(request.url.path)
    with session_scope(engine) as db:
        user = session_user(db, data.token)
        if user is None:
            raise SignInRequired(request.url.path)
        return Viewer(user.user_id, user.email, user.role, user.partner_id, data)


BrowserSession = Annotated[SessionData | None, Depends(read_session)]
"""The signed cookie's session (maybe signed out, with its CSRF token), or None."""

SignedIn = Annotated[Viewer, Depends(viewer)]
"""The signed-in user of a dashboard page (a dependency; no session: redirect to sign-in)."""


def not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")


def partner_in_view(db: Session, who: Viewer, partner_id: str) -> Partner:
    """The partner, when this user may see it; otherwise 404 as if it did not exist."""
    if not who.may_see(partner_id):
        raise not_found()
    partner = db.get(Partner, partner_id)
    if partner is None:
        raise not_found()
    return partner


async def check_csrf(request: Request) -> None:
    """403 unless the form's `csrf_token` matches the session's."""
    form = await request.form()
    submitted = form.get("csrf_token")
    if not csrf_ok(read_session(request), submitted if isinstance(submitted, str) else None):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid CSRF token")


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    color: str
    text: str
    has_logo: bool


def _text_on(color: str) -> str:
    """Black or white, whichever contrasts more with `color` (WCAG relative luminance)."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def brand_of(partner: Partner | None, *, has_logo: bool = False) -> Brand:
    """The partner's name, colour and logo as its invoices show them (`PartnerBranding`)."""
    if partner is None:
        return Brand("Rebill", DEFAULT_COLOR, "#ffffff", False)
    branding = PartnerBranding.from_partner(partner)
    color = branding.primary_color if _HEX.match(branding.primary_color) else DEFAULT_COLOR
    return Brand(branding.display_sender, color, _text_on(color), has_logo)


def month_of(text: str | None, default: date) -> date:
    """`2026-10` -> the first of that month; bad input is a 400 naming the field."""
    if not text:
        return default.replace(day=1)
    try:
        return month_days(text)[0]
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _has_logo(db: Session | None, partner: Partner | None) -> bool:
    return db is not None and partner is not None and TenantRepository(db).has_logo(partner.id)


def _partners(db: Session, who: Viewer) -> list[Partner]:
    query = select(Partner).order_by(col(Partner.id))
    if not who.operator:
        query = query.where(col(Partner.id) == who.partner_id)
    return list(db.scalars(query))


def render(
    request: Request,
    template: str,
    who: Viewer | None,
    partner: Partner | None,
    *,
    db: Session | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A page with the chrome: branding, navigation, partner switcher and the CSRF token."""
    data = who.session if who is not None else read_session(request)
    partners = _partners(db, who) if (db is not None and who is not None) else []
    response = templates.TemplateResponse(
        request,
        template,
        {
            "who": who,
            "partner": partner,
            "partners": partners,
            "brand": brand_of(partner, has_logo=_has_logo(db, partner)),
            "csrf_token": data.csrf if data is not None else "",
            **context,
        },
        status_code=status_code,
    )
    response.headers.update(PAGE_HEADERS)
    return response
