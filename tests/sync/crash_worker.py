"""A sync worker process for the kill test: `python -m tests.sync.crash_worker BASE_URL LEASE`.

Pushes to the QuickBooks fake served on loopback by the test (no auth), with a short lease so
rows a killed worker held are taken over quickly. The database is REBILL_DATABASE_URL."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import timedelta

from config.db import get_engine
from connectors.base import ConnectionInfo
from connectors.http import RetryPolicy
from connectors.quickbooks import build_connector
from mappings.quickbooks import mapping_from_settings
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.worker import Worker

REALM = "9130357"


def main(base_url: str, lease_seconds: float) -> None:
    mapping = mapping_from_settings(
        {"default_income_account": "79", "tax_code": "TAX", "non_tax_code": "NON"}
    )

    def open_remote(connection: ConnectionSummary) -> Remote:
        info = ConnectionInfo(connection.id, connection.partner_id, "quickbooks", REALM, base_url)
        return Remote(build_connector(info, None, retry=RetryPolicy(max_attempts=2)), mapping)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Worker(
        get_engine(), open_remote, lease=timedelta(seconds=lease_seconds), batch_size=20
    )
    worker.run_forever(stop, idle_seconds=0.2)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
