"""Fixtures of the notifier tests (defined in notify_helpers, which the tests also import by name)."""

from notify_helpers import double, make_settings, smtp, sqlite_engine

__all__ = ["double", "make_settings", "smtp", "sqlite_engine"]
