"""The scaling bench's rollups: daily and hourly sums of usage, filled a month (a partition) at
a time, and what keeping the hourly one in step with ingest costs. A mixin of
`scaling.Simulation`, apart from it because the rollups are one experiment among the variants
the simulation compares (docs/scaling.md), not part of loading or measuring.

Not a benchmark itself (`make bench` runs it and it prints nothing); `bench/scaling.py` is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

__all__ = ["Rollups"]


class Rollups:
    engine: Engine
    sql: Callable[..., None]  # `Simulation.sql`: one statement in its own transaction

    def roll(self, grain: str, source: str) -> None:
        """Add one month's events (its partition) into the rollup (an upsert: re-runnable)."""
        self.sql(
            f"INSERT INTO rollup_{grain} SELECT partner_id, client_id, usage_type,"
            f" date_trunc('{grain}', occurred_at, 'UTC'), sum(quantity), count(*),"
            f" max(received_at), max(quantity) FROM {source}"
            " GROUP BY partner_id, client_id, usage_type, 4"
            f" ON CONFLICT (partner_id, client_id, usage_type, bucket) DO UPDATE SET"
            f" quantity = rollup_{grain}.quantity + excluded.quantity,"
            f" events = rollup_{grain}.events + excluded.events,"
            f" newest = greatest(rollup_{grain}.newest, excluded.newest),"
            f" top = greatest(rollup_{grain}.top, excluded.top)"
        )

    def roll_batch(self, events: list[dict[str, Any]]) -> None:
        """What keeping the hourly rollup in step with ingest costs: the batch grouped in
        Python, one upsert from arrays (as it would run in the ingest transaction)."""
        groups: dict[tuple[str, str, datetime], list[int]] = {}
        for e in events:
            hour = datetime.fromisoformat(e["occurred_at"]).replace(
                minute=0, second=0, microsecond=0
            )
            scaled = int(e["quantity"].scaleb(6))
            group = groups.setdefault((e["client"], e["usage_type"], hour), [0, 0, 0])
            group[0] += scaled
            group[1] += 1
            group[2] = max(group[2], scaled)
        keys = list(groups)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO rollup_hour SELECT 'bench', c, t, b, q, n, now(), m FROM"
                    " unnest(CAST(:c AS text[]), CAST(:t AS text[]),"
                    " CAST(:b AS timestamptz[]), CAST(:q AS bigint[]), CAST(:n AS bigint[]),"
                    " CAST(:m AS bigint[])) AS u(c, t, b, q, n, m)"
                    " ON CONFLICT (partner_id, client_id, usage_type, bucket) DO UPDATE SET"
                    " quantity = rollup_hour.quantity + excluded.quantity,"
                    " events = rollup_hour.events + excluded.events,"
                    " newest = greatest(rollup_hour.newest, excluded.newest),"
                    " top = greatest(rollup_hour.top, excluded.top)"
                ),
                {
                    "c": [k[0] for k in keys],
                    "t": [k[1] for k in keys],
                    "b": [k[2] for k in keys],
                    "q": [groups[k][0] for k in keys],
                    "n": [groups[k][1] for k in keys],
                    "m": [groups[k][2] for k in keys],
                },
            )
