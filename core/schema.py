"""Make and check the schema with the project's Alembic migrations (the only way it is made)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from core.db import create_db_engine
from core.errors import Conflict, Invalid

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


class UnknownRevision(Invalid):
    """A target revision that none of the shipped migrations is."""


class NoDowngrade(Invalid):
    """A target revision the database is already past: upgrading never goes back."""


class NewerSchema(Conflict):
    """The database is at a revision this version does not ship: a newer civicpulse migrated it."""


def upgrade(url: str, revision: str = "head") -> str:
    """Bring the database up to the given revision (never down) and return the revision it is at."""
    config = alembic_config(url)
    script = ScriptDirectory.from_config(config)
    head, known = _revisions()
    try:
        target = script.get_revision(revision)
    except CommandError:
        target = None
    if target is None:
        raise UnknownRevision(f"no migration is called {revision[:40]!r}: give head (the default) or one of the "
                              f"revision ids civicpulse ships (the latest is {head})")
    current = _current(url)
    if not set(current) <= known:
        raise NewerSchema(f"the database is at revision {', '.join(current)}, which this version of civicpulse "
                          f"does not know: a newer civicpulse migrated it; run that version (this one goes up "
                          f"to {head})")
    if current and target.revision != current[0] and target.revision in _ancestors(script, current[0]):
        raise NoDowngrade(f"the database is at revision {current[0]}, past {target.revision}: `db upgrade` never "
                          "goes back to an older revision")
    command.upgrade(config, target.revision)
    return ", ".join(_current(url))


def _ancestors(script: ScriptDirectory, revision: str) -> set[str]:
    return {r.revision for r in script.iterate_revisions(revision, "base")}


def _current(url: str) -> tuple[str, ...]:
    engine = create_db_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return current_revisions(connection)
    finally:
        engine.dispose()


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database's version table names (none for a database without the schema)."""
    # Read directly rather than through Alembic's MigrationContext, which logs its set-up on every call.
    if not inspect(connection).has_table(VERSION_TABLE):
        return ()
    return tuple(connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")))


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
    current = current_revisions(connection)
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
