"""Opt-in notices queued before a resident switched notifications off are failed, not sent; their own replies are."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from telegram import Bot

from api.app import create_app
from bot.emulator import EmulatorServer
from bot.emulator_client import EmulatorClient
from bot.sender import OutboxSender
from core import apikeys, outbox
from core.db import Database
from core.models import Outbox, Resident, Role
from core.settings import Settings
from tests import builders
from tests.botkit import BotRunner, consented
from tests.builders import auth


@pytest.fixture
def bot(city: Database, bot_settings: Settings, emulator_server: EmulatorServer) -> Iterator[BotRunner]:
    with BotRunner(bot_settings, city, emulator_server.bot_api_url) as running:
        yield running


def test_notices_queued_before_notifications_went_off_are_not_sent(
        bot: BotRunner, phone: EmulatorClient, city: Database, bot_settings: Settings,
        emulator_server: EmulatorServer) -> None:
    chat = consented(phone, 160)
    chat.press(chat.say("/notifications")[0], "Switch notices on")
    assert "You follow AQ-017" in chat.say("/follow AQ-017")[0]["plain"]
    with city.transaction() as s:
        key = apikeys.create(s, role=Role.STAFF, principal="notice desk")[1]
        resident = s.scalars(select(Resident)).one()
        reference = builders.concern(s, "The sensor on Elm Street blinks all night", resident=resident).reference
    with TestClient(create_app(bot_settings, city)) as api:
        sent = api.post("/api/v1/announcements", json={"deployment": "AQ-017", "text": "Battery swap on Monday."},
                        headers=auth(key))
        assert sent.status_code == 201 and sent.json()["recipients"] == 1
        # The resident switches notices off before the sender gets to the announcement.
        assert "Notices are off" in chat.press(chat.say("/notifications")[0], "Switch notices off")[0]["plain"]
        assert api.post(f"/api/v1/concerns/{reference}/replies", json={"text": "We fixed the light."},
                        headers=auth(key)).status_code == 201
    before = len(phone.messages(160))

    async def deliver() -> None:
        async with Bot(token="123:abc", base_url=emulator_server.bot_api_url) as sender_bot:
            sender = OutboxSender(sender_bot, city, bot_settings)
            for _ in range(20):  # one row per chat per round: the chat gets its messages in order
                await sender.run_once()
                with city.reading() as s:
                    if not s.scalars(select(Outbox).where(Outbox.status.in_(("queued", "sending")))).first():
                        return
                await asyncio.sleep(0.05)
    asyncio.run(deliver())

    with city.reading() as s:
        rows = {o.kind: o for o in s.scalars(select(Outbox))}
    assert (rows["announcement"].status, rows["announcement"].last_error) == ("failed", outbox.NOTIFICATIONS_OFF)
    assert rows["staff_reply"].status == "delivered"
    new = [m["plain"] for m in phone.messages(160)[before:] if m["from"] == "bot"]
    assert len(new) == 1 and "We fixed the light." in new[0] and "Battery swap" not in new[0]
