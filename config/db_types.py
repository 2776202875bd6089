"""Column types that keep money-adjacent values exact and timestamps UTC on both databases.

SQLite has no timezone-aware timestamps and stores `Numeric` as REAL (a float), so rates and
quantities are stored as canonical decimal text and datetimes are normalised to UTC on the way in
and re-tagged as UTC on the way out.
"""

from __future__ import annotations

import enum
import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator

__all__ = ["BigId", "DecimalText", "StrEnumType", "UTCDateTime", "utcnow", "uuid7", "uuid7_hex"]


# 64-bit keys on PostgreSQL; on SQLite exactly INTEGER so the key is the rowid (fast, ordered).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): index-friendly primary keys."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def uuid7_hex(count: int) -> list[str]:
    """`count` version-7 UUIDs of this millisecond as 32 hex digits, the form SQLite stores and
    PostgreSQL's uuid type reads: ingestion stamps ten thousand events at once, and one
    `uuid.UUID` object per event cost more than the database's insert of it."""
    stamp = ((time.time_ns() // 1_000_000) & ((1 << 48) - 1)) << 80 | 0x7 << 76 | 0b10 << 62
    random = os.urandom(10 * count)
    ids = []
    for start in range(0, 10 * count, 10):
        rand = int.from_bytes(random[start : start + 10], "big")
        ids.append(f"{stamp | ((rand >> 62) & 0xFFF) << 64 | (rand & _LOW_62):032x}")
    return ids


_LOW_62 = (1 << 62) - 1


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in Python, UTC in storage; naive datetimes are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class DecimalText(TypeDecorator[Decimal]):
    """An exact Decimal stored as canonical text (never a SQL float)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        decimal_value = value if isinstance(value, Decimal) else Decimal(str(value))
        if not decimal_value.is_finite():
            raise ValueError(f"decimal value must be finite, got {decimal_value}")
        return format(decimal_value, "f")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class StrEnumType(TypeDecorator[enum.StrEnum]):
    """A `StrEnum` stored as its plain value in a VARCHAR, loaded back as the enum member."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[enum.StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> enum.StrEnum | None:
        return None if value is None else self.enum_class(value)
