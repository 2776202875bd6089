"""Dashboard users: create, look up, check a password.

Passwords are hashed with scrypt (memory-hard: n=2**14, r=8, p=1, 16 MiB per hash) and a random
16-byte salt, stored as `scrypt$n$r$p$salt$hash` so the cost can be raised later without
breaking old hashes. Checking an unknown e-mail still computes one hash, so the response time
does not tell whether an account exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlmodel import Session, col, select

from api.dashboard.models import DashboardRole, DashboardUser
from billing.tenants.models import Partner
from config.text import text_problem
from config.validators import check_email

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "InvalidUserError",
    "authenticate",
    "create_user",
    "get_user",
    "hash_password",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 10
_N, _R, _P = 2**14, 8, 1


class InvalidUserError(ValueError):
    """Bad input for a user, naming the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    email: str,
    password: str,
    role: DashboardRole | str,
    partner_id: str | None = None,
) -> DashboardUser:
    """A new user; operators have no partner, partner users must name an existing one."""
    address = normalise_email(email)
    try:
        check_email(address)  # the one e-mail rule (`config.validators`)
    except ValueError as exc:
        raise InvalidUserError("email", str(exc)) from exc
    try:
        kind = DashboardRole(role)
    except ValueError as exc:
        raise InvalidUserError("role", f"{role!r} is not operator or partner") from exc
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUserError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if kind is DashboardRole.OPERATOR and partner_id is not None:
        raise InvalidUserError("partner", "an operator sees every partner: give no partner")
    if kind is DashboardRole.PARTNER:
        if not partner_id:
            raise InvalidUserError("partner", "a partner user needs --partner")
        if session.get(Partner, partner_id) is None:
            raise InvalidUserError("partner", f"no partner {partner_id!r}")
    taken = session.scalars(
        select(DashboardUser).where(col(DashboardUser.email) == address)
    ).first()
    if taken is not None:
        raise InvalidUserError("email", f"{address} already has an account")
    user = DashboardUser(
        email=address, password_hash=hash_password(password), role=kind, partner_id=partner_id
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> DashboardUser | None:
    """An enabled user by id (None when unknown or disabled)."""
    user = session.get(DashboardUser, user_id)
    return None if user is None or user.disabled else user


def authenticate(session: Session, email: str, password: str) -> DashboardUser | None:
    """The enabled user with this e-mail and password, or None (same work either way)."""
    if text_problem(email) is not None:  # cannot be stored, so no user has it (never queried)
        verify_password(password, _DUMMY_HASH)
        return None
    user = session.scalars(
        select(DashboardUser).where(col(DashboardUser.email) == normalise_email(email))
    ).first()
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, user.password_hash) or user.disabled:
        return None
    return user
