"""A refused refresh token reaches the partner as an e-mail in the mail outbox."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from billing.documents.models import OutgoingEmail
from billing.tenants.models import Partner
from connectors.base import AuthExpiredError
from connectors.connections.token_source import DatabaseTokenSource
from sync.notices import REAUTH_KIND, reauth_notifier
from tests.connectors.connections.conftest import Seed
from tests.fakes.oauth import OAuthFake

pytestmark = pytest.mark.anyio


async def _lose(engine: Engine, connection_id: str, fake: OAuthFake) -> None:
    fake.revoke()
    source = DatabaseTokenSource(
        engine,
        connection_id,
        transport=httpx.MockTransport(fake.handle),
        on_needs_reauth=reauth_notifier(engine),
    )
    for _ in range(3):  # told once, however often the worker tries
        with pytest.raises(AuthExpiredError):
            await source.access_token()


async def test_partner_finance_gets_one_reconnect_email(
    configured: Engine, seed: Seed, fake: OAuthFake
) -> None:
    connection_id = seed(expires_in=timedelta(0))
    await _lose(configured, connection_id, fake)
    with Session(configured) as session:
        rows = list(session.scalars(select(OutgoingEmail)))
    assert [(r.kind, r.to_address, r.partner_id) for r in rows] == [
        (REAUTH_KIND, "finance@acme.example", "acme")
    ]
    message = message_from_bytes(rows[0].body, policy=default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Action needed: reconnect Xero (books)"
    body = message.get_content()
    assert "invalid_grant" in body
    assert "python main.py connections connect xero --partner acme --name books" in body


async def test_without_any_address_the_notice_is_a_logged_warning(
    configured: Engine, seed: Seed, fake: OAuthFake, caplog: pytest.LogCaptureFixture
) -> None:
    connection_id = seed(expires_in=timedelta(0))
    with Session(configured) as session:
        partner = session.get(Partner, "acme")
        assert partner is not None
        partner.settings = {"connections": partner.settings["connections"]}
        partner.branding = {}
        session.add(partner)
        session.commit()
    await _lose(configured, connection_id, fake)
    with Session(configured) as session:
        assert list(session.scalars(select(OutgoingEmail))) == []
    assert "needs re-authorisation" in caplog.text
