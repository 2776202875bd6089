"""Where mail goes: `.eml` files (the default, so a fresh machine needs no mail server) or an
SMTP server. Both sit behind `MailBackend.send(message) -> message id`, so the outbox neither
knows nor cares which one runs.

Every SMTP failure becomes a `MailDeliveryError` that says whether trying again later can help.
Only the server's permanent verdict on this message (a 5xx reply to its sender, recipients or
content) is not retryable: connection problems, timeouts, TLS and login failures (including
5xx "STARTTLS/authentication required"), and 4xx replies all are, because fixing the network or
the settings makes the same message deliverable.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from typing import Literal, Protocol

from config.settings import Settings, get_settings

from .files import atomic_write_bytes

__all__ = [
    "FileMailBackend",
    "MailBackend",
    "MailDeliveryError",
    "SmtpMailBackend",
    "SmtpSecurity",
    "mail_backend_from_settings",
    "message_id_of",
]

log = logging.getLogger(__name__)

SmtpSecurity = Literal["none", "starttls", "ssl"]
_IMPLICIT_TLS_PORT = 465
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class MailDeliveryError(Exception):
    """Sending failed; `retryable` says whether the same message may go through later."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class MailBackend(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Deliver `message`; return its Message-ID. Raise `MailDeliveryError` on failure."""
        ...


def message_id_of(message: EmailMessage) -> str:
    """The message's Message-ID, adding one if it has none."""
    if message["Message-ID"] is None:
        message["Message-ID"] = make_msgid()
    return str(message["Message-ID"])


class FileMailBackend:
    """One `.eml` file per message under `directory`, named after its Message-ID, so sending
    the same message again replaces its file instead of adding a second one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, message_id: str) -> Path:
        return self.directory / f"{_UNSAFE_NAME.sub('_', message_id.strip('<>'))}.eml"

    def send(self, message: EmailMessage) -> str:
        message_id = message_id_of(message)
        try:
            atomic_write_bytes(self.path_for(message_id), message.as_bytes(policy=SMTP))
        except OSError as exc:
            raise MailDeliveryError(f"cannot write mail file: {exc}", retryable=True) from exc
        return message_id


# 5xx replies that are about the session, not the message: TLS or login required (the
# settings are wrong); once they are fixed the same message goes through.
_SESSION_CODES = frozenset({530, 534, 538})


def _permanent(code: int) -> bool:
    return 500 <= code < 600 and code not in _SESSION_CODES


def _response_error(exc: smtplib.SMTPResponseException) -> MailDeliveryError:
    detail = exc.smtp_error
    text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
    return MailDeliveryError(
        f"SMTP {exc.smtp_code}: {text}", retryable=not _permanent(exc.smtp_code)
    )


class SmtpMailBackend:
    """smtplib with a timeout on every socket operation; one connection per message (the
    outbox sends a handful at a time, and a fresh connection never inherits a broken state)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: SmtpSecurity = "none",
        username: str = "",
        password: str = "",
        timeout: timedelta = timedelta(seconds=10),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ssl_context = ssl_context

    def _connect(self) -> smtplib.SMTP:
        seconds = self.timeout.total_seconds()
        if self.security == "ssl":
            context = self.ssl_context or ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=seconds, context=context)
        return smtplib.SMTP(self.host, self.port, timeout=seconds)

    def send(self, message: EmailMessage) -> str:
        message_id = message_id_of(message)
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            permanent = all(_permanent(code) for code, _ in exc.recipients.values())
            raise MailDeliveryError(
                f"recipients refused: {exc.recipients}", retryable=not permanent
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise MailDeliveryError(
                f"SMTP login failed ({exc.smtp_code}): check smtp_user/smtp_password",
                retryable=True,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise _response_error(exc) from exc
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            # Connection refused or reset, timeouts, TLS handshake or STARTTLS unsupported.
            raise MailDeliveryError(
                f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}", retryable=True
            ) from exc
        if refused:
            log.warning("message %s: some recipients refused: %s", message_id, refused)
        return message_id


def mail_backend_from_settings(settings: Settings | None = None) -> MailBackend:
    """`REBILL_EMAIL_BACKEND=file` (default): `.eml` files under `mail_dir`; `smtp`: the
    `REBILL_SMTP_*` server. Security: STARTTLS when `smtp_starttls` is on, implicit TLS when
    the port is 465 (the submissions port), otherwise plain (a local relay)."""
    settings = settings or get_settings()
    if settings.email_backend == "file":
        return FileMailBackend(settings.mail_dir)
    security: SmtpSecurity = (
        "starttls"
        if settings.smtp_starttls
        else "ssl"
        if settings.smtp_port == _IMPLICIT_TLS_PORT
        else "none"
    )
    return SmtpMailBackend(
        settings.smtp_host,
        settings.smtp_port,
        security=security,
        username=settings.smtp_user,
        password=settings.smtp_password.get_secret_value(),
        timeout=timedelta(seconds=settings.smtp_timeout_seconds),
    )
