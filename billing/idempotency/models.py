"""One row per (partner, `Idempotency-Key`): the request it was first sent with and, once that
request finished, the answer to replay.

`status_code` is NULL while the first request runs ("in progress"). `claim` is a random token
of the request that holds the row: the answer is written, and the row released, only under the
token, so a request whose row was taken over (after a crash, or after 24 hours) can neither
overwrite the new holder's answer nor commit its own work (`guard` then answers 409 and the
route's work rolls back). `created_at` starts both clocks: the 24-hour window and, while in
progress, the lease after which a crashed request's row may be taken over.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from config.db_types import UTCDateTime

__all__ = ["IdempotencyKey"]


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "api_idempotency_key"
    __table_args__ = (Index("ix_api_idempotency_key_created_at", "created_at"),)

    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), primary_key=True)
    )
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    method: str = Field(sa_column=Column(String(8), nullable=False))
    path: str = Field(sa_column=Column(String(1000), nullable=False))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    claim: str = Field(sa_column=Column(String(32), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    is_error: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
