"""One leased work queue for every kind of background work (docs/work-queue.md).

Bottom layer: imports only `config`, the standard library and SQLAlchemy/SQLModel, so ledger,
billing, sync and later partner webhooks can all stand on it.
"""

from __future__ import annotations

from .models import QueueTable, table_of
from .policy import RetryPolicy

__all__ = ["QueueTable", "RetryPolicy", "table_of"]
