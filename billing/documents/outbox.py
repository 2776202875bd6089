"""Queueing and sending mail, so that issuing an invoice never waits for (or fails with) a mail
server.

`queue_email` only adds a row to the caller's session: the message is sent if and only if the
caller commits. `send_due_emails` runs later (CLI, scheduler) and works row by row in short
transactions of its own, on the work queue (`workqueue`, docs/work-queue.md):

1. claim: the queue leases a due row (counts the attempt, pushes `next_attempt_at` out by the
   lease) and the claim commits, so two workers never send the same row, and no database lock
   is held while talking to the mail server (on SQLite that lock would stop every other writer);
2. send, outside any transaction;
3. record: sent (time, Message-ID) or, on failure, the queue's retry policy: the next attempt
   after 1 min, 5 min, 30 min, 2 h (plus up to 10% jitter), then dead. A permanent refusal is
   dead at once.

A worker that dies between 1 and 3 leaves the row claimed until the lease ends; then it is sent
again with the same Message-ID (at-least-once, recognisable duplicates). One bad message never
stops the run: its failure is recorded and the next row is sent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP

from sqlalchemy import select
from sqlmodel import Session, col

from config.db import SessionSource, session_factory
from config.db_types import utcnow
from workqueue import QueueTable, RetryPolicy, table_of
from workqueue import repository as queue

from .backends import MailBackend, MailDeliveryError, message_id_of
from .models import EmailStatus, OutgoingEmail

__all__ = [
    "BACKOFF",
    "CLAIM_LEASE",
    "EMAIL_QUEUE",
    "MAX_ATTEMPTS",
    "RETRY_POLICY",
    "SendReport",
    "list_emails",
    "queue_email",
    "retry_email",
    "send_due_emails",
]

log = logging.getLogger(__name__)

BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
"""Wait after the 1st, 2nd, ... failed attempt; the attempt after the last wait is the last."""
MAX_ATTEMPTS = len(BACKOFF) + 1
CLAIM_LEASE = timedelta(minutes=15)
"""How long a claimed row is left alone; well above an SMTP exchange with its timeouts."""

RETRY_POLICY = RetryPolicy(
    max_attempts=MAX_ATTEMPTS, steps=BACKOFF, jitter_low=1.0, jitter_high=1.1
)
"""Up to 10% jitter, so that messages that failed together (a server outage) do not all come
back in the same second."""
EMAIL_QUEUE = QueueTable(
    kind="email",
    table=table_of(OutgoingEmail),
    waiting=(EmailStatus.QUEUED, EmailStatus.FAILED),
    dead=EmailStatus.DEAD,
    lease=CLAIM_LEASE,
    error_limit=2000,
)
"""No leased status: a claim counts the attempt and moves `next_attempt_at` out by the lease,
and the attempt number identifies the lease when the outcome is recorded."""
_jitter = random.Random()  # noqa: S311 - jitter, not secrets


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.dead


def queue_email(
    session: Session,
    message: EmailMessage,
    *,
    partner_id: str,
    kind: str,
    related_id: str | None = None,
    now: datetime | None = None,
) -> OutgoingEmail:
    """Add `message` to the outbox in the caller's transaction (nothing is sent, nothing is
    committed here). `kind` says what it is (`invoice`, `credit_note`, ...), `related_id` what
    it is about (the document number)."""
    row = OutgoingEmail(
        partner_id=partner_id,
        kind=kind,
        related_id=related_id,
        to_address=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        status=EmailStatus.QUEUED,
        next_attempt_at=now or utcnow(),
        message_id=message_id_of(message),
        body=message.as_bytes(policy=SMTP),
    )
    session.add(row)
    return row


def _due_ids(sessions: Callable[[], Session], now: datetime, limit: int) -> list[int]:
    with sessions() as session:
        return queue.due_ids(session, EMAIL_QUEUE, now, limit=limit)


def _claim(sessions: Callable[[], Session], row_id: int, now: datetime) -> tuple[int, bytes] | None:
    """Take the row if it is still due; returns (attempt number, message bytes)."""
    with sessions() as session, session.begin():
        claimed = queue.claim(
            session,
            EMAIL_QUEUE,
            now,
            ids=[row_id],
            limit=1,
            count_attempt=True,
            max_attempts=MAX_ATTEMPTS,
        )
        if not claimed:
            return None
        found = session.execute(
            select(col(OutgoingEmail.attempts), col(OutgoingEmail.body)).where(
                col(OutgoingEmail.id) == row_id
            )
        ).one()
        return int(found[0]), bytes(found[1])


def _record(
    sessions: Callable[[], Session], row_id: int, attempt: int, values: dict[str, object]
) -> None:
    """Write the outcome, unless the lease ran out and another worker claimed the row since."""
    with sessions() as session, session.begin():
        queue.settle(session, EMAIL_QUEUE, row_id, values, attempt=attempt)


def _parse(body: bytes) -> EmailMessage:
    parsed = message_from_bytes(body, _class=EmailMessage, policy=SMTP)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _fail(
    sessions: Callable[[], Session], row_id: int, attempt: int, exc: Exception, at: datetime
) -> EmailStatus:
    """Record a failed attempt through the queue's retry policy: retry later, or dead."""
    if isinstance(exc, MailDeliveryError):
        error, retryable = str(exc), exc.retryable
    else:  # a bug or an unforeseen failure: log it fully, keep going
        log.exception("outgoing_email %s: unexpected error while sending", row_id)
        error, retryable = f"{type(exc).__name__}: {exc}", True
    with sessions() as session, session.begin():
        status = queue.fail(
            session,
            EMAIL_QUEUE,
            row_id,
            attempts=attempt,
            error=error,
            now=at,
            policy=RETRY_POLICY,
            rng=_jitter,
            permanent=not retryable,
            attempt=attempt,
        )
    outcome = EmailStatus(status) if status is not None else EmailStatus.FAILED
    if outcome is EmailStatus.DEAD:
        log.error("outgoing_email %s is dead after %d attempts: %s", row_id, attempt, error)
    else:
        log.warning("outgoing_email %s attempt %d failed: %s", row_id, attempt, error)
    return outcome


