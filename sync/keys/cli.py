"""`rebill secrets`: generate a key, check the key in force, rotate it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from config.db import get_engine, session_scope
from config.secret_key import (
    SecretKeyError,
    configured_key,
    generate_key,
    key_file,
    key_source,
    next_key_file,
    read_key_file,
    read_old_key,
    secret_key,
    write_key_file,
)
from connectors.connections.crypto import TokenCipher
from sync.keys.rotation import check_key_in_force, probe, rotate_credentials

__all__ = ["secrets_app"]

secrets_app = typer.Typer(help="The secret key: generate, check, rotate.", no_args_is_help=True)


@secrets_app.command("generate")
def generate_command() -> None:
    """Print a new random key (256 bits), e.g. for REBILL_SECRET_KEY."""
    typer.echo(generate_key())


@secrets_app.command("check")
def check_command() -> None:
    """Where the key comes from, and whether it opens the stored credentials."""
    engine = get_engine()
    check_key_in_force(engine)
    with session_scope(engine) as session:
        sampled, opened = probe(session, TokenCipher(secret_key()))
    typer.echo(f"secret key: {key_source()}; {opened}/{sampled} sampled credentials open with it")


def _say_counts(counts: dict[str, int]) -> None:
    total = sum(counts.values())
    detail = ", ".join(f"{table} {n}" for table, n in counts.items() if n)
    typer.echo(f"re-encrypted {total} stored credentials" + (f" ({detail})" if detail else ""))


def _rotate_from_file(old_file: Path) -> None:
    """Stored credentials are under the key in `old_file`; move them to the key in force."""
    old, new = read_old_key(old_file), secret_key()
    if old == new:
        raise SecretKeyError(f"{old_file} holds the key in force ({key_source()}): nothing to do")
    with session_scope() as session:
        counts = rotate_credentials(session, TokenCipher(old), TokenCipher(new))
    _say_counts(counts)
    typer.echo(
        f"the credentials now open only with the key in force ({key_source()}). Delete "
        f"{old_file}, and restart every API server, worker and scheduler."
    )


def _finish_interrupted(current: str, pending: Path) -> bool:
    """A rotation stopped between its commit and the key file's replacement leaves the new key
    in `pending`: True when the database already uses it (the rotation is then finished by
    putting it in place), else the leftover is removed."""
    waiting = read_key_file(pending)
    with session_scope() as session:
        _sampled, opened_new = probe(session, TokenCipher(waiting))
        _sampled, opened_old = probe(session, TokenCipher(current))
    if opened_new and not opened_old:
        os.replace(pending, key_file())
        typer.echo(f"finished an interrupted rotation: {key_file()} holds the new key")
        return True
    pending.unlink()
    return False


def _rotate_key_file() -> None:
    """A new random key for the data directory's key file, the credentials moved to it."""
    path, pending = key_file(), next_key_file()
    current = read_key_file(path)
    if pending.exists() and _finish_interrupted(current, pending):
        return
    new = generate_key()
    write_key_file(pending, new)
    try:
        with session_scope() as session:
            counts = rotate_credentials(session, TokenCipher(current), TokenCipher(new))
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    os.replace(pending, path)
    _say_counts(counts)
    typer.echo(
        f"{path} holds the new key; the old one is gone. Restart every API server, worker and "
        "scheduler (dashboard users sign in again)."
    )


@secrets_app.command("rotate")
def rotate_command(
    old_key_file: Annotated[
        Path | None,
        typer.Option(
            help="A file holding the key the stored credentials are encrypted with now; they "
            "are re-encrypted with the key in force (REBILL_SECRET_KEY or the data directory's "
            "key file). Without it: a new random key replaces the data directory's key file.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Re-encrypt every stored credential (OAuth tokens, Stripe keys, webhook verifiers) under
    a new key, in one transaction: on any failure nothing changes. Stop the API servers,
    workers and schedulers first."""
    if old_key_file is not None:
        _rotate_from_file(old_key_file)
    elif configured_key() is not None:
        raise SecretKeyError(
            "the key comes from REBILL_SECRET_KEY: set it to the new key (`rebill secrets "
            "generate`) and pass the old one with --old-key-file"
        )
    else:
        _rotate_key_file()
