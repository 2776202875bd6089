"""A table of test work items, shaped like a domain queue table (lease owner and expiry,
subject ordering), created beside the migrated schema: the queue is generic, so its tests
use a table of no domain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, insert

from config.db_types import UTCDateTime
from workqueue import QueueTable

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

_metadata = MetaData()
items = Table(
    "work_test_item",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("subject", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_by", String(64)),
    Column("locked_until", UTCDateTime),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime),
)

QUEUE = QueueTable(
    kind="test",
    table=items,
    waiting=("pending",),
    leased="leased",
    dead="dead",
    lease_column="locked_until",
    owner_column="locked_by",
    subject_columns=("subject",),
    holds_back=("pending", "leased", "dead"),
    lease=timedelta(minutes=5),
    updated_column="updated_at",
)


@pytest.fixture
def queue_engine(engine: Engine) -> Iterator[Engine]:
    _metadata.create_all(engine)
    try:
        yield engine
    finally:
        _metadata.drop_all(engine)


def add_items(engine: Engine, *subjects: str, at: datetime = T0) -> list[int]:
    """One pending item per subject given, due at `at`; their ids in order."""
    ids = []
    with engine.begin() as conn:
        for subject in subjects:
            result = conn.execute(
                insert(items).values(
                    key=f"k{len(ids)}-{subject}",
                    subject=subject,
                    status="pending",
                    attempts=0,
                    next_attempt_at=at,
                )
            )
            assert result.inserted_primary_key is not None
            ids.append(int(result.inserted_primary_key[0]))
    return ids
