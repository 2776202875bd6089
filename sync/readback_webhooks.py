"""QuickBooks and Xero webhooks in: verify the signature, then read back the payments of the
connections the notification names (`sync.readback.pull_payments`).

- QuickBooks: ``intuit-signature`` is the base64 HMAC-SHA256 of the raw body keyed with the
  app's verifier token (setting ``quickbooks_webhook_verifier``). The body lists
  ``eventNotifications[].realmId`` with ``dataChangeEvent.entities`` (name, id, operation);
  a notification touching a Payment or an Invoice reads that company's payments back.
- Xero: ``x-xero-signature`` is the base64 HMAC-SHA256 of the raw body keyed with the webhook
  key (setting ``xero_webhook_key``). Xero wants 200 with an empty body for a correctly signed
  request and 401 otherwise, within 5 seconds; the intent-to-receive handshake is a signed
  request with no events. ``events[].tenantId`` names the organisations.

Both answer before reading back: the read-back runs as a background task after the response
(lists of payments can take longer than Xero's 5 seconds), and is safe to run any number of
times (payments are recorded once). A missing secret refuses every delivery: an unsigned
webhook must never be trusted. Signatures are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine

from config.db import read_scope
from config.json_body import JsonBodyError, parse_json
from config.text import text_problem
from sync.connections_repository import active_connection_ids_for_tenants
from sync.readback import ReadbackReport, pull_payments

__all__ = [
    "quickbooks_realms",
    "read_back_tenants",
    "sign",
    "signature_ok",
    "xero_tenants",
]

log = logging.getLogger("rebill.sync.webhooks")

_QUICKBOOKS_ENTITIES = frozenset({"payment", "invoice"})


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    """The header is the base64 HMAC-SHA256 of exactly these bytes under `secret`."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = parse_json(body or b"{}")
    except JsonBodyError as exc:
        raise ValueError(f"body: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError("body: a JSON object was expected")
    return data


def quickbooks_realms(body: bytes) -> list[str]:
    """Realm ids whose notification touches payments or invoices, in order, once each."""
    realms: list[str] = []
    for note in _json(body).get("eventNotifications") or []:
        if not isinstance(note, dict) or not note.get("realmId"):
            continue
        entities = (note.get("dataChangeEvent") or {}).get("entities") or []
        names = {str(e.get("name", "")).lower() for e in entities if isinstance(e, dict)}
        realm = str(note["realmId"])
        if names & _QUICKBOOKS_ENTITIES and realm not in realms and not text_problem(realm):
            realms.append(realm)
    return realms


def xero_tenants(body: bytes) -> list[str]:
    """Tenant ids of the events (none for the intent-to-receive handshake)."""
    tenants: list[str] = []
    for event in _json(body).get("events") or []:
        tenant = event.get("tenantId") if isinstance(event, dict) else None
        if tenant and str(tenant) not in tenants and not text_problem(str(tenant)):
            tenants.append(str(tenant))
    return tenants


def _connections(engine: Engine, provider: str, tenants: Iterable[str]) -> list[str]:
    wanted = list(tenants)
    if not wanted:
        return []
    with read_scope(engine) as session:
        return active_connection_ids_for_tenants(session, provider, wanted)


def read_back_tenants(
    engine: Engine,
    provider: str,
    tenants: Iterable[str],
    pull: Callable[[Engine, str], ReadbackReport] | None = None,
) -> list[ReadbackReport]:
    """Read back every active connection of these remote companies; a failure of one is
    logged (the next webhook or the schedule picks it up), never raised to the sender."""
    pull = pull or pull_payments
    reports: list[ReadbackReport] = []
    for connection_id in _connections(engine, provider, tenants):
        try:
            reports.append(pull(engine, connection_id))
        except Exception:  # the webhook was already answered; the schedule retries
            log.exception("read-back of %s after a %s webhook failed", connection_id, provider)
    return reports
