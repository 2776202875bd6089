"""Sign-in, sign-out, the landing redirect and the operator's partner list/switcher."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.dashboard.session import (
    dashboard_settings,
    new_session,
    write_session,
)
from api.dashboard.signins import end_session, session_user, start_session
from api.dashboard.throttle import SignInThrottle
from api.dashboard.users import authenticate
from api.dashboard.web import BrowserSession, SignedIn, check_csrf, not_found, render
from config.request_session import DbSession

__all__ = ["router"]


def _safe_next(target: str | None) -> str:
    """Only paths of the dashboard itself (no open redirect to another site)."""
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return "/dashboard"


router = APIRouter(prefix="/dashboard", include_in_schema=False)


def signin_throttle(request: Request) -> SignInThrottle:
    """The app's throttle (`mount_dashboard` builds it from the settings when the app is
    made); its counts are in the database, shared by every process."""
    throttle = request.app.state.signin_throttle
    assert isinstance(throttle, SignInThrottle)
    return throttle


Throttle = Annotated[SignInThrottle, Depends(signin_throttle)]


@router.get("")
def landing(who: SignedIn) -> Response:
    if who.operator:
        return RedirectResponse("/dashboard/partners", status_code=303)
    return RedirectResponse(f"/dashboard/p/{who.partner_id}", status_code=303)


@router.get("/signin")
def signin_page(
    request: Request, cookie: BrowserSession, db: DbSession, next: str | None = None
) -> Response:
    data = cookie
    if data is not None and data.token is not None and session_user(db, data.token) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    if data is None or data.token is not None:
        data = new_session()
    response = render(
        request, "signin.html", None, None, csrf_token=data.csrf, next=_safe_next(next)
    )
    write_session(response, data)
    return response


@router.post("/signin", dependencies=[Depends(check_csrf)])
def signin(
    request: Request,
    cookie: BrowserSession,
    db: DbSession,
    limiter: Throttle,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/dashboard",
) -> Response:
    address = email.strip().lower()
    keys = (f"email:{address}", f"ip:{request.client.host if request.client else '?'}")
    error = None
    token = None
    if limiter.blocked(db, *keys):
        error = "Too many failed attempts: wait a few minutes and try again."
        code = 429
    else:
        user = authenticate(db, address, password)
        if user is not None:
            lifetime = timedelta(hours=dashboard_settings().session_hours)
            token = start_session(db, user, lifetime)
            limiter.succeeded(db, keys[0])
        else:
            limiter.failed(db, *keys)
            error, code = "The e-mail or the password is wrong.", 401
    if error is not None:
        data = cookie or new_session()
        return render(
            request,
            "signin.html",
            None,
            None,
            csrf_token=data.csrf,
            next=_safe_next(next),
            error=error,
            email=email,
            status_code=code,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    write_session(response, new_session(token))
    return response


@router.post("/signout", dependencies=[Depends(check_csrf)])
def signout(cookie: BrowserSession, db: DbSession) -> Response:
    """Ends the session on the server too: a copied cookie stops working."""
    if cookie is not None and cookie.token is not None:
        end_session(db, cookie.token)
    response = RedirectResponse("/dashboard/signin", status_code=303)
    write_session(response, new_session())
    return response


@router.get("/partners")
def partners(request: Request, who: SignedIn, db: DbSession) -> Response:
    if not who.operator:
        return RedirectResponse(f"/dashboard/p/{who.partner_id}", status_code=303)
    return render(request, "partners.html", who, None, db=db)


@router.get("/switch")
def switch(who: SignedIn, partner: Annotated[str, Query(max_length=64)]) -> Response:
    if not who.may_see(partner):
        raise not_found()
    return RedirectResponse(f"/dashboard/p/{partner}", status_code=303)
