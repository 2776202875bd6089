"""Signed session cookies and CSRF tokens (the sign-in rate limit: `api.dashboard.throttle`).

The cookie holds `{"s": sign-in token or null, "c": CSRF token, "e": expiry}` as base64 JSON
plus an HMAC-SHA256 of it under a key derived from the secret key (`config.secret_key`); it is
HttpOnly, SameSite=Lax and Secure when the public URL is https (`secure_cookies`). The sign-in
token is looked up on every request (`api.dashboard.signins`: server-side, revocable sessions).
Every session (also the anonymous one of the sign-in page) carries a random CSRF token; every
form posts it back and a POST whose token does not match the cookie's is refused with 403.
Signing in issues new tokens (no fixation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.secret_key import secret_key
from config.settings import get_settings

__all__ = [
    "COOKIE_NAME",
    "DashboardSettings",
    "SessionData",
    "csrf_ok",
    "dashboard_settings",
    "new_session",
    "read_session",
    "secure_cookies",
    "write_session",
]

COOKIE_NAME = "rebill_dashboard"


class DashboardSettings(BaseSettings):
    """`REBILL_DASHBOARD_*`: cookie security and lifetime, sign-in rate limit."""

    model_config = SettingsConfigDict(env_prefix="REBILL_DASHBOARD_", extra="ignore")

    #: None (default): Secure exactly when REBILL_PUBLIC_URL is https, as browsers see it.
    secure_cookies: bool | None = None
    session_hours: float = 12.0
    signin_attempts: int = 10
    signin_window_seconds: float = 300.0


def dashboard_settings() -> DashboardSettings:
    return DashboardSettings()


@dataclass(frozen=True, slots=True)
class SessionData:
    token: str | None
    csrf: str
    expires: float


def _key() -> bytes:
    secret = secret_key().encode()
    return hmac.new(secret, b"rebill-dashboard-session-v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    """URL-safe base64 without padding: no character a cookie value would need quoted."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(body: bytes) -> str:
    return _b64(hmac.new(_key(), body, hashlib.sha256).digest())


def new_session(token: str | None = None) -> SessionData:
    hours = dashboard_settings().session_hours
    return SessionData(token, secrets.token_urlsafe(32), time.time() + hours * 3600)


def encode(data: SessionData) -> str:
    body = json.dumps({"s": data.token, "c": data.csrf, "e": data.expires}).encode()
    return f"{_b64(body)}.{_sign(body)}"


def decode(value: str) -> SessionData | None:
    """The session, or None when the cookie is forged, malformed or expired."""
    try:
        body_text, signature = value.split(".", 1)
        body = _unb64(body_text)
        if not hmac.compare_digest(signature, _sign(body)):
            return None
        raw = json.loads(body)
        data = SessionData(raw["s"], str(raw["c"]), float(raw["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    if data.token is not None and not isinstance(data.token, str):
        return None
    return data if data.expires > time.time() else None


def read_session(request: Request) -> SessionData | None:
    value = request.cookies.get(COOKIE_NAME)
    return None if value is None else decode(value)


def secure_cookies() -> bool:
    """Whether the session cookie is `Secure`: as REBILL_DASHBOARD_SECURE_COOKIES says when it
    is set, else when the public URL is https (a browser then never sends the cookie over
    plain HTTP, where anybody on the path could read it)."""
    configured = dashboard_settings().secure_cookies
    if configured is not None:
        return configured
    return get_settings().public_url.lower().startswith("https://")


def write_session(response: Response, data: SessionData) -> None:
    settings = dashboard_settings()
    response.set_cookie(
        COOKIE_NAME,
        encode(data),
        max_age=int(settings.session_hours * 3600),
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
    )


def csrf_ok(session: SessionData | None, submitted: str | None) -> bool:
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())
