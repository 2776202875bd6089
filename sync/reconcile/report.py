"""The reconciliation report: a plain-text summary (CLI), JSON, and the HTML e-mail to the
partner's `finance_emails` with a CSV of every difference, queued in the mail outbox (which
stores whole MIME messages, so attachments need nothing new there)."""

from __future__ import annotations

import html
import io
from collections import defaultdict
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

from sqlmodel import Session

from billing.documents.outbox import queue_email
from billing.tenants.models import Partner
from config.csv_cells import safe_writer
from config.money import format_minor
from sync.reconcile.models import ReconcileDifference, ReconcileRun
from sync.reconcile.repository import differences_of

__all__ = [
    "NoRecipientsError",
    "as_csv",
    "as_json",
    "as_text",
    "build_email",
    "queue_report",
    "recipients",
]

CSV_COLUMNS = ("kind", "severity", "system", "subject", "ours", "theirs", "amount_minor",
               "currency", "action", "fixable")  # fmt: skip


class NoRecipientsError(ValueError):
    def __init__(self, partner_id: str) -> None:
        super().__init__(f"finance_emails: partner {partner_id} has none to send the report to")


def _money(amount_minor: int, currency: str) -> str:
    try:
        return format_minor(amount_minor, currency)
    except ValueError:  # an unknown currency code: the raw figure still says something
        return f"{amount_minor} (minor units) {currency}"


def as_json(run: ReconcileRun, diffs: list[ReconcileDifference]) -> dict[str, Any]:
    return {
        "id": run.id, "partner_id": run.partner_id, "period": run.period,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "summary": run.summary,
        "differences": [
            {c: getattr(d, c) for c in CSV_COLUMNS} | {"id": d.id, "fixed_at":
             d.fixed_at.isoformat() if d.fixed_at else None}
            for d in diffs
        ],
    }  # fmt: skip


def as_text(run: ReconcileRun, diffs: list[ReconcileDifference]) -> str:
    lines = [f"Reconciliation #{run.id}: {run.partner_id} {run.period}"]
    for system, tally in sorted(run.summary.items()):
        lines.append(
            f"  {system:<28} matched {tally['matched']:>6}  ours {tally['ours_minor']:>12}"
            f"  theirs {tally['theirs_minor']:>12}  {'; '.join(tally.get('notes', []))}"
        )
    lines.append(f"{len(diffs)} difference(s)")
    for d in diffs:
        lines.append(
            f"  [{d.severity}] {d.kind} {d.system} {d.subject}: ours {d.ours!r}, theirs "
            f"{d.theirs!r}, at stake {_money(d.amount_minor, d.currency)} -> {d.action}"
            + (" (fixable)" if d.fixable else "")
        )
    return "\n".join(lines)


def as_csv(diffs: list[ReconcileDifference]) -> str:
    out = io.StringIO()
    writer = safe_writer(out)
    writer.writerow(CSV_COLUMNS)
    for d in diffs:
        writer.writerow([getattr(d, c) for c in CSV_COLUMNS])
    return out.getvalue()


def _html(partner: Partner, run: ReconcileRun, diffs: list[ReconcileDifference]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(s)}</td><td>{t['matched']}</td><td>{t['ours_minor']}</td>"
        f"<td>{t['theirs_minor']}</td><td>{e('; '.join(t.get('notes', [])))}</td></tr>"
        for s, t in sorted(run.summary.items())
    )
    groups: dict[str, list[ReconcileDifference]] = defaultdict(list)
    for d in diffs:
        groups[d.kind].append(d)
    sections = "".join(
        f"<h3>{e(kind)} ({len(items)})</h3><ul>"
        + "".join(
            f"<li><b>{e(d.severity)}</b> {e(d.system)} {e(d.subject)}: ours {e(d.ours)}, "
            f"theirs {e(d.theirs)}, at stake {_money(d.amount_minor, d.currency)}. "
            f"{e(d.action)}</li>"
            for d in items
        )
        + "</ul>"
        for kind, items in sorted(groups.items())
    )
    verdict = "Everything agrees." if not diffs else f"{len(diffs)} difference(s) to look at."
    return (
        f"<html><body><h2>Reconciliation {e(run.period)} for {e(partner.name)}</h2>"
        f"<p>{verdict}</p><table border='1' cellpadding='4'><tr><th>System</th><th>Matched</th>"
        f"<th>Ours (minor units)</th><th>Theirs</th><th>Notes</th></tr>{rows}</table>"
        f"{sections}</body></html>"
    )


def recipients(partner: Partner) -> list[str]:
    """The partner's `finance_emails`; `NoRecipientsError` when there are none."""
    found = [str(a) for a in partner.settings.get("finance_emails", []) if a]
    if not found:
        raise NoRecipientsError(partner.id)
    return found


def build_email(
    partner: Partner, run: ReconcileRun, diffs: list[ReconcileDifference]
) -> EmailMessage:
    to = recipients(partner)
    branding = partner.branding or {}
    sender = str(branding.get("sender_email") or f"billing@{partner.id}.invalid")
    message = EmailMessage()
    message["From"] = formataddr((str(branding.get("sender_name") or partner.name), sender))
    message["To"] = ", ".join(to)
    message["Subject"] = f"Reconciliation {run.period}: {len(diffs)} difference(s)"
    message.set_content(as_text(run, diffs))
    message.add_alternative(_html(partner, run, diffs), subtype="html")
    message.add_attachment(as_csv(diffs).encode(), "text", "csv",
                           filename=f"reconciliation-{run.period}-{run.id}.csv")  # fmt: skip
    return message


def queue_report(session: Session, run: ReconcileRun) -> int:
    """Queue the report e-mail in the caller's transaction; returns the outbox row id."""
    partner = session.get(Partner, run.partner_id)
    if partner is None:
        raise ValueError(f"partner: {run.partner_id!r} does not exist")
    assert run.id is not None
    message = build_email(partner, run, differences_of(session, run.id))
    row = queue_email(session, message, partner_id=partner.id, kind="reconciliation",
                      related_id=str(run.id))  # fmt: skip
    session.flush()
    assert row.id is not None
    return row.id
