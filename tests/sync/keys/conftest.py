"""Rotation tests run as a default install does: no REBILL_SECRET_KEY, the key in the data
directory's `secret.key`, generated as `init` does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from config.secret_key import ensure_secret_key
from config.settings import get_settings


@pytest.fixture(autouse=True)
def _key_in_the_data_directory(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("REBILL_SECRET_KEY")
    get_settings.cache_clear()
    ensure_secret_key()
    yield
    get_settings.cache_clear()
