"""Signed session cookies, CSRF tokens and a sign-in rate limit.

The cookie holds `{"u": user id or null, "c": CSRF token, "e": expiry}` as base64 JSON plus an
HMAC-SHA256 of it under a key derived from `Settings.secret_key` (so nobody can forge a user
id); it is HttpOnly, SameSite=Lax and, when `REBILL_DASHBOARD_SECURE_COOKIES` is true, Secure.
Every session (also the anonymous one of the sign-in page) carries a random CSRF token; every
form posts it back and a POST whose token does not match the cookie's is refused with 403.
Signing in issues a new token (no fixation); the user row is read again on every request, so
disabling a user ends their sessions at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from fastapi import Request, Response
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.settings import get_settings

__all__ = [
    "COOKIE_NAME",
    "DashboardSettings",
    "SessionData",
    "SignInLimiter",
    "csrf_ok",
    "dashboard_settings",
    "new_session",
    "read_session",
    "write_session",
]

COOKIE_NAME = "rebill_dashboard"


class DashboardSettings(BaseSettings):
    """`REBILL_DASHBOARD_*`: cookie security and lifetime, sign-in rate limit."""

    model_config = SettingsConfigDict(env_prefix="REBILL_DASHBOARD_", extra="ignore")

    secure_cookies: bool = False
    session_hours: float = 12.0
    signin_attempts: int = 10
    signin_window_seconds: float = 300.0


def dashboard_settings() -> DashboardSettings:
    return DashboardSettings()


@dataclass(frozen=True, slots=True)
class SessionData:
    user_id: int | None
    csrf: str
    expires: float


def _key() -> bytes:
    secret = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(secret, b"rebill-dashboard-session-v1", hashlib.sha256).digest()


def _sign(body: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(_key(), body, hashlib.sha256).digest()).decode()


def new_session(user_id: int | None = None) -> SessionData:
    hours = dashboard_settings().session_hours
    return SessionData(user_id, secrets.token_urlsafe(32), time.time() + hours * 3600)


def encode(data: SessionData) -> str:
    body = json.dumps({"u": data.user_id, "c": data.csrf, "e": data.expires}).encode()
    return f"{base64.urlsafe_b64encode(body).decode()}.{_sign(body)}"


def decode(value: str) -> SessionData | None:
    """The session, or None when the cookie is forged, malformed or expired."""
    try:
        body_text, signature = value.split(".", 1)
        body = base64.urlsafe_b64decode(body_text.encode())
        if not hmac.compare_digest(signature, _sign(body)):
            return None
        raw = json.loads(body)
        data = SessionData(raw["u"], str(raw["c"]), float(raw["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    if data.user_id is not None and not isinstance(data.user_id, int):
        return None
    return data if data.expires > time.time() else None


def read_session(request: Request) -> SessionData | None:
    value = request.cookies.get(COOKIE_NAME)
    return None if value is None else decode(value)


def write_session(response: Response, data: SessionData) -> None:
    settings = dashboard_settings()
    response.set_cookie(
        COOKIE_NAME,
        encode(data),
        max_age=int(settings.session_hours * 3600),
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def csrf_ok(session: SessionData | None, submitted: str | None) -> bool:
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode(), submitted.encode())


class SignInLimiter:
    """At most `attempts` failed sign-ins per e-mail and per client address in a sliding
    window (in-process: each API server counts its own)."""

    def __init__(self, attempts: int, window_seconds: float) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(key, now)) >= self.attempts for key in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
