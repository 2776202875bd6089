"""`main.py wholesale import`, `main.py reconcile --json`, `reconcile fix` and the read API,
on a partner without accounting connections: payments that disagree with what an invoice says
was paid, and a wholesale bill line that disagrees, are the only differences."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session
from typer.testing import CliRunner

from api.app import create_app
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
    kinds = {(d["kind"], d["subject"].split(" / ")[0]) for d in out["differences"]}
    assert kinds == {("payments_vs_invoice_paid", str(first.number)),
                     ("wholesale_cost_mismatch", "voice")}  # fmt: skip
    wholesale = next(d for d in out["differences"] if d["kind"] == "wholesale_cost_mismatch")
    assert wholesale["amount_minor"] == abs(999 - out["summary"]["wholesale"]["ours_minor"])
    assert "nothing to fix" in _run("reconcile", "fix", str(out["id"]))
    assert "does not exist" in _run("reconcile", "fix", "999999", code=2)
    text = _run("reconcile", "--partner", "acme", "--period", period)
    assert "2 difference(s)" in text and "payments_vs_invoice_paid" in text

    setup_partner(session, SIMPLE.replace('id = "acme"', 'id = "globex"', 1))
    read = {"Authorization": f"Bearer {make_key(session, 'acme', Scope.READ)}"}
    other = {"Authorization": f"Bearer {make_key(session, 'globex', Scope.READ)}"}
    with TestClient(create_app()) as api:
        listed = api.get("/v1/reconciliations", headers=read)
        assert listed.status_code == 200, listed.text
        assert [r["id"] for r in listed.json()][:2] == [out["id"] + 1, out["id"]]
        one = api.get(f"/v1/reconciliations/{out['id']}", headers=read).json()
        assert len(one["differences"]) == 2
        assert api.get(f"/v1/reconciliations/{out['id']}", headers=other).status_code == 404
        assert api.get("/v1/reconciliations", headers=other).json() == []
        assert api.get("/v1/reconciliations").status_code == 401
