"""`python main.py mail send-pending|list|retry`: drain and inspect the mail outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from config.cli_helpers import AsJson, echo_json, fail
from config.db import get_engine, session_scope

from .backends import mail_backend_from_settings
from .models import EmailStatus
from .outbox import list_emails, retry_email, send_due_emails

__all__ = ["mail_app"]

mail_app = typer.Typer(help="Outgoing e-mail: send what is due, list, retry.", no_args_is_help=True)


@mail_app.command("send-pending")
def send_pending_command(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    *,
    as_json: AsJson = False,
) -> None:
    """Send queued messages and retry failed ones whose next attempt is due."""
    report = send_due_emails(get_engine(), mail_backend_from_settings(), limit=limit)
    if as_json:
        echo_json({"sent": report.sent, "retrying": report.retrying, "dead": report.dead})
        return
    typer.echo(f"sent {report.sent}, will retry {report.retrying}, dead {report.dead}")


@mail_app.command("list")
def list_command(
    status: Annotated[EmailStatus | None, typer.Option(help="Only this status.")] = None,
    partner: Annotated[str | None, typer.Option("--partner", "-p", help="Partner id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    *,
    as_json: AsJson = False,
) -> None:
    """The newest messages first, with their delivery state."""
    with session_scope() as session:
        rows = list_emails(session, status=status, partner_id=partner, limit=limit)
        records = [
            {
                "id": row.id,
                "partner": row.partner_id,
                "kind": row.kind,
                "related_id": row.related_id,
                "to": row.to_address,
                "subject": row.subject,
                "status": row.status.value,
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at,
                "sent_at": row.sent_at,
                "message_id": row.message_id,
                "last_error": row.last_error,
                "created_at": row.created_at,
            }
            for row in rows
        ]
    if as_json:
        echo_json(records)
        return
    if not records:
        typer.echo("no messages")
    for r in records:
        when = r["sent_at"] or r["next_attempt_at"] or ""
        typer.echo(
            f"{r['id']:>6}  {r['status']:<6}  {r['attempts']}x  {r['partner']:<12} "
            f"{r['related_id'] or '':<16} {r['to']}  {when}"
        )
        if r["last_error"] and r["status"] != EmailStatus.SENT:
            typer.echo(f"        last error: {r['last_error']}")


@mail_app.command("retry")
def retry_command(
    email_id: Annotated[int, typer.Argument(help="The message id (see `mail list`).")],
) -> None:
    """Queue a dead or failed message again, with a fresh set of attempts."""
    try:
        with session_scope() as session:
            retry_email(session, email_id)
    except (LookupError, ValueError) as exc:
        raise fail(exc) from exc
    typer.echo(f"message {email_id} queued; run `mail send-pending` to send it")
