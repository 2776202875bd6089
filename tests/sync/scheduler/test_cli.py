"""`python main.py scheduler` starts, registers its jobs in the database and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from sync.scheduler.models import apscheduler_jobs
from sync.scheduler.service import JOBS

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_scheduler_command_stops_on_sigterm(engine: Engine) -> None:
    process = subprocess.Popen(
        [sys.executable, "main.py", "scheduler"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # until it says it runs (or exits): no speed assumed
            if "scheduler running" in line:
                break
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "scheduler stopped" in output
    with Session(engine) as session:
        stored = set(session.scalars(select(apscheduler_jobs.c.id)))
    assert stored == {d.job_id for d in JOBS}
