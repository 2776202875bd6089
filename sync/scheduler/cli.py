"""`python main.py scheduler` (runs until SIGTERM/SIGINT) and `python main.py jobs [--json]`."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer

from config.cli_helpers import AsJson, echo_json
from config.db import get_engine
from sync.keys.rotation import check_key_in_force

from .jobs import JobContext
from .service import build_scheduler, job_listing

__all__ = ["jobs_command", "scheduler_command"]


def scheduler_command() -> None:
    """Run every scheduled job (accrual, cycle close, sync, payments, tokens, Stripe, mail,
    reconciliation) until SIGTERM or SIGINT; several may run, each occurrence runs once."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    check_key_in_force(get_engine())
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler = build_scheduler(JobContext(get_engine()))
    scheduler.start()
    typer.echo("scheduler running; SIGTERM or Ctrl-C stops it")
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)  # lets running jobs finish and record their result
    typer.echo("scheduler stopped")


def jobs_command(
    *,
    as_json: AsJson = False,
) -> None:
    """Each scheduled job: schedule, last run and result, next run."""
    listing = job_listing(get_engine())
    if as_json:
        echo_json(listing)
        return
    for job in listing:
        last = job["last_run"] or "never"
        result = str(job["last_result"] or "-")
        if job["last_message"] and job["last_result"] == "error":
            result += f" ({job['last_message']})"
        typer.echo(
            f"{job['job']:<18} {job['schedule']:<28} last {last} {result}; next {job['next_run']}"
        )
