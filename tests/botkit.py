"""Run the real bot Application against the local Bot API emulator, and talk to it as residents do."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from bot.app import build_application, prepare
from bot.emulator_client import EmulatorClient, buttons
from core.db import Database
from core.settings import Settings


class BotRunner:
    """The bot's Application, long polling the emulator, on its own event loop in a background thread."""

    def __init__(self, settings: Settings, database: Database, bot_api_url: str) -> None:
        self.settings = settings
        self.database = database
        self.bot_api_url = bot_api_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bot-under-test", daemon=True)
        self.application: Any = None

    def _call(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> BotRunner:
        self.thread.start()
        self._call(self._start())
        return self

    async def _start(self) -> None:
        self.application = build_application(self.settings, self.database, base_url=self.bot_api_url)
        await self.application.initialize()
        await prepare(self.application)
        await self.application.start()
        await self.application.updater.start_polling(poll_interval=0.0, timeout=1)

    def stop(self) -> None:
        if self.application is not None:
            self._call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _stop(self) -> None:
        await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()
        self.application.bot_data["services"].close()

    def __enter__(self) -> BotRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Resident:
    """One resident's private chat with the bot, through the emulator's control API."""

    def __init__(self, phone: EmulatorClient, user_id: int, language_code: str | None = "en") -> None:
        self.phone = phone
        self.user_id = user_id
        self.language_code = language_code
        self.last_id = 0

    def _extra(self) -> dict[str, Any]:
        return {"language_code": self.language_code} if self.language_code else {}

    def _await(self, sent: dict[str, Any], count: int, timeout: float) -> list[dict[str, Any]]:
        after = max(self.last_id, int(sent.get("message_id", 0)))
        got = self.phone.wait(self.user_id, after=after, count=count, timeout=timeout)
        if got:
            self.last_id = max(m["message_id"] for m in got)
        return got

    def say(self, text: str, count: int = 1, timeout: float = 8.0) -> list[dict[str, Any]]:
        """Send a text and return the bot's next `count` messages."""
        return self._await(self.phone.say(self.user_id, text, **self._extra()), count, timeout)

    def location(self, lat: float, lon: float, count: int = 1, **kw: Any) -> list[dict[str, Any]]:
        return self._await(self.phone.send_location(self.user_id, lat, lon, **kw, **self._extra()), count, 8.0)

    def attach(self, kind: str, count: int = 1) -> list[dict[str, Any]]:
        return self._await(self.phone.send_attachment(self.user_id, kind, **self._extra()), count, 8.0)

    def press(self, message: dict[str, Any], label_part: str | None = None, *, data: str | None = None,
              count: int = 1, timeout: float = 8.0) -> list[dict[str, Any]]:
        """Press the button whose label contains `label_part` (or whose callback data is `data`, with or
        without the draft's "|nonce" mark)."""
        if data is None:
            found = [d for label, d in buttons(message) if label_part is not None and label_part in label]
            assert found, f"no button {label_part!r} in {buttons(message)}"
            data = found[0]
        else:
            data = next((d for _, d in buttons(message) if d.partition("|")[0] == data), data)
        self.phone.press(self.user_id, message["message_id"], data=data)
        got = self.phone.wait(self.user_id, after=self.last_id, count=count, timeout=timeout)
        if got:
            self.last_id = max(m["message_id"] for m in got)
        return got

    def press_edit(self, message: dict[str, Any], label_part: str, timeout: float = 8.0) -> dict[str, Any]:
        """Press a button that edits its own message; return the message as edited."""
        found = [d for label, d in buttons(message) if label_part in label]
        assert found, f"no button {label_part!r} in {buttons(message)}"
        self.phone.press(self.user_id, message["message_id"], data=found[0])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = next(m for m in self.phone.messages(self.user_id) if m["message_id"] == message["message_id"])
            if now.get("reply_markup") != message.get("reply_markup") or now.get("text") != message.get("text"):
                return now
            time.sleep(0.05)
        raise AssertionError("the message was not edited")

    def raw_press(self, data: str, count: int = 1) -> list[dict[str, Any]]:
        """Press a button of a message the bot sent some other way (e.g. through the outbox)."""
        self.phone.raw_update({"callback_query": {
            "id": f"raw-{self.user_id}-{self.last_id}", "chat_instance": "1", "data": data,
            "from": {"id": self.user_id, "is_bot": False, "first_name": "Resident",
                     "language_code": self.language_code or "en"},
            "message": {"message_id": max(self.last_id, 1), "date": 0,
                        "chat": {"id": self.user_id, "type": "private"}}}})
        got = self.phone.wait(self.user_id, after=self.last_id, count=count, timeout=8.0)
        if got:
            self.last_id = max(m["message_id"] for m in got)
        return got

    def quiet(self, seconds: float = 0.4) -> list[dict[str, Any]]:
        """Messages the bot sent after the last one seen (expected: none)."""
        return self.phone.wait(self.user_id, after=self.last_id, count=1, timeout=seconds)


def plain(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("plain") or m.get("text") or m.get("caption") or "" for m in messages)


def consented(phone: EmulatorClient, user_id: int, language: str = "en") -> Resident:
    """A resident who said /start and agreed."""
    chat = Resident(phone, user_id, language)
    welcome = chat.say("/start")[0]
    chat.press(welcome, data="y:")
    return chat
