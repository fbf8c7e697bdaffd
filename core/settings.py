"""Settings from the environment (prefix CIVICPULSE_) and an optional .env file."""

from __future__ import annotations

import os
import secrets
import time
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.errors import ConfigurationError

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "please-change-me", "xxx"})
MIN_SECRET_LENGTH = 32
SECRET_FILE = Path("var") / "secret_key"
ENV_PREFIX = "CIVICPULSE_"
# The databases civicpulse runs on, with the drivers it ships (SQLite's is Python's own; psycopg 3 for PostgreSQL).
DATABASE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql+psycopg"})
DATABASE_EXAMPLES = "sqlite:///var/civicpulse.db or postgresql+psycopg://user:password@host:5432/civicpulse"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of civicpulse; DESIGN.md lists the contract."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///var/civicpulse.db"
    secret_key: SecretStr | None = None
    telegram_token: SecretStr | None = None
    telegram_api_url: str | None = None
    bot_username: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    timezone: str = "UTC"
    staff_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    min_group_size: int = Field(default=5, ge=1, le=1000)
    retention_days: int = Field(default=365, ge=0, le=36500)
    concerns_per_hour: int = Field(default=10, ge=1, le=10000)
    satisfaction_delay_days: int = Field(default=3, ge=0, le=365)
    phone_region: str = "US"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)
    api_rate_per_address: str = "300/minute"
    api_rate_per_key: str = "1200/minute"
    # Multiplies every wait taken for Telegram's limits (retry_after, backoff, pacing); tests set it below 1.
    pacing_scale: float = Field(default=1.0, gt=0, le=1)
    # Replies to a resident's own messages: a per-chat pace, not the bulk rate (bulk goes through the outbox).
    bot_per_chat_rate: float = Field(default=1.0, gt=0, le=1000)
    emulator_port: int = Field(default=8081, ge=1, le=65535)

    @field_validator("api_rate_per_address", "api_rate_per_key")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit such as '300/minute': {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        # The reasons never repeat the URL: it may carry the database's password.
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            raise ValueError(f"not a database URL; give one such as {DATABASE_EXAMPLES}") from None
        if driver in ("postgresql", "postgres") or driver.startswith(("postgresql+", "postgres+")):
            if driver != "postgresql+psycopg":
                raise ValueError("PostgreSQL URLs start postgresql+psycopg:// (civicpulse uses the psycopg 3 driver)")
        elif driver not in DATABASE_DRIVERS:
            raise ValueError(f"only SQLite and PostgreSQL are supported, not {driver[:40]!r}; give a URL such as "
                             f"{DATABASE_EXAMPLES}")
        return value

    @field_validator("staff_chat_ids", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise ValueError("PHONE_REGION must be a two-letter region code such as US or ES")
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("CIVICPULSE_WEBHOOK_URL is set but CIVICPULSE_WEBHOOK_SECRET is not")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    def secret_bytes(self) -> bytes:
        """Return the HMAC key for resident pseudonyms."""
        if self.secret_key is None:
            raise ConfigurationError("CIVICPULSE_SECRET_KEY is not set")
        return self.secret_key.get_secret_value().encode()

    def checked(self) -> Settings:
        """Fail fast on settings that must not reach production, and fill development defaults."""
        if self.is_production:
            problems = []
            secret = self.secret_key.get_secret_value() if self.secret_key else ""
            if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
                problems.append(
                    f"CIVICPULSE_SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
                    "characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
                )
            if not self.telegram_token or not self.telegram_token.get_secret_value().strip():
                problems.append("CIVICPULSE_TELEGRAM_TOKEN must be set (the emulator never runs in production)")
            if problems:
                raise ConfigurationError("refusing to start in production: " + "; ".join(problems))
            return self
        if self.secret_key is None:
            return self.model_copy(update={"secret_key": SecretStr(development_secret())})
        return self


def development_secret(path: Path = SECRET_FILE) -> str:
    """Return the development secret kept under var/, generating it on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when two processes start together on a fresh var/, exactly one writes the secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            existing = path.read_text().strip()
            if existing:
                return existing
            time.sleep(0.01)  # the other process is between creating and writing the file
        raise ConfigurationError(f"{path} exists but is empty; delete it or set CIVICPULSE_SECRET_KEY") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def problems(error: ValidationError) -> list[str]:
    """One line per invalid setting, naming its environment variable; never the value given (it may be secret)."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        location = problem["loc"]
        if not location:  # a rule across settings names its variables itself
            lines.append(message)
            continue
        item = f" (item {int(location[1]) + 1})" if len(location) > 1 and isinstance(location[1], int) else ""
        lines.append(f"{ENV_PREFIX}{str(location[0]).upper()}{item}: {message}")
    return lines


@lru_cache
def get_settings() -> Settings:
    """Read settings once for an entry point; raise ConfigurationError with one line per problem."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigurationError(*problems(exc)) from None
    return settings.checked()
