"""Make and check the schema with the project's Alembic migrations (the only way it is made)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


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


def check(url: str) -> None:
    """Raise if the models and the migrated database differ."""
    command.check(alembic_config(url))
