"""Fixtures: a real database built by the migrations, real app factories, builders for test data.

Each test gets its own SQLite file copied from one migrated template. With CIVICPULSE_TEST_DATABASE_URL set
(a PostgreSQL server's URL), one fresh database is created and migrated for the run, every test starts
from empty tables, and the database is dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from core import schema
from core.db import Database
from core.models import Base
from core.settings import Environment, Settings

PG_URL = os.environ.get("CIVICPULSE_TEST_DATABASE_URL")
TEST_SECRET = "test-secret-key-0123456789abcdef-0123456789"


def pytest_report_header(config: pytest.Config) -> str:
    return f"civicpulse database: {'PostgreSQL' if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    schema.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    base = make_url(PG_URL)
    name = f"civicpulse_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        schema.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path, pg_database_url: str | None) -> Iterator[str]:
    if pg_database_url:
        yield pg_database_url
        engine = create_engine(pg_database_url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    path = tmp_path / "civicpulse.db"
    shutil.copyfile(sqlite_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[TestClient]:
    """The HTTP API over the test database, through the real app factory (lifespan included)."""
    with TestClient(create_app(settings, db)) as c:
        yield c


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url, secret_key=SecretStr(TEST_SECRET),  # type: ignore[call-arg]
                    environment=Environment.TEST, min_group_size=5)


# ---- the bot against the local Bot API emulator ---------------------------------------------------------

@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Any]:
    """One emulator per test module, with limits high enough that pacing never slows a test."""
    from bot.emulator import Emulator, EmulatorServer

    with EmulatorServer(Emulator(per_chat_rate=1000, per_chat_burst=1000)) as running:
        yield running


@pytest.fixture
def phone(emulator_server: Any) -> Iterator[Any]:
    """The residents' side of the emulator, reset for each test."""
    from bot.emulator_client import EmulatorClient

    with EmulatorClient(emulator_server.base_url) as client:
        client.reset()
        yield client


@pytest.fixture
def bot_settings(settings: Settings) -> Settings:
    """Settings for a bot under test: waits for Telegram's limits scaled down, no per-chat pacing of replies."""
    return settings.model_copy(update={"pacing_scale": 0.01, "bot_per_chat_rate": 1000.0})


@pytest.fixture
def city(db: Database) -> Database:
    """The database with the demo districts and register."""
    from tests import builders

    with db.transaction() as session:
        builders.districts(session)
        builders.demo_register(session)
    return db
