"""`main.py wholesale import`, `main.py reconcile --json`, `reconcile fix` and the read API,
on a partner without accounting connections: payments that disagree with what an invoice says
was paid, and a wholesale bill line that disagrees, are the only differences."""

from __future__ import annotations

import json
import warnings
from decimal import Decimal
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.app import create_app
from billing.documents.models import OutgoingEmail
from billing.invoicing.models import Invoice
from billing.tenants.models import Scope
from main import app
from tests.billing.factories import make_key
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    month_text,
    send,
    setup_partner,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_cli_and_api(engine: object, session: Session, tmp_path: Path) -> None:
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    invoices = close_and_issue(session, month)
    period = month_text(month)
    clean = json.loads(_run("reconcile", "--partner", "acme", "--period", period, "--json"))
    assert clean["differences"] == []
    assert clean["summary"]["payments"]["matched"] == len(invoices)
    bill = tmp_path / "bill.csv"
    bill.write_text("usage_type,quantity,amount\nvoice,100,9.99\n")
    assert "1 line(s) imported" in _run(
        "wholesale", "import", str(bill), "--partner", "acme", "--period", period
    )
    bill.write_text("usage_type,quantity,amount\nvoice,100,nope\n")
    assert "amount" in _run(
        "wholesale", "import", str(bill), "--partner", "acme", "--period", period, code=2
    )
    first = invoices[0]
    session.execute(
        update(Invoice).where(Invoice.id == first.id).values(amount_paid_minor=500)  # type: ignore[arg-type]
    )
    session.commit()
    out = json.loads(_run("reconcile", "--partner", "acme", "--period", period, "--json"))
    kinds = {(d["kind"], d["invoice_number"] or d["usage_type"]) for d in out["differences"]}
    assert kinds == {
        ("payments_vs_invoice_paid", str(first.number)),
        ("wholesale_cost_mismatch", "voice"),
    }
    wholesale = next(d for d in out["differences"] if d["kind"] == "wholesale_cost_mismatch")
    assert wholesale["amount_minor"] == abs(999 - out["summary"]["wholesale"]["ours_minor"])
    assert "nothing to fix" in _run("reconcile", "fix", str(out["id"]))
    assert "does not exist" in _run("reconcile", "fix", "999999", code=2)
    text = _run("reconcile", "--partner", "acme", "--period", period)
    assert "Differences: 2 (1 error to act on, 1 warning to check)" in text
    assert "Payments recorded differ from the amount paid on the invoice" in text
    assert "finance_emails" in _run(
        "reconcile", "--partner", "acme", "--period", period, "--email", code=2
    )
    setup_partner(session, SIMPLE, finance_emails=["cfo@acme.example"])
    _run("reconcile", "--partner", "acme", "--period", period, "--email")
    session.rollback()
    [queued] = session.exec(select(OutgoingEmail).where(OutgoingEmail.kind == "reconciliation"))
    assert queued.to_address == "cfo@acme.example"
    assert queued.subject.startswith(f"Reconciliation {month:%B %Y}: 2 differences (1 error, 1")

    setup_partner(session, SIMPLE.replace('id = "acme"', 'id = "globex"', 1))
    read = {"Authorization": f"Bearer {make_key(session, 'acme', Scope.ADMIN)}"}
    other = {"Authorization": f"Bearer {make_key(session, 'globex', Scope.ADMIN)}"}
    read_only = {"Authorization": f"Bearer {make_key(session, 'acme', Scope.READ)}"}
    with TestClient(create_app()) as api:
        # a reconciliation compares our wholesale cost with the platform's bill: admin only
        assert api.get("/v1/reconciliations", headers=read_only).status_code == 403
        listed = api.get("/v1/reconciliations", headers=read)
        assert listed.status_code == 200, listed.text
        ids = [r["id"] for r in listed.json()["items"]]
        assert ids[:3] == [out["id"] + 2, out["id"] + 1, out["id"]]  # text run, e-mailed run
        one = api.get(f"/v1/reconciliations/{out['id']}", headers=read).json()
        assert len(one["differences"]) == 2
        # Machine fields kept; human ones beside them, the same as the report's.
        assert (
            one["report"] == out["report"] and listed.json()["items"][2]["report"] == out["report"]
        )
        assert one["report"]["headline"].startswith("2 differences (1 error, 1 warning), ")
        for diff in one["differences"]:
            assert diff["at_stake"] == f"{Decimal(diff['amount_minor']) / 100:,.2f} USD"
        payments = next(d for d in one["differences"] if d["kind"] == "payments_vs_invoice_paid")
        assert (payments["client_name"], payments["system_name"]) == (
            "Client One",
            "Payments recorded in Rebill",
        )
        assert api.get(f"/v1/reconciliations/{out['id']}", headers=other).status_code == 404
        assert api.get("/v1/reconciliations", headers=other).json()["items"] == []
        assert api.get("/v1/reconciliations").status_code == 401


def test_stripe_charge_without_its_payment(engine: object, session: Session) -> None:
    from sync.reconcile.compare_payments import compare_payments
    from sync.stripe.models import ChargeStatus, StripeAccount, StripeCharge

    setup_partner(session, SIMPLE)
    month = last_month()
    invoices = close_and_issue(session, month)
    account = StripeAccount(partner_id="acme", secret_key_enc="x", webhook_secret_enc="y")
    session.add(account)
    session.flush()
    session.add(
        StripeCharge(
            partner_id="acme",
            invoice_id=invoices[0].id,
            account_id=account.id,
            status=ChargeStatus.SUCCEEDED,
            amount_minor=invoices[0].total_minor,
            currency="USD",
            payment_intent_id="pi_123",
        )
    )
    session.commit()
    end = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
    result = compare_payments(session, "acme", invoices, month, end)
    tally, found = result["stripe"]
    assert [(d.kind, d.subject) for d in found] == [
        ("stripe_charge_without_payment", f"Invoice {invoices[0].number}, c1, Stripe charge pi_123")
    ]
    assert found[0].amount_minor == invoices[0].total_minor
    assert "balance transactions are not stored" in tally.notes[0]
    assert result["payments"][1] == []
