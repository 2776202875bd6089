"""Run in a spawned process by the race test: one worker asking for the connection's token."""

from __future__ import annotations

import asyncio
from typing import Any


def fetch_token(connection_id: str, start: Any, results: Any) -> None:
    from config.db import create_db_engine
    from config.settings import get_settings
    from connectors.connections.token_source import DatabaseTokenSource

    engine = create_db_engine(get_settings().resolved_database_url)
    source = DatabaseTokenSource(engine, connection_id)
    start.wait(timeout=300)
    try:
        results.put(("ok", asyncio.run(source.access_token())))
    except Exception as exc:  # reported to the test, which fails with it
        results.put(("error", repr(exc)))
    finally:
        engine.dispose()
