"""Posting and reversing entries. Services never commit: the caller's unit of work does.

One code path serves a single entry and a bulk of 100,000: validate everything first (nothing is
written if any entry is wrong), drop replays, then insert all postings and all entries in two
statements over many rows. On PostgreSQL the insert runs in a savepoint: a concurrent writer that
wins the race on an idempotency key makes it roll back and the batch re-check its keys once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from config.db_types import utcnow
from ledger.errors import (
    AccountNotFoundError,
    AlreadyReversedError,
    IdempotencyConflictError,
    InvalidEntryError,
    LedgerError,
    UnbalancedEntryError,
)
from ledger.models import Account, JournalEntry
from ledger.repository import LedgerRepository
from ledger.schemas import EntrySpec, PostingResult, PostingSpec

__all__ = ["post_entries", "post_entry", "reverse_entry", "validate_entry"]

_MAX_KEY = 200


def validate_entry(spec: EntrySpec) -> None:
    """Code-level invariants; the database enforces balance and immutability again."""
    key = spec.idempotency_key
    if not key or len(key) > _MAX_KEY:
        raise InvalidEntryError(key, f"idempotency key must be 1 to {_MAX_KEY} characters")
    if "\x00" in key or "\x00" in spec.memo:
        raise InvalidEntryError(key, "idempotency key and memo must not contain NUL characters")
    if spec.effective_at.tzinfo is None or spec.effective_at.utcoffset() is None:
        raise InvalidEntryError(key, "effective_at must carry a time zone")
    if len(spec.postings) < 2:
        raise InvalidEntryError(key, "an entry needs at least two postings")
    imbalance: dict[str, int] = defaultdict(int)
    for index, leg in enumerate(spec.postings):
        amount = leg.amount
        if type(amount) is not int:
            raise InvalidEntryError(key, f"postings[{index}].amount must be integer minor units")
        if amount == 0:
            raise InvalidEntryError(key, f"postings[{index}].amount must not be zero")
        imbalance[leg.currency] += amount
    off = {currency: total for currency, total in imbalance.items() if total != 0}
    if off:
        raise UnbalancedEntryError(key, off)


def post_entry(session: Session, partner_id: str, spec: EntrySpec) -> JournalEntry:
    """Post one entry, or return the one already posted under the same key and body."""
    result = post_entries(session, partner_id, [spec])
    repo = LedgerRepository(session)
    entry = repo.entry(partner_id, result.entry_ids[0])
    assert entry is not None
    return entry


def post_entries(session: Session, partner_id: str, specs: Sequence[EntrySpec]) -> PostingResult:
    """The bulk path: all or nothing; replays of already-posted keys are no-ops."""
    hashes: dict[str, str] = {}
    unique: list[EntrySpec] = []
    for spec in specs:
        validate_entry(spec)
        body = spec.body_hash()
        seen = hashes.get(spec.idempotency_key)
        if seen is None:
            hashes[spec.idempotency_key] = body
            unique.append(spec)
        elif seen != body:
            raise IdempotencyConflictError(spec.idempotency_key)
    repo = LedgerRepository(session)
    repo.claim_sqlite_writer()
    accounts = _account_index(repo, partner_id, unique)
    for attempt in (1, 2):
        existing = repo.keys_posted(partner_id, hashes)
        for key, (_, body) in existing.items():
            if body != hashes[key]:
                raise IdempotencyConflictError(key)
        fresh = [spec for spec in unique if spec.idempotency_key not in existing]
        ids = dict(
            zip(
                (spec.idempotency_key for spec in fresh),
                repo.allocate_entry_ids(len(fresh)),
                strict=True,
            )
        )
        # A savepoint lets PostgreSQL writers that race on a key re-check and retry; SQLite has
        # one writer at a time, and there a savepoint would double the cost of the insert.
        guard = session.begin_nested() if repo.has_concurrent_writers else nullcontext()
        try:
            with guard:
                repo.insert_sealed(partner_id, fresh, ids, hashes, accounts)
        except IntegrityError:
            if attempt == 2:
                raise
            continue
        all_ids = {**{k: id_ for k, (id_, _) in existing.items()}, **ids}
        return PostingResult(
            entry_ids=tuple(all_ids[spec.idempotency_key] for spec in specs),
            posted=len(fresh),
            replayed=len(specs) - len(fresh),
        )
    raise LedgerError("unreachable")  # pragma: no cover


def reverse_entry(
    session: Session,
    partner_id: str,
    entry_id: int,
    *,
    effective_at: datetime | None = None,
    memo: str | None = None,
    idempotency_key: str | None = None,
) -> JournalEntry:
    """A new entry with every leg negated (dimensions kept, the service period included, so a
    void reduces the period it corrects), linked to the original; at most one per entry."""
    repo = LedgerRepository(session)
    original = repo.entry(partner_id, entry_id)
    if original is None:
        raise LedgerError(f"partner {partner_id!r} has no entry {entry_id}")
    key = idempotency_key or f"reversal:{original.idempotency_key}"
    previous = repo.reversal_of(original.entry_id)
    if previous is not None:
        if previous.idempotency_key == key:
            return previous
        raise AlreadyReversedError(original.idempotency_key, previous.idempotency_key)
    if original.reverses_entry_id is not None:
        raise InvalidEntryError(original.idempotency_key, "a reversal cannot itself be reversed")
    legs = tuple(
        PostingSpec(
            account=account.code,
            amount=-posting.amount,
            currency=posting.currency,
            client_id=posting.client_id,
            usage_type=posting.usage_type,
            service_period=posting.service_period,
        )
        for posting, account in repo.postings_of([original.entry_id])
    )
    spec = EntrySpec(
        idempotency_key=key,
        effective_at=effective_at or utcnow(),
        postings=legs,
        memo=memo or f"Reversal of {original.idempotency_key}",
        source_type=original.source_type,
        source_id=original.source_id,
        reverses_entry_id=original.entry_id,
    )
    return post_entry(session, partner_id, spec)


def _account_index(
    repo: LedgerRepository, partner_id: str, specs: Sequence[EntrySpec]
) -> dict[tuple[str, str], Account]:
    index = {(a.code, a.currency): a for a in repo.accounts(partner_id)}
    for spec in specs:
        for leg in spec.postings:
            if (leg.account, leg.currency) not in index:
                raise AccountNotFoundError(partner_id, leg.account, leg.currency)
    return index
