"""What the margin alert job has sent: one row per client and billing period alerted (so a
client is told of a period once), and one row per partner and local day an e-mail went out
(so operators get at most one e-mail a day: a digest when several clients are alerted)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from config.db_types import BigId, UTCDateTime, utcnow

__all__ = ["MarginAlert", "MarginAlertDigest"]


class MarginAlertDigest(SQLModel, table=True):
    __tablename__ = "margin_alert_digest"
    __table_args__ = (UniqueConstraint("partner_id", "local_day", name="uq_margin_digest_day"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    local_day: date = Field(sa_column=Column(Date, nullable=False))
    alerts: int = Field(sa_column=Column(Integer, nullable=False))
    recipients: str = Field(sa_column=Column(String(2000), nullable=False))
    email_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class MarginAlert(SQLModel, table=True):
    """A client's period that was alerted: why, and the figures the e-mail showed (minor
    units; percentages as text with 2 places)."""

    __tablename__ = "margin_alert"
    __table_args__ = (
        UniqueConstraint("partner_id", "client_id", "period_start", name="uq_margin_alert"),
        Index("ix_margin_alert_digest", "digest_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    client_id: str = Field(max_length=64)
    period_start: date = Field(sa_column=Column(Date, nullable=False))
    reasons: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    charge: int = Field(sa_column=Column(BigInteger, nullable=False))
    cost: int = Field(sa_column=Column(BigInteger, nullable=False))
    margin_percent: str | None = Field(default=None, max_length=20)
    previous_percent: str | None = Field(default=None, max_length=20)
    digest_id: int = Field(
        sa_column=Column(BigId, ForeignKey("margin_alert_digest.id"), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
