"""Partners, clients, usage types and API keys through the service."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import Session

from billing.tenants import (
    AlreadyExistsError,
    AuthenticationError,
    ClientCreate,
    ClientStatus,
    ClientUpdate,
    NotFoundError,
    PartnerCreate,
    PermissionDeniedError,
    Scope,
    UsageTypeCreate,
    authenticate,
    create_api_key,
    create_client,
    create_partner,
    create_usage_type,
    get_partner,
    revoke_api_key,
    update_client,
)


@pytest.fixture
def acme(session: Session) -> Session:
    create_partner(
        session, PartnerCreate(id="acme", name="Acme", currency="EUR", timezone="Europe/Paris")
    )
    session.commit()
    return session


def test_a_partner_gets_sensible_defaults(acme: Session) -> None:
    partner = get_partner(acme, "acme")
    assert (partner.currency, partner.invoice_prefix) == ("EUR", "ACME")
    assert partner.settings["late_event_days"] == 90
    with pytest.raises(AlreadyExistsError):
        create_partner(acme, PartnerCreate(id="acme", name="Again"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", "Acme Inc", "lowercase letters"),
        ("currency", "EURO", "is not an ISO 4217 currency code"),
        ("currency", "eur", "write currency codes in capitals"),
        ("currency", "XYZ", "is not an ISO 4217 currency code"),
        ("name", "Acme\r\nBcc: x@evil.example", "control character"),
        ("timezone", "Mars/Olympus", "IANA time zone"),
    ],
)
def test_partner_input_is_validated(field: str, value: str, message: str) -> None:
    spec = {"id": "acme", "name": "Acme", field: value}
    with pytest.raises(ValidationError, match=message):
        PartnerCreate(**spec)  # type: ignore[arg-type]


def test_a_client_inherits_currency_and_zone_and_can_change(acme: Session) -> None:
    client = create_client(acme, "acme", ClientCreate(id="bistro", name="Bistro"))
    assert (client.currency, client.timezone, client.status) == ("EUR", "Europe/Paris", "active")
    created = client.updated_at
    changed = update_client(
        acme,
        "acme",
        "bistro",
        ClientUpdate(
            name="Le Bistro",
            status=ClientStatus.SUSPENDED,
            billing_anchor_day=15,
            address={"city": "Lyon", "country": "FR"},  # type: ignore[arg-type]
        ),
    )
    assert (changed.name, changed.status, changed.billing_anchor_day) == (
        "Le Bistro",
        "suspended",
        15,
    )
    assert changed.address == {"city": "Lyon", "country": "FR"}
    assert changed.updated_at > created
    with pytest.raises(NotFoundError):
        update_client(acme, "acme", "nobody", ClientUpdate(name="x"))


def test_client_ids_and_external_refs_are_unique_per_partner(acme: Session) -> None:
    create_partner(acme, PartnerCreate(id="globex", name="Globex"))
    create_client(acme, "acme", ClientCreate(id="c1", name="One", external_ref="crm-1"))
    create_client(acme, "globex", ClientCreate(id="c1", name="Other", external_ref="crm-1"))
    with pytest.raises(AlreadyExistsError):
        create_client(acme, "acme", ClientCreate(id="c1", name="Dup"))
    with pytest.raises(AlreadyExistsError, match="external_ref"):
        create_client(acme, "acme", ClientCreate(id="c2", name="Two", external_ref="crm-1"))


def test_a_client_needs_an_existing_partner(session: Session) -> None:
    with pytest.raises(NotFoundError, match="partner 'nobody'"):
        create_client(session, "nobody", ClientCreate(id="c1", name="One"))


def test_usage_types(acme: Session) -> None:
    sms = create_usage_type(
        acme,
        "acme",
        UsageTypeCreate(
            code="sms", display_name="SMS", unit="message", wholesale_rate=Decimal("0.0075")
        ),
    )
    assert (sms.precision, sms.aggregation, sms.wholesale_rate) == (0, "sum", Decimal("0.0075"))
    with pytest.raises(ValidationError, match="needs aggregation_property"):
        UsageTypeCreate(
            code="agents", display_name="Agents", unit="agent", aggregation="unique_count"
        )  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at most 6 decimal places"):
        UsageTypeCreate(code="x", display_name="X", unit="u", wholesale_rate=Decimal("0.0000001"))
    with pytest.raises(ValidationError):
        UsageTypeCreate(code="x", display_name="X", unit="u", precision=7)


def test_only_the_hash_of_a_key_is_stored(acme: Session) -> None:
    created = create_api_key(acme, "acme", [Scope.INGEST])
    acme.commit()
    assert created.key.startswith(created.prefix + "_")
    stored = acme.execute(text("SELECT prefix, key_hash, scopes FROM billing_api_key")).one()
    assert created.key not in " ".join(stored)
    principal = authenticate(acme, created.key)
    assert (principal.partner_id, principal.scopes) == ("acme", frozenset({Scope.INGEST}))
    assert principal.allows(Scope.INGEST) and not principal.allows(Scope.READ)


def test_scopes_default_and_admin_implies_the_rest(acme: Session) -> None:
    default = authenticate(acme, create_api_key(acme, "acme").key)
    assert default.scopes == {Scope.INGEST, Scope.READ}
    admin = authenticate(acme, create_api_key(acme, "acme", [Scope.ADMIN]).key)
    assert all(admin.allows(scope) for scope in Scope)


def test_wrong_and_revoked_keys_are_refused_alike(acme: Session) -> None:
    created = create_api_key(acme, "acme")
    for wrong in ("", "nonsense", created.key + "x", created.prefix):
        with pytest.raises(AuthenticationError):
            authenticate(acme, wrong)
    revoked = revoke_api_key(acme, created.key)  # the whole key works as well as its prefix
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError, match="invalid or revoked API key"):
        authenticate(acme, created.key)
    assert revoke_api_key(acme, created.prefix).revoked_at == revoked.revoked_at


def test_platform_keys_have_no_partner_and_only_admin(acme: Session) -> None:
    platform = authenticate(acme, create_api_key(acme, None).key)
    assert (platform.partner_id, platform.scopes) == (None, frozenset({Scope.ADMIN}))
    with pytest.raises(PermissionDeniedError):
        create_api_key(acme, None, [Scope.INGEST])
    with pytest.raises(NotFoundError):
        create_api_key(acme, "nobody")
