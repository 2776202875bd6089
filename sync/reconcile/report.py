"""The reconciliation report in each form a person reads it: plain text (the command line and
the e-mail's text part), the partner-branded HTML e-mail in the invoice e-mail's frame, the CSV
of every difference attached to it, and the API's JSON (machine fields plus the same human
ones). All of them print one `ReadableReport` (`sync.reconcile.readable`).

The e-mail goes to the partner's `finance_emails` through the mail outbox (which stores whole
MIME messages, so the attachment needs nothing new there)."""

from __future__ import annotations

import io
from email.headerregistry import Address
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlmodel import Session

from billing.documents.message import add_bodies, checked_address, new_message
from billing.documents.outbox import queue_email
from billing.documents.parties import Logo, PartnerBranding
from billing.documents.render import logo_of
from billing.tenants.logos import get_logo
from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from config.csv_cells import safe_writer
from sync.reconcile.models import ReconcileDifference, ReconcileRun
from sync.reconcile.readable import ReadableDifference, ReadableReport, readable_report
from sync.reconcile.repository import differences_of

__all__ = [
    "CSV_COLUMNS",
    "NoRecipientsError",
    "as_csv",
    "as_json",
    "as_text",
    "build_email",
    "queue_report",
    "recipients",
    "render_html",
]

CSV_COLUMNS = (
    "Run",
    "Period start",
    "Period end",
    "Difference",
    "Severity",
    "Kind",
    "Kind code",
    "System",
    "Invoice",
    "Client",
    "Usage type",
    "Invoice date",
    "Expected",
    "Found",
    "At stake",
    "At stake (minor units)",
    "Currency",
    "What to do",
    "Fix available",
    "Fix command",
    "Fixed on",
    "Dashboard link",
)
_MACHINE = (
    "kind",
    "severity",
    "system",
    "subject",
    "ours",
    "theirs",
    "amount_minor",
    "currency",
    "action",
    "fixable",
)
_FALLBACK_SENDER = "billing@{partner}.invalid"


class NoRecipientsError(ValueError):
    def __init__(self, partner_id: str) -> None:
        super().__init__(f"finance_emails: partner {partner_id} has none to send the report to")


