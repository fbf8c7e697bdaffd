"""Settings: the contract's names and defaults, fail-fast production, a development secret kept once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from core.errors import ConfigurationError
from core.settings import Settings, development_secret, get_settings


def test_defaults_and_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICPULSE_STAFF_CHAT_IDS", "-1001, -1002")
    monkeypatch.setenv("CIVICPULSE_CORS_ORIGINS", "https://a.example,https://b.example")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.staff_chat_ids == [-1001, -1002]
    assert s.cors_origins == ["https://a.example", "https://b.example"]
    assert (s.database_url, s.min_group_size, s.retention_days, s.concerns_per_hour) == (
        "sqlite:///var/civicpulse.db", 5, 365, 10)
    assert s.max_body_bytes == 1_048_576 and s.timezone == "UTC"


def test_nonsense_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("TIMEZONE", "Mars/Olympus"), ("MIN_GROUP_SIZE", "0"), ("PHONE_REGION", "USA"),
                        ("STAFF_CHAT_IDS", "abc")):
        monkeypatch.setenv(f"CIVICPULSE_{name}", value)
        with pytest.raises(ValidationError):
            Settings(_env_file=None)  # type: ignore[call-arg]
        monkeypatch.delenv(f"CIVICPULSE_{name}")


@pytest.mark.parametrize("secret", [None, "changeme", "short"])
def test_production_refuses_missing_or_placeholder_secret(secret: str | None) -> None:
    s = Settings(_env_file=None, environment="production", telegram_token=SecretStr("123:abc"),  # type: ignore[call-arg]
                 secret_key=SecretStr(secret) if secret else None)
    with pytest.raises(ConfigurationError, match="CIVICPULSE_SECRET_KEY"):
        s.checked()


def test_production_needs_a_telegram_token() -> None:
    s = Settings(_env_file=None, environment="production", secret_key=SecretStr("x" * 48))  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="CIVICPULSE_TELEGRAM_TOKEN"):
        s.checked()


def test_development_secret_is_generated_once(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    first = development_secret(path)
    assert len(first) >= 48 and development_secret(path) == first
    assert path.stat().st_mode & 0o077 == 0


def test_webhook_needs_a_secret() -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        Settings(_env_file=None, webhook_url="https://bot.example/telegram/webhook")  # type: ignore[call-arg]


def test_env_example_documents_every_setting() -> None:
    documented = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"CIVICPULSE_{name.upper()}=" in documented, name


def test_processes_starting_together_share_one_development_secret(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "var" / "secret_key"
    results: list[str] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        results.append(development_secret(path))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 8 and len(set(results)) == 1 == len({path.read_text().strip(), *results})


@pytest.mark.parametrize(("url", "reason"), [
    ("notaurl", "not a database URL"),
    ("mysql://civic:hunter2@localhost/db", "only SQLite and PostgreSQL are supported, not 'mysql'"),
    ("postgresql://civic:hunter2@localhost/db", "PostgreSQL URLs start postgresql+psycopg://"),
])
def test_a_database_url_civicpulse_cannot_use_is_refused_without_its_password(url: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    assert reason in str(caught.value) and "hunter2" not in caught.value.errors()[0]["msg"]
    for fine in ("sqlite:///var/civicpulse.db", "sqlite://", "postgresql+psycopg://civic:pw@db:5432/civicpulse"):
        assert Settings(_env_file=None, database_url=fine).database_url == fine  # type: ignore[call-arg]


def test_invalid_settings_are_one_line_each_naming_the_variable_and_no_secret(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name, value in (("SECRET_KEY", "Kq8vZ2xLr0pT5mWn3sYb7cHd9fJg1uAe"), ("TIMEZONE", "Mars/Olympus"),
                        ("STAFF_CHAT_IDS", "-1001,abc"), ("MIN_GROUP_SIZE", "0"), ("ENVIRONMENT", "prod"),
                        ("WEBHOOK_URL", "https://civic.example.org/telegram/webhook"),
                        ("DATABASE_URL", "mysql://civic:hunter2@localhost/db")):
        monkeypatch.setenv(f"CIVICPULSE_{name}", value)
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError) as caught:
        get_settings()
    assert sorted(caught.value.problems) == [
        "CIVICPULSE_DATABASE_URL: only SQLite and PostgreSQL are supported, not 'mysql'; give a URL such as "
        "sqlite:///var/civicpulse.db or postgresql+psycopg://user:password@host:5432/civicpulse",
        "CIVICPULSE_ENVIRONMENT: Input should be 'development', 'production' or 'test'",
        "CIVICPULSE_MIN_GROUP_SIZE: Input should be greater than or equal to 1",
        "CIVICPULSE_STAFF_CHAT_IDS (item 2): Input should be a valid integer, unable to parse string as an integer",
        "CIVICPULSE_TIMEZONE: unknown time zone 'Mars/Olympus'",
    ]
    monkeypatch.delenv("CIVICPULSE_DATABASE_URL")
    for name in ("TIMEZONE", "STAFF_CHAT_IDS", "MIN_GROUP_SIZE", "ENVIRONMENT"):
        monkeypatch.delenv(f"CIVICPULSE_{name}")
    with pytest.raises(ConfigurationError) as caught:
        get_settings()
    assert caught.value.problems == ("CIVICPULSE_WEBHOOK_URL is set but CIVICPULSE_WEBHOOK_SECRET is not",)
    assert "Kq8vZ2xL" not in str(caught.value)
    get_settings.cache_clear()
