"""A stateful fake of an OAuth2 authorisation server (QuickBooks' or Xero's token endpoint, and
Xero's GET /connections), strict where the real ones are strict:

- the app authenticates with HTTP Basic; anything else is 401 `invalid_client`;
- an authorisation code works once;
- refresh tokens are single-use (Xero; QuickBooks may rotate too): each refresh answers a new
  pair and spends the old refresh token; spending it again, or a revoked one, is 400
  `invalid_grant`, like the real servers;
- access tokens expire after `access_lifetime` seconds (`expire_access_tokens()` ends them now);
- `/connections` lists the tenants to a valid bearer token;
- the revocation endpoint (Intuit `.../tokens/revoke` with JSON, Xero `/connect/revocation`
  with a form) kills the refresh token it is given.

`refresh_delay` holds every refresh in the server for a while, so racing refreshers really
overlap. Thread-safe: loopback servers and several event loops may call `handle` at once.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

from sandbox.base import json_response

__all__ = ["OAuthFake"]


@dataclass
class _Access:
    expires_at: float


@dataclass
class OAuthFake:
    client_id: str = "app-id"
    client_secret: str = "app-secret"
    base_url: str = "https://oauth.fake"
    access_lifetime: int = 1800
    refresh_lifetime: int | None = None  # QuickBooks sends x_refresh_token_expires_in
    refresh_delay: float = 0.0
    credentials_in_body: bool = False  # FreshBooks: JSON body with client_id/client_secret
    tenants: list[dict[str, Any]] = field(default_factory=list)
    # called with every access token issued, so a remote's fake can accept it
    on_access_issued: Callable[[str], None] | None = None
    refresh_calls: int = 0
    invalid_grants: int = 0
    live_refresh: set[str] = field(default_factory=set)
    spent_refresh: set[str] = field(default_factory=set)
    issued_refresh: list[str] = field(default_factory=list)
    access: dict[str, _Access] = field(default_factory=dict)
    codes: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)  # tokens sent to the revocation endpoint

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._serial = itertools.count(1)

    # -- test controls --------------------------------------------------------------------
    def issue_code(self) -> str:
        code = f"code-{secrets.token_hex(6)}"
        with self._lock:
            self.codes.add(code)
        return code

    def grant_pair(self) -> tuple[str, str]:
        """A live (access, refresh) pair, as after a consent (to seed a stored connection)."""
        with self._lock:
            return self._new_pair()

    def revoke(self) -> None:
        """The partner removed the app: every refresh token is dead."""
        with self._lock:
            self.spent_refresh |= self.live_refresh
            self.live_refresh.clear()

    def expire_access_tokens(self) -> None:
        with self._lock:
            for entry in self.access.values():
                entry.expires_at = 0.0

    def access_valid(self, token: str) -> bool:
        entry = self.access.get(token)
        return entry is not None and entry.expires_at > time.monotonic()

    @property
    def latest_refresh(self) -> str:
        return self.issued_refresh[-1]

    # -- the server -----------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and (path.endswith("/token") or path.endswith("/bearer")):
            return self._token(request)
        if request.method == "POST" and (path.endswith("/revoke") or path.endswith("/revocation")):
            return self._revoke(request)
        if request.method == "GET" and path.endswith("/connections"):
            return self._connections(request)
        return json_response(404, {"error": "not_found"})

    def _new_pair(self) -> tuple[str, str]:
        serial = next(self._serial)
        access = f"at-{serial}-{secrets.token_hex(8)}"
        refresh = f"rt-{serial}-{secrets.token_hex(8)}"
        self.access[access] = _Access(time.monotonic() + self.access_lifetime)
        self.live_refresh.add(refresh)
        self.issued_refresh.append(refresh)
        if self.on_access_issued is not None:
            self.on_access_issued(access)
        return access, refresh

    def _pair_body(self) -> dict[str, Any]:
        access, refresh = self._new_pair()
        body: dict[str, Any] = {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime,
        }
        if self.refresh_lifetime is not None:
            body["x_refresh_token_expires_in"] = self.refresh_lifetime
        return body

    def _form(self, request: httpx.Request) -> dict[str, str]:
        text = request.content.decode()
        if request.headers.get("Content-Type", "").startswith("application/json"):
            body = json.loads(text or "{}")
            return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        return dict(parse_qsl(text))

    def _client_ok(self, request: httpx.Request) -> bool:
        if self.credentials_in_body:
            form = self._form(request)
            return (form.get("client_id"), form.get("client_secret")) == (
                self.client_id,
                self.client_secret,
            )
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        expected = f"{self.client_id}:{self.client_secret}".encode()
        return base64.b64decode(header[6:]) == expected

    def _token(self, request: httpx.Request) -> httpx.Response:
        if not self._client_ok(request):
            return json_response(401, {"error": "invalid_client"})
        form = self._form(request)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self._lock:
                if form.get("code") not in self.codes:
                    self.invalid_grants += 1
                    return json_response(400, {"error": "invalid_grant"})
                self.codes.discard(form["code"])
                return json_response(200, self._pair_body())
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            with self._lock:
                self.refresh_calls += 1
                if token not in self.live_refresh:
                    self.invalid_grants += 1
                    return json_response(
                        400, {"error": "invalid_grant", "error_description": "Token spent"}
                    )
                self.live_refresh.discard(token)
                self.spent_refresh.add(token)
            if self.refresh_delay:
                time.sleep(self.refresh_delay)
            with self._lock:
                return json_response(200, self._pair_body())
        return json_response(400, {"error": "unsupported_grant_type"})

    def _revoke(self, request: httpx.Request) -> httpx.Response:
        """Intuit sends `{"token": ...}` as JSON, Xero `token=...` as a form."""
        if not self._client_ok(request):
            return json_response(401, {"error": "invalid_client"})
        text = request.content.decode()
        if request.headers.get("Content-Type", "").startswith("application/json"):
            token = str(json.loads(text).get("token", ""))
        else:
            token = dict(parse_qsl(text)).get("token", "")
        with self._lock:
            self.revoked.append(token)
            self.live_refresh.discard(token)
            self.spent_refresh.add(token)
        return httpx.Response(200)

    def _connections(self, request: httpx.Request) -> httpx.Response:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        with self._lock:
            if not self.access_valid(token):
                return json_response(401, {"Title": "Unauthorized"})
            return json_response(200, list(self.tenants))
