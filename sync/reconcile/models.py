"""Reconciliation runs, the differences they found, and imported wholesale bills.

A run is kept with its differences (not recomputed on read) so finance can see what a report
said on the day it was sent, and `reconcile fix RUN` acts on exactly what was reported."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from config.db_types import BigId, DecimalText, UTCDateTime, utcnow

__all__ = ["ReconcileDifference", "ReconcileRun", "WholesaleBillLine"]


class ReconcileRun(SQLModel, table=True):
    """One reconciliation of one partner's period; `summary` holds per system the matched
    count and totals (JSON: {system: {"matched": n, "ours_minor": x, "theirs_minor": y}})."""

    __tablename__ = "reconcile_run"
    __table_args__ = (Index("ix_reconcile_run_partner", "partner_id", "period"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    period: str = Field(sa_column=Column(String(7), nullable=False))
    period_start: date = Field(sa_column=Column(Date, nullable=False))
    period_end: date = Field(sa_column=Column(Date, nullable=False))
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    differences: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))


class ReconcileDifference(SQLModel, table=True):
    """One thing that does not agree. `ours` / `theirs` are short human texts of each side;
    `amount_minor` is what is at stake (absolute, in `currency`); `fix` is the data a safe fix
    needs (set only when `fixable`). `system` is the compared side's key and `system_name`
    what people call it then ("QuickBooks Online: Brightline Inc."); the invoice, client and
    usage type columns say what the difference is about (empty where it is about none), kept
    as they read on the day so a report sent is a report kept."""

    __tablename__ = "reconcile_difference"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    run_id: int = Field(
        sa_column=Column(BigId, ForeignKey("reconcile_run.id"), nullable=False, index=True)
    )
    kind: str = Field(sa_column=Column(String(48), nullable=False))
    severity: str = Field(sa_column=Column(String(8), nullable=False))
    system: str = Field(sa_column=Column(String(80), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    ours: str = Field(default="", sa_column=Column(String(500), nullable=False))
    theirs: str = Field(default="", sa_column=Column(String(500), nullable=False))
    amount_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(default="", sa_column=Column(String(3), nullable=False))
    action: str = Field(default="", sa_column=Column(String(500), nullable=False))
    fixable: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    fix: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    fixed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    system_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    invoice_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    invoice_number: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    client_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    client_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    usage_type: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    issue_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class WholesaleBillLine(SQLModel, table=True):
    """The platform's actual bill for one usage type of one period (imported from CSV)."""

    __tablename__ = "wholesale_bill_line"
    __table_args__ = (UniqueConstraint("partner_id", "period", "usage_type"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    period: str = Field(sa_column=Column(String(7), nullable=False))
    usage_type: str = Field(sa_column=Column(String(64), nullable=False))
    quantity: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    imported_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
