"""Bulk posting and trial balance speed.

Targets (issue 2): bulk posting >= 20,000 two-leg entries/s on SQLite; trial balance over
1,000,000 postings in under 1 s. Reference: raw sqlite3.executemany of the same rows.

    .venv/bin/python bench/ledger_post.py [--entries 100000] [--tb-postings 1000000]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine
from sqlmodel import Session

from bench._common import Timer, figure, fresh_postgres, fresh_sqlite
from ledger import EntrySpec, PostingSpec, open_standard_chart, post_entries, trial_balance

PARTNER = "bench"
CHUNK = 10_000
START = datetime(2026, 1, 1, tzinfo=UTC)


def specs(count: int, offset: int = 0) -> list[EntrySpec]:
    return [
        EntrySpec(
            f"bench:{offset + n}",
            START + timedelta(seconds=offset + n),
            (
                PostingSpec("1150", 100 + n % 977, "USD", f"c{n % 1000}", "sms"),
                PostingSpec("4000", -(100 + n % 977), "USD", f"c{n % 1000}", "sms"),
            ),
            source_type="accrual",
        )
        for n in range(count)
    ]


def post_all(engine: Engine, total: int, offset: int = 0) -> float:
    with Session(engine) as session:
        open_standard_chart(session, PARTNER, "USD")
        session.commit()
    batches = [specs(min(CHUNK, total - start), offset + start) for start in range(0, total, CHUNK)]
    with Timer() as timer:
        for batch in batches:
            with Session(engine) as session:
                post_entries(session, PARTNER, batch)
                session.commit()
    return timer.seconds


def raw_sqlite(path: Path, total: int) -> float:
    """The same rows through sqlite3.executemany, into the same migrated schema."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "INSERT INTO ledger_account (partner_id, code, name, type, currency, normal_side, created_at) "
        "VALUES ('raw','1150','u','asset','USD','debit','2026-01-01'), ('raw','4000','r','revenue','USD','credit','2026-01-01')"
    )
    debit_id, credit_id = (
        r[0]
        for r in conn.execute("SELECT id FROM ledger_account WHERE partner_id='raw' ORDER BY code")
    )
    first_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_entry").fetchone()[0]
    with Timer() as timer:
        for start in range(0, total, CHUNK):
            postings, entries = [], []
            for n in range(start, min(start + CHUNK, total)):
                entry_id = first_id + n
                when = (START + timedelta(seconds=n)).strftime("%Y-%m-%d %H:%M:%S.%f")
                amount = 100 + n % 977
                postings.append(
                    (entry_id, "raw", debit_id, amount, "USD", f"c{n % 1000}", "sms", when)
                )
                postings.append(
                    (entry_id, "raw", credit_id, -amount, "USD", f"c{n % 1000}", "sms", when)
                )
                entries.append((entry_id, "raw", f"raw:{n}", "h" * 64, when, when, "", "accrual"))
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO ledger_posting (entry_id, partner_id, account_id, amount, currency, client_id, usage_type, effective_at) VALUES (?,?,?,?,?,?,?,?)",
                postings,
            )
            conn.executemany(
                "INSERT INTO ledger_entry (id, partner_id, idempotency_key, body_hash, effective_at, recorded_at, memo, source_type) VALUES (?,?,?,?,?,?,?,?)",
                entries,
            )
            conn.execute("COMMIT")
    conn.close()
    return timer.seconds


def time_trial_balance(engine: Engine) -> tuple[float, bool]:
    with Session(engine) as session:
        trial_balance(session, PARTNER)  # warm the page cache, as a running service would be
        with Timer() as timer:
            report = trial_balance(session, PARTNER)
    return timer.seconds, report.is_balanced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--tb-postings", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.entries
    print(f"ledger bulk posting: {n:,} two-leg entries, chunks of {CHUNK:,}")

    engine, path = fresh_sqlite()
    seconds = post_all(engine, n)
    figure("SQLite bulk path (post_entries)", n / seconds, "entries/s", ">= 20,000 entries/s")
    raw = raw_sqlite(path, n)
    figure("SQLite raw sqlite3.executemany, same rows (reference)", n / raw, "entries/s")
    print(f"  bulk path reaches {raw / seconds:.0%} of raw sqlite3")
    with Timer() as replay, Session(engine) as session:
        for start in range(0, n, CHUNK):
            post_entries(session, PARTNER, specs(min(CHUNK, n - start), start))
        session.commit()
    figure("SQLite replay of the same entries (writes nothing)", n / replay.seconds, "entries/s")

    with fresh_postgres() as pg:
        if pg is not None:
            seconds = post_all(pg, n)
            figure("PostgreSQL bulk path (post_entries)", n / seconds, "entries/s")

    remaining = args.tb_postings // 2 - n
    if remaining > 0:
        post_all(engine, remaining, offset=n)
    tb_seconds, balanced = time_trial_balance(engine)
    print(
        f"  trial balance over {args.tb_postings:,} postings (SQLite): {tb_seconds * 1000:,.0f} ms"
        f"   target: < 1,000 ms   balanced: {balanced}"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
