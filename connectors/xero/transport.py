"""How `XeroConnector` talks to Xero: the tenant's requests, idempotent writes, batches of
elements answered one by one (``summarizeErrors=false``) and paged lists. A base class of the
connector, apart from it so `connector` holds only what each object means to Xero (contacts,
items, invoices, payments, credit notes) and this module only how it travels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import ConnectorError, RetryableError
from connectors.http import HttpClient
from connectors.paging import Page, PageNumberPaginator
from connectors.xero import payloads
from connectors.xero.errors import element_error
from connectors.xero.profile import LIMITS
from connectors.xero.queries import request_key

__all__ = ["API", "MAX_BATCH", "PAGE_SIZE", "Element", "XeroTransport"]

API = "/api.xro/2.0"
MAX_BATCH = LIMITS.batch_size or 50  # Xero recommends at most 50 elements per request
PAGE_SIZE = 100  # Xero pages lists by 100 unless asked for more (up to LIMITS.page_size)
_ID_FIELDS = {"CreditNotes": "CreditNoteID"}
Element = Mapping[str, Any]


class XeroTransport:
    def __init__(
        self,
        client: HttpClient,
        *,
        connection_id: str,
        tenant_id: str,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if not 1 <= page_size <= LIMITS.page_size:
            raise ValueError(
                f"page_size: Xero pages hold 1 to {LIMITS.page_size:,} elements, got {page_size}"
            )
        self.client = client
        self.connection_id = connection_id
        self.tenant_id = tenant_id
        self.page_size = page_size  # sent as pageSize; a shorter page is the last one

    # -- transport ----------------------------------------------------------------------------
    async def read(self, resource: str, params: Mapping[str, object] | None = None) -> Any:
        """GET ``/api.xro/2.0/{resource}``, parsed with exact decimals."""
        response = await self.client.request("GET", f"{API}/{resource}", params=params)
        return payloads.loads(response.content)

    async def send(
        self,
        method: str,
        resource: str,
        body: Mapping[str, object],
        key: str,
        params: Mapping[str, object] | None = None,
    ) -> Any:
        """A write with its Idempotency-Key: the client may resend it after an uncertain
        failure (timeout, reset), since Xero answers a repeated key with its first answer."""
        response = await self.client.request(
            method,
            f"{API}/{resource}",
            params=params,
            content=payloads.dumps(body),
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            idempotent=True,  # Xero replays a request with the same key
        )
        return payloads.loads(response.content)

    async def _batch(
        self,
        method: str,
        collection: str,
        bodies: Sequence[Element],
        keys: Sequence[str],
        *,
        noun: str,
        label: str,
        unitdp: bool = False,
    ) -> list[Element | ConnectorError]:
        """Send elements `MAX_BATCH` at a time with ``summarizeErrors=false``; each answer is
        the element Xero returned or the error for it."""
        results: list[Element | ConnectorError] = []
        for start in range(0, len(bodies), MAX_BATCH):
            part = bodies[start : start + MAX_BATCH]
            part_keys = keys[start : start + MAX_BATCH]
            params: dict[str, object] = {"summarizeErrors": "false"}
            if unitdp:
                params["unitdp"] = 4
            key = request_key(part_keys, op=f"{method.lower()}-{collection.lower()}")
            try:
                data = await self.send(method, collection, {collection: list(part)}, key, params)
            except ConnectorError as error:
                results.extend([error] * len(part))
                continue
            answered = list(data.get(collection) or ()) if isinstance(data, Mapping) else []
            for index, body in enumerate(part):
                if index >= len(answered):
                    results.append(
                        RetryableError(
                            f"Xero answered {len(answered)} of {len(part)} {collection}; "
                            "look the missing ones up before resending",
                            uncertain=True,
                        )
                    )
                    continue
                element = answered[index]
                if str(element.get("StatusAttributeString", "OK")).upper() == "ERROR":
                    what = f"{noun} {body.get(label)}" if body.get(label) else noun
                    results.append(
                        element_error(element, what=what, path=f"{collection}[{start + index}]")
                    )
                else:
                    results.append(element)
        return results

    async def _pages(self, resource: str, params: Mapping[str, object]) -> list[Element]:
        """Every element of a paged list: ``page=1, 2, ...`` with ``pageSize``, until the
        page count Xero reports, or (without one) a page shorter than asked; a page answered
        twice stops with `PagingLoopError`."""
        id_field = _ID_FIELDS.get(resource, f"{resource.rstrip('s')}ID")

        async def fetch(page: int) -> Page[Element]:
            data = await self.read(resource, {**params, "page": page, "pageSize": self.page_size})
            batch = [e for e in data.get(resource) or () if isinstance(e, Mapping)]
            paging = data.get("pagination") or {}
            pages, number = paging.get("pageCount"), paging.get("page")
            return Page(
                batch,
                keys=[str(e.get(id_field, "")) for e in batch],
                total_pages=pages if isinstance(pages, int) else None,
                number=number if isinstance(number, int) else None,
            )

        paginator = PageNumberPaginator("Xero", f"GET {resource}", self.page_size)
        return await paginator.all(fetch)
