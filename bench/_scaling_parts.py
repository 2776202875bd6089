"""The scaling bench's fixed parts: the SQL it generates and aggregates with, how it counts
the work of a query (pages touched), and the ledger part (trial balance as postings grow).

Not a benchmark itself (`make bench` runs it and it prints nothing); `bench/scaling.py` is.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from bench._common import Timer
from ledger import trial_balance

PARTNER = "bench"
COLUMNS = (
    "id, partner_id, client_id, usage_type, event_id, quantity, occurred_at, received_at,"
    " properties, source, wholesale_cost, currency, adjusts_id, body_hash"
)
# One generated event per n: ids and times rise with n (as arrivals do), clients and usage
# types are spread by hashes, event ids are random-looking like a platform's UUIDs.
GENERATED = """
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'bench',
       'client-' || lpad((abs(hashint8extended(n, 1)) % {clients})::text, 5, '0'),
       (ARRAY['voice_minutes','sms','chat_conversations','email_automations','workflow_runs'])
           [1 + abs(hashint8extended(n, 2)) % 5],
       md5(n::text), (1 + abs(hashint8extended(n, 3)) % 10000) * 10000,
       :start + (n - :first) * :step * interval '1 microsecond',
       :start + (n - :first) * :step * interval '1 microsecond' + interval '3 seconds',
       NULL, 'api', abs(hashint8extended(n, 4)) % 500, 'USD', NULL, left(md5('b' || n), 32)
FROM generate_series(:first, :last - 1) AS n
"""
SECONDARY = {  # dropped while a month is loaded, rebuilt after (as a bulk load would)
    "ix_usage_event_rating": "CREATE INDEX ix_usage_event_rating ON usage_event"
    " (partner_id, client_id, usage_type, occurred_at, quantity, received_at, adjusts_id)",
}
UNIQUE = "ALTER TABLE usage_event ADD CONSTRAINT uq_usage_event_partner_event UNIQUE"
AGGREGATE = """
SELECT client_id, usage_type, sum({q}), {n}, max({newest}), max({top})
FROM {table} WHERE partner_id = 'bench' AND {time} >= :start AND {time} < :end
GROUP BY client_id, usage_type ORDER BY client_id, usage_type
"""
ALL_SUMS = (
    "SELECT account_id, sum(amount) FROM ledger_posting WHERE partner_id = 'bench' GROUP BY 1"
)
MONTH_SUMS = (
    "SELECT account_id, sum(amount) FROM ledger_posting WHERE partner_id = 'bench'"
    " AND effective_at >= :start AND effective_at < :end GROUP BY 1"
)
RAW = {"q": "quantity", "n": "count(*)", "newest": "received_at", "top": "quantity"}
ROLLED = {"q": "quantity", "n": "sum(events)", "newest": "newest", "top": "top"}


def pages(engine: Engine, sql: str, params: dict[str, Any]) -> int:
    """8 kB pages the query touches (shared hit + read, EXPLAIN ANALYZE BUFFERS): the
    measure of work that does not depend on how busy the machine's CPUs are."""
    with engine.connect() as conn:
        plan = conn.execute(
            text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"), params
        ).scalar_one()
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


def median(run: Callable[[], int], times: int = 3) -> float:
    run()  # warm: a running service reads from a warm cache too
    found = []
    for _ in range(times):
        with Timer() as timer:
            run()
        found.append(timer.seconds)
    return statistics.median(found)


def ledger(engine: Engine, postings: list[int], months: list[tuple[datetime, datetime]]) -> None:
    """Trial balance as postings grow, beside one month's per-account sums."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_account (partner_id, code, name, type, currency, normal_side,"
                " created_at) SELECT 'bench', 'A' || k, 'Account ' || k,"
                " CASE WHEN k % 2 = 0 THEN 'asset' ELSE 'revenue' END, 'USD',"
                " CASE WHEN k % 2 = 0 THEN 'debit' ELSE 'credit' END, now()"
                " FROM generate_series(0, 19) AS k"
            )
        )
        low = int(conn.execute(text("SELECT min(id) FROM ledger_account")).scalar_one())
    # The last month always holds the first load's postings; each later load goes into the
    # months before it at the same rate, so the history grows and the month does not.
    earliest, length = months[-1][0], months[-1][1] - months[-1][0]
    done = 0
    window = {"start": months[-1][0], "end": months[-1][1]}
    for target in postings:
        entries = (target - done) // 2
        first = done // 2
        span = length * ((target - done) / postings[0])
        start = earliest if done else months[-1][0]
        start, earliest = (start - span, start - span) if done else (start, start)
        step = span // timedelta(microseconds=1) // entries
        with Timer() as load, engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            at = ":start + (n - :first)::bigint * :step * interval '1 microsecond'"
            conn.execute(
                text(
                    "INSERT INTO ledger_entry (id, partner_id, idempotency_key, body_hash,"
                    f" effective_at, recorded_at, memo, source_type) SELECT n + 1, 'bench',"
                    f" 'k' || n, md5(n::text), {at}, {at}, '', 'accrual'"
                    " FROM generate_series(:first, :last - 1) AS n"
                ),
                {"start": start, "step": step, "first": first, "last": first + entries},
            )
            conn.execute(
                text(
                    "INSERT INTO ledger_posting (entry_id, partner_id, account_id, amount,"
                    " currency, client_id, usage_type, effective_at, service_period)"
                    f" SELECT n + 1, 'bench', :low + 2 * (n % 10) + side, (100 + n % 977) *"
                    f" (1 - 2 * side), 'USD', 'client-' || lpad((n % 1000)::text, 5, '0'), 'sms',"
                    f" {at}, date_trunc('month', {at})::date"
                    " FROM generate_series(:first, :last - 1) AS n, (VALUES (0), (1)) AS s(side)"
                ),
                {"start": start, "step": step, "first": first, "last": first + entries, "low": low},
            )
            conn.execute(text("SELECT setval('ledger_entry_id_seq', :n)"), {"n": first + entries})
        done = target
        vacuum(engine, "ledger_entry, ledger_posting")

        def tb() -> int:
            with Session(engine) as session:
                report = trial_balance(session, PARTNER)
                assert report.is_balanced
                return len(report.rows)

        def month() -> int:
            with engine.connect() as conn:
                return len(conn.execute(text(MONTH_SUMS), window).all())

        whole, last = median(tb), median(month)
        print(
            f"  {target:,} postings (loaded in {load.seconds:,.0f} s): trial balance"
            f" {whole * 1000:,.0f} ms ({pages(engine, ALL_SUMS, {}):,} pages);"
            f" last month's per-account sums {last * 1000:,.0f} ms"
            f" ({pages(engine, MONTH_SUMS, window):,} pages)"
        )


def vacuum(engine: Engine, tables: str = "") -> None:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text(f"VACUUM ANALYZE {tables}")
        )
