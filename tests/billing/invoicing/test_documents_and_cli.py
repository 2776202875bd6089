"""Issuing writes the PDF and queues the e-mail (billing/documents); the command line."""

from __future__ import annotations

import json
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from billing.documents import OutgoingEmail
from billing.invoicing.closing import close_cycles
from billing.invoicing.credits import create_credit_note
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.service import approve_invoices
from main import app
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    last_month,
    month_text,
    send,
    setup_partner,
)


def test_issue_writes_the_pdf_and_queues_the_email(session: Session, tmp_path: Path) -> None:
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    close_cycles(session, "acme", period=month_text(month), client_id="c1")
    approve_invoices(session, "acme", by="test")
    result = issue_invoices(session, "acme", ["1"], directory=tmp_path)
    session.commit()
    [doc] = result.documents
    assert doc.pdf_path.exists() and doc.emailed_to and "one@example.com" in doc.emailed_to
    text = "".join(page.extract_text() for page in PdfReader(doc.pdf_path).pages)
    assert "ACME-000001" in text and "Client One" in text and "33.00" in text
    assert doc.csv_path is not None and "v1" in doc.csv_path.read_text()
    [email] = session.scalars(select(OutgoingEmail)).all()
    assert email.related_id == "ACME-000001" and email.status == "queued"
    credit = create_credit_note(session, "acme", "ACME-000001", "goodwill", directory=tmp_path)
    session.commit()
    assert credit.document is not None and credit.document.pdf_path.exists()
    assert len(session.scalars(select(OutgoingEmail)).all()) == 2


def test_the_command_line(session: Session) -> None:
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    assert "2 drafts created" in run("cycle", "close", "--period", month_text(month))
    assert "0 drafts created" in run("cycle", "close", "--period", month_text(month))
    listed = json.loads(run("invoices", "list", "--json"))
    assert [i["status"] for i in listed] == ["draft", "draft"]
    run("invoices", "auto-approve", "c2", "--mode", "off")
    run("invoices", "approve", "--all", "--by", "reviewer")
    assert "2 invoices issued" in run("invoices", "issue", "--all", "--no-documents")
    shown = json.loads(run("invoices", "show", "ACME-000001", "--json"))
    assert shown["total_minor"] == 3300 and shown["internal"]["margin_minor"] == 3000 - 400
    explained = run("invoices", "explain", "ACME-000001")
    assert "All lines add up." in explained and "v1" in explained
    assert json.loads(run("invoices", "explain", "ACME-000001", "--json"))["ok"] is True
    assert "ACME-CN-000001" in run(
        "invoices", "credit", "ACME-000002", "--reason", "goodwill", "--no-documents"
    )
    assert "voided" in run("invoices", "void", "ACME-000001", "--reason", "duplicate")
    failed = runner.invoke(app, ["invoices", "void", "ACME-000001", "--reason", "again"])
    assert failed.exit_code == 1
