"""Sandbox accounting systems on loopback: the QuickBooks and Xero fakes served over real HTTP,
and connections to them stored exactly as the OAuth callback stores real ones (encrypted
tokens, tenant, base URL), so the worker, the CLI and `make demo` run unchanged against them.

Used by `python main.py sandbox` (serve until interrupted), by `make demo` (in-process, to show
invoices arriving) and by the worker-kill test (the fakes outlive the killed workers).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from billing.tenants.models import Partner
from config.db_types import utcnow
from connectors.connections.crypto import cipher_from_settings
from connectors.connections.models import Connection, ConnectionStatus, Provider
from tests.fakes.base import FakeRemote
from tests.fakes.quickbooks import FakeQuickBooks
from tests.fakes.server import FakeServer
from tests.fakes.xero import FakeXero

__all__ = [
    "QUICKBOOKS_MAPPING",
    "XERO_MAPPING",
    "Sandbox",
    "connect_sandbox",
    "running_sandbox",
]

# Mapping settings naming objects each fake starts with (accounts, tax codes).
QUICKBOOKS_MAPPING: dict[str, Any] = {
    "default_income_account": "79",
    "tax_code": "TAX",
    "non_tax_code": "NON",
}
XERO_MAPPING: dict[str, Any] = {"default_account_code": "200", "no_tax_type": "NONE"}


@dataclass
class Sandbox:
    quickbooks: FakeQuickBooks
    xero: FakeXero
    quickbooks_url: str
    xero_url: str

    def fake(self, provider: str) -> FakeRemote:
        return self.quickbooks if provider == "quickbooks" else self.xero

    def url(self, provider: str) -> str:
        return self.quickbooks_url if provider == "quickbooks" else self.xero_url

    def tenant(self, provider: str) -> str:
        return self.quickbooks.realm if provider == "quickbooks" else self.xero.tenant_id


@contextmanager
def running_sandbox(
    *, quickbooks_port: int | None = None, xero_port: int | None = None, limits: bool = True
) -> Iterator[Sandbox]:
    """Both fakes on loopback for the duration of the block. `limits=False` lifts the fakes'
    rate limits (the demo pushes faster than Xero's 60 a minute would allow)."""
    quickbooks = FakeQuickBooks()
    xero = FakeXero(limits=limits)
    if not limits:
        quickbooks.limits.clear()
    with ExitStack() as stack:
        qbo_server = stack.enter_context(FakeServer(quickbooks, quickbooks_port))
        xero_server = stack.enter_context(FakeServer(xero, xero_port))
        yield Sandbox(quickbooks, xero, qbo_server.url, xero_server.url)


def connect_sandbox(
    session: Session,
    sandbox: Sandbox,
    partner_id: str,
    provider: str,
    *,
    name: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> Connection:
    """Store an active connection to the sandbox's `provider` (the caller commits): a token the
    fake accepts, valid for a day, and the mapping under the partner's settings."""
    name = name or provider
    fake = sandbox.fake(provider)
    token = fake.issue_token()
    cipher = cipher_from_settings()
    now = utcnow()
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise LookupError(f"partner {partner_id!r} does not exist")
    default = QUICKBOOKS_MAPPING if provider == "quickbooks" else XERO_MAPPING
    connections = dict(partner.settings.get("connections") or {})
    connections[name] = {"provider": provider, **(mapping or default)}
    partner.settings = {**partner.settings, "connections": connections}
    session.add(partner)
    connection = Connection(
        partner_id=partner_id,
        name=name,
        provider=Provider(provider),
        status=ConnectionStatus.ACTIVE,
        remote_tenant=sandbox.tenant(provider),
        remote_tenant_name=f"{partner.name} (sandbox)",  # as the remote names its company
        base_url=sandbox.url(provider),
        access_token_enc=cipher.encrypt(token),
        refresh_token_enc=cipher.encrypt(f"sandbox-refresh-{token}"),
        access_expires_at=now + timedelta(days=1),
        refresh_expires_at=now + timedelta(days=100),
        token_version=1,
        created_at=now - timedelta(seconds=1),
        updated_at=now,
    )
    session.add(connection)
    session.flush()
    return connection
