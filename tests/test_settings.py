"""Settings: the contract's names and defaults, fail-fast production, a development secret kept once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from core.errors import ConfigurationError
from core.settings import Settings, development_secret


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
