"""`python main.py webhooks ...`: endpoints add / list / update / rotate / disable / enable,
deliveries with their answers, replay, send; mistakes are one line and exit code 2."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlmodel import Session
from standardwebhooks import Webhook
from typer.testing import CliRunner

from billing.webhooks import EventType, emit
from config.settings import get_settings
from main import app
from tests.billing.factories import make_partner
from tests.billing.webhooks.receiver import Receiver, running_receiver

DATA = {
    "reconciliation_id": "1",
    "period": "2026-10",
    "differences": 0,
    "started_at": "2026-11-01T06:00:00+00:00",
    "finished_at": "2026-11-01T06:00:01+00:00",
}


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def partner(session: Session) -> str:
    make_partner(session, "acme")
    session.commit()
    return "acme"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("REBILL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
    get_settings.cache_clear()
    with running_receiver() as found:
        yield found
    get_settings.cache_clear()


def test_endpoints_deliveries_and_replay(
    session: Session, partner: str, receiver: Receiver
) -> None:
    code, out, _ = cli(
        "webhooks", "endpoints", "add", receiver.url, "-e", "reconciliation.completed"
    )
    assert code == 0, out
    secret = out.split("secret: ")[1].split()[0]
    assert secret.startswith("whsec_")
    code, out, _ = cli("webhooks", "endpoints", "list", "--json")
    [endpoint] = json.loads(out)
    assert endpoint["url"] == receiver.url and "secret" not in endpoint
    emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="1")
    session.commit()
    receiver.script = [500]
    code, out, _ = cli("webhooks", "send")
    assert (code, out.strip()) == (0, "delivered 0, retrying 1, dead 0")
    code, out, _ = cli("webhooks", "deliveries")
    assert "reconciliation.completed" in out and "failed" in out and "HTTP 500" in out
    assert "next " in out
    [delivery] = json.loads(cli("webhooks", "deliveries", "--json")[1])
    code, _, err = cli("webhooks", "replay", str(delivery["id"]))
    assert code == 2 and "still being tried" in err and len(err.strip().splitlines()) == 1
    Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    code, out, _ = cli(
        "webhooks", "endpoints", "rotate", str(endpoint["id"]), "--window-hours", "2"
    )
    assert code == 0 and "previous secret signs too until" in out
    assert "rotating until" in cli("webhooks", "endpoints", "list")[1]
    code, out, _ = cli("webhooks", "endpoints", "disable", str(endpoint["id"]))
    assert code == 0 and "disabled" in out
    assert "[disabled" in cli("webhooks", "endpoints", "list")[1]
    assert cli("webhooks", "endpoints", "enable", str(endpoint["id"]))[0] == 0


def test_mistakes_are_one_line_and_exit_2(partner: str) -> None:
    code, _, err = cli(
        "webhooks", "endpoints", "add", "http://hooks.example.com/", "-e", "invoice.paid"
    )
    assert code == 2 and err.strip().startswith("error: url: must start with https://")
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli("webhooks", "endpoints", "add", "https://10.0.0.1/", "-e", "invoice.paid")
    assert code == 2 and "not a public address" in err
    code, _, err = cli("webhooks", "endpoints", "add", "https://hooks.example.com/", "-e", "nope")
    assert code == 2 and "event_types: unknown nope" in err
    code, _, err = cli("webhooks", "endpoints", "rotate", "42")
    assert code == 2 and "webhook endpoint 42: not found" in err
    code, _, err = cli("webhooks", "replay", "42")
    assert code == 2 and "webhook delivery 42: not found" in err


def test_update_changes_url_and_subscriptions_and_refuses_bad_ones(partner: str) -> None:
    code, out, _ = cli(
        "webhooks", "endpoints", "add", "https://hooks.example.com/a", "-e", "invoice.paid"
    )
    assert code == 0, out
    [endpoint] = json.loads(cli("webhooks", "endpoints", "list", "--json")[1])
    ident = str(endpoint["id"])
    code, out, _ = cli(
        "webhooks",
        "endpoints",
        "update",
        ident,
        "--url",
        "https://hooks.example.com/b",
        "-e",
        "invoice.issued",
        "-e",
        "payment.failed",
    )
    assert code == 0 and "https://hooks.example.com/b (invoice.issued, payment.failed)" in out
    [after] = json.loads(cli("webhooks", "endpoints", "list", "--json")[1])
    assert after["url"] == "https://hooks.example.com/b"
    assert sorted(after["event_types"]) == ["invoice.issued", "payment.failed"]
    code, _, err = cli("webhooks", "endpoints", "update", ident, "--url", "https://10.0.0.1/")
    assert code == 2 and "not a public address" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("webhooks", "endpoints", "update", ident)
    assert code == 2 and "nothing to change" in err
    [unchanged] = json.loads(cli("webhooks", "endpoints", "list", "--json")[1])
    assert unchanged["url"] == "https://hooks.example.com/b"  # the refused update wrote nothing
