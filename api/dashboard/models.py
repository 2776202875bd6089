"""Dashboard users: people who sign in to the partner dashboard (not API keys).

An operator (`partner_id` NULL) sees every partner; a partner user sees only its own partner.
Only a memory-hard hash of the password is stored (see `api.dashboard.users`). Each sign-in is
a `DashboardSession` row (only the SHA-256 of the cookie's random token is stored), so signing
out, or disabling the user, ends the session on the server and not only in the browser.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from config.db_types import StrEnumType, UTCDateTime, utcnow

__all__ = ["DashboardRole", "DashboardSession", "DashboardUser", "SignInFailure"]


class DashboardRole(enum.StrEnum):
    OPERATOR = "operator"
    PARTNER = "partner"


class DashboardUser(SQLModel, table=True):
    __tablename__ = "dashboard_user"
    __table_args__ = (Index("ix_dashboard_user_partner", "partner_id"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(300), nullable=False))
    role: DashboardRole = Field(sa_column=Column(StrEnumType(DashboardRole, 16), nullable=False))
    partner_id: str | None = Field(
        default=None,
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=True),
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    disabled: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))

    @property
    def user_id(self) -> int:
        if self.id is None:
            raise ValueError("user has not been stored")
        return self.id

    def may_see(self, partner_id: str) -> bool:
        """Operators see every partner; partner users their own only."""
        return self.role is DashboardRole.OPERATOR or self.partner_id == partner_id


class DashboardSession(SQLModel, table=True):
    __tablename__ = "dashboard_session"
    __table_args__ = (Index("ix_dashboard_session_user", "user_id"),)

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("dashboard_user.id"), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class SignInFailure(SQLModel, table=True):
    """One failed sign-in, counted against each of its keys (the e-mail and the client
    address, as SHA-256: no typed text is stored). In the database so that every API process
    counts the same attempts (`api.dashboard.throttle`)."""

    __tablename__ = "dashboard_signin_failure"
    __table_args__ = (
        Index("ix_dashboard_signin_failure_key", "key_hash", "failed_at"),
        Index("ix_dashboard_signin_failure_at", "failed_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    key_hash: str = Field(sa_column=Column(String(64), nullable=False))
    failed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
