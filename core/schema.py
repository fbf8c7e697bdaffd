"""Make and check the schema with the project's Alembic migrations (the only way it is made)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

UPGRADE_HINT = "run `civicpulse db upgrade`"
VERSION_TABLE = "alembic_version"


def alembic_config(url: str) -> Config:
    """Return an Alembic config for the shipped migrations and the given database."""
    location = Path(str(resources.files("migrations")))
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to the given revision."""
    command.upgrade(alembic_config(url), revision)


def heads(url: str) -> list[str]:
    """Return the migration heads (the project keeps exactly one)."""
    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())


@cache
def _revisions() -> tuple[str, frozenset[str]]:
    """The shipped migrations' one head and every revision they know (read once per process)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    [head] = script.get_heads()
    return head, frozenset(rev.revision for rev in script.walk_revisions())


def revision_problem(connection: Connection) -> str | None:
    """None when the database is at the migrations' head; otherwise, for people, what is wrong with it."""
    # Read directly rather than through Alembic's MigrationContext, which logs its set-up on every call.
    if not inspect(connection).has_table(VERSION_TABLE):
        current: tuple[str, ...] = ()
    else:
        current = tuple(connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")))
    head, known = _revisions()
    if current == (head,):
        return None
    if not current:
        return f"the database has no civicpulse schema: {UPGRADE_HINT}"
    if not set(current) <= known:
        return (f"the database is at revision {', '.join(current)}, which this version of civicpulse does not "
                f"know (a newer version migrated it?); this version needs {head}")
    return f"the database is at revision {', '.join(current)}, this version needs {head}: {UPGRADE_HINT}"


def check(url: str) -> None:
    """Raise if the models and the migrated database differ."""
    command.check(alembic_config(url))
