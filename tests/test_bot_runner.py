"""How the bot is hosted: long polling with the outbox sender, webhook mode, several workers, 429, 403, logs."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from api.app import create_app
from bot import runner
from bot.emulator import Emulator, EmulatorServer
from bot.emulator_client import EmulatorClient
from core import apikeys
from core.db import Database
from core.logging_setup import RedactTokens
from core.models import Concern, Resident, Role
from core.settings import Settings
from tests import builders
from tests.botkit import BotRunner, consented, plain
from tests.botkit import Resident as Chat

SECRET = "webhook-secret-for-tests-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HostedBot:
    """bot.runner.run on its own event loop in a thread, as `civicpulse bot` / `serve` run it."""

    def __init__(self, settings: Settings, database: Database, base_url: str, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.args = (settings, database)
        self.kwargs = {"base_url": base_url, **kwargs}
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.started = threading.Event()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def body() -> None:
            self.stop_event = asyncio.Event()
            self.started.set()
            await runner.run(*self.args, stop=self.stop_event, **self.kwargs)

        try:
            self.loop.run_until_complete(body())
        except BaseException as exc:
            self.error = exc
            self.started.set()

    def __enter__(self) -> HostedBot:
        self.thread.start()
        self.started.wait(10)
        time.sleep(0.8)  # initialize, setMyCommands, delete/set webhook
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(15)
        assert self.error is None, self.error


@pytest.fixture
def emulator_server() -> Iterator[EmulatorServer]:
    """A fresh emulator for each test here (conftest's `phone` uses it): these tests set webhooks on it."""
    with EmulatorServer(Emulator(per_chat_rate=1000, per_chat_burst=1000)) as running:
        yield running


def test_a_staff_reply_reaches_the_resident_through_the_hosted_bot(
        city: Database, bot_settings: Settings, emulator_server: EmulatorServer, phone: EmulatorClient) -> None:
    with HostedBot(bot_settings, city, emulator_server.bot_api_url):
        chat = consented(phone, 301, "es")
        with city.transaction() as session:
            resident = session.scalars(select(Resident)).one()
            reference = builders.concern(session, "La cámara graba mi ventana", resident=resident).reference
            _, key = apikeys.create(session, role=Role.STAFF, principal="staff-test")
        client = TestClient(create_app(bot_settings, city))
        response = client.post(f"/api/v1/concerns/{reference}/replies", headers={"Authorization": f"Bearer {key}"},
                               json={"text": "Hemos movido la cámara."})
        assert response.status_code == 201, response.text
        delivered = phone.wait(chat.user_id, after=chat.last_id, timeout=8)
    assert delivered and reference in delivered[0]["plain"] and "Hemos movido la cámara." in delivered[0]["plain"]


def test_webhook_mode_end_to_end(city: Database, bot_settings: Settings, emulator_server: EmulatorServer,
                                 phone: EmulatorClient) -> None:
    port = free_port()
    settings = bot_settings.model_copy(update={
        "webhook_url": f"http://127.0.0.1:{port}/telegram/webhook", "webhook_secret": SecretStr(SECRET)})
    with HostedBot(settings, city, emulator_server.bot_api_url, host="127.0.0.1", port=port):
        assert phone.stats()["webhook"]["has_secret"] is True
        card = Chat(phone, 302).say("AQ-017")
        assert "Air quality sensor" in plain(card)
        wrong = httpx.post(f"http://127.0.0.1:{port}/telegram/webhook", json={"update_id": 1},
                           headers={"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"})
        missing = httpx.post(f"http://127.0.0.1:{port}/telegram/webhook", json={"update_id": 1})
        garbage = [httpx.post(f"http://127.0.0.1:{port}/telegram/webhook", content=body,
                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                   for body in (b"{not json", b"[" * 50_000 + b"]" * 50_000)]
        not_updates = [httpx.post(f"http://127.0.0.1:{port}/telegram/webhook", content=body,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                       for body in (b"[1]", b"null", b"5", b'"x"', b'{"update_id": "abc"}',
                                    b'{"update_id": 7, "message": 5}')]
        assert "Air quality sensor" in plain(Chat(phone, 302).say("AQ-017"))  # still serving
    assert wrong.status_code == missing.status_code == 403
    assert [r.status_code for r in garbage] == [400, 400]
    assert [r.status_code for r in not_updates] == [400] * 6
    assert all("not a Telegram update" in r.json()["detail"] for r in not_updates)


def _update(update_id: int, user_id: int, text: str | None = None, data: str | None = None,
            message_id: int = 1) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "R", "language_code": "en"}
    chat = {"id": user_id, "type": "private"}
    if data is not None:
        return {"update_id": update_id, "callback_query": {
            "id": f"cb{update_id}", "from": user, "chat_instance": "1", "data": data,
            "message": {"message_id": message_id, "date": 0, "chat": chat, "text": "x"}}}
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text and text[0] == "/" \
        else []
    return {"update_id": update_id, "message": {"message_id": update_id, "date": int(time.time()), "chat": chat,
                                                "from": user, "text": text, "entities": entities}}


def test_two_webhook_workers_share_one_conversation(city: Database, bot_settings: Settings,
                                                    emulator_server: EmulatorServer, phone: EmulatorClient) -> None:
    """Each step of a concern goes to a different worker; the flow state in the database carries it through."""
    user = 303
    phone.say(user, "hello")  # the chat becomes known to the emulator
    ports = [free_port(), free_port()]
    workers = [bot_settings.model_copy(update={"webhook_url": f"http://127.0.0.1:{p}/telegram/webhook",
                                               "webhook_secret": SecretStr(SECRET)}) for p in ports]
    steps = [("text", "/start"), ("data", "y:"), ("text", "CAM-004"), ("data", "r:CAM-004"),
             ("text", "The camera films the playground all day"), ("data", "k:surveillance"), ("data", "e:2"),
             ("data", "ok")]
    with HostedBot(workers[0], city, emulator_server.bot_api_url, host="127.0.0.1", port=ports[0]), \
            HostedBot(workers[1], city, emulator_server.bot_api_url, host="127.0.0.1", port=ports[1]):
        for i, (kind, value) in enumerate(steps):
            update = _update(10_000 + i, user, **({"text": value} if kind == "text" else {"data": value}))
            response = httpx.post(f"http://127.0.0.1:{ports[i % 2]}/telegram/webhook", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert response.status_code == 200
            time.sleep(0.3)  # one step after the other, as a resident types
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            with city.reading() as session:
                stored = session.scalars(select(Concern)).all()
            if stored:
                break
            time.sleep(0.1)
    assert len(stored) == 1 and stored[0].category == "surveillance" and stored[0].feeling == 2


@pytest.fixture
def bot(city: Database, bot_settings: Settings, emulator_server: EmulatorServer) -> Iterator[BotRunner]:
    with BotRunner(bot_settings, city, emulator_server.bot_api_url) as running:
        yield running


def test_a_429_on_a_reply_is_retried_after_retry_after(bot: BotRunner, phone: EmulatorClient) -> None:
    chat = Chat(phone, 304)
    phone.fault("sendMessage", error_code=429, retry_after=1, chat_id=chat.user_id, times=1)
    assert "Air quality sensor" in plain(chat.say("AQ-017"))
    assert phone.stats()["errors"].get("429", 0) == 1


def test_a_resident_who_blocked_the_bot_is_marked_inactive(bot: BotRunner, phone: EmulatorClient,
                                                           city: Database) -> None:
    chat = consented(phone, 305)
    phone.block(chat.user_id)
    phone.say(chat.user_id, "AQ-017")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with city.reading() as session:
            if not session.scalars(select(Resident)).one().active:
                break
        time.sleep(0.1)
    with city.reading() as session:
        assert session.scalars(select(Resident)).one().active is False
    phone.block(chat.user_id, blocked=False)
    assert "Air quality sensor" in plain(chat.say("AQ-017"))  # the bot is still running


def test_logs_carry_no_ids_token_or_resident_text(bot: BotRunner, phone: EmulatorClient,
                                                  bot_settings: Settings) -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(level=logging.INFO)
    handler.addFilter(RedactTokens())  # as core.logging_setup.configure installs it
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    httpx_logger = logging.getLogger("httpx")
    httpx_level = httpx_logger.level
    httpx_logger.setLevel(logging.WARNING)  # as core.logging_setup.configure sets it (URLs carry the token)
    try:
        user = 987654321
        chat = consented(phone, user)
        card = chat.say("CAM-004")[0]
        chat.press(card, "Raise a concern")
        chat.say("My neighbour Alice Smith at 12 Elm Street is filmed by this camera")
        phone.fault("sendMessage", error_code=500, chat_id=user, times=1)
        phone.say(user, "AQ-017")
        time.sleep(0.5)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        httpx_logger.setLevel(httpx_level)
    logs = "\n".join(records)
    assert logs  # the bot did log (requests, the failed send)
    assert str(user) not in logs and "Alice" not in logs
    assert "civicpulse-local-emulator" not in logs  # the token
