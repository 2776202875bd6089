"""What the ingest benchmarks share: the partner, its clients and usage types, the generated
events, and the service path they all measure (`bulk`).

Not a benchmark itself (`make bench` runs it and it prints nothing).
"""

from __future__ import annotations

import random
import shutil
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert  # noqa: E402

from bench._common import Timer, fresh_sqlite  # noqa: E402
from billing.metering import ingest, load_catalog  # noqa: E402
from billing.tenants import Client, Partner, UsageType  # noqa: E402
from config.db import session_scope  # noqa: E402

__all__ = ["CHUNK", "PARTNER", "TYPES", "bulk", "copy_of", "make_events", "seed", "template"]

PARTNER = "bench"
CHUNK = 10_000
TYPES = [
    ("voice_minutes", 2),
    ("sms", 0),
    ("chat_conversations", 0),
    ("email_automations", 0),
    ("workflow_runs", 3),
    ("custom_a", 1),
    ("custom_b", 2),
    ("custom_c", 0),
]


def make_events(count: int, clients: int, types: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    events = []
    for _ in range(count):
        code, precision = TYPES[rng.randrange(types)]
        occurred = now - timedelta(seconds=rng.randrange(20 * 86_400))
        events.append(
            {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "client": f"client-{rng.randrange(clients):05d}",
                "usage_type": code,
                "quantity": Decimal(rng.randrange(1, 100_000)).scaleb(-precision),
                "occurred_at": occurred.isoformat(),
            }
        )
    return events


def template(folder: Path, clients: int, types: int) -> Path:
    """A migrated database with the partner, its clients and usage types; copied per run."""
    engine, path = fresh_sqlite(folder)
    seed(engine, clients, types)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def copy_of(source: Path, name: str) -> Path:
    target = source.with_name(f"{name}.sqlite3")
    shutil.copyfile(source, target)
    return target


def bulk(engine: Engine, events: list[dict[str, Any]]) -> tuple[float, int, int]:
    """The service path: one unit of work per 10,000 events, the catalog reused."""
    accepted = duplicates = 0
    with session_scope(engine) as session:
        catalog = load_catalog(session, PARTNER)
    with Timer() as timer:
        for start in range(0, len(events), CHUNK):
            with session_scope(engine) as session:
                result = ingest(session, PARTNER, events[start : start + CHUNK], catalog=catalog)
            accepted += result.accepted
            duplicates += result.duplicates
    return timer.seconds, accepted, duplicates


def seed(engine: Engine, clients: int, types: int, partner: str = PARTNER) -> None:
    """The partner, its clients and usage types (the template's rows, on any database)."""
    stamps = {"created_at": datetime.now(UTC), "updated_at": datetime.now(UTC)}
    with session_scope(engine) as session:
        session.execute(
            insert(Partner),
            [
                {
                    "id": partner,
                    "name": "Bench",
                    "currency": "USD",
                    "timezone": "UTC",
                    "invoice_prefix": "B",
                    "branding": {},
                    "settings": {"late_event_days": 90},
                    **stamps,
                }
            ],
        )
        session.execute(
            insert(Client),
            [
                {
                    "partner_id": partner,
                    "id": f"client-{n:05d}",
                    "name": f"Client {n}",
                    "address": {},
                    "currency": "USD",
                    "timezone": "America/New_York",
                    **stamps,
                }
                for n in range(clients)
            ],
        )
        session.execute(
            insert(UsageType),
            [
                {
                    "partner_id": partner,
                    "code": code,
                    "display_name": code,
                    "unit": "unit",
                    "precision": precision,
                    "wholesale_rate": Decimal("0.0123"),
                    "created_at": stamps["created_at"],
                }
                for code, precision in TYPES[:types]
            ],
        )
