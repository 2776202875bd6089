"""Sending due webhook deliveries: signed (Standard Webhooks), one HTTP POST each, through the
work queue (docs/work-queue.md), never following redirects, with timeouts, to checked addresses
only (`network`).

Per delivery, as the mail outbox does: claim (commits at once; counts the attempt), send
outside any transaction, record the outcome in a short transaction of its own. A worker that
dies mid-send leaves the delivery claimed until the lease ends; then it is sent again with the
same `webhook-id` and body (at-least-once; receivers dedupe on the id, as the spec says).

Outcomes (Standard Webhooks, "Delivery success and failure"): 2xx delivered; 410 Gone: the
receiver wants no more, the delivery is dead and the endpoint disabled; any other answer
(3xx included: redirects are not followed, the partner should update the URL), a timeout, a
connection failure or a host that does not resolve (DNS recovers): retried on `queue.RETRY_POLICY`, never sooner than a `Retry-After` (429,
503), then dead. A refused destination (a private address) is dead at once, with no connection
opened.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from sqlalchemy import update
from sqlmodel import Session, col
from standardwebhooks import Webhook

from config.db import SessionSource, session_factory
from config.db_types import utcnow
from config.settings import get_settings
from workqueue import RetryPolicy
from workqueue import repository as queue

from . import repository as repo
from .models import DeliveryStatus, WebhookEndpoint
from .network import RefusedDestinationError, UnresolvedHostError, resolve
from .queue import MAX_ATTEMPTS, RETRY_POLICY, WEBHOOK_QUEUE
from .service import SecretBox, signing_secrets

__all__ = ["Answer", "DeliveryReport", "SendError", "deliver_due", "send", "sign_headers"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

EXCERPT_BYTES = 1024
"""How much of an answer's body is kept (the dashboard and the CLI show it)."""
MAX_RETRY_AFTER = timedelta(days=1)
USER_AGENT = "Rebill-Webhooks/1"
_jitter = random.Random()  # noqa: S311 - jitter, not secrets


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    excerpt: str
    retry_after: timedelta | None = None


