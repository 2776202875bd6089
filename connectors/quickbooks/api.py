"""The QuickBooks Online v3 wire protocol on top of `connectors.http.HttpClient`: company
paths, `minorversion` on every call, `requestid` on every write, queries with all their pages,
and `/batch` with one result per element.

`requestid` is what QuickBooks uses to recognise a retried write and answer it with the first
result instead of acting twice; it must be at most 50 characters for a single operation and 36
for ``/batch`` (the limits live in `connectors.quickbooks.profile`), so our idempotency keys
(``rebill:{connection}:{op}:{id}:{version}``) longer than that are hashed, deterministically
(`connectors.idempotency.fit_key`).
Writes carrying one are marked idempotent for the client, which may then resend them after a
timeout whose outcome is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import ConnectorError, RejectedError, RetryableError
from connectors.http import HttpClient, RateBudget
from connectors.idempotency import fit_key
from connectors.paging import OffsetPaginator, Page
from connectors.quickbooks.errors import error_from_fault
from connectors.quickbooks.payloads import dumps, loads, quote
from connectors.quickbooks.profile import LIMITS

__all__ = [
    "BATCH_MAX",
    "MINOR_VERSION",
    "QUERY_MAX",
    "QuickBooksApi",
    "batch_request_id",
    "request_id",
]

MINOR_VERSION = int(LIMITS.api_version or 75)
BATCH_MAX = LIMITS.batch_size or 30  # operations per /batch request
IN_MAX = 60  # values per `IN (...)` query: a /batch of 30 customers' names and fallbacks
QUERY_MAX = LIMITS.page_size  # MAXRESULTS ceiling
REQUEST_ID_MAX = LIMITS.idempotency_key_max or 50
BATCH_REQUEST_ID_MAX = LIMITS.batch_idempotency_key_max or 36
_JSON = {"Content-Type": "application/json", "Accept": "application/json"}

BatchResult = dict[str, Any] | ConnectorError


def request_id(key: str) -> str:
    """The `requestid` of a single write: the key itself when it fits in 50 characters, else
    a stable digest of it."""
    return fit_key(key, REQUEST_ID_MAX)


def batch_request_id(keys: Sequence[str]) -> str:
    """The `requestid` of a ``/batch`` of writes with these keys: at most 36 characters."""
    return fit_key("batch:" + "|".join(keys), BATCH_REQUEST_ID_MAX)


class QuickBooksApi:
    def __init__(
        self,
        client: HttpClient,
        realm: str,
        *,
        minor_version: int = MINOR_VERSION,
        batch_budget: RateBudget | None = None,
        page_size: int = QUERY_MAX,
    ) -> None:
        if not realm:
            raise ValueError("realm: the QuickBooks company id (realmId) is required")
        if not 1 <= page_size <= QUERY_MAX:
            raise ValueError(f"page_size: between 1 and {QUERY_MAX}")
        self.client = client
        self.realm = realm
        self.minor_version = minor_version
        self.batch_budget = batch_budget
        self.page_size = page_size

    def path(self, entity: str, *rest: str) -> str:
        return "/".join((f"/v3/company/{self.realm}", entity, *rest))

    def _params(self, **extra: str) -> dict[str, str]:
        return {"minorversion": str(self.minor_version), **extra}

    async def get(self, entity: str, obj_id: str) -> dict[str, Any]:
        response = await self.client.request(
            "GET", self.path(entity.lower(), obj_id), params=self._params(), headers=_JSON
        )
        return _entity(loads(response.content), entity)

    async def write(
        self,
        entity: str,
        body: Mapping[str, Any],
        key: str,
        *,
        operation: str | None = None,
    ) -> dict[str, Any]:
        """Create (or `operation` = update / void) one object; replayed by `requestid`."""
        params = self._params(requestid=request_id(key))
        if operation:
            params["operation"] = operation
        response = await self.client.request(
            "POST",
            self.path(entity.lower()),
            params=params,
            content=dumps(body),
            headers=_JSON,
            idempotent=True,
        )
        return _entity(loads(response.content), entity)

    async def query(
        self, entity: str, where: str = "", order_by: str | None = "Id"
    ) -> list[dict[str, Any]]:
        """Every row of ``SELECT * FROM entity [WHERE ...]``, all pages (ORDERBY keeps the pages
        stable while we read them)."""
        text = f"SELECT * FROM {entity}"
        if where:
            text += f" WHERE {where}"
        if order_by:
            text += f" ORDERBY {order_by}"

        async def fetch(start: int) -> Page[dict[str, Any]]:
            query = f"{text} STARTPOSITION {start} MAXRESULTS {self.page_size}"
            response = await self.client.request(
                "GET", self.path("query"), params=self._params(query=query), headers=_JSON
            )
            rows = (loads(response.content).get("QueryResponse") or {}).get(entity) or []
            rows = [dict(row) for row in rows if isinstance(row, Mapping)]
            return Page(rows, keys=[str(row.get("Id", "")) for row in rows])

        paginator = OffsetPaginator("QuickBooks", f"query {entity}", self.page_size)
        return await paginator.all(fetch)

    async def query_in(
        self,
        entity: str,
        field: str,
        values: Sequence[str],
        chunk: int = IN_MAX,
        *,
        include_inactive: bool = False,
    ) -> list[dict[str, Any]]:
        """Rows whose `field` is one of `values` (queried in chunks, the URL stays short).
        QuickBooks answers only active list objects unless asked for both."""
        either = " AND Active IN (true, false)" if include_inactive else ""
        rows: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(values))
        for i in range(0, len(unique), chunk):
            part = unique[i : i + chunk]
            where = f"{field} IN ({', '.join(quote(v) for v in part)}){either}"
            rows.extend(await self.query(entity, where))
        return rows

    async def reactivate(self, entity: str, row: Mapping[str, Any], key: str) -> dict[str, Any]:
        """Make an inactive list object (customer, item) active again, keeping its Id."""
        body = {"Id": row["Id"], "SyncToken": row["SyncToken"], "sparse": True, "Active": True}
        return await self.write(
            entity, body, f"{key}:reactivate:{row['SyncToken']}", operation="update"
        )

    async def batch(
        self,
        entity: str,
        bodies: Sequence[Mapping[str, Any]],
        keys: Sequence[str],
        operation: str = "create",
    ) -> list[BatchResult]:
        """Up to 30 writes in one request; one result per body, in order: the stored object or
        the `ConnectorError` of that element. A failure of the whole request is every
        element's error (uncertain ones stay uncertain: look the objects up)."""
        if len(bodies) != len(keys):
            raise ValueError("keys: one idempotency key per object")
        if not 1 <= len(bodies) <= BATCH_MAX:
            raise ValueError(f"bodies: between 1 and {BATCH_MAX} per batch")
        payload = {
            "BatchItemRequest": [
                {"bId": str(i), "operation": operation, entity: body}
                for i, body in enumerate(bodies)
            ]
        }
        params = self._params(requestid=batch_request_id(keys))
        try:
            response = await self.client.request(
                "POST",
                self.path("batch"),
                params=params,
                content=dumps(payload),
                headers=_JSON,
                idempotent=True,
                budgets=(self.batch_budget,) if self.batch_budget else (),
            )
        except ConnectorError as error:
            return [error] * len(bodies)
        answers = {
            str(item.get("bId")): item
            for item in loads(response.content).get("BatchItemResponse") or []
        }
        results: list[BatchResult] = []
        for i in range(len(bodies)):
            item = answers.get(str(i))
            if item is None:
                results.append(
                    RetryableError(
                        f"QuickBooks sent no answer for batch element {i + 1}", uncertain=True
                    )
                )
            elif isinstance(item.get("Fault"), Mapping):
                results.append(error_from_fault(item["Fault"], status=400, what=entity.lower()))
            elif isinstance(item.get(entity), Mapping):
                results.append(dict(item[entity]))
            else:
                results.append(
                    RejectedError(f"QuickBooks answered batch element {i + 1} without a {entity}")
                )
        return results


def _entity(body: Any, entity: str) -> dict[str, Any]:
    obj = body.get(entity) if isinstance(body, Mapping) else None
    if not isinstance(obj, Mapping):
        raise RejectedError(
            f"QuickBooks answered without the {entity} (unexpected response)", status=None
        )
    return dict(obj)