def send_due_emails(
    sessions: SessionSource,
    backend: MailBackend,
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> SendReport:
    """Send up to `limit` queued or failed messages whose `next_attempt_at` has come.
    Never raises for one message; database errors do propagate. `now` fixes the clock (tests);
    by default each step reads the real one, so `sent_at` is when each message went."""
    factory = session_factory(sessions)
    clock: Callable[[], datetime] = utcnow if now is None else (lambda: now)
    outcomes = {EmailStatus.SENT: 0, EmailStatus.FAILED: 0, EmailStatus.DEAD: 0}
    for row_id in _due_ids(factory, clock(), limit):
        claim = _claim(factory, row_id, clock())
        if claim is None:
            continue  # another worker took it, or it was sent meanwhile
        attempt, body = claim
        try:
            message_id = backend.send(_parse(body))
        except Exception as exc:
            outcomes[_fail(factory, row_id, attempt, exc, clock())] += 1
            continue
        values: dict[str, object] = {
            "status": EmailStatus.SENT,
            "sent_at": clock(),
            "message_id": message_id,
            "next_attempt_at": None,
            "last_error": None,
        }
        _record(factory, row_id, attempt, values)
        outcomes[EmailStatus.SENT] += 1
    return SendReport(
        sent=outcomes[EmailStatus.SENT],
        retrying=outcomes[EmailStatus.FAILED],
        dead=outcomes[EmailStatus.DEAD],
    )


def list_emails(
    session: Session,
    *,
    status: EmailStatus | None = None,
    partner_id: str | None = None,
    limit: int = 50,
) -> Sequence[OutgoingEmail]:
    """Newest first."""
    query = select(OutgoingEmail).order_by(col(OutgoingEmail.id).desc()).limit(limit)
    if status is not None:
        query = query.where(col(OutgoingEmail.status) == status)
    if partner_id is not None:
        query = query.where(col(OutgoingEmail.partner_id) == partner_id)
    return session.execute(query).scalars().all()


def retry_email(session: Session, row_id: int, *, now: datetime | None = None) -> OutgoingEmail:
    """Put a dead or failed message back in the queue with a fresh set of attempts (after the
    operator fixed the address or the settings). A sent message is not sent again."""
    row = session.get(OutgoingEmail, row_id)
    if row is None:
        raise LookupError(f"no outgoing e-mail {row_id}")
    if row.status is EmailStatus.SENT:
        raise ValueError(f"outgoing e-mail {row_id} was sent at {row.sent_at}")
    statuses = (EmailStatus.QUEUED, EmailStatus.FAILED, EmailStatus.DEAD)
    queue.retry(
        session, EMAIL_QUEUE, now or utcnow(), ids=[row_id], statuses=statuses, clear_error=True
    )
    session.refresh(row)
    return row
