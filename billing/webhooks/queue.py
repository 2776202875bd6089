"""The webhook deliveries' place on the work queue (docs/work-queue.md) and their retry
schedule.

The schedule is Standard Webhooks' example ("Deliverability and reliability": immediately,
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, about three days in all) with up to 10%
jitter, so deliveries that failed together (a receiver's outage) do not all come back in the
same second; a `Retry-After` of a 429 or 503 answer is honoured when it asks for longer.
"""

from __future__ import annotations

from datetime import timedelta

from workqueue import QueueTable, RetryPolicy, table_of

from .models import DeliveryStatus, WebhookDelivery

__all__ = ["BACKOFF", "CLAIM_LEASE", "MAX_ATTEMPTS", "RETRY_POLICY", "WEBHOOK_QUEUE"]

BACKOFF: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
"""Wait after the 1st, 2nd, ... failed attempt; the attempt after the last wait is the last."""
MAX_ATTEMPTS = len(BACKOFF) + 1
CLAIM_LEASE = timedelta(minutes=2)
"""How long a claimed delivery is left alone: well above one request with its timeouts."""

RETRY_POLICY = RetryPolicy(
    max_attempts=MAX_ATTEMPTS, steps=BACKOFF, jitter_low=1.0, jitter_high=1.1
)

WEBHOOK_QUEUE = QueueTable(
    kind="webhook",
    table=table_of(WebhookDelivery),
    waiting=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
    dead=DeliveryStatus.DEAD,
    lease=CLAIM_LEASE,
    updated_column="updated_at",
    error_limit=2000,
)
"""No leased status (as the mail outbox): a claim counts the attempt and moves
`next_attempt_at` out by the lease, and the attempt number identifies the lease."""
