"""Ledger posting on PostgreSQL as the ledger grows: entries/s per chunk, and COPY beside it.

Goal (issue 17): posting >= 0.7 of COPY into the same schema, and flat (the last chunk within
20% of the first) as the ledger grows to 200,000 entries. Run twice by default: on fresh
tables never analysed (autovacuum is switched off on them: that is where a generic plan over
an IN list used to scan the partner's whole ledger for every chunk of keys), then with the
tables analysed after every chunk.

    REBILL_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1/test \\
        .venv/bin/python bench/ledger_pg_growth.py [--entries 200000] [--statistics both]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text
from sqlmodel import Session

from bench._common import Timer, figure, fresh_postgres, goal_summary, ratio
from bench.ledger_post import CHUNK, PARTNER, START, specs
from ledger import open_standard_chart, post_entries

_TABLES = ("ledger_entry", "ledger_posting", "ledger_account")


def per_chunk(engine: Engine, total: int, analyse: bool) -> list[float]:
    """Entries/s of each chunk of `CHUNK` entries, one transaction each."""
    with Session(engine) as session:
        open_standard_chart(session, PARTNER, "USD")
        for table in _TABLES:
            session.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
        session.commit()
    rates: list[float] = []
    for start in range(0, total, CHUNK):
        batch = specs(min(CHUNK, total - start), start)
        with Timer() as timer, Session(engine) as session:
            post_entries(session, PARTNER, batch)
            session.commit()
        rates.append(len(batch) / timer.seconds)
        if analyse:
            with engine.begin() as conn:
                conn.execute(text("ANALYZE ledger_entry; ANALYZE ledger_posting"))
    return rates


def copy_reference(engine: Engine, total: int) -> float:
    """The same rows (entries and two postings each) by COPY, in chunks, for another partner."""
    with Session(engine) as session:
        open_standard_chart(session, "copy", "USD")
        session.commit()
        debit, credit = (
            int(v)
            for v in session.scalars(
                text(
                    "SELECT id FROM ledger_account WHERE partner_id = 'copy' "
                    "AND code IN ('1150', '4000') ORDER BY code"
                )
            )
        )
        first = int(session.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM ledger_entry")) or 1)
    when, hashed = START.isoformat(), "h" * 64
    with Timer() as timer:
        for start in range(0, total, CHUNK):
            with engine.begin() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                with driver.cursor() as cursor:
                    stop = min(start + CHUNK, total)
                    with cursor.copy(
                        "COPY ledger_posting (entry_id, partner_id, account_id, amount, currency,"
                        " client_id, usage_type, effective_at) FROM STDIN"
                    ) as copy:
                        for n in range(start, stop):
                            amount = 100 + n % 977
                            tags = ("USD", f"c{n % 1000}", "sms", when)
                            copy.write_row((first + n, "copy", debit, amount, *tags))
                            copy.write_row((first + n, "copy", credit, -amount, *tags))
                    with cursor.copy(
                        "COPY ledger_entry (id, partner_id, idempotency_key, body_hash,"
                        " effective_at, recorded_at, memo, source_type) FROM STDIN"
                    ) as copy:
                        for n in range(start, stop):
                            key = f"copy:{n}"
                            copy.write_row(
                                (first + n, "copy", key, hashed, when, when, "", "accrual")
                            )
    return total / timer.seconds


def one_run(total: int, analyse: bool) -> None:
    state = "analysed after every chunk" if analyse else "never analysed"
    print(f"tables {state}:")
    with fresh_postgres() as pg:
        if pg is None:
            return
        rates = per_chunk(pg, total, analyse)
        print("  per chunk (entries/s): " + ", ".join(f"{r:,.0f}" for r in rates))
        figure("first chunk", rates[0], "entries/s")
        figure("last chunk", rates[-1], "entries/s")
        overall = total / sum(CHUNK / r for r in rates)
        figure("post_entries overall", overall, "entries/s")
        reference = copy_reference(pg, total)
        figure("COPY of the same rows, same schema (reference)", reference, "entries/s")
        ratio(f"posting / COPY ({state})", overall, reference, 0.7)
        ratio(f"last chunk / first chunk ({state})", rates[-1], rates[0], 0.8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument(
        "--statistics",
        choices=("never", "analysed", "both"),
        default="both",
        help="run with tables never analysed, analysed after every chunk, or both (default)",
    )
    args = parser.parse_args()
    print(f"ledger posting on PostgreSQL: {args.entries:,} entries, chunks of {CHUNK:,}")
    if args.statistics in ("never", "both"):
        one_run(args.entries, analyse=False)
    if args.statistics in ("analysed", "both"):
        one_run(args.entries, analyse=True)
    goal_summary()


if __name__ == "__main__":
    main()
