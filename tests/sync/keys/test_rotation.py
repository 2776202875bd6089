"""`rebill secrets rotate`: every stored credential moves to the new key in one transaction;
afterwards everything opens with the new key and nothing with the old; a failure half-way
(or a crash between the commit and the key file's replacement) loses nothing."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from typer.testing import CliRunner

import config.secret_key
from config.secret_key import SecretKeyError, key_file, next_key_file, secret_key
from config.settings import get_settings
from connectors.connections.crypto import TokenCipher, TokenDecryptionError
from connectors.freshbooks.models import FreshBooksCallback
from main import app
from sandbox.loopback import Sandbox, connect_sandbox
from sandbox.quickbooks import FakeQuickBooks
from sandbox.xero import FakeXero
from sync.keys.rotation import RotationError, check_key_in_force, encrypted_tables
from sync.stripe.accounts import connect_account
from tests.billing.invoicing.builders import setup_partner

PLAIN = {
    "sk_test_rotation_secret",
    "whsec_rotation_secret",
    "freshbooks-verifier-1",
}


def _store_credentials(session: Session) -> None:
    """One of everything encrypted: two OAuth connections, a Stripe account, a FreshBooks
    webhook verifier."""
    setup_partner(session)
    sandbox = Sandbox(FakeQuickBooks(), FakeXero(), "http://qbo.invalid", "http://xero.invalid")
    connection = connect_sandbox(session, sandbox, "acme", "quickbooks")
    connect_sandbox(session, sandbox, "acme", "xero")
    connect_account(
        session,
        "acme",
        secret_key="sk_test_rotation_secret",
        webhook_secret="whsec_rotation_secret",
    )
    session.add(
        FreshBooksCallback(
            account_id="acct-1",
            callback_id="7",
            connection_id=connection.id,
            verifier_enc=TokenCipher(secret_key()).encrypt("freshbooks-verifier-1"),
        )
    )
    session.commit()


def _stored(engine: Engine) -> dict[tuple[str, str, str], str]:
    """Every encrypted value as stored: (table, row key, column) -> ciphertext."""
    values = {}
    with Session(engine) as session:
        for spec in encrypted_tables():
            keys = list(spec.table.primary_key.columns)
            for row in session.execute(select(*keys, *spec.columns)).mappings():
                ident = "/".join(str(row[k.name]) for k in keys)
                for column in spec.columns:
                    if row[column.name] is not None:
                        values[(spec.name, ident, column.name)] = row[column.name]
    return values


def _opened(values: dict[Any, str], key: str) -> list[str]:
    cipher = TokenCipher(key)
    opened = []
    for stored in values.values():
        with contextlib.suppress(TokenDecryptionError):
            opened.append(cipher.decrypt(stored))
    return opened


def test_every_encrypted_column_is_rotated() -> None:
    found = {(spec.name, column.name) for spec in encrypted_tables() for column in spec.columns}
    assert {
        ("connector_connection", "access_token_enc"),
        ("connector_connection", "refresh_token_enc"),
        ("stripe_account", "secret_key_enc"),
        ("stripe_account", "webhook_secret_enc"),
        ("freshbooks_callback", "verifier_enc"),
    } <= found


def test_rotation_moves_every_credential_to_a_new_key(engine: Engine, session: Session) -> None:
    _store_credentials(session)
    old = secret_key()
    before = _stored(engine)
    assert len(before) == 7
    plain = sorted(_opened(before, old))
    assert set(plain) >= PLAIN

    result = CliRunner().invoke(app, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 7 stored credentials" in result.output

    new = secret_key()
    assert new != old
    assert oct(key_file().stat().st_mode & 0o777) == oct(0o600)
    assert not next_key_file().exists()
    after = _stored(engine)
    assert after.keys() == before.keys()
    assert all(after[k] != before[k] for k in before)
    assert sorted(_opened(after, new)) == plain
    assert _opened(after, old) == []
    check_key_in_force(engine)


def test_rotation_from_an_old_key_file_to_the_configured_key(
    engine: Engine, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The way off the public development key: the credentials were stored under it."""
    old = "dev-only-change-me"
    monkeypatch.setenv("REBILL_SECRET_KEY", old)
    get_settings.cache_clear()
    with pytest.raises(SecretKeyError, match="public development value"):
        secret_key()
    # Store under the public key, as an earlier version did.
    monkeypatch.setattr(config.secret_key, "_checked", lambda key, origin: key)
    _store_credentials(session)
    monkeypatch.undo()
    new = "a-new-key-of-forty-characters-0123456789"
    monkeypatch.setenv("REBILL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REBILL_SECRET_KEY", new)
    get_settings.cache_clear()
    with pytest.raises(SecretKeyError, match="does not open any"):
        check_key_in_force(engine)
    old_file = tmp_path / "old.key"
    old_file.write_text(old + "\n")

    refused = CliRunner().invoke(app, ["secrets", "rotate"])
    assert refused.exit_code != 0
    assert "--old-key-file" in str(refused.exception)

    result = CliRunner().invoke(app, ["secrets", "rotate", "--old-key-file", str(old_file)])
    assert result.exit_code == 0, result.output
    after = _stored(engine)
    assert set(_opened(after, new)) >= PLAIN
    assert len(_opened(after, new)) == len(after) == 7
    assert _opened(after, old) == []
    check_key_in_force(engine)


