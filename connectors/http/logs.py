"""The `rebill.http` logger and `redact`, so no token, secret or OAuth code reaches a log line,
an exception message or a partner's screen: every string that might carry a URL or body from a
remote goes through `redact` first."""

from __future__ import annotations

import logging
import re

import httpx

__all__ = ["MASK", "RedactingFilter", "install_httpx_redaction", "logger", "redact"]

logger = logging.getLogger("rebill.http")

MASK = "***"

_SECRET_NAMES = r"access_token|refresh_token|client_secret|id_token|code"  # noqa: S105

# `name=value` in query strings and form bodies (also URL-encoded `name%3Dvalue`).
_PAIR = re.compile(rf"(?i)(?<![A-Za-z0-9_])({_SECRET_NAMES})(=|%3D)([^&\s\"'<>,;]+)")
# `"name": "value"` in JSON bodies.
_JSON = re.compile(rf'(?i)("(?:{_SECRET_NAMES})"\s*:\s*)("(?:[^"\\]|\\.)*"|[^\s,}}\]]+)')
# `Bearer abc.def` / `Basic xyz==` wherever a header value got into a text.
_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*")


def redact(text: str | httpx.URL | None) -> str:
    """`text` with the values of `access_token`, `refresh_token`, `code`, `client_secret`,
    `id_token` and with bearer/basic credentials replaced by ``***``."""
    if text is None:
        return ""
    value = str(text)
    value = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)
    value = _JSON.sub(lambda m: f'{m.group(1)}"{MASK}"', value)
    return _SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", value)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message through `redact`: httpx logs every request URL at INFO
    (`HTTP Request: POST https://...?code=...`), which would otherwise bypass ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        record.msg = redact(message)
        record.args = None
        return True


_FILTER = RedactingFilter()


def install_httpx_redaction() -> None:
    """Redact what httpx and httpcore log (idempotent)."""
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
