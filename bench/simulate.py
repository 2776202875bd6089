"""Pricing simulator speed: one period of 10,000 clients x 5 usage types re-rated with a proposal.

Target (issue 19): under 5 s on SQLite on this machine. Beside it, in the same run, the time of
rating the same period as is through the existing path (`rate_clients`, what live figures and
accrual use) and of the margins of the period (`period_figures`, the simulation's "before").
Medians of 3 rounds each.

The partner, its 10,000 clients (2 plans, one client in ten with its own price, a tenth billed
from the 15th) and the events are bench/rating.py's, set up the same way (`config apply` and
the bulk ingest service; not part of the target). The simulation runs on 2 April 2026 against
March: every client's period starting in March, not invoiced yet (live figures).

    .venv/bin/python bench/simulate.py                                 # 10,000 x 5, 1,000,000
    .venv/bin/python bench/simulate.py --clients 1000 --events 100000  # quick run
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine
from sqlmodel import Session

from bench._common import Timer, at_most, figure, fresh_sqlite, goal_summary
from bench.rating import NOW as EVENTS_UNTIL
from bench.rating import PARTNER, make_events, set_up
from billing.margins import parse_period, period_figures
from billing.pricing import rate_clients
from billing.simulation import SimulationIn, simulate

AT = datetime(2026, 4, 2, 12, tzinfo=UTC)
ROUNDS = 3
PROPOSAL = {
    "periods": ["2026-03"],
    "changes": [
        {
            "kind": "plan_price",
            "plan": "growth",
            "usage_type": "voice",
            "price": {
                "model": "graduated",
                "tiers": [
                    {"up_to": 1000, "unit_price": "0.16"},
                    {"up_to": 5000, "unit_price": "0.13"},
                    {"unit_price": "0.10"},
                ],
            },
        },
        {"kind": "plan_fees", "plan": "starter", "base_fee": "9.00", "minimum_spend": "20.00"},
        {"kind": "client_discount", "client": "c00004", "discount_percent": "12.5"},
        {
            "kind": "wholesale",
            "usage_type": "sms",
            "price": {"model": "per_unit", "unit_price": "0.009"},
        },
    ],
}


CPU: dict[str, float] = {}


def _median(run: Callable[[], Any], name: str) -> tuple[float, Any]:
    """Median wall time of `ROUNDS` runs (and, in `CPU`, the median CPU time of this process:
    on a machine shared with other work the wall time is mostly waiting for a CPU)."""
    times, cpu, result = [], [], None
    for _ in range(ROUNDS):
        gc.collect()
        started = time.process_time()
        with Timer() as timer:
            result = run()
        times.append(timer.seconds)
        cpu.append(time.process_time() - started)
    CPU[name] = statistics.median(cpu)
    return statistics.median(times), result


def measure(engine: Engine, clients: int) -> None:
    body = SimulationIn.model_validate(PROPOSAL)
    empty = SimulationIn.model_validate({"periods": PROPOSAL["periods"]})

    def as_is() -> int:
        with Session(engine) as session:
            return len(rate_clients(session, PARTNER, EVENTS_UNTIL))

    def margins() -> int:
        with Session(engine) as session:
            return len(period_figures(session, PARTNER, parse_period("2026-03"), AT).cells)

    def simulated(proposal: SimulationIn) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as session:
                return simulate(session, PARTNER, proposal.periods, proposal.changes, AT)

        return run

    rated, count = _median(as_is, "as is")
    before, _cells = _median(margins, "margins")
    nothing, _ = _median(simulated(empty), "nothing")
    seconds, result = _median(simulated(body), "proposal")
    print(f"  -- SQLite, {clients:,} clients, period 2026-03, medians of {ROUNDS}")
    figure(f"rate the period as is (rate_clients, {count:,} clients)", rated * 1000, "ms")
    figure("  CPU time of this process", CPU["as is"] * 1000, "ms")
    figure("margins of the period (period_figures)", before * 1000, "ms")
    figure("  CPU time of this process", CPU["margins"] * 1000, "ms")
    figure("simulate with no change", nothing * 1000, "ms")
    figure("  CPU time of this process", CPU["nothing"] * 1000, "ms")
    at_most(f"simulate with a proposal ({len(body.changes)} changes; issue 19)", seconds, 5, "s")
    figure("  CPU time of this process", CPU["proposal"] * 1000, "ms")
    print(f"  simulate with a proposal / rate as is, same run: {seconds / rated:.2f}")
    [total] = result.portfolio
    print(
        f"  re-rated {result.client_periods:,} client periods; portfolio revenue "
        f"{total.before.charge:,} -> {total.after.charge:,} cents, cost {total.before.cost:,} -> "
        f"{total.after.cost:,}; {len(result.crossed_below)} client(s) cross below "
        f"{result.threshold} %"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--types", type=int, default=5, choices=range(1, 6))
    args = parser.parse_args()
    print(f"simulate: {args.clients:,} clients x {args.types} usage types, {args.events:,} events")
    print(f"  load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    events = make_events(args.events, args.clients, args.types)
    gc.freeze()
    engine, _ = fresh_sqlite()
    applied, ingested = set_up(engine, args.clients, events)
    figure("config apply of the partner file (setup)", applied, "s")
    figure("bulk ingest of the events (setup)", args.events / ingested, "events/s")
    del events
    measure(engine, args.clients)
    engine.dispose()
    goal_summary()


if __name__ == "__main__":
    main()
