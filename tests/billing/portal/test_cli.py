"""`portal link` prints a working URL; `portal revoke` withdraws one link or a client's links;
refusals are one line and exit status 2."""

from __future__ import annotations

from sqlmodel import Session
from typer.testing import CliRunner

from billing.invoicing.models import Invoice
from billing.portal import LinkRevokedError, verify_link
from main import app
from tests.api.portal.conftest import build

runner = CliRunner()


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_link_then_revoke_one_and_all(engine: object, session: Session) -> None:
    last, _, _ = build(session)
    assert last.number is not None
    result = runner.invoke(app, ["portal", "link", "--invoice", last.number])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[0]
    assert "/portal/" in url
    session.rollback()  # see what the command committed
    link = verify_link(session, _token(url))
    assert link.client_id == "c1" and link.invoice_id == last.id
    session.commit()

    result = runner.invoke(app, ["portal", "revoke", "--link", str(link.id)])
    assert result.exit_code == 0 and f"link {link.id} revoked" in result.output
    session.expire_all()
    try:
        verify_link(session, _token(url))
        raise AssertionError("a revoked link verified")
    except LinkRevokedError:
        pass

    second = runner.invoke(app, ["portal", "link", "--invoice", last.number, "--json"])
    assert second.exit_code == 0, second.output
    result = runner.invoke(app, ["portal", "revoke", "--client", "c1"])
    assert result.exit_code == 0 and "revoked" in result.output
    assert result.output.split()[0] != "0"


def test_refusals_are_one_line_and_status_2(engine: object, session: Session) -> None:
    build(session)
    cases = [
        ["portal", "link", "--invoice", "NOPE-1"],
        ["portal", "revoke", "--link", "999999"],
        ["portal", "revoke", "--client", "nobody"],
        ["portal", "revoke"],
        ["portal", "revoke", "--link", "1", "--client", "c1"],
    ]
    for args in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    assert isinstance(Invoice, type)
