from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from billing.webhooks.service import SecretBox
from connectors.connections.crypto import cipher_from_settings
from tests.billing.factories import make_partner
from tests.billing.webhooks.receiver import Receiver, running_receiver


@pytest.fixture
def box() -> SecretBox:
    return cipher_from_settings()


@pytest.fixture
def partner(session: Session) -> str:
    make_partner(session, "acme")
    session.commit()
    return "acme"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found
