"""Issuing, verifying and revoking links against the database: expiry from the signed
token, revocation, scope, the lifetime setting, and a rotated secret key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from billing.invoicing.models import Invoice, InvoiceStatus
from billing.portal import (
    LinkExpiredError,
    LinkForgedError,
    LinkRevokedError,
    NotIssuedError,
    PortalInvoiceNotFoundError,
    invoice_in_scope,
    issue_link,
    issue_link_for,
    revoke_client_links,
    revoke_link,
    verify_link,
)
from config.settings import get_settings
from tests.api.portal.conftest import build

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def invoices(session: Session) -> tuple[Invoice, Invoice, Invoice]:
    return build(session)


def test_a_link_works_until_its_expiry(session: Session, invoices: tuple[Invoice, ...]) -> None:
    last = invoices[0]
    issued = issue_link(session, last, now=NOW, days=3)
    session.commit()
    assert issued.link.expires_at == NOW + timedelta(days=3)
    assert verify_link(session, issued.token, now=NOW + timedelta(days=3, seconds=-1)).id == (
        issued.link.id
    )
    with pytest.raises(LinkExpiredError):
        verify_link(session, issued.token, now=NOW + timedelta(days=3))


def test_default_lifetime_is_the_setting(
    session: Session, invoices: tuple[Invoice, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_settings().portal_link_days == 90
    monkeypatch.setenv("REBILL_PORTAL_LINK_DAYS", "7")
    get_settings.cache_clear()
    issued = issue_link(session, invoices[0], now=NOW)
    assert issued.link.expires_at == NOW + timedelta(days=7)


def test_revoked_links_and_rotated_keys_are_refused(
    session: Session, invoices: tuple[Invoice, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    one = issue_link(session, invoices[0], now=NOW)
    two = issue_link(session, invoices[1], now=NOW)
    session.commit()
    revoke_link(session, one.link.link_id, now=NOW)
    with pytest.raises(LinkRevokedError):
        verify_link(session, one.token, now=NOW)
    verify_link(session, two.token, now=NOW)
    assert revoke_client_links(session, "acme", "c1", now=NOW) >= 1
    with pytest.raises(LinkRevokedError):
        verify_link(session, two.token, now=NOW)
    fresh = issue_link(session, invoices[0], now=NOW)
    verify_link(session, fresh.token, now=NOW)
    monkeypatch.setenv("REBILL_SECRET_KEY", "a-completely-new-secret-key-after-rotation")
    get_settings.cache_clear()
    with pytest.raises(LinkForgedError):
        verify_link(session, fresh.token, now=NOW)


def test_scope_is_the_links_client(session: Session, invoices: tuple[Invoice, ...]) -> None:
    last, earlier, other = invoices
    issued = issue_link(session, last, now=NOW)
    assert invoice_in_scope(session, issued.link).id == last.id
    assert invoice_in_scope(session, issued.link, earlier.invoice_id).id == earlier.id
    with pytest.raises(PortalInvoiceNotFoundError):
        invoice_in_scope(session, issued.link, other.invoice_id)
    with pytest.raises(PortalInvoiceNotFoundError):
        invoice_in_scope(session, issued.link, 10**9)


def test_issue_for_a_number_and_refuse_a_draft(
    session: Session, invoices: tuple[Invoice, ...]
) -> None:
    assert invoices[0].number is not None
    issued = issue_link_for(session, "acme", invoices[0].number, now=NOW)
    assert issued.url == f"{get_settings().public_url}/portal/{issued.token}"
    found = session.get(Invoice, invoices[1].id)
    assert found is not None
    found.status = InvoiceStatus.APPROVED  # as if not issued yet (never written)
    with session.no_autoflush, pytest.raises(NotIssuedError):
        issue_link_for(session, "acme", found.invoice_id)
    session.rollback()
