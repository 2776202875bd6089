"""Temporary files of writers killed mid-write are removed by the next issuing run, and only
those: a live writer's file (it holds the lock) and a file too young to judge are kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from billing.documents.files import atomic_text_file, sweep_stale_temporaries
from billing.invoicing.closing import close_cycles
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import approve_invoices
from tests.billing.invoicing.builders import SIMPLE, at, last_month, month_text, send, setup_partner
from tests.processes import ROOT

WRITER = """
import sys, time
from pathlib import Path
from billing.documents.files import atomic_text_file
with atomic_text_file(Path(sys.argv[1])) as f:
    f.write("half an invoice")
    f.flush()
    print("writing", flush=True)
    time.sleep(600)
"""


def _killed_writer(target: Path) -> Path:
    """A process that dies (SIGKILL) while writing `target`; returns the file it left."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=60)
    (left,) = target.parent.glob(f".{target.name}.*.tmp")
    return left


@pytest.mark.slow
def test_only_the_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "documents" / "acme"
    orphan = _killed_writer(folder / "ACME-0001.pdf")
    young_orphan = _killed_writer(folder / "ACME-0002.pdf")
    later = time.time() + 3600
    os.utime(young_orphan, (later - 10, later - 10))
    keep = folder / "ACME-0000.pdf"
    keep.write_bytes(b"%PDF")
    os.utime(keep, (0, 0))
    with atomic_text_file(folder / "ACME-0003.csv") as live:
        live.write("still writing")
        (live_tmp,) = folder.glob(".ACME-0003.csv.*.tmp")
        os.utime(live_tmp, (0, 0))  # old, but its writer is alive and holds the lock
        assert sweep_stale_temporaries(
            tmp_path / "documents", now=datetime.fromtimestamp(later, UTC)
        ) == [orphan]
    assert not orphan.exists()
    assert young_orphan.exists()
    assert keep.exists()
    assert (folder / "ACME-0003.csv").read_text() == "still writing"
    assert sweep_stale_temporaries(tmp_path / "missing") == []


def test_the_next_issuing_run_sweeps_the_partner_folder(session: Session, tmp_path: Path) -> None:
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("e1", "c1", "voice", "30", at(month, 2))])
    close_cycles(session, "acme", period=month_text(month))
    approve_invoices(session, "acme", by="test")
    session.commit()
    folder = tmp_path / "documents" / "acme"
    orphan = _killed_writer(folder / "ACME-0001.pdf")
    os.utime(orphan, (time.time() - 3600, time.time() - 3600))
    ids = InvoiceRepository(session).ids_with_status("acme", InvoiceStatus.APPROVED)
    issue_invoices(session, "acme", ids, directory=tmp_path / "documents")
    session.commit()
    assert not orphan.exists()
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".tmp") == []
    assert any(p.suffix == ".pdf" for p in folder.iterdir())
