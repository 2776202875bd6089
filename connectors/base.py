"""The one interface every accounting connector implements, in neutral terms.

`mappings/` turns our clients, usage types, invoices and credit notes into the neutral specs of
`remote_specs` (already resolved against the connection's mapping: account codes, tax codes,
item codes, and the "quantity 1 at the line amount" rule); a connector turns a spec into its
remote's wire format, sends it through `connectors.http`, and answers with `RemoteRef`s and
`RemoteInvoice`s. `sync/` decides when. Nothing here knows our database. The specs are
re-exported here because they are the interface's argument and answer types.

Every remote failure surfaces as one of the five `ConnectorError` subclasses, so the worker's
retry policy is written once: `RetryableError` and `RateLimitedError` are retried (the latter
not before `retry_after`), `AuthExpiredError` stops the connection until it is refreshed or
re-authorised, `RejectedError` and `NotFoundError` are permanent for that request (the partner
must fix data or mapping).
Batch methods answer per element: one rejected invoice never fails its 29 neighbours.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

from remote_specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    LineSpec,
    PaymentSpec,
    RemoteInvoice,
    RemotePayment,
    RemoteRef,
    RemoteStatus,
)

__all__ = [
    "AuthExpiredError",
    "Capability",
    "ConnectionInfo",
    "Connector",
    "ConnectorError",
    "CreditNoteSpec",
    "CustomerSpec",
    "FieldError",
    "InvoiceSpec",
    "ItemSpec",
    "LineSpec",
    "NotFoundError",
    "Outcome",
    "PaymentSpec",
    "PaymentsConnector",
    "RateLimitedError",
    "RejectedError",
    "RemoteInvoice",
    "RemotePayment",
    "RemoteRef",
    "RemoteStatus",
    "RetryableError",
]


class Capability(enum.StrEnum):
    CUSTOMERS = "customers"
    ITEMS = "items"
    INVOICES = "invoices"
    BATCH = "batch"  # many objects per request (QuickBooks /batch, Xero arrays)
    VOID = "void"
    CREDIT_NOTES = "credit_notes"
    PAYMENTS = "payments"
    IDEMPOTENCY_KEYS = "idempotency_keys"  # the remote replays a request with the same key


class Outcome(enum.StrEnum):
    """The fixed set of ways a remote call can fail."""

    RETRYABLE = "retryable"
    RATE_LIMITED = "rate_limited"
    AUTH_EXPIRED = "auth_expired"
    REJECTED = "rejected"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One complaint of the remote, in words a partner can act on. `field` is the remote's
    field path when it names one (``Line[2].SalesItemLineDetail.ItemRef``, ``Contact.Name``)."""

    message: str
    field: str | None = None
    code: str | None = None


class ConnectorError(Exception):
    """Base of the five outcomes. `message` is safe to show a partner (no tokens, no bodies
    with secrets); `status` is the HTTP status when there was one."""

    outcome: Outcome = Outcome.RETRYABLE

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RetryableError(ConnectorError):
    """5xx, timeouts, reset connections, conflicts worth another try (a stale SyncToken).
    `uncertain` is True when the request may have reached the remote and been committed there
    (a read timeout or reset after sending): before creating again, look the object up."""

    outcome = Outcome.RETRYABLE

    def __init__(self, message: str, *, status: int | None = None, uncertain: bool = False) -> None:
        super().__init__(message, status=status)
        self.uncertain = uncertain


class RateLimitedError(ConnectorError):
    outcome = Outcome.RATE_LIMITED

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = 429
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after  # seconds, from Retry-After or the rate budget


class AuthExpiredError(ConnectorError):
    """The access token was refused and could not be refreshed, or the refresh token itself is
    invalid: the connection needs the partner to re-authorise."""

    outcome = Outcome.AUTH_EXPIRED


class RejectedError(ConnectorError):
    outcome = Outcome.REJECTED

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[FieldError] = (),
        status: int | None = 400,
    ) -> None:
        super().__init__(message, status=status)
        self.errors = tuple(errors)


class NotFoundError(ConnectorError):
    outcome = Outcome.NOT_FOUND

    def __init__(self, message: str, *, status: int | None = 404) -> None:
        super().__init__(message, status=status)


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What a provider module's `build_connector(info, tokens, *, transport=None)` needs to
    know of a stored connection (tokens come separately, through a `TokenSource`)."""

    connection_id: str
    partner_id: str
    provider: str
    remote_tenant: str  # QuickBooks realmId, Xero tenant id, FreshBooks account id
    base_url: str | None = None  # None: the provider's production URL
    settings: Mapping[str, object] = field(default_factory=dict)  # partner-file mapping


@runtime_checkable
class Connector(Protocol):
    """One remote system for one connection (realm, tenant, account). All methods are async
    and raise `ConnectorError` subclasses; batch methods return one result per input, in
    order, each a value or the `ConnectorError` for that element. `idempotency_key` values are
    deterministic (`rebill:{connection}:{op}:{our id}:{version}`) so a retried request is
    replayed by remotes that support keys."""

    provider: str
    capabilities: frozenset[Capability]
    max_batch: int  # elements per batch request (1 when the remote has no batch endpoint)

    async def find_customers(self, references: Sequence[CustomerSpec]) -> list[RemoteRef | None]:
        """Look each customer up by our reference, then by display name."""
        ...

    async def upsert_customers(
        self, customers: Sequence[CustomerSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]: ...

    async def ensure_items(
        self, items: Sequence[ItemSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]:
        """Find each item by code (or name) and create the missing ones."""
        ...

    async def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        """Invoices that already exist remotely with these numbers (for the lookup that keeps
        an uncertain create from making a duplicate). Voided/deleted ones are included."""
        ...

    async def push_invoices(
        self, invoices: Sequence[InvoiceSpec], idempotency_keys: Sequence[str]
    ) -> list[RemoteRef | ConnectorError]: ...

    async def void_invoice(self, invoice: RemoteRef, idempotency_key: str) -> RemoteRef: ...

    async def push_credit_note(
        self, credit_note: CreditNoteSpec, idempotency_key: str
    ) -> RemoteRef: ...

    async def fetch_invoice(self, invoice: RemoteRef) -> RemoteInvoice: ...

    async def list_invoices(self, start: date, end: date) -> list[RemoteInvoice]:
        """Every invoice dated in [start, end], all pages."""
        ...

    async def check_references(self, references: Mapping[str, str]) -> dict[str, str]:
        """Of the remote objects a mapping names (setting path → remote id or code: accounts,
        tax codes, classes, tracking options), those that do not exist, with the reason."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class PaymentsConnector(Connector, Protocol):
    """A connector that can also put payments against invoices and read them back (issue 7).
    Separate from `Connector` so adapters gain it one at a time; check with `isinstance` or
    `Capability.PAYMENTS`."""

    async def record_payment(self, payment: PaymentSpec, idempotency_key: str) -> RemoteRef:
        """Apply the payment to the remote invoice, exactly once: look it up by our reference
        before creating when the remote has no idempotency keys."""
        ...

    async def list_payments(self, start: date, end: date) -> list[RemotePayment]:
        """Payments dated in [start, end] with the invoice each is applied to, all pages."""
        ...