def test_a_failure_half_way_changes_nothing(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_credentials(session)
    old = secret_key()
    before = _stored(engine)
    key_bytes = key_file().read_bytes()
    calls = {"n": 0}
    real_encrypt = TokenCipher.encrypt

    def failing_encrypt(self: TokenCipher, token: str) -> str:
        calls["n"] += 1
        if calls["n"] == 5:  # after the connections, inside the Stripe account
            raise OSError("disk full (injected)")
        return real_encrypt(self, token)

    monkeypatch.setattr(TokenCipher, "encrypt", failing_encrypt)
    result = CliRunner().invoke(app, ["secrets", "rotate"])
    assert result.exit_code != 0
    assert isinstance(result.exception, OSError)
    assert calls["n"] == 5
    assert _stored(engine) == before
    assert key_file().read_bytes() == key_bytes
    assert not next_key_file().exists()
    assert secret_key() == old
    check_key_in_force(engine)


def test_a_value_that_does_not_open_stops_the_rotation(engine: Engine, session: Session) -> None:
    _store_credentials(session)
    with Session(engine) as other:
        row = other.execute(select(FreshBooksCallback)).scalar_one()
        row.verifier_enc = TokenCipher("some-other-key-0123456789").encrypt("x")
        other.add(row)
        other.commit()
    before = _stored(engine)
    result = CliRunner().invoke(app, ["secrets", "rotate"])
    assert isinstance(result.exception, RotationError)
    assert "freshbooks_callback.verifier_enc" in str(result.exception)
    assert _stored(engine) == before
    assert not next_key_file().exists()


def test_a_crash_after_the_commit_is_finished_by_the_next_rotate(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the commit and the key file's replacement: the new key waits in
    secret.key.next; every process refuses to start until `secrets rotate` finishes it."""
    _store_credentials(session)
    old = secret_key()
    import sync.keys.cli as keys_cli

    def crash(src: object, dst: object) -> None:
        raise KeyboardInterrupt  # stands for SIGKILL at that instant

    monkeypatch.setattr(keys_cli.os, "replace", crash)
    CliRunner().invoke(app, ["secrets", "rotate"])
    monkeypatch.undo()
    assert next_key_file().exists()
    assert secret_key() == old
    new = next_key_file().read_text().strip()
    assert len(_opened(_stored(engine), new)) == 7
    with pytest.raises(SecretKeyError, match="interrupted"):
        check_key_in_force(engine)

    result = CliRunner().invoke(app, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "finished an interrupted rotation" in result.output
    assert secret_key() == new
    assert not next_key_file().exists()
    check_key_in_force(engine)
    assert os.stat(key_file()).st_mode & 0o777 == 0o600
