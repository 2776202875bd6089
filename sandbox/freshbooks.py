"""A stateful fake of the FreshBooks Accounting API (one account).

Behaves as documented where our connector depends on it: paths are
``/accounting/account/{account_id}/{users/clients|items/items|invoices/invoices|
payments/payments|credit_notes/credit_notes}[/{id}]``, bodies wrapped as ``{"invoice": {...}}``
and answered as ``{"response": {"result": {"invoice": {...}}}}``; lists filter by
``search[...]`` and page by ``page``/``per_page`` (at most 100) with ``page``, ``pages``,
``per_page`` and ``total`` in the result; deleted records (``vis_state`` 1) are listed only
when ``search[vis_state]=1`` is asked. Invoices: ``customerid`` and ``create_date`` required,
``invoice_number`` unique among live invoices (assigned when absent), amounts recomputed by
`freshbooks_rules`, created as drafts, ``action_mark_as_sent`` makes them sent, payments move
them to partial/paid. Webhook callbacks are registered and verified with their verifier.
``GET /auth/api/v1/users/me`` names the account. No idempotency keys (FreshBooks has none).
401 for an expired token, 429 with Retry-After past the rate limit, failure injection from
`FakeRemote`.
"""

from __future__ import annotations

import itertools
import json
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from sandbox.base import FakeRemote, json_response
from sandbox.freshbooks_rules import (
    ERRNO_NOT_FOUND,
    ERRNO_REQUIRED,
    InvalidError,
    envelope,
    errors_response,
)
from sandbox.freshbooks_store import RESOURCES, FreshBooksStore, Record

__all__ = ["FakeFreshBooks"]

_SEARCH_LIKE = {"organization_like": "organization", "invoice_number_like": "invoice_number"}
_SEARCH_DATES = {"date_min", "date_max"}


