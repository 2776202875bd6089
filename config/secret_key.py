"""The secret key: where it comes from, and the refusals that keep it secret.

One key encrypts every stored credential (OAuth tokens, Stripe keys) and signs dashboard
sessions. It has no default in the source: `REBILL_SECRET_KEY` when the operator sets it (the
same value on every host of a deployment), else the file `secret.key` in the data directory,
which `init` (and `demo`) generate on first run with 256 random bits, readable by its owner
only. Every process of that data directory (API, worker, scheduler, CLI) reads the same file.

The value that an earlier version printed in its source is refused everywhere: a key anybody can
read protects nothing. `rebill secrets rotate` replaces the key (see `sync.secret_rotation`);
while it runs, the new key waits in `secret.key.next` so that a rotation stopped half-way can
be finished or undone, never leaving the data encrypted under a key nobody has.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from config.settings import Settings, get_settings

__all__ = [
    "KEY_FILE_NAME",
    "MIN_KEY_LENGTH",
    "PUBLIC_DEV_KEY",
    "SecretKeyError",
    "configured_key",
    "ensure_secret_key",
    "generate_key",
    "key_file",
    "key_source",
    "next_key_file",
    "read_key_file",
    "read_old_key",
    "secret_key",
    "write_key_file",
]

KEY_FILE_NAME = "secret.key"
#: Earlier versions defaulted to this value, printed in the source: never accepted.
PUBLIC_DEV_KEY = "dev-only-change-me"
MIN_KEY_LENGTH = 16


class SecretKeyError(RuntimeError):
    """No usable secret key: the message says what is wrong and what to do."""


def key_file(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / KEY_FILE_NAME


def next_key_file(settings: Settings | None = None) -> Path:
    """Where a rotation keeps the new key until the database uses it."""
    return key_file(settings).with_name(KEY_FILE_NAME + ".next")


def generate_key() -> str:
    """256 random bits, URL-safe text (fits an environment variable or a file)."""
    return secrets.token_urlsafe(32)


def _checked(key: str, origin: str) -> str:
    if key == PUBLIC_DEV_KEY:
        raise SecretKeyError(
            f"{origin} is the public development value {PUBLIC_DEV_KEY!r}, printed in earlier "
            "versions' source: anybody could decrypt the stored credentials with it. Set a new "
            "key and re-encrypt with `rebill secrets rotate --old-key-file FILE` (FILE holding "
            "the old value); see docs/security.md"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise SecretKeyError(
            f"{origin} is {len(key)} characters; at least {MIN_KEY_LENGTH} are needed "
            "(`rebill secrets generate` prints a random one)"
        )
    return key


def read_key_file(path: Path) -> str:
    """The key a file holds (surrounding whitespace ignored), checked like any key."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SecretKeyError(f"key file {path} does not exist") from None
    except (OSError, UnicodeError) as exc:
        raise SecretKeyError(f"key file {path} cannot be read: {exc}") from None
    return _checked(text, f"the key in {path}")


def read_old_key(path: Path) -> str:
    """A key being rotated away from: any non-empty value, the public one included (that is
    the way off it)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeError) as exc:
        raise SecretKeyError(f"old key file {path} cannot be read: {exc}") from None
    if not text:
        raise SecretKeyError(f"old key file {path} is empty")
    return text


def configured_key(settings: Settings | None = None) -> str | None:
    """REBILL_SECRET_KEY when set and not empty (an empty value counts as unset)."""
    value = (settings or get_settings()).secret_key
    return value.get_secret_value() if value is not None and value.get_secret_value() else None


def secret_key(settings: Settings | None = None) -> str:
    """The key in force: REBILL_SECRET_KEY, else the data directory's key file. Raises
    SecretKeyError when neither exists (run `init`) or the key is unusable."""
    settings = settings or get_settings()
    configured = configured_key(settings)
    if configured is not None:
        return _checked(configured, "REBILL_SECRET_KEY")
    path = key_file(settings)
    if not path.exists():
        raise SecretKeyError(
            f"no secret key: REBILL_SECRET_KEY is not set and {path} does not exist. Run "
            "`rebill init` to generate one there, or set REBILL_SECRET_KEY (the same on every "
            "host that shares the database)"
        )
    return read_key_file(path)


def key_source(settings: Settings | None = None) -> str:
    """Where the key in force comes from, for messages (never the key itself)."""
    settings = settings or get_settings()
    if configured_key(settings) is not None:
        return "REBILL_SECRET_KEY"
    return str(key_file(settings))


def write_key_file(path: Path, key: str, *, replace: bool = False) -> bool:
    """Write `key` to `path`, mode 0600, flushed to disk; True when written. Without
    `replace`, an existing file wins (two processes initialising the same data directory end
    up with one key)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    written = True
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                written = False
    finally:
        tmp.unlink(missing_ok=True)
    _sync_directory(path.parent)
    return written


def _sync_directory(directory: Path) -> None:
    """Make a rename or a new name durable (POSIX: fsync the directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def ensure_secret_key(settings: Settings | None = None) -> tuple[str, bool]:
    """`init`'s step: the key in force, generating the data directory's key file when no key
    is configured and none exists yet. Returns (where the key is, whether it was created)."""
    settings = settings or get_settings()
    if configured_key(settings) is not None:
        secret_key(settings)
        return "REBILL_SECRET_KEY", False
    path = key_file(settings)
    created = False if path.exists() else write_key_file(path, generate_key())
    read_key_file(path)
    return str(path), created
