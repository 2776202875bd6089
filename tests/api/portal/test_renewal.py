""" "E-mail me a new link" on the expired page: only for an expired link, only to the billing
address on file, once an hour; the page says the same thing whatever happened."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from billing.documents.models import OutgoingEmail
from billing.portal import issue_link, revoke_link
from billing.portal.renewal import RENEWAL_KIND
from config.db_types import utcnow
from tests.api.portal.conftest import PORTAL_URL, World, path_of


def _renewals(world: World) -> list[OutgoingEmail]:
    with world.session() as session:
        return list(
            session.exec(
                select(OutgoingEmail)
                .where(col(OutgoingEmail.kind) == RENEWAL_KIND)
                .order_by(col(OutgoingEmail.id))
            )
        )


def _old(world: World, session: Session) -> str:
    issued = issue_link(session, world.last, now=utcnow() - timedelta(days=30), days=2)
    session.commit()
    return issued.token


def test_an_expired_link_can_be_renewed_by_email(client: TestClient, world: World) -> None:
    with world.session() as session:
        token = _old(world, session)
    page = client.get(f"/portal/{token}")
    assert page.status_code == 410 and 'data-testid="renew"' in page.text
    answer = client.post(f"/portal/{token}/renew")
    assert answer.status_code == 200 and "Check your e-mail" in answer.text
    assert "one@example.com" not in answer.text and "Client One" not in answer.text
    [mail] = _renewals(world)
    assert mail.to_address.endswith("<one@example.com>") or mail.to_address == "one@example.com"
    parsed = message_from_bytes(mail.body, _class=EmailMessage, policy=SMTP)
    assert isinstance(parsed, EmailMessage)
    [url] = PORTAL_URL.findall(str(parsed.get_content()))
    assert client.get(path_of(url)).status_code == 200
    # Again within the hour: the same answer, no second e-mail.
    assert client.post(f"/portal/{token}/renew").status_code == 200
    assert len(_renewals(world)) == 1


def test_nothing_is_sent_for_other_links(client: TestClient, world: World) -> None:
    with world.session() as session:
        live = issue_link(session, world.last)
        revoked_old = issue_link(session, world.last, now=utcnow() - timedelta(days=30), days=2)
        revoke_link(session, revoked_old.link.link_id)
        session.commit()
    for token in (live.token, revoked_old.token, "1.1000.forged", "nonsense"):
        answer = client.post(f"/portal/{token}/renew")
        assert answer.status_code == 200 and "Check your e-mail" in answer.text
    assert _renewals(world) == []
    assert 'data-testid="renew"' not in client.get(f"/portal/{revoked_old.token}").text