class SendError(Exception):
    """A failed attempt: `retryable` or not, with the answer when there was one."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        answer: Answer | None = None,
        gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.answer = answer
        self.gone = gone


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.dead


def sign_headers(message_id: str, body: str, secrets: list[str], at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers; one `v1,` signature per secret, space-separated
    (both secrets sign during a rotation window). Signing is the `standardwebhooks` library's
    (HMAC-SHA256 of `id.timestamp.body`)."""
    signatures = [Webhook(secret).sign(message_id, at, body) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def _seconds(wait: timedelta | None) -> int | None:
    """The work queue takes a provider's wait in seconds (rounded up: never sooner)."""
    return None if wait is None else -(-wait // timedelta(seconds=1))


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a `Retry-After` header asks for (delay-seconds or an HTTP date), capped at a
    day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(timedelta(seconds=int(value[:9])), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(timedelta(0), when - now), MAX_RETRY_AFTER)


def _target(url: str, *, allow_private: bool) -> tuple[str, str, dict[str, Any]]:
    """(URL with the checked address as host, Host header, request extensions)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(host, port, allow_private=allow_private)[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    target = parts._replace(netloc=f"{literal}:{port}").geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    # TLS: SNI and the certificate check use the URL's name, not the address connected to.
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return target, host_header, extensions


async def _exchange(
    target: str,
    body: bytes,
    headers: dict[str, str],
    extensions: dict[str, Any],
    connect_timeout: timedelta,
    timeout: timedelta,
    *,
    verify: ssl.SSLContext | bool,
) -> tuple[int, httpx.Headers, bytes]:
    """One POST: (status, headers, the first `EXCERPT_BYTES` of the body). No redirect is
    followed and no proxy is taken from the environment."""
    limits = httpx.Timeout(timeout.total_seconds(), connect=connect_timeout.total_seconds())
    async with (
        httpx.AsyncClient(
            timeout=limits, follow_redirects=False, trust_env=False, verify=verify
        ) as client,
        client.stream(
            "POST", target, content=body, headers=headers, extensions=extensions
        ) as response,
    ):
        excerpt = b""
        async for chunk in response.aiter_raw():
            excerpt += chunk
            if len(excerpt) >= EXCERPT_BYTES:
                break
        return response.status_code, response.headers, excerpt[:EXCERPT_BYTES]


def _run(work: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to its end from synchronous code; in a thread of its own when this one
    already runs an event loop (a caller inside async code), where `asyncio.run` refuses."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


def send(
    url: str,
    body: str,
    headers: dict[str, str],
    *,
    allow_private: bool,
    connect_timeout: timedelta,
    timeout: timedelta,
    verify: ssl.SSLContext | bool = True,
) -> Answer:
    """POST `body`; the answer on a 2xx, `SendError` otherwise. At most `connect_timeout` to
    connect and `timeout` for the whole attempt (connect, request, answer), however slowly
    the receiver trickles its answer: the attempt runs under one deadline."""
    try:
        target, host_header, extensions = _target(url, allow_private=allow_private)
    except RefusedDestinationError as exc:
        raise SendError(f"refused destination: {exc}", retryable=False) from exc
    except UnresolvedHostError as exc:
        raise SendError(f"connection failed: {exc}") from exc
    request_headers = {
        **headers,
        "host": host_header,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    exchange = _exchange(
        target,
        body.encode("utf-8"),
        request_headers,
        extensions,
        connect_timeout,
        timeout,
        verify=verify,
    )
    try:
        code, answer_headers, excerpt = _run(asyncio.wait_for(exchange, timeout.total_seconds()))
    except (TimeoutError, httpx.TimeoutException) as exc:
        limit = timeout.total_seconds()
        raise SendError(f"timed out ({type(exc).__name__}, limit {limit:g} s)") from exc
    except httpx.HTTPError as exc:
        raise SendError(f"connection failed: {type(exc).__name__}: {exc}") from exc
    answer = Answer(
        code,
        excerpt.decode("utf-8", "replace"),
        _retry_after(answer_headers.get("retry-after"), utcnow()),
    )
    if 200 <= code < 300:
        return answer
    if code == 410:
        raise SendError(
            "410 Gone: the receiver wants no more", retryable=False, answer=answer, gone=True
        )
    if 300 <= code < 400:
        where = answer_headers.get("location", "")
        raise SendError(
            f"HTTP {code}: redirects are not followed (Location: {where[:200]}); "
            "update the endpoint's URL",
            answer=answer,
        )
    raise SendError(f"HTTP {code}", answer=answer)


@dataclass(frozen=True, slots=True)
class _Claimed:
    attempt: int
    message_id: str
    body: str
    url: str
    secrets: list[str]
    endpoint_id: int


def _claim(
    sessions: Callable[[], Session], box: SecretBox, delivery_id: int, now: datetime
) -> _Claimed | None:
    with sessions() as session, session.begin():
        claimed = queue.claim(
            session,
            WEBHOOK_QUEUE,
            now,
            ids=[delivery_id],
            limit=1,
            count_attempt=True,
            max_attempts=MAX_ATTEMPTS,
            where=[repo.endpoint_enabled()],
        )
        if not claimed:
            return None
        parts = repo.send_parts(session, delivery_id)
        assert parts is not None
        attempts, message_id, body, url, secret_enc, previous_enc, expires, endpoint_id = parts
        secrets = signing_secrets(box, secret_enc, previous_enc, expires, utcnow())
        return _Claimed(int(attempts), message_id, body, url, secrets, int(endpoint_id))


def _answer_values(answer: Answer | None, at: datetime) -> dict[str, Any]:
    return {
        "last_status_code": None if answer is None else answer.status_code,
        "last_response": None if answer is None else answer.excerpt,
        "last_attempt_at": at,
    }


def _fail(
    sessions: Callable[[], Session],
    delivery_id: int,
    claim: _Claimed,
    exc: SendError,
    now: datetime,
    policy: RetryPolicy,
) -> str | None:
    with sessions() as session, session.begin():
        status = queue.fail(
            session,
            WEBHOOK_QUEUE,
            delivery_id,
            attempts=claim.attempt,
            error=str(exc),
            now=now,
            policy=policy,
            rng=_jitter,
            retry_after=_seconds(None if exc.answer is None else exc.answer.retry_after),
            permanent=not exc.retryable,
            attempt=claim.attempt,
            values=_answer_values(exc.answer, now),
        )
        if exc.gone and status is not None:
            session.execute(
                update(WebhookEndpoint)
                .where(col(WebhookEndpoint.id) == claim.endpoint_id)
                .values(enabled=False, updated_at=now)
            )
    log.warning("webhook delivery %s attempt %d failed: %s", delivery_id, claim.attempt, exc)
    return status


def _unexpected(delivery_id: int, exc: Exception) -> SendError:
    """A bug or an unforeseen failure: logged in full, retried like any failure."""
    log.exception("webhook delivery %s: unexpected error while sending", delivery_id)
    return SendError(f"{type(exc).__name__}: {exc}")


def deliver_due(
    sessions: SessionSource,
    box: SecretBox,
    *,
    now: datetime | None = None,
    limit: int = 100,
    policy: RetryPolicy = RETRY_POLICY,
    allow_private: bool | None = None,
    connect_timeout: timedelta | None = None,
    timeout: timedelta | None = None,
    tls: ssl.SSLContext | None = None,
) -> DeliveryReport:
    """Send up to `limit` deliveries due at `now` (tests fix it; the signature's timestamp is
    always the real time of the attempt, which receivers compare with their clocks). Never
    raises for one delivery; database errors propagate. Settings give the defaults; `tls`
    replaces the system's trusted certificates (tests; certifi's bundle by default)."""
    settings = get_settings()
    private = settings.webhooks_allow_private_networks if allow_private is None else allow_private
    connect = connect_timeout or timedelta(seconds=settings.webhooks_connect_timeout_seconds)
    total = timeout or timedelta(seconds=settings.webhooks_timeout_seconds)
    factory = session_factory(sessions)
    clock: Callable[[], datetime] = utcnow if now is None else (lambda: now)
    with factory() as session:
        due = queue.due_ids(
            session, WEBHOOK_QUEUE, clock(), limit=limit, where=[repo.endpoint_enabled()]
        )
    counts = {"delivered": 0, "retrying": 0, "dead": 0}
    for delivery_id in due:
        claim = _claim(factory, box, delivery_id, clock())
        if claim is None:
            continue
        headers = sign_headers(claim.message_id, claim.body, claim.secrets, utcnow())
        try:
            answer = send(
                claim.url,
                claim.body,
                headers,
                allow_private=private,
                connect_timeout=connect,
                timeout=total,
                verify=tls if tls is not None else True,
            )
        except Exception as exc:  # one delivery never stops the pass
            failure = exc if isinstance(exc, SendError) else _unexpected(delivery_id, exc)
            status = _fail(factory, delivery_id, claim, failure, clock(), policy)
            counts["dead" if status == DeliveryStatus.DEAD else "retrying"] += 1
            continue
        at = clock()
        with factory() as session, session.begin():
            queue.settle(
                session,
                WEBHOOK_QUEUE,
                delivery_id,
                {
                    "status": DeliveryStatus.SUCCEEDED,
                    "delivered_at": at,
                    "next_attempt_at": None,
                    "last_error": None,
                    "updated_at": at,
                    **_answer_values(answer, at),
                },
                attempt=claim.attempt,
            )
        counts["delivered"] += 1
    return DeliveryReport(**counts)
