"""One way to read every page of a remote list, with a loop guard.

Remotes page in three ways: by page number (Xero ``page``, FreshBooks ``page``/``per_page``),
by start position (QuickBooks ``STARTPOSITION``/``MAXRESULTS``) and by cursor (Stripe
``starting_after`` with ``has_more``). A remote that answers the same page again (a cursor that
does not move, a page number ignored, an offset that repeats the same rows) would keep a
naive loop reading for ever; each paginator here remembers what it has seen and stops with a
`PagingLoopError` that names the provider, the endpoint and the repeated page or cursor.

A paginator does no I/O itself: the connector passes an async `fetch` that reads one page and
answers a `Page` (the rows, the identity of each row, and what the remote said about paging).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connectors.base import RetryableError

__all__ = [
    "MAX_PAGES",
    "CursorPaginator",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "PagingLoopError",
]

T = TypeVar("T")
MAX_PAGES = 10_000  # a ceiling no real list of ours reaches: 10,000 pages of 100 to 1,000 rows


class PagingLoopError(RetryableError):
    """The remote answered a page it had already answered: reading on would never end. Kept
    retryable (a remote's passing fault); the message names where it happened."""

    def __init__(self, provider: str, endpoint: str, what: str) -> None:
        super().__init__(f"{provider} {endpoint}: paging stopped, {what}")
        self.provider = provider
        self.endpoint = endpoint


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page as read. `keys` identify its rows (ids) so a repeated page is recognised even
    when the remote reports nothing about paging; `total_pages` (page-number remotes),
    `number` (the page the remote says it answered), `has_more` and `cursor` (cursor
    remotes: where the next page starts) are whatever the remote sent."""

    items: Sequence[T]
    keys: Sequence[str] = ()
    total_pages: int | None = None
    number: int | None = None
    has_more: bool | None = None
    cursor: str | None = None


class _Guard:
    def __init__(self, provider: str, endpoint: str, max_pages: int) -> None:
        self.provider = provider
        self.endpoint = endpoint
        self.max_pages = max_pages
        self.pages = 0
        self.seen: dict[tuple[str, ...], str] = {}

    def check(self, page: Page[Any], where: str) -> None:
        self.pages += 1
        if self.pages > self.max_pages:
            raise PagingLoopError(
                self.provider, self.endpoint, f"more than {self.max_pages} pages (at {where})"
            )
        fingerprint = tuple(page.keys)
        if not fingerprint:
            return
        earlier = self.seen.get(fingerprint)
        if earlier is not None:
            raise PagingLoopError(
                self.provider,
                self.endpoint,
                f"{where} repeated the rows of {earlier} (first row {fingerprint[0]!r})",
            )
        self.seen[fingerprint] = where

    def error(self, what: str) -> PagingLoopError:
        return PagingLoopError(self.provider, self.endpoint, what)


@dataclass(frozen=True, slots=True)
class PageNumberPaginator:
    """``page = 1, 2, ...`` until the remote's page count, or a page shorter than asked."""

    provider: str
    endpoint: str
    page_size: int
    first: int = 1
    max_pages: int = MAX_PAGES

    async def all(self, fetch: Callable[[int], Awaitable[Page[T]]]) -> list[T]:
        guard = _Guard(self.provider, self.endpoint, self.max_pages)
        rows: list[T] = []
        number = self.first
        while True:
            page = await fetch(number)
            if page.number is not None and page.number != number:
                raise guard.error(
                    f"asked for page {number}, the remote answered page {page.number}"
                )
            guard.check(page, f"page {number}")
            rows.extend(page.items)
            if page.total_pages is not None:
                last = number >= page.total_pages
            else:
                last = len(page.items) < self.page_size
            if last or not page.items:
                return rows
            number += 1


@dataclass(frozen=True, slots=True)
class OffsetPaginator:
    """``start = 1, 1 + n, ...`` (QuickBooks' STARTPOSITION counts from 1) until a short page."""

    provider: str
    endpoint: str
    page_size: int
    start: int = 1
    max_pages: int = MAX_PAGES

    async def all(self, fetch: Callable[[int], Awaitable[Page[T]]]) -> list[T]:
        guard = _Guard(self.provider, self.endpoint, self.max_pages)
        rows: list[T] = []
        start = self.start
        while True:
            page = await fetch(start)
            guard.check(page, f"start position {start}")
            rows.extend(page.items)
            if len(page.items) < self.page_size or not page.items:
                return rows
            start += len(page.items)


@dataclass(frozen=True, slots=True)
class CursorPaginator:
    """The first page, then ``cursor`` after cursor while the remote says there is more."""

    provider: str
    endpoint: str
    max_pages: int = MAX_PAGES

    async def all(self, fetch: Callable[[str | None], Awaitable[Page[T]]]) -> list[T]:
        guard = _Guard(self.provider, self.endpoint, self.max_pages)
        rows: list[T] = []
        cursor: str | None = None
        cursors: set[str] = set()
        while True:
            page = await fetch(cursor)
            guard.check(page, f"cursor {cursor!r}" if cursor else "the first page")
            rows.extend(page.items)
            if not page.has_more or not page.items or not page.cursor:
                return rows
            if page.cursor in cursors:
                raise guard.error(f"the remote handed back cursor {page.cursor!r} again")
            cursors.add(page.cursor)
            cursor = page.cursor

    def all_sync(self, fetch: Callable[[str | None], Page[T]]) -> list[T]:
        """The same for a blocking `fetch` (stripe-python's synchronous client)."""
        guard = _Guard(self.provider, self.endpoint, self.max_pages)
        rows: list[T] = []
        cursor: str | None = None
        cursors: set[str] = set()
        while True:
            page = fetch(cursor)
            guard.check(page, f"cursor {cursor!r}" if cursor else "the first page")
            rows.extend(page.items)
            if not page.has_more or not page.items or not page.cursor:
                return rows
            if page.cursor in cursors:
                raise guard.error(f"the remote handed back cursor {page.cursor!r} again")
            cursors.add(page.cursor)
            cursor = page.cursor
