"""Reading and writing the external-reference table (`mappings.models.ExternalRef`), and the
canonical hash of what we sent.

`put_ref` is an upsert that never commits: the worker calls it inside the transaction that
completes the outbox row, so "the remote has it" and "we know we did it" are one fact.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from config.db_types import utcnow
from config.key_arrays import keyed_queries, on_postgres
from mappings.models import ExternalRef, RefKind
from remote_specs import RemoteRef

__all__ = [
    "ExternalRef",
    "RefKind",
    "attempted",
    "get_ref",
    "get_refs",
    "mark_attempted",
    "put_ref",
    "remote_ref",
    "spec_hash",
]


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def spec_hash(spec: object) -> str:
    """SHA-256 of a spec's canonical JSON: equal specs hash equally whatever Decimal spelling
    (`1.50` / `1.5`) or mapping order they were built with."""
    text = json.dumps(_canonical(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def get_ref(session: Session, connection_id: str, kind: RefKind, our_id: str) -> ExternalRef | None:
    query = select(ExternalRef).where(
        col(ExternalRef.connection_id) == connection_id,
        col(ExternalRef.kind) == kind,
        col(ExternalRef.our_id) == our_id,
    )
    return session.exec(query).first()


def get_refs(
    session: Session, connection_id: str, kind: RefKind, our_ids: Iterable[str]
) -> dict[str, ExternalRef]:
    """Stored references by our id (missing ids are absent): IN lists on SQLite, a join on an
    array on PostgreSQL (`config.key_arrays`: no generic-plan trap as the references grow)."""
    found: dict[str, ExternalRef] = {}
    query = select(ExternalRef).where(
        col(ExternalRef.connection_id) == connection_id, col(ExternalRef.kind) == kind
    )
    wanted = sorted(set(our_ids))
    postgres = on_postgres(session)
    for chunk in keyed_queries(query, col(ExternalRef.our_id), wanted, postgres=postgres):
        found.update((ref.our_id, ref) for ref in session.exec(chunk))
    return found


def put_ref(
    session: Session,
    connection_id: str,
    kind: RefKind,
    our_id: str,
    ref: RemoteRef,
    sent_hash: str | None = None,
) -> None:
    """Insert or update the reference (not committed). One upsert statement, so two workers
    recording the same customer at once both succeed instead of one hitting the unique key."""
    now = utcnow()
    values: dict[str, Any] = {
        "remote_id": ref.remote_id,
        "remote_version": ref.version,
        "remote_number": ref.number,
        "updated_at": now,
    }
    if sent_hash is not None:
        values["sent_hash"] = sent_hash
    table: Any = ExternalRef.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(
        connection_id=connection_id,
        kind=kind,
        our_id=our_id,
        sent_hash=sent_hash,
        created_at=now,
        **{k: v for k, v in values.items() if k != "sent_hash"},
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["connection_id", "kind", "our_id"], set_=values
        )
    )


def mark_attempted(session: Session, connection_id: str, invoice_ids: Iterable[str]) -> None:
    """Record, before the first create of these invoices is sent, that a create may reach the
    remote (not committed: the caller commits before sending). Only invoices so marked can
    exist remotely without a reference here, so only they need a lookup before a create."""
    for our_id in sorted(set(invoice_ids)):
        put_ref(session, connection_id, RefKind.INVOICE_ATTEMPT, our_id, RemoteRef(""))


def attempted(session: Session, connection_id: str, invoice_ids: Iterable[str]) -> set[str]:
    """The invoices a create was ever sent for on this connection (by any outbox row)."""
    return set(get_refs(session, connection_id, RefKind.INVOICE_ATTEMPT, invoice_ids))


def remote_ref(row: ExternalRef) -> RemoteRef:
    return RemoteRef(row.remote_id, row.remote_version, row.remote_number)
