"""A stateful fake of the Xero Accounting API (one organisation, `/api.xro/2.0`).

Behaves as documented where our connector depends on it: the ``xero-tenant-id`` header must
name the organisation (403 AuthorizationUnsuccessful otherwise); ids are UUIDs; Contact Name,
Item Code, InvoiceNumber and CreditNoteNumber are unique (case-insensitive; a deleted invoice
frees its number); documents are validated and computed by `XeroRules` (UnitAmount silently
rounded to 2 decimals without ``unitdp=4``); many elements per request: with
``summarizeErrors=false`` the answer is 200 and each element says ``StatusAttributeString``
OK or ERROR with its ``ValidationErrors``; otherwise (Xero's default) one invalid element makes
a 400 ``ValidationException`` and nothing is saved. ``Idempotency-Key`` replays the first
answer. Lists filter by ``where``, ``IDs``, ``InvoiceNumbers``, ``Statuses`` and page by
``page``/``pageSize`` (100 by default). VOIDED only from AUTHORISED/SUBMITTED without payments
or allocations, DELETED only from DRAFT/SUBMITTED; credit-note allocations lower AmountDue.
401 for an expired token; 429 with Retry-After and ``X-Rate-Limit-Problem`` past 60/min,
5,000/day or 5 at once; ``X-MinLimit-Remaining`` / ``X-DayLimit-Remaining`` /
``X-AppMinLimit-Remaining`` on every answer.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from sandbox.base import FakeRemote
from sandbox.xero_payments import XeroPayments
from sandbox.xero_rules import quantize
from sandbox.xero_store import (
    Element,
    XeroStore,
    exception,
    problem,
    respond,
    validation,
)
from sandbox.xero_where import WhereError, parse_where, xero_date

__all__ = ["FakeXero"]

API = "/api.xro/2.0/"


class FakeXero(XeroStore, XeroPayments, FakeRemote):
    default_base_url = "https://api.xero.com"

    def __init__(
        self,
        tenant_id: str = "tenant-1",
        *,
        base_currency: str = "USD",
        limits: bool = True,
        page_size: int = 100,
        require_auth: bool = True,
        base_url: str | None = None,
    ) -> None:
        super().__init__(require_auth=require_auth, base_url=base_url)
        self.tenant_id = tenant_id
        self.base_currency = base_currency
        self.currencies = {base_currency, "NZD", "AUD", "GBP", "EUR"}
        self.page_size = page_size
        self.app_minute_limit = 10_000
        self.contacts: dict[str, Element] = {}
        self.items: dict[str, Element] = {}
        self.invoices: dict[str, Element] = {}
        self.credit_notes: dict[str, Element] = {}
        self.payments: dict[str, Element] = {}
        self._stamps = itertools.count(1)
        self._numbers = itertools.count(1)
        self._by_number: dict[str, list[str]] = {}
        self.accounts = {
            code: {
                "AccountID": str(uuid.uuid4()),
                "Code": code,
                "Name": name,
                "Type": "REVENUE",
                "Status": status,
            }
            for code, name, status in (
                ("200", "Sales", "ACTIVE"),
                ("260", "Other Revenue", "ACTIVE"),
                ("270", "Interest Income (old)", "ARCHIVED"),
            )
        }
        self.tax_rates = {
            tax: {
                "Name": name,
                "TaxType": tax,
                "EffectiveRate": Decimal(rate),
                "Status": status,
                "CanApplyToRevenue": True,
            }
            for tax, name, rate, status in (
                ("OUTPUT", "Sales tax 15%", "15", "ACTIVE"),
                ("OUTPUT2", "Sales tax 8%", "8", "ACTIVE"),
                ("NONE", "No tax", "0", "ACTIVE"),
                ("OLDTAX", "Old rate", "12.5", "DELETED"),
            )
        }
        self.tracking_categories = {
            "Region": {
                "TrackingCategoryID": str(uuid.uuid4()),
                "Name": "Region",
                "Status": "ACTIVE",
                "Options": [{"Name": n, "Status": "ACTIVE"} for n in ("North", "South")],
            }
        }
        if limits:
            self.set_rate_limit(60, concurrent=5, bucket=f"minute:{tenant_id}")
            self.set_rate_limit(5000, bucket=f"day:{tenant_id}", window=86_400.0)

    # ---- FakeRemote hooks -------------------------------------------------------------------
    def buckets_of(self, request: httpx.Request) -> tuple[str, ...]:
        return (f"minute:{self.tenant_id}", f"day:{self.tenant_id}")

    def auth_error_response(self, request: httpx.Request) -> httpx.Response:
        token = self.token_of(request)
        if token in self.expired_tokens:
            when = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
            return problem(401, "Unauthorized", f"TokenExpired: token expired at {when}")
        return problem(401, "Unauthorized", "AuthenticationUnsuccessful")

    def rate_limit_response(self, request: httpx.Request, retry_after: float) -> httpx.Response:
        day = self.limits.get(f"day:{self.tenant_id}")
        minute = self.limits.get(f"minute:{self.tenant_id}")
        problem = "minute"
        if day and day.per_window is not None and len(day.stamps) >= day.per_window:
            problem = "day"
        elif minute and minute.concurrent is not None and minute.in_flight > minute.concurrent:
            problem = "concurrent"
        headers = {"Retry-After": str(max(1, round(retry_after))), "X-Rate-Limit-Problem": problem}
        return respond(
            429,
            {
                "Title": "Too Many Requests",
                "Status": 429,
                "Detail": f"Rate limit exceeded ({problem})",
            },
            headers,
        )

    def server_error_response(self, request: httpx.Request) -> httpx.Response:
        return problem(500, "An error occurred", "An error occurred in Xero. Please try again.")

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        for header, value in self.remaining().items():
            response.headers[header] = str(value)
        return response

    def remaining(self) -> dict[str, int]:
        """What Xero reports left in each window (the headers on every answer)."""
        now = self.now()
        headers: dict[str, int] = {}
        for bucket, header in (("minute", "X-MinLimit-Remaining"), ("day", "X-DayLimit-Remaining")):
            limit = self.limits.get(f"{bucket}:{self.tenant_id}")
            if limit is None or limit.per_window is None:
                continue
            used = sum(1 for stamp in limit.stamps if stamp > now - limit.window)
            headers[header] = max(0, limit.per_window - used)
        headers["X-AppMinLimit-Remaining"] = self.app_minute_limit
        return headers

    # ---- entry point ------------------------------------------------------------------------
    def dispatch(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("xero-tenant-id") != self.tenant_id:
            return problem(403, "Forbidden", "AuthorizationUnsuccessful")
        path = request.url.path
        if not path.startswith(API):
            return respond(404, "The resource you're looking for cannot be found")
        key = request.headers.get("Idempotency-Key")
        writing = request.method in ("POST", "PUT")
        if key and writing:
            replayed = self.replay(f"{self.tenant_id}:{key}", request)
            if replayed is not None:
                return replayed
        response = self._route(request, [p for p in path[len(API) :].split("/") if p])
        if key and writing:
            self.remember(f"{self.tenant_id}:{key}", request, response)
        return response

    def _route(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        method, resource, rest = request.method, parts[0] if parts else "", parts[1:]
        if method == "GET":
            reads: dict[str, Callable[[], list[Element]]] = {
                "Contacts": lambda: list(self.contacts.values()),
                "Items": lambda: list(self.items.values()),
                "Invoices": lambda: list(self.invoices.values()),  # `_out` once selected
                "CreditNotes": lambda: list(self.credit_notes.values()),
                "Accounts": lambda: list(self.accounts.values()),
                "TaxRates": lambda: list(self.tax_rates.values()),
                "TrackingCategories": lambda: list(self.tracking_categories.values()),
                "Payments": self.payment_elements,
            }
            if resource not in reads:
                return respond(404, "The resource you're looking for cannot be found")
            if rest:
                id_field = {
                    "Invoices": "InvoiceID",
                    "Contacts": "ContactID",
                    "CreditNotes": "CreditNoteID",
                    "Items": "ItemID",
                }.get(resource)
                found = [e for e in reads[resource]() if id_field and e.get(id_field) == rest[0]]
                if resource == "Invoices":
                    found = [self._out(e, request) for e in found]
                if not found:
                    return respond(404, "The resource you're looking for cannot be found")
                return respond(200, {resource: found})
            return self._list(request, resource, reads[resource]())
        try:
            body = json.loads(request.content or b"{}", parse_float=Decimal)
        except ValueError:
            return exception("PostDataInvalidException", "JSON for post data was invalid", 17)
        if method not in ("PUT", "POST") or not isinstance(body, dict):
            return respond(404, "The resource you're looking for cannot be found")
        if resource == "Payments" and not rest and method == "PUT":
            return self._put_payments(body)
        if resource == "CreditNotes" and len(rest) == 2 and rest[1] == "Allocations":
            return self._allocate(rest[0], body)
        if resource == "Invoices" and rest:
            elements = body.get("Invoices") or [body]
            return self._many(
                request,
                "Invoices",
                [{**e, "InvoiceID": rest[0]} for e in elements],
                force_summary=True,
            )
        if resource in ("Contacts", "Items", "Invoices", "CreditNotes") and not rest:
            return self._many(request, resource, list(body.get(resource) or []))
        return respond(404, "The resource you're looking for cannot be found")

    # ---- lists ------------------------------------------------------------------------------
    def _list(
        self, request: httpx.Request, resource: str, elements: list[Element]
    ) -> httpx.Response:
        params = request.url.params
        try:
            if params.get("where"):
                keep = parse_where(params["where"])
                elements = [e for e in elements if keep(e)]
        except WhereError as exc:
            return exception("QueryParseException", str(exc), 16)
        for param, field in (
            ("IDs", resource[:-1] + "ID"),
            ("InvoiceNumbers", "InvoiceNumber"),
            ("Statuses", "Status"),
            ("ContactIDs", "Contact.ContactID"),
        ):
            if params.get(param):
                wanted = {v.strip() for v in params[param].split(",")}
                elements = [e for e in elements if _field(e, field) in wanted]
        body: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": "Rebill"}
        if "page" in params:
            page = max(1, int(params["page"]))
            size = min(1000, int(params.get("pageSize") or self.page_size))
            count = len(elements)
            elements = elements[(page - 1) * size : page * size]
            body["pagination"] = {
                "page": page,
                "pageSize": size,
                "pageCount": -(-count // size),
                "itemCount": count,
            }
        if resource == "Invoices":
            elements = [self._out(e, request) for e in elements]
        body[resource] = elements
        return respond(200, body)

    # ---- writes -----------------------------------------------------------------------------
    def _many(
        self,
        request: httpx.Request,
        resource: str,
        elements: list[Element],
        *,
        force_summary: bool = False,
    ) -> httpx.Response:
        """Apply elements in order; `summarizeErrors=false` keeps the good ones and marks the
        bad ones, otherwise one bad element undoes all and answers 400."""
        summarize = force_summary or request.url.params.get("summarizeErrors", "true") != "false"
        unitdp = 4 if request.url.params.get("unitdp") == "4" else 2
        # all-or-nothing needs the state before; summarizeErrors=false keeps what succeeded
        snapshot = (
            copy.deepcopy((self.contacts, self.items, self.invoices, self.credit_notes))
            if summarize
            else None
        )
        apply = {
            "Contacts": self._contact,
            "Items": self._item,
            "Invoices": self._invoice,
            "CreditNotes": self._credit_note,
        }[resource]
        answers: list[Element] = []
        failed: list[Element] = []
        for element in elements:
            answer = apply(element, request.method, unitdp)
            answers.append(answer)
            if answer.get("StatusAttributeString") == "ERROR":
                failed.append(answer)
        if snapshot is not None and failed:
            self.contacts, self.items, self.invoices, self.credit_notes = snapshot
            return validation(failed)
        if resource == "Invoices":
            answers = [
                self._out(a, request)
                if "InvoiceID" in a and a.get("StatusAttributeString") == "OK"
                else a
                for a in answers
            ]
        return respond(200, {"Id": str(uuid.uuid4()), "Status": "OK", resource: answers})

    # ---- views and test helpers -------------------------------------------------------------
    def _out(self, invoice: Element, request: httpx.Request) -> Element:
        """An invoice as read: unit amounts at 2 decimals unless ``unitdp=4`` was asked."""
        if request.url.params.get("unitdp") == "4":
            return invoice
        lines = [
            {**line, "UnitAmount": quantize(Decimal(line["UnitAmount"]), 2)}
            for line in invoice.get("LineItems", [])
        ]
        return {**invoice, "LineItems": lines}

    def invoices_by_number(self, number: str) -> list[dict[str, Any]]:
        return [i for i in self.invoices.values() if i["InvoiceNumber"] == number]

    def pay(self, invoice_id: str, amount: Decimal) -> None:
        """A payment recorded in Xero by the partner (what read-back then sees)."""
        invoice = self.invoices[invoice_id]
        invoice["AmountPaid"] += amount
        invoice["Payments"].append(
            {
                "PaymentID": str(uuid.uuid4()),
                "Amount": amount,
                "Date": xero_date(datetime.now(UTC).date()),
            }
        )
        self._settle(invoice)


def _field(element: Element, path: str) -> Any:
    value: Any = element
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
