"""Reading a request body from outside without ever holding more than the limit.

A declared `Content-Length` over the limit is refused before a byte is read; a body without
one (chunked) is read piece by piece and refused as soon as the running total passes the limit,
so a 200 MiB upload costs the server at most the limit plus one piece, not 200 MiB. The server
then closes the connection instead of reading the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

__all__ = ["BodyTooLargeError", "read_body"]


class BodyTooLargeError(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body: larger than {_size(limit)}")
        self.limit = limit


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


async def read_body(stream: AsyncIterable[bytes], declared_length: str | None, limit: int) -> bytes:
    """The whole body, or `BodyTooLargeError` without reading past `limit`."""
    declared = (declared_length or "").strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(limit)
    parts: list[bytes] = []
    size = 0
    async for part in stream:
        size += len(part)
        if size > limit:
            raise BodyTooLargeError(limit)
        parts.append(part)
    return b"".join(parts)
