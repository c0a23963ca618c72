"""Kubernetes timestamps (RFC 3339, UTC, whole seconds, ``Z``): what status fields and Events carry."""

from __future__ import annotations

import datetime


def stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_stamp(value: str | None) -> datetime.datetime | None:
    """A Kubernetes timestamp as an aware datetime (None for an empty value)."""
    if not value:
        return None
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