def _count(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _yes(*, value: bool) -> str:
    return "yes" if value else "no"


def as_text(report: ReadableReport) -> str:
    """The report as the command line prints it and the e-mail's text part carries."""
    r = report
    lines = [
        f"Reconciliation of {r.period_words} for {r.partner_name}",
        f"Period {r.period_start.isoformat()} to {r.period_last_day.isoformat()}, run {r.run_id}"
        + (f", {r.finished_at:%Y-%m-%d %H:%M} UTC" if r.finished_at else ""),
        "",
    ]
    if not r.count:
        lines.append("Everything agrees.")
    else:
        lines.append(
            f"Differences: {r.count} ({_count(r.errors, 'error')} to act on, "
            f"{_count(r.warnings, 'warning')} to check)"
        )
        lines.append(f"Total at stake: {', '.join(r.at_stake) if r.at_stake else 'none'}")
        if r.fix_command:
            lines.append(
                f"Rebill can fix {r.fixable}: {r.fix_command} shows what it would do; "
                "add --apply to do it."
            )
    width = max((len(s.name) for s in r.systems), default=6)
    lines += [
        "",
        "Systems compared",
        f"  {'System':<{width}}  {'Matched':>7}  {'Rebill':>18}  {'Other side':>18}  Notes",
    ]
    for s in r.systems:
        lines.append(
            f"  {s.name:<{width}}  {s.matched:>7}  {s.ours or '-':>18}  "
            f"{s.theirs or '-':>18}  {s.notes}".rstrip()
        )
    number = 0
    for group in r.groups:
        lines += ["", f"{group.severity_word}: {group.title} ({len(group.items)})"]
        if group.meaning:
            lines.append(f"  {group.meaning}")
        for d in group.items:
            number += 1
            lines.append(f"  {number}. {d.subject}")
            rows = [
                ("System", d.system),
                ("Expected", d.expected),
                ("Found", d.found),
                ("At stake", d.at_stake),
                ("What to do", d.what_to_do),
                ("Fix", d.fix_command or ""),
                ("Fixed", d.fixed_on.isoformat() if d.fixed_on else ""),
                ("Dashboard", d.link or ""),
            ]
            lines += [f"     {label + ':':<12}{value}" for label, value in rows if value]
    return "\n".join(lines) + "\n"


def as_csv(report: ReadableReport) -> str:
    """Every difference, one row each: ISO dates, yes/no, the amount at stake both as people
    read it and as the integer in minor units (both empty where no amount is put on it)."""
    out = io.StringIO()
    writer = safe_writer(out)
    writer.writerow(CSV_COLUMNS)
    for d in report.differences:
        writer.writerow(
            [
                report.run_id,
                report.period_start.isoformat(),
                report.period_last_day.isoformat(),
                d.id,
                d.severity_word,
                d.title,
                d.kind,
                d.system,
                d.invoice or "",
                d.client or "",
                d.usage_type or "",
                d.issue_date.isoformat() if d.issue_date else "",
                d.expected,
                d.found,
                d.at_stake,
                "" if d.amount_minor is None else d.amount_minor,
                d.currency,
                d.what_to_do,
                _yes(value=d.fixable),
                d.fix_command or "",
                d.fixed_on.isoformat() if d.fixed_on else "",
                d.link or "",
            ]
        )
    return out.getvalue()


def as_json(
    run: ReconcileRun, diffs: list[ReconcileDifference], report: ReadableReport
) -> dict[str, Any]:
    """The stored fields (`summary`, `amount_minor`, ...) for programs, and beside them what
    people read (`report`, and per difference `title`, `system_name`, `at_stake`, ...)."""
    human = {d.id: d for d in report.differences}
    return {
        "id": run.id,
        "partner_id": run.partner_id,
        "period": run.period,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "summary": run.summary,
        "report": report.as_json(),
        "differences": [
            {c: getattr(d, c) for c in _MACHINE}
            | {
                "id": d.id,
                "fixed_at": d.fixed_at.isoformat() if d.fixed_at else None,
                "invoice_id": d.invoice_id,
                "client_id": d.client_id,
                "usage_type": d.usage_type,
            }
            | _human(human[d.id])
            for d in diffs
        ],
    }


def _human(d: ReadableDifference) -> dict[str, Any]:
    return {
        "title": d.title,
        "severity_word": d.severity_word,
        "system_name": d.system,
        "invoice_number": d.invoice,
        "client_name": d.client,
        "issue_date": d.issue_date.isoformat() if d.issue_date else None,
        "expected": d.expected,
        "found": d.found,
        "at_stake": d.at_stake,
        "what_to_do": d.what_to_do,
        "fix_command": d.fix_command,
        "link": d.link,
    }


@lru_cache(maxsize=1)
def _environment() -> Environment:
    """This package's templates, extending the documents' shared e-mail frame."""
    return Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("sync.reconcile", "templates"),
                PackageLoader("billing.documents", "templates"),
            ]
        ),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(report: ReadableReport, brand: PartnerBranding, logo_cid: str | None) -> str:
    logo_src = f"cid:{logo_cid.strip('<>')}" if logo_cid else None
    template = _environment().get_template("reconciliation_email.html")
    return template.render(r=report, brand=brand, logo_src=logo_src)


def recipients(partner: Partner) -> list[str]:
    """The partner's `finance_emails`; `NoRecipientsError` when there are none."""
    found = [str(a) for a in partner.settings.get("finance_emails", []) if a]
    if not found:
        raise NoRecipientsError(partner.id)
    return found


def build_email(
    partner: Partner, report: ReadableReport, *, logo: Logo | None = None
) -> EmailMessage:
    """The branded message with its text part and the CSV; from the partner's sender, with the
    partner's uploaded `logo` when there is one."""
    to = [
        Address(addr_spec=checked_address(a, f"partner {partner.id}", "finance_emails"))
        for a in recipients(partner)
    ]
    brand = PartnerBranding.from_partner(partner, logo=logo)
    sender = checked_address(
        brand.sender_email or _FALLBACK_SENDER.format(partner=partner.id),
        f"partner {partner.id}",
        "branding.sender_email",
    )
    message = new_message(
        sender=sender, sender_name=brand.display_sender, to=to, subject=report.subject
    )
    add_bodies(
        message,
        as_text(report),
        lambda logo_cid: render_html(report, brand, logo_cid),
        logo_of(brand),
    )
    message.add_attachment(
        as_csv(report).encode(),
        "text",
        "csv",
        filename=f"reconciliation-{report.period}-{report.run_id}.csv",
    )
    return message


def queue_report(session: Session, run: ReconcileRun) -> int:
    """Queue the report e-mail in the caller's transaction; returns the outbox row id."""
    partner = TenantRepository(session).partner(run.partner_id)
    if partner is None:
        raise ValueError(f"partner: {run.partner_id!r} does not exist")
    assert run.id is not None
    recipients(partner)  # before any work: a partner without finance_emails is told so
    report = readable_report(session, run, differences_of(session, run.id))
    message = build_email(partner, report, logo=Logo.of(get_logo(session, partner.id)))
    row = queue_email(
        session, message, partner_id=partner.id, kind="reconciliation", related_id=str(run.id)
    )
    session.flush()
    assert row.id is not None
    return row.id
