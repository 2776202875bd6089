"""Receiving FreshBooks webhook deliveries (`POST /webhooks/freshbooks` calls `receive`).

Two kinds of delivery arrive, both as forms naming the FreshBooks ``account_id``:
- ``callback.verify`` with a ``verifier``: we send the verifier back through the account's
  connection (`FreshBooksConnector.verify_callback`), and only when FreshBooks accepts it do we
  store it, encrypted, as that callback's secret. A forged verification therefore stores
  nothing: FreshBooks refuses a verifier it did not issue.
- every other event (``invoice.update``, ``payment.create``, ...): accepted only when
  ``X-FreshBooks-Hmac-SHA256`` matches under one of the account's stored verifiers; then
  `on_event(connection_id, event)` is told for each active connection of the account (the
  read-back of what changed is sync's job).

Answers: 400 a body that is not a FreshBooks callback, 401 a bad or missing signature (or no
verified callback yet), 404 no active connection for the account, 502 FreshBooks refused or
could not be reached during a verification (it will resend), 200 otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio
from sqlalchemy import Engine
from sqlmodel import Session, select

from config.db import read_scope, write_scope
from config.db_types import utcnow
from connectors.base import ConnectorError
from connectors.connections.crypto import TokenCipher, cipher_from_settings
from connectors.connections.models import Connection, ConnectionStatus, Provider
from connectors.freshbooks.models import FreshBooksCallback
from connectors.freshbooks.webhooks import (
    WebhookError,
    WebhookEvent,
    parse_event,
    verify_signature,
)

__all__ = ["CallbackVerifier", "Delivery", "active_connections", "receive", "store_verifier"]

logger = logging.getLogger("connectors.freshbooks")


class CallbackVerifier(Protocol):
    async def verify_callback(self, callback_id: str, verifier: str) -> None: ...

    async def aclose(self) -> None: ...


OpenConnector = Callable[[str], CallbackVerifier]
OnEvent = Callable[[str, WebhookEvent], None]


@dataclass(frozen=True, slots=True)
class Delivery:
    status_code: int
    detail: str
    event: WebhookEvent | None = None
    connection_ids: tuple[str, ...] = ()


def active_connections(session: Session, account_id: str) -> list[str]:
    rows = session.exec(
        select(Connection)
        .where(Connection.provider == Provider.FRESHBOOKS)
        .where(Connection.remote_tenant == account_id)
        .where(Connection.status == ConnectionStatus.ACTIVE)
        .order_by(Connection.created_at)  # type: ignore[arg-type]
    ).all()
    return [row.id for row in rows]


def store_verifier(
    session: Session,
    cipher: TokenCipher,
    *,
    account_id: str,
    callback_id: str,
    connection_id: str,
    verifier: str,
) -> None:
    """Insert or replace the verified callback's secret (FreshBooks may resend a new one);
    the caller's scope commits."""
    row = session.get(FreshBooksCallback, (account_id, callback_id))
    now = utcnow()
    if row is None:
        row = FreshBooksCallback(
            account_id=account_id,
            callback_id=callback_id,
            connection_id=connection_id,
            verifier_enc=cipher.encrypt(verifier),
        )
    row.connection_id = connection_id
    row.verifier_enc = cipher.encrypt(verifier)
    row.verified_at = now
    row.updated_at = now
    session.add(row)


def _verifiers(session: Session, cipher: TokenCipher, account_id: str) -> list[str]:
    rows = session.exec(
        select(FreshBooksCallback)
        .where(FreshBooksCallback.account_id == account_id)
        .where(FreshBooksCallback.verified_at.is_not(None))  # type: ignore[union-attr]
    ).all()
    return [cipher.decrypt(row.verifier_enc) for row in rows]


def _default_opener(engine: Engine) -> OpenConnector:
    def open_connector(connection_id: str) -> CallbackVerifier:
        from connectors.freshbooks.connector import FreshBooksConnector
        from connectors.registry import open_connector as open_registered

        connector = open_registered(engine, connection_id)
        if not isinstance(connector, FreshBooksConnector):  # pragma: no cover - misregistered
            raise TypeError(f"connection {connection_id} is not a FreshBooks connection")
        return connector

    return open_connector


async def receive(
    engine: Engine,
    body: bytes,
    signature: str | None,
    *,
    open_connector: OpenConnector | None = None,
    on_event: OnEvent | None = None,
    cipher: TokenCipher | None = None,
) -> Delivery:
    try:
        event = parse_event(body)
    except WebhookError as error:
        return Delivery(400, str(error))
    cipher = cipher or cipher_from_settings()

    def lookup() -> list[str]:
        with read_scope(engine) as session:
            return active_connections(session, event.account_id)

    connections = await anyio.to_thread.run_sync(lookup)
    if not connections:
        detail = f"account_id: no active FreshBooks connection for {event.account_id}"
        return Delivery(404, detail, event)
    if event.is_verification:
        return await _verify(engine, event, connections, open_connector, cipher)

    def secrets() -> list[str]:
        with read_scope(engine) as session:
            return _verifiers(session, cipher, event.account_id)

    verifiers = await anyio.to_thread.run_sync(secrets)
    if not verifiers:
        return Delivery(401, "signature: no verified FreshBooks callback for this account", event)
    if not any(verify_signature(v, body, signature) for v in verifiers):
        return Delivery(401, "signature: X-FreshBooks-Hmac-SHA256 does not match", event)
    if on_event is not None:
        for connection_id in connections:
            on_event(connection_id, event)
    logger.info("freshbooks webhook %s for %s accepted", event.name, event.account_id)
    return Delivery(200, "accepted", event, tuple(connections))


async def _verify(
    engine: Engine,
    event: WebhookEvent,
    connections: Sequence[str],
    open_connector: OpenConnector | None,
    cipher: TokenCipher,
) -> Delivery:
    verifier = event.verifier or ""
    connection_id = connections[0]
    connector = (open_connector or _default_opener(engine))(connection_id)
    try:
        await connector.verify_callback(event.object_id, verifier)
    except ConnectorError as error:
        return Delivery(502, f"verification refused or failed: {error.message}", event)
    finally:
        await connector.aclose()

    def save() -> None:
        with write_scope(engine) as session:
            store_verifier(
                session,
                cipher,
                account_id=event.account_id,
                callback_id=event.object_id,
                connection_id=connection_id,
                verifier=verifier,
            )

    await anyio.to_thread.run_sync(save)
    return Delivery(200, "verified", event, (connection_id,))
