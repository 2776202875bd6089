"""The FreshBooks request plumbing `FreshBooksConnector` is built on: account-scoped paths,
the ``{"response": {"result": ...}}`` envelope (errors inside a 2xx answer included), writes
that are never repeated blindly, create-then-look-up after an uncertain answer, and paging
with ``page``/``per_page`` until the ``pages`` FreshBooks reports."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from connectors.base import ConnectorError, RetryableError
from connectors.freshbooks import payloads
from connectors.freshbooks.errors import envelope_error
from connectors.freshbooks.profile import LIMITS
from connectors.http import HttpClient
from connectors.paging import Page, PageNumberPaginator

__all__ = ["MAX_PAGE_SIZE", "Element", "FreshBooksApi"]

MAX_PAGE_SIZE = LIMITS.page_size  # FreshBooks' per_page limit
Element = Mapping[str, Any]
T = TypeVar("T")
logger = logging.getLogger("connectors.freshbooks")


class FreshBooksApi:
    def __init__(
        self,
        client: HttpClient,
        *,
        connection_id: str,
        account_id: str,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size: FreshBooks pages hold 1 to 100 records, got {page_size}")
        self.client = client
        self.connection_id = connection_id
        self.account_id = account_id
        self.page_size = page_size

    # -- transport ----------------------------------------------------------------------------
    def _path(self, resource: str) -> str:
        return f"/accounting/account/{self.account_id}/{resource}"

    @staticmethod
    def _result(content: bytes, *, what: str) -> Element:
        body = payloads.loads(content) if content else {}
        error = envelope_error(body, what=what)
        if error is not None:
            raise error
        result = (body.get("response") or {}).get("result") if isinstance(body, Mapping) else None
        if not isinstance(result, Mapping):
            raise RetryableError(f"FreshBooks answered {what} without a result")
        return result

    async def _get(self, resource: str, params: Mapping[str, object] | None = None) -> Element:
        response = await self.client.request("GET", self._path(resource), params=params)
        return self._result(response.content, what=resource)

    async def _send(self, method: str, resource: str, key: str, body: Mapping[str, object]) -> Any:
        """One write; never repeated blindly when its outcome is uncertain (no idempotency
        keys at FreshBooks): the caller looks the object up instead."""
        response = await self.client.request(
            method,
            self._path(resource),
            content=payloads.dumps({key: body}),
            headers={"Content-Type": "application/json"},
            idempotent=False,
        )
        result = self._result(response.content, what=resource)
        element = result.get(key)
        if not isinstance(element, Mapping):
            raise RetryableError(f"FreshBooks answered {resource} without {key!r}", uncertain=True)
        return element

    async def _create(
        self,
        resource: str,
        key: str,
        body: Mapping[str, object],
        lookup: Callable[[], Awaitable[Element | None]],
    ) -> Element:
        """Create, and when the answer was lost after sending, look for what we sent."""
        try:
            created: Element = await self._send("POST", resource, key, body)
        except RetryableError as error:
            if not error.uncertain:
                raise
            found = await lookup()
            if found is None:
                raise
            logger.info("freshbooks %s: found after an uncertain create", resource)
            return found
        return created

    async def _pages(self, resource: str, key: str, params: Mapping[str, object]) -> list[Element]:
        """Every record of a paged list: ``page=1, 2, ...`` until the ``pages`` it reports; a
        page answered twice stops with `PagingLoopError`."""

        async def fetch(page: int) -> Page[Element]:
            result = await self._get(resource, {**params, "page": page, "per_page": self.page_size})
            batch = [r for r in result.get(key) or () if isinstance(r, Mapping)]
            pages, number = result.get("pages"), result.get("page")
            return Page(
                batch,
                keys=[str(r.get("id", r.get("invoiceid", ""))) for r in batch],
                total_pages=int(pages) if pages is not None else None,
                number=int(number) if number is not None else None,
            )

        paginator = PageNumberPaginator("FreshBooks", f"GET {resource}", self.page_size)
        return await paginator.all(fetch)

    @staticmethod
    async def _settle(call: Awaitable[T]) -> T | ConnectorError:
        try:
            return await call
        except ConnectorError as error:
            return error

    # -- webhook callbacks (``/events/account/{account_id}/events/callbacks``) ----------------
    def _callbacks(self, callback_id: str | None = None) -> str:
        path = f"/events/account/{self.account_id}/events/callbacks"
        return f"{path}/{callback_id}" if callback_id else path

    async def register_callback(self, event: str, uri: str) -> str:
        """Ask FreshBooks to call `uri` on `event` ("invoice.update"); answers the callback id.
        FreshBooks then posts a verifier to `uri` (see `callbacks.receive`)."""
        response = await self.client.request(
            "POST",
            self._callbacks(),
            content=payloads.dumps({"callback": {"event": event, "uri": uri}}),
            headers={"Content-Type": "application/json"},
            idempotent=False,
        )
        callback = self._result(response.content, what="callbacks").get("callback")
        if not isinstance(callback, Mapping) or not callback.get("callbackid"):
            raise RetryableError("FreshBooks answered the callback without its id")
        return str(callback["callbackid"])

    async def verify_callback(self, callback_id: str, verifier: str) -> None:
        """Send back the verifier FreshBooks posted to our callback URI (activates it)."""
        response = await self.client.request(
            "PUT",
            self._callbacks(callback_id),
            content=payloads.dumps({"callback": {"verifier": verifier}}),
            headers={"Content-Type": "application/json"},
        )
        self._result(response.content, what="callbacks")
