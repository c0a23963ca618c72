"""Column types that behave the same on SQLite and PostgreSQL.

Datetimes need nothing here: SQLModel maps ``datetime`` fields to its own ``UTCDateTime``, which refuses
naive values and returns aware UTC datetimes from both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments a column declared exactly "INTEGER PRIMARY KEY".
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


# Row ids are INTEGER columns: 32-bit in PostgreSQL. A larger id in a request is a 4xx, never a database error.
MAX_ROW_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class EnumString(TypeDecorator[Any]):
    """A ``StrEnum`` stored as its value in a plain VARCHAR.

    Not a native PostgreSQL ENUM: adding a member must not need a migration, and the stored strings are
    the same ones that go into the API and Kubernetes custom resources.
    """

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value  # raises ValueError on an unknown string

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum_class(value)

    @property
    def python_type(self) -> type[StrEnum]:
        return self.enum_class
