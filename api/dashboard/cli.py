"""`python main.py users create|list|disable`: dashboard sign-ins."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlmodel import col, select

from api.dashboard.models import DashboardRole, DashboardUser
from api.dashboard.users import InvalidUserError, create_user, normalise_email
from config.db import session_scope

__all__ = ["users_app"]

users_app = typer.Typer(help="Dashboard users (operators and partner users).", no_args_is_help=True)


@users_app.command("create")
def create_command(
    email: Annotated[str, typer.Option(help="The sign-in e-mail (unique).")],
    role: Annotated[DashboardRole, typer.Option(help="operator sees every partner; partner one.")],
    partner: Annotated[str | None, typer.Option(help="The partner of a partner user.")] = None,
    *,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (one line).")
    ] = False,
) -> None:
    """Create a user; the password is prompted (hidden, twice) or read from stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with session_scope() as session:
            user = create_user(session, email, password, role, partner)
            summary = f"created {user.role} user {user.email}" + (
                f" for partner {user.partner_id}" if user.partner_id else ""
            )
    except InvalidUserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(summary)


@users_app.command("list")
def list_command() -> None:
    """Every user: e-mail, role, partner, disabled."""
    with session_scope() as session:
        users = list(session.scalars(select(DashboardUser).order_by(col(DashboardUser.email))))
        for user in users:
            state = " (disabled)" if user.disabled else ""
            typer.echo(f"{user.email}  {user.role}  {user.partner_id or '*'}{state}")


@users_app.command("disable")
def disable_command(email: Annotated[str, typer.Argument(help="The user's e-mail.")]) -> None:
    """Disable a user: their open sessions stop working at the next request."""
    with session_scope() as session:
        user = session.scalars(
            select(DashboardUser).where(col(DashboardUser.email) == normalise_email(email))
        ).first()
        if user is None:
            typer.echo(f"error: email: no user {email}", err=True)
            raise typer.Exit(2)
        user.disabled = True
        session.add(user)
    typer.echo(f"disabled {email}")
