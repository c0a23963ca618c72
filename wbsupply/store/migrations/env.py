"""Alembic environment: programmatic (``wbsupply.store.engine.upgrade``) or the ``alembic`` CLI.

Programmatic runs hand over an open connection in ``config.attributes["connection"]``; the CLI
(``alembic -c wbsupply/store/alembic.ini revision --autogenerate -m ...``) connects to the configured
database (``WBSUPPLY_DATABASE_URL``, else the embedded SQLite file).
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from wbsupply.store import metadata
from wbsupply.store.engine import make_engine, normalize_url

config = context.config
if config.config_file_name is not None:  # CLI use: logging as configured in alembic.ini
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types as the plain SQLAlchemy types they store, so migrations never import
    application code that may change or disappear later."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        render_item=render_item,
        render_as_batch=True,  # SQLite can only ALTER by rebuilding tables
        compare_type=True,
        **kwargs,
    )


def _database_url() -> str:
    from wbsupply.config import get_settings

    return config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()


def run_offline() -> None:
    _configure(url=normalize_url(_database_url()), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_database_url(), sqlite_foreign_keys=False)
    try:
        with engine.begin() as own_connection:
            _run_on(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