class FakeFreshBooks(FreshBooksStore, FakeRemote):
    default_base_url = "https://api.freshbooks.com"

    def __init__(self, account_id: str = "acc-1", *, limits: bool = True) -> None:
        super().__init__()
        self.account_id = account_id
        self.records: dict[str, dict[int, Record]] = {name: {} for name in RESOURCES}
        self.callbacks: dict[int, Record] = {}
        self._ids = itertools.count(1001)
        self._numbers = itertools.count(1)
        if limits:
            self.set_rate_limit(60)

    # ---- FakeRemote hooks -------------------------------------------------------------------
    def auth_error_response(self, request: httpx.Request) -> httpx.Response:
        expired = self.token_of(request) in self.expired_tokens
        description = "The access token expired" if expired else "The access token is invalid"
        return json_response(401, {"error": "invalid_token", "error_description": description})

    def rate_limit_response(self, request: httpx.Request, retry_after: float) -> httpx.Response:
        body = {"response": {"errors": [{"errno": 429, "message": "Too many requests"}]}}
        return json_response(429, body, {"Retry-After": str(max(1, round(retry_after)))})

    def server_error_response(self, request: httpx.Request) -> httpx.Response:
        body = {"response": {"errors": [{"errno": 1000, "message": "An error occurred"}]}}
        return json_response(500, body)

    # ---- routing ----------------------------------------------------------------------------
    def dispatch(self, request: httpx.Request) -> httpx.Response:
        parts = [p for p in request.url.path.split("/") if p]
        if parts == ["auth", "api", "v1", "users", "me"]:
            return self._me()
        try:
            if parts[:2] == ["events", "account"] and parts[3:5] == ["events", "callbacks"]:
                self._account(parts[2])
                return self._callbacks(request, parts[5:])
            if parts[:2] == ["accounting", "account"] and len(parts) >= 5:
                self._account(parts[2])
                resource = "/".join(parts[3:5])
                if resource in RESOURCES:
                    return self._resource(request, resource, parts[5:])
        except InvalidError as error:
            status = 404 if error.entry["errno"] == ERRNO_NOT_FOUND else 422
            return errors_response(status, error.entry)
        except _ForbiddenError:
            return errors_response(403, {"errno": 1003, "message": "Forbidden"})
        return errors_response(404, {"errno": ERRNO_NOT_FOUND, "message": "Not found"})

    def _account(self, account_id: str) -> None:
        if account_id != self.account_id:
            raise _ForbiddenError

    def _me(self) -> httpx.Response:
        business = {"id": 77, "name": "Acme Agency", "account_id": self.account_id}
        body = {
            "response": {
                "id": 5,
                "business_memberships": [{"role": "owner", "business": business}],
            }
        }
        return json_response(200, body)

    def _resource(self, request: httpx.Request, resource: str, rest: list[str]) -> httpx.Response:
        _, one, obj, id_field = RESOURCES[resource]
        table = self.records[resource]
        if request.method == "GET" and not rest:
            return self._list(request, resource)
        if rest:
            record = table.get(int(rest[0])) if rest[0].isdigit() else None
            if record is None:
                raise InvalidError(
                    obj,
                    id_field,
                    "The requested resource was not found.",
                    rest[0],
                    errno=ERRNO_NOT_FOUND,
                )
            if request.method == "GET":
                return envelope({one: record})
            if request.method == "PUT":
                return envelope({one: self._update(resource, record, _body(request, one, obj))})
        elif request.method == "POST":
            return envelope({one: self._create(resource, _body(request, one, obj))})
        return errors_response(405, {"errno": 1004, "message": "Method not allowed"})

    def _list(self, request: httpx.Request, resource: str) -> httpx.Response:
        many = RESOURCES[resource][0]
        params = request.url.params
        rows = list(self.records[resource].values())
        vis_state = int(params.get("search[vis_state]", "0"))
        rows = [r for r in rows if int(r.get("vis_state", 0)) == vis_state]
        for key, value in params.multi_items():
            if not key.startswith("search[") or key == "search[vis_state]":
                continue
            name = key[len("search[") : -1]
            if name in _SEARCH_LIKE:
                field = _SEARCH_LIKE[name]
                rows = [r for r in rows if value.casefold() in str(r.get(field, "")).casefold()]
            elif name in _SEARCH_DATES:
                field = "create_date" if resource != "payments/payments" else "date"
                low = name == "date_min"
                rows = [
                    r
                    for r in rows
                    if (
                        str(r.get(field, ""))[:10] >= value
                        if low
                        else str(r.get(field, ""))[:10] <= value
                    )
                ]
            else:
                rows = [r for r in rows if str(r.get(name, "")) == value]
        page = max(1, int(params.get("page", "1")))
        per_page = min(100, max(1, int(params.get("per_page", "15"))))
        total = len(rows)
        return envelope(
            {
                many: rows[(page - 1) * per_page : page * per_page],
                "page": page,
                "pages": max(1, -(-total // per_page)),
                "per_page": per_page,
                "total": total,
            }
        )

    # ---- webhooks ---------------------------------------------------------------------------
    def _callbacks(self, request: httpx.Request, rest: list[str]) -> httpx.Response:
        if request.method == "POST" and not rest:
            body = _body(request, "callback", "callback")
            if not body.get("event") or not body.get("uri"):
                raise InvalidError(
                    "callback", "event", "event and uri are required", errno=ERRNO_REQUIRED
                )
            callback_id = self._new_id()
            self.callbacks[callback_id] = {
                "callbackid": callback_id,
                "event": body["event"],
                "uri": body["uri"],
                "verified": False,
                "verifier": secrets.token_hex(16),
            }
            return envelope({"callback": _public(self.callbacks[callback_id])})
        if request.method == "PUT" and rest and rest[0].isdigit():
            callback = self.callbacks.get(int(rest[0]))
            if callback is None:
                raise InvalidError(
                    "callback", "callbackid", "not found", rest[0], errno=ERRNO_NOT_FOUND
                )
            body = _body(request, "callback", "callback")
            if body.get("verifier") != callback["verifier"]:
                raise InvalidError("callback", "verifier", "does not match", body.get("verifier"))
            callback["verified"] = True
            return envelope({"callback": _public(callback)})
        return errors_response(405, {"errno": 1004, "message": "Method not allowed"})

    # ---- inspection and partner actions -----------------------------------------------------
    @property
    def invoices(self) -> dict[int, Record]:
        return self.records["invoices/invoices"]

    @property
    def payments(self) -> dict[int, Record]:
        return self.records["payments/payments"]

    def invoices_by_number(self, number: str) -> list[dict[str, Any]]:
        return [i for i in self.invoices.values() if i["invoice_number"] == number]

    def pay(self, invoice_id: int, amount: Decimal, *, on: date | None = None) -> Record:
        """A payment the partner records in FreshBooks (what read-back then sees)."""
        body = {
            "invoiceid": invoice_id,
            "amount": {"amount": str(amount)},
            "date": (on or date(2026, 11, 5)).isoformat(),
            "type": "Check",
        }
        return self._create("payments/payments", body)


class _ForbiddenError(Exception):
    pass


def _public(callback: Record) -> Record:
    return {k: v for k, v in callback.items() if k != "verifier"}


def _body(request: httpx.Request, key: str, obj: str) -> Record:
    try:
        body = json.loads(request.content or b"{}", parse_float=Decimal)
    except ValueError:
        raise InvalidError(obj, key, "the request body is not JSON") from None
    inner = body.get(key) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise InvalidError(obj, key, f"the body must be {{{key!r}: {{...}}}}", errno=ERRNO_REQUIRED)
    return inner
