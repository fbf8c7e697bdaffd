"""Alembic environment: the URL comes from the caller's config or from civicpulse settings."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import pool

from core.db import create_db_engine
from core.models import Base

config = context.config
target_metadata = Base.metadata

# SQLite virtual tables (R*Tree and its shadow tables) and database-specific indexes live outside the models.
EXTERNAL_PREFIXES = ("deployment_rtree",)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name and name.startswith(EXTERNAL_PREFIXES))


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from core.settings import get_settings

    return get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      include_object=include_object, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: Any) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration rebuilds a table on SQLite (copy, drop the old one, rename). With foreign keys on,
        # dropping the old table fires ON DELETE SET NULL / CASCADE in every table that refers to it: deployments
        # would lose their district, district follows would be deleted. SQLite ignores this pragma inside a
        # transaction, so it is set on the driver's connection before one begins, and the keys are checked after.
        if connection.in_transaction():
            raise RuntimeError("migrations on SQLite must start outside a transaction")
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object,
                      render_as_batch=sqlite, compare_type=True)
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left {len(broken)} rows whose foreign keys point nowhere "
                                       f"(first: {tuple(broken[0])}); nothing was changed")
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
