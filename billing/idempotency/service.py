"""The rules of `Idempotency-Key`, after Stripe's (https://docs.stripe.com/api/idempotent_requests):

- a key is the client's, up to 255 characters, scoped to the partner of the API key;
- the first request's status code and body are kept; a retry of the same request (method, path
  and a hash of its canonical JSON body) gets them back without the route running again;
- the same key with another request is refused (`Mismatch`): a client bug, never guessed at;
- while the first request runs, a retry is told so (`InProgress`, 409) instead of running too;
- a key lasts 24 hours from its first request; after that it starts anew.

Stripe keeps 5xx answers too; here a 5xx is not kept and the key is released (the guard's
`release`), so a retry runs: a 5xx here means the work was rolled back (the unit of work is
the request), and running it again is the only way to get the answer Stripe would have kept.

Services never commit: the guard runs each function in a scope of its own or in the route's.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from billing.idempotency.models import IdempotencyKey
from billing.idempotency.repository import IdempotencyRepository

__all__ = [
    "HEADER",
    "LEASE",
    "MAX_KEY_LENGTH",
    "WINDOW",
    "Claimed",
    "InProgress",
    "InvalidKeyError",
    "Mismatch",
    "Outcome",
    "Replay",
    "RequestPrint",
    "begin",
    "check_key",
    "fingerprint",
    "finish",
    "prune",
    "release",
]

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
WINDOW = timedelta(hours=24)
"""Stripe's: a key may be pruned once it is 24 hours old, and a reuse after that is new."""
LEASE = timedelta(minutes=5)
"""How long a request may hold a key without an answer before a retry may take it over: only
a request whose process died gets there (each answer commits with the work it describes, so
taking over never runs the work twice: the holder, if still alive, fails to store its answer
and its work rolls back)."""


_PATH_LENGTH = 1000  # models.IdempotencyKey.path


class InvalidKeyError(ValueError):
    """The header's value cannot be a key; the message names the header."""


@dataclass(frozen=True, slots=True)
class RequestPrint:
    """What makes two requests "the same request" for a key."""

    method: str
    path: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request holds the key: run the route, then `finish` or `release` under `claim`."""

    claim: str


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: str
    is_error: bool


@dataclass(frozen=True, slots=True)
class InProgress:
    pass


@dataclass(frozen=True, slots=True)
class Mismatch:
    first: RequestPrint


Outcome = Claimed | Replay | InProgress | Mismatch


def check_key(raw: str) -> str:
    """The key, or `InvalidKeyError`: 1 to 255 printable ASCII characters (what every
    database stores as is, and what a UUID or any token a client would pick is made of)."""
    if not raw:
        raise InvalidKeyError(f"{HEADER}: empty; send 1 to {MAX_KEY_LENGTH} characters")
    if len(raw) > MAX_KEY_LENGTH:
        raise InvalidKeyError(
            f"{HEADER}: {len(raw)} characters, more than the {MAX_KEY_LENGTH} allowed"
        )
    if not all(" " <= c <= "~" for c in raw):
        raise InvalidKeyError(f"{HEADER}: only printable ASCII characters are allowed")
    return raw


def fingerprint(method: str, path: str, body: bytes) -> RequestPrint:
    """The request's method, path and a SHA-256 of them and its body in canonical JSON (keys sorted, no
    insignificant white space), so a retry that serialises the same object differently is
    still the same request; a body that is not JSON is hashed as it is."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode() + canonical).hexdigest()
    # The hash covers the whole path; the stored path (for the 422's message) fits its column.
    return RequestPrint(method.upper(), path[:_PATH_LENGTH], digest)


def begin(
    session: Session, partner_id: str, key: str, request: RequestPrint, now: datetime
) -> Outcome:
    """What a request with `key` does: run (`Claimed`), get the kept answer (`Replay`), or
    be refused (`InProgress`, `Mismatch`). A key older than `WINDOW`, or held without an
    answer for longer than `LEASE`, is taken over as if new."""
    repo = IdempotencyRepository(session)
    row = IdempotencyKey(
        partner_id=partner_id,
        key=key,
        method=request.method,
        path=request.path,
        fingerprint=request.fingerprint,
        claim=uuid.uuid4().hex,
        created_at=now,
    )
    if repo.insert_if_absent(row):
        return Claimed(row.claim)
    seen = repo.find(partner_id, key)
    if seen is None:  # released or pruned since the insert: try once more
        return Claimed(row.claim) if repo.insert_if_absent(row) else InProgress()
    expired = seen.created_at + WINDOW <= now
    abandoned = seen.status_code is None and seen.created_at + LEASE <= now
    if expired or abandoned:
        return Claimed(row.claim) if repo.take_over(seen, row) else InProgress()
    first = RequestPrint(seen.method, seen.path, seen.fingerprint)
    if first != request:
        return Mismatch(first)
    if seen.status_code is None or seen.response_body is None:
        return InProgress()
    return Replay(seen.status_code, seen.response_body, seen.is_error)


def finish(
    session: Session,
    partner_id: str,
    key: str,
    claim: str,
    status_code: int,
    body: str,
    *,
    is_error: bool = False,
) -> bool:
    """Keep the answer of the request holding `key` under `claim`; False when it holds it no
    longer (taken over after `LEASE`), and then its work must not be kept either."""
    repo = IdempotencyRepository(session)
    return repo.store_answer(partner_id, key, claim, status_code, body, is_error=is_error)


def release(session: Session, partner_id: str, key: str, claim: str) -> None:
    """Forget the key of a request that failed with nothing to keep, so a retry runs."""
    IdempotencyRepository(session).release(partner_id, key, claim)


def prune(session: Session, now: datetime) -> int:
    """Delete every key older than `WINDOW` (the scheduler's `idempotency_prune` job); the
    number deleted. A key seen after its window is taken over anyway, pruned or not."""
    return IdempotencyRepository(session).delete_created_before(now - WINDOW)
