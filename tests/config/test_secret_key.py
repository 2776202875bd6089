"""The secret key has no default in the source: `init` generates one into the data directory
(0600), every process of that directory uses it, and the old public value is refused by every
command that starts work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.secret_key import (
    PUBLIC_DEV_KEY,
    SecretKeyError,
    ensure_secret_key,
    key_file,
    secret_key,
)
from config.settings import Settings, get_settings
from tests.processes import ROOT, rebill


def _fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory without a key, and no REBILL_SECRET_KEY."""
    data = tmp_path / "fresh"
    monkeypatch.setenv("REBILL_DATA_DIR", str(data))
    monkeypatch.delenv("REBILL_SECRET_KEY")
    get_settings.cache_clear()
    return data


def test_the_source_has_no_default_key() -> None:
    assert Settings.model_fields["secret_key"].default is None
    source = (ROOT / "config" / "settings.py").read_text()
    assert PUBLIC_DEV_KEY not in source


def test_without_a_key_nothing_can_encrypt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh(tmp_path, monkeypatch)
    with pytest.raises(SecretKeyError, match="rebill init"):
        secret_key()


def test_ensure_generates_a_private_key_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _fresh(tmp_path, monkeypatch)
    where, created = ensure_secret_key()
    assert created and where == str(data / "secret.key")
    assert oct(key_file().stat().st_mode & 0o777) == oct(0o600)
    first = secret_key()
    assert len(first) >= 43  # 256 bits, URL-safe base64
    assert ensure_secret_key() == (where, False)
    assert secret_key() == first
    other = tmp_path / "other"
    monkeypatch.setenv("REBILL_DATA_DIR", str(other))
    get_settings.cache_clear()
    ensure_secret_key()
    assert secret_key() != first and other != data


@pytest.mark.parametrize("value", [PUBLIC_DEV_KEY, "short"])
def test_unusable_configured_keys_are_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REBILL_SECRET_KEY", value)
    get_settings.cache_clear()
    with pytest.raises(SecretKeyError, match="REBILL_SECRET_KEY"):
        secret_key()


def test_an_empty_configured_key_counts_as_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh(tmp_path, monkeypatch)
    monkeypatch.setenv("REBILL_SECRET_KEY", "")
    get_settings.cache_clear()
    where, created = ensure_secret_key()
    assert created and where == str(key_file())


def test_a_key_file_holding_the_public_value_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh(tmp_path, monkeypatch)
    key_file().parent.mkdir(parents=True)
    key_file().write_text(PUBLIC_DEV_KEY)
    with pytest.raises(SecretKeyError, match="public development value"):
        secret_key()


@pytest.mark.slow
def test_init_generates_the_key_and_every_command_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "site"
    env = {"REBILL_DATA_DIR": str(data), "REBILL_DATABASE_URL": "", "REBILL_SECRET_KEY": ""}
    done = rebill("init", env=env)
    assert done.returncode == 0, done.stderr
    assert f"secret key generated: {data / 'secret.key'}" in done.stdout
    assert oct((data / "secret.key").stat().st_mode & 0o777) == oct(0o600)
    assert oct((data / "rebill.sqlite3").stat().st_mode & 0o777) == oct(0o600)
    key = (data / "secret.key").read_text().strip()
    again = rebill("init", env=env)
    assert again.returncode == 0 and "generated" not in again.stdout
    assert (data / "secret.key").read_text().strip() == key
    # Another process of the same data directory encrypts with the same key.
    monkeypatch.setenv("REBILL_DATA_DIR", str(data))
    monkeypatch.delenv("REBILL_SECRET_KEY")
    get_settings.cache_clear()
    assert secret_key() == key


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [["init"], ["serve", "--port", "1"], ["worker", "--once"], ["scheduler"], ["demo"]],
)
def test_every_starting_command_refuses_the_public_key(command: list[str], tmp_path: Path) -> None:
    env = {
        "REBILL_DATA_DIR": str(tmp_path / "site"),
        "REBILL_DATABASE_URL": "",
        "REBILL_SECRET_KEY": PUBLIC_DEV_KEY,
        "REBILL_PUBLIC_URL": "https://billing.example",
    }
    done = rebill(*command, env=env, timeout=120)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "public development value" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "site" / "secret.key").exists()


def test_the_app_factory_refuses_the_public_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Also when uvicorn (or gunicorn) is started on the factory directly."""
    monkeypatch.setenv("REBILL_SECRET_KEY", PUBLIC_DEV_KEY)
    get_settings.cache_clear()
    from api.app import create_app

    with pytest.raises(SecretKeyError):
        create_app()


@pytest.mark.slow
def test_uvicorn_on_the_factory_does_not_start_with_the_public_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--port", "1"],
        cwd=ROOT,
        env={**os.environ, "REBILL_SECRET_KEY": PUBLIC_DEV_KEY},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "public development value" in done.stderr
