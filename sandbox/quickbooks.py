"""A stateful fake of the QuickBooks Online Accounting API v3 (one company, `/v3/company/{realm}`).

Behaves as documented where our connector depends on it: Ids and SyncTokens assigned by the
server (SyncToken bumps on every change, a stale one is Fault 5010); required fields
(CustomerRef, Line, DetailType, ItemRef, an income account on Service items) answer Fault 2020
or 2500; duplicate invoice / credit memo DocNumber is 6140 and duplicate Customer or Item name
6240; a sales line's Amount must equal Qty x UnitPrice (UnitPrice kept to 7 decimals) or Fault
6070; TotalAmt = lines + tax (TxnTaxDetail.TotalTax when given, else the tax code's rate),
Balance = TotalAmt - payments; `requestid` replays the first answer; `/batch` takes up to 30
operations with a Fault per element; queries (see `quickbooks_query`) page with STARTPOSITION /
MAXRESULTS; void zeroes the invoice and notes "Voided"; 401 AuthenticationFault for a bad
token; 429 ThrottleExceeded past 500/min or 10 concurrent per realm, or 40 batch/min.

Documented limits, written here from Intuit's documentation independently of the connector's
profile (so a misreading in one is caught by the other): ``requestid`` at most 50 characters,
36 on ``/batch``, and then each ``bId`` at most 10 (Intuit Developer blog, "Request ID update
for QuickBooks Online integration", 2015-04-06); at most 30 operations per ``/batch`` and
``minorversion`` at least 75 (python-quickbooks 0.9: ``BatchManager`` 30,
``MINIMUM_MINOR_VERSION`` 75; a test checks these against the SDK); an update must carry the
current SyncToken (5010 otherwise).
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from sandbox.base import FakeRemote, json_response
from sandbox.quickbooks_query import Fault, fault_body
from sandbox.quickbooks_store import QuickBooksStore

__all__ = ["FakeQuickBooks"]

ENTITIES = {
    "customer": "Customer",
    "item": "Item",
    "invoice": "Invoice",
    "creditmemo": "CreditMemo",
    "payment": "Payment",
    "account": "Account",
    "taxcode": "TaxCode",
    "class": "Class",
}


def _dumps(body: Any) -> bytes:
    return json.dumps(
        body, default=lambda d: float(d) if isinstance(d, Decimal) else str(d)
    ).encode()


REQUEST_ID_MAX = 50
BATCH_REQUEST_ID_MAX = 36
BATCH_ID_MAX = 10
BATCH_MAX = 30
MIN_MINOR_VERSION = 75


class FakeQuickBooks(QuickBooksStore, FakeRemote):
    default_base_url = "https://quickbooks.api.intuit.com"

    def __init__(
        self,
        realm: str = "9130357",
        *,
        home_currency: str = "USD",
        require_auth: bool = True,
        base_url: str | None = None,
    ) -> None:
        super().__init__(require_auth=require_auth, base_url=base_url)
        self.realm = realm
        self.home_currency = home_currency
        self.currencies = {home_currency, "EUR", "GBP", "CAD"}
        self._ids = itertools.count(100)
        self.store: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ENTITIES.values()}
        self.store["Vendor"], self.store["Employee"] = {}, {}  # only their names matter here
        for acc_id, name in (("79", "Sales of Product Income"), ("80", "Services")):
            self.store["Account"][acc_id] = {
                "Id": acc_id,
                "Name": name,
                "AccountType": "Income",
                "Active": True,
                "SyncToken": "0",
            }
        self.tax_rates = {"TAX": Decimal("0.08"), "NON": Decimal(0)}
        for code in self.tax_rates:
            self.store["TaxCode"][code] = {
                "Id": code,
                "Name": code,
                "Active": True,
                "SyncToken": "0",
            }
        self.store["Preferences"] = {
            "1": {
                "Id": "1",
                "SyncToken": "0",
                "CurrencyPrefs": {
                    "MultiCurrencyEnabled": True,
                    "HomeCurrency": {"value": home_currency},
                },
            }
        }
        self.store["Class"]["5000"] = {
            "Id": "5000",
            "Name": "Rebill",
            "Active": True,
            "SyncToken": "0",
        }
        self.set_rate_limit(500, concurrent=10, bucket=f"realm:{realm}")
        self.set_rate_limit(40, bucket=f"batch:{realm}")

    # ---- FakeRemote hooks -------------------------------------------------------------------
    def buckets_of(self, request: httpx.Request) -> tuple[str, ...]:
        if request.url.path.endswith("/batch"):
            return (f"realm:{self.realm}", f"batch:{self.realm}")
        return (f"realm:{self.realm}",)

    def auth_error_response(self, request: httpx.Request) -> httpx.Response:
        body = {
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": "Token expired: the access token is no longer valid",
                        "code": "3200",
                    }
                ],
                "type": "AUTHENTICATION",
            }
        }
        return json_response(401, body)

    def rate_limit_response(self, request: httpx.Request, retry_after: float) -> httpx.Response:
        body = fault_body(
            "ThrottleExceeded",
            [
                (
                    "003001",
                    "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                    "The request limit was reached.",
                    "",
                )
            ],
        )
        return json_response(429, body, {"Retry-After": str(max(1, round(retry_after)))})

    def server_error_response(self, request: httpx.Request) -> httpx.Response:
        body = fault_body(
            "SystemFault",
            [
                (
                    "10000",
                    "An application error has occurred while processing your request",
                    "System Failure Error: internal error",
                    "",
                )
            ],
        )
        return json_response(500, body)

    # ---- routing ----------------------------------------------------------------------------
    def dispatch(self, request: httpx.Request) -> httpx.Response:
        prefix = f"/v3/company/{self.realm}/"
        path = request.url.path
        if not path.startswith(prefix):
            fault = Fault(
                "100",
                "General Authorization Error",
                "This realm is not authorized",
                kind="AuthorizationFault",
                status=403,
            )
            return self._fault(fault)
        parts = path[len(prefix) :].strip("/").split("/")
        params = request.url.params
        requestid = params.get("requestid")
        minor = params.get("minorversion", "")
        if not minor.isdigit() or int(minor) < MIN_MINOR_VERSION:
            return self._fault(
                Fault(
                    "2010",
                    "Request has invalid or unsupported property",
                    f"minorversion {minor or '(none)'} is no longer supported; "
                    f"the minimum is {MIN_MINOR_VERSION}",
                    "minorversion",
                )
            )
        if requestid is not None:
            limit = BATCH_REQUEST_ID_MAX if parts == ["batch"] else REQUEST_ID_MAX
            if len(requestid) > limit:
                return self._fault(
                    Fault(
                        "2010",
                        "Request has invalid or unsupported property",
                        f"requestid is longer than {limit} characters",
                        "requestid",
                    )
                )
            if (old := self.replay(f"{path}|{requestid}", request)) is not None:
                return old
        try:
            response = self._route(request, parts)
        except Fault as fault:
            return self._fault(fault)
        if requestid is not None and request.method == "POST":
            self.remember(f"{path}|{requestid}", request, response)
        return response

    def _fault(self, fault: Fault) -> httpx.Response:
        return httpx.Response(
            fault.status, content=_dumps(fault.body()), headers={"Content-Type": "application/json"}
        )

    def _ok(self, body: dict[str, Any]) -> httpx.Response:
        body["time"] = datetime.now(UTC).isoformat()
        return httpx.Response(
            200, content=_dumps(body), headers={"Content-Type": "application/json"}
        )

    def _route(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        head = parts[0].lower()
        if head == "query":
            text = request.url.params.get("query") or request.content.decode()
            return self._ok({"QueryResponse": self.query(text)})
        if head == "batch" and request.method == "POST":
            batch = self._batch(self._body(request), request.url.params.get("requestid"))
            return self._ok({"BatchItemResponse": batch})
        entity = ENTITIES.get(head)
        if entity is None:
            raise Fault(
                "4000", "Unsupported Operation", f"Operation {head} is not supported", status=400
            )
        if request.method == "GET" and len(parts) == 2:
            return self._ok({entity: self.get(entity, parts[1])})
        if request.method == "POST" and len(parts) == 1:
            op = request.url.params.get("operation", "create")
            return self._ok({entity: self.write(entity, op, self._body(request))})
        raise Fault("4000", "Unsupported Operation", f"{request.method} {'/'.join(parts)}")

    @staticmethod
    def _body(request: httpx.Request) -> dict[str, Any]:
        try:
            body = json.loads(request.content, parse_float=Decimal)
        except ValueError as exc:
            raise Fault(
                "2010", "Request has invalid or unsupported property", f"Invalid JSON: {exc}"
            ) from None
        if not isinstance(body, dict):
            raise Fault(
                "2010", "Request has invalid or unsupported property", "body must be an object"
            )
        return body

    def _batch(self, body: dict[str, Any], request_id: str | None = None) -> list[dict[str, Any]]:
        items = body.get("BatchItemRequest")
        if not isinstance(items, list) or not items:
            raise Fault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter BatchItemRequest is missing",
                "BatchItemRequest",
            )
        if len(items) > BATCH_MAX:
            raise Fault(
                "1040",
                "Too many batch items",
                f"Maximum of {BATCH_MAX} BatchItemRequests; got {len(items)}",
                "BatchItemRequest",
            )
        if request_id is not None:
            long_ids = [str(i.get("bId")) for i in items if len(str(i.get("bId"))) > BATCH_ID_MAX]
            if long_ids:
                raise Fault(
                    "2010",
                    "Request has invalid or unsupported property",
                    f"bId {long_ids[0]!r} is longer than {BATCH_ID_MAX} characters "
                    "(the limit when a requestid is sent)",
                    "bId",
                )
        out: list[dict[str, Any]] = []
        for item in items:
            bid = item.get("bId")
            try:
                if "Query" in item:
                    out.append({"bId": bid, "QueryResponse": self.query(item["Query"])})
                    continue
                [entity] = [k for k in item if k in self.store]
                out.append(
                    {
                        "bId": bid,
                        entity: self.write(entity, item.get("operation", "create"), item[entity]),
                    }
                )
            except Fault as fault:
                out.append({"bId": bid, "Fault": fault.body()["Fault"]})
            except ValueError:
                out.append(
                    {
                        "bId": bid,
                        "Fault": fault_body(
                            "ValidationFault",
                            [
                                (
                                    "2020",
                                    "Required param missing",
                                    "one entity per BatchItemRequest",
                                    "",
                                )
                            ],
                        )["Fault"],
                    }
                )
        return out
