"""Re-encrypt every stored credential under a new key, in one transaction; and check, before a
process starts, that the key in force opens the credentials already stored.

Which columns: every column named `*_enc` in the schema (OAuth tokens, Stripe keys, FreshBooks
webhook verifiers, and any encrypted column added later under the same convention), found from
the metadata, so a new credential column can never be left behind by a rotation.

A rotation decrypts each value with the old key and encrypts it with the new one; if any value
does not open with the old key, or anything else fails, the transaction rolls back and every
row stays as it was. On PostgreSQL the rows are locked for the rotation, so a token refresh
running at that moment waits and then writes under its own key: stop the workers, schedulers
and API servers for a rotation (docs/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Column, Engine, Table, inspect
from sqlmodel import Session

from config.db import read_scope
from config.db_faults import storage_fault
from config.secret_key import SecretKeyError, key_source, next_key_file, secret_key
from connectors.connections.crypto import TokenCipher, TokenDecryptionError
from sync.keys.repository import encrypted_values, replace_encrypted_values

log = logging.getLogger(__name__)

__all__ = [
    "EncryptedTable",
    "RotationError",
    "check_key_in_force",
    "encrypted_tables",
    "probe",
    "rotate_credentials",
]

SAMPLE_ROWS = 5


class RotationError(RuntimeError):
    """A stored value does not open with the old key: nothing was changed."""


@dataclass(frozen=True, slots=True)
class EncryptedTable:
    table: Table
    columns: tuple[Column[str], ...]

    @property
    def name(self) -> str:
        return self.table.name


def encrypted_tables() -> list[EncryptedTable]:
    """Every table with `*_enc` columns, in a stable order."""
    from migrations.metadata import target_metadata

    found = []
    for table in target_metadata.sorted_tables:
        columns = tuple(c for c in table.columns if c.name.endswith("_enc"))
        if columns:
            found.append(EncryptedTable(table, columns))
    return found


def _rows(
    session: Session, spec: EncryptedTable, *, lock: bool, limit: int | None = None
) -> Iterator[tuple[dict[str, object], dict[str, str]]]:
    """(primary key, encrypted values that are set) per row."""
    return encrypted_values(session, spec.table, spec.columns, lock=lock, limit=limit)


def rotate_credentials(session: Session, old: TokenCipher, new: TokenCipher) -> dict[str, int]:
    """Re-encrypt every stored credential from `old` to `new` (the caller commits); returns
    the number of values re-encrypted per table. RotationError names the first value that
    does not open with `old`."""
    counts: dict[str, int] = {}
    for spec in encrypted_tables():
        counts[spec.name] = 0
        for key, values in list(_rows(session, spec, lock=True)):
            changed: dict[str, str] = {}
            for column, stored in values.items():
                try:
                    plain = old.decrypt(stored)
                except TokenDecryptionError:
                    where = ", ".join(f"{k}={v}" for k, v in key.items())
                    raise RotationError(
                        f"{spec.name}.{column} ({where}) does not open with the old key: is "
                        "it the key these credentials were encrypted with? Nothing was changed"
                    ) from None
                changed[column] = new.encrypt(plain)
            replace_encrypted_values(session, spec.table, key, changed)
            counts[spec.name] += len(changed)
    return counts


def probe(session: Session, cipher: TokenCipher) -> tuple[int, int]:
    """(values sampled, values that open with `cipher`): a few rows of each encrypted table."""
    names = set(inspect(session.connection()).get_table_names())
    sampled = opened = 0
    for spec in encrypted_tables():
        if spec.name not in names:
            continue
        for _key, values in _rows(session, spec, lock=False, limit=SAMPLE_ROWS):
            for stored in values.values():
                sampled += 1
                try:
                    cipher.decrypt(stored)
                except TokenDecryptionError:
                    continue
                opened += 1
    return sampled, opened


def check_key_in_force(engine: Engine, *, tolerate_storage_fault: bool = False) -> None:
    """What `init`, `serve`, `worker` and `scheduler` check before they start: a usable key
    (SecretKeyError otherwise, with what to do), no rotation left half-way, and, when
    credentials are stored, that the key opens them (a wrong key would fail every sync).

    With `tolerate_storage_fault` (the API server), a database that cannot be read at start
    (read-only file, PostgreSQL down) is logged and the stored credentials go unchecked: the
    server starts and answers 503 with the reason until the database is back, as it does for a
    fault that appears while it runs."""
    cipher = TokenCipher(secret_key())
    if next_key_file().exists():
        raise SecretKeyError(
            f"a key rotation was interrupted ({next_key_file()} exists): run "
            "`rebill secrets rotate` to finish it"
        )
    try:
        with read_scope(engine) as session:
            sampled, opened = probe(session, cipher)
    except Exception as exc:
        reason = storage_fault(exc)
        if not tolerate_storage_fault or reason is None:
            raise
        log.warning("stored credentials not checked at start: database unavailable: %s", reason)
        return
    if sampled and not opened:
        raise SecretKeyError(
            f"the secret key ({key_source()}) does not open any of the {sampled} stored "
            "credentials sampled: they were encrypted with another key. Restore that key (or "
            "re-encrypt with `rebill secrets rotate --old-key-file FILE`)"
        )
