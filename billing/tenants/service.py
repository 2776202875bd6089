"""Creating and changing tenants, and turning a presented API key into a `Principal`.

Services never commit. API keys are random 256-bit secrets, so one SHA-256 (no salt, no slow
hash) is enough to make a stolen table useless while keeping the per-request check to one
indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from pydantic import ValidationError
from sqlmodel import Session

from billing.tenants.errors import (
    AlreadyExistsError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    TenantError,
)
from billing.tenants.models import ApiKey, Client, ClientStatus, Partner, Scope, UsageType
from billing.tenants.repository import TenantRepository
from billing.tenants.schemas import (
    ApiKeyCreated,
    ApiKeyRead,
    ClientCreate,
    ClientUpdate,
    PartnerCreate,
    PartnerUpdate,
    Principal,
    UsageTypeCreate,
    UsageTypeUpdate,
)
from config.db_types import utcnow
from config.text import line_problem

__all__ = [
    "KEY_PREFIX",
    "api_key_read",
    "authenticate",
    "create_api_key",
    "create_client",
    "create_partner",
    "create_usage_type",
    "get_client",
    "get_partner",
    "hash_key",
    "list_api_keys",
    "list_clients",
    "list_partners",
    "list_usage_types",
    "revoke_api_key",
    "update_client",
    "update_partner",
    "update_usage_type",
]

KEY_PREFIX = "rbk_"
DEFAULT_PARTNER_SCOPES = (Scope.INGEST, Scope.READ)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def get_partner(session: Session, partner_id: str) -> Partner:
    partner = TenantRepository(session).partner(partner_id)
    if partner is None:
        raise NotFoundError("partner", partner_id)
    return partner


def create_partner(session: Session, spec: PartnerCreate) -> Partner:
    repo = TenantRepository(session)
    if repo.partner(spec.id) is not None:
        raise AlreadyExistsError("partner", spec.id)
    partner = Partner(
        id=spec.id,
        name=spec.name,
        currency=spec.currency,
        timezone=spec.timezone,
        invoice_prefix=spec.invoice_prefix or spec.id.upper()[:20],
        branding=spec.branding.model_dump(exclude_none=True),
        settings=spec.settings.model_dump(mode="json"),
    )
    return repo.add(partner)


def update_partner(session: Session, partner_id: str, spec: PartnerUpdate) -> Partner:
    partner = get_partner(session, partner_id)
    changes = spec.model_dump(exclude_unset=True)
    if spec.branding is not None:
        changes["branding"] = spec.branding.model_dump(exclude_none=True)
    if spec.settings is not None:
        changes["settings"] = spec.settings.model_dump(mode="json")
    for field, value in changes.items():
        setattr(partner, field, value)
    partner.updated_at = utcnow()
    return TenantRepository(session).add(partner)


def list_partners(session: Session) -> list[Partner]:
    return TenantRepository(session).partners()


def list_clients(
    session: Session,
    partner_id: str,
    *,
    status: ClientStatus | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[Client]:
    return TenantRepository(session).clients(partner_id, status=status, after=after, limit=limit)


def get_client(session: Session, partner_id: str, client_id: str) -> Client:
    client = TenantRepository(session).client(partner_id, client_id)
    if client is None:
        raise NotFoundError("client", client_id)
    return client


def create_client(session: Session, partner_id: str, spec: ClientCreate) -> Client:
    partner = get_partner(session, partner_id)
    repo = TenantRepository(session)
    if repo.client(partner_id, spec.id) is not None:
        raise AlreadyExistsError("client", spec.id)
    _check_external_ref(repo, partner_id, spec.external_ref, spec.id)
    client = Client(
        partner_id=partner_id,
        id=spec.id,
        name=spec.name,
        external_ref=spec.external_ref,
        billing_email=spec.billing_email,
        address=spec.address.model_dump(exclude_none=True),
        currency=spec.currency or partner.currency,
        timezone=spec.timezone or partner.timezone,
        billing_anchor_day=spec.billing_anchor_day,
        status=spec.status,
    )
    return repo.add(client)


def update_client(session: Session, partner_id: str, client_id: str, spec: ClientUpdate) -> Client:
    repo = TenantRepository(session)
    client = get_client(session, partner_id, client_id)
    changes = spec.model_dump(exclude_unset=True)
    if "external_ref" in changes:
        _check_external_ref(repo, partner_id, spec.external_ref, client_id)
    if spec.address is not None:
        changes["address"] = spec.address.model_dump(exclude_none=True)
    for field, value in changes.items():
        setattr(client, field, value)
    client.updated_at = utcnow()
    return repo.add(client)


def _check_external_ref(
    repo: TenantRepository, partner_id: str, external_ref: str | None, client_id: str
) -> None:
    if external_ref is None:
        return
    holder = repo.client_by_external_ref(partner_id, external_ref)
    if holder is not None and holder.id != client_id:
        raise AlreadyExistsError("client external_ref", external_ref)


def create_usage_type(session: Session, partner_id: str, spec: UsageTypeCreate) -> UsageType:
    get_partner(session, partner_id)
    repo = TenantRepository(session)
    if repo.usage_type(partner_id, spec.code) is not None:
        raise AlreadyExistsError("usage type", spec.code)
    return repo.add(UsageType(partner_id=partner_id, **spec.model_dump()))


def update_usage_type(
    session: Session, partner_id: str, code: str, spec: UsageTypeUpdate
) -> UsageType:
    """Change what the spec sets; the result must still satisfy `UsageTypeCreate`'s rule that
    only `unique_count` has (and needs) an aggregation property."""
    repo = TenantRepository(session)
    usage_type = repo.usage_type(partner_id, code)
    if usage_type is None:
        raise NotFoundError("usage type", code)
    changes = spec.model_dump(exclude_unset=True)
    merged = {
        "code": usage_type.code,
        "display_name": usage_type.display_name,
        "unit": usage_type.unit,
        "precision": usage_type.precision,
        "aggregation": usage_type.aggregation,
        "aggregation_property": usage_type.aggregation_property,
        "wholesale_rate": usage_type.wholesale_rate,
        **changes,
    }
    try:
        UsageTypeCreate.model_validate(merged)
    except ValidationError as exc:
        raise TenantError(f"usage type {code!r}: {exc.errors()[0]['msg']}") from exc
    for field, value in changes.items():
        setattr(usage_type, field, value)
    return repo.add(usage_type)


def list_usage_types(session: Session, partner_id: str) -> list[UsageType]:
    return TenantRepository(session).usage_types(partner_id)


def create_api_key(
    session: Session,
    partner_id: str | None,
    scopes: Iterable[Scope] = (),
    name: str = "",
) -> ApiKeyCreated:
    """A new key for a partner, or a platform key (`partner_id` None, admin only)."""
    problem = line_problem(name) if len(name) <= 200 else "must be at most 200 characters"
    if problem is not None:
        raise TenantError(f"name: {problem}")
    wanted = frozenset(scopes)
    if partner_id is None:
        if wanted - {Scope.ADMIN}:
            raise PermissionDeniedError("a platform key only has the admin scope")
        wanted = frozenset({Scope.ADMIN})
    else:
        get_partner(session, partner_id)
        wanted = wanted or frozenset(DEFAULT_PARTNER_SCOPES)
    prefix = f"{KEY_PREFIX}{secrets.token_hex(6)}"
    raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        partner_id=partner_id,
        name=name,
        prefix=prefix,
        key_hash=hash_key(raw_key),
        scopes=" ".join(sorted(wanted)),
    )
    TenantRepository(session).add(key)
    return ApiKeyCreated(**api_key_read(key).model_dump(), key=raw_key)


def api_key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        prefix=key.prefix,
        partner_id=key.partner_id,
        name=key.name,
        scopes=sorted(key.scope_set),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


def list_api_keys(session: Session, partner_id: str | None) -> list[ApiKey]:
    return TenantRepository(session).api_keys(partner_id)


def revoke_api_key(session: Session, prefix: str) -> ApiKey:
    """By prefix (or the whole key); revoking a revoked key keeps its first revocation time."""
    prefix = "_".join(prefix.split("_")[:2])
    repo = TenantRepository(session)
    key = repo.api_key_by_prefix(prefix)
    if key is None:
        raise NotFoundError("API key", prefix)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        repo.add(key)
    return key


def authenticate(session: Session, raw_key: str) -> Principal:
    if not raw_key.startswith(KEY_PREFIX):
        raise AuthenticationError()
    key = TenantRepository(session).api_key_by_hash(hash_key(raw_key))
    if key is None or key.revoked_at is not None:
        raise AuthenticationError()
    return Principal(key_prefix=key.prefix, partner_id=key.partner_id, scopes=key.scope_set)
