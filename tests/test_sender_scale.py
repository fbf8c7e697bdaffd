"""Delivery at scale against the emulator: paced under Telegram's limits, at most once and in order per chat, through
429s, 5xx, timeouts, blocks and two senders; the weekly digest's text, chart and document reach a staff chat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.emulator import Emulator, EmulatorServer
from bot.emulator_client import EmulatorClient
from bot.sender import OutboxSender
from core import jobs, outbox
from core.db import Database
from core.models import Outbox, OutboxStatus
from core.settings import Settings
from tests import builders

BASE_CHAT = 880000


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"pacing_scale": 0.05})


def _residents_with_rows(db: Database, phone: EmulatorClient, chats: int, per_chat: int) -> dict[int, int]:
    """Residents who wrote to the bot once, each with `per_chat` numbered replies queued, interleaved by chat."""
    ids: dict[int, int] = {}
    with db.transaction() as s:
        for n in range(chats):
            chat = BASE_CHAT + n
            ids[chat] = builders.resident(s, telegram_user_id=chat, chat_id=chat).id
        for i in range(per_chat):
            s.add_all([Outbox(resident_id=rid, kind="staff_reply",
                              payload={"reference": "C-7K2Q9", "text": f"message {i}", "language": "en"})
                       for rid in ids.values()])
    for chat in ids:
        phone.create_chat(chat, "private")
    return ids


def _numbers(phone: EmulatorClient, chat: int) -> list[int]:
    return [int(m["plain"].rsplit(" ", 1)[1]) for m in phone.messages(chat) if m["from"] == "bot"]


def _rows(db: Database) -> list[Outbox]:
    with db.reading() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


async def _drain(senders: list[OutboxSender], db: Database, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(r.status in (OutboxStatus.QUEUED, OutboxStatus.SENDING) for r in _rows(db)):
        assert loop.time() < deadline, "the outbox was not drained in time"
        await asyncio.gather(*(s.run_once() for s in senders))
        await asyncio.sleep(0.01)


@pytest.fixture
def limited() -> Iterator[EmulatorServer]:
    # Telegram's limits, ten times faster: 300 messages/s overall, 10/s per chat (burst 20).
    with EmulatorServer(Emulator(global_limit=True, time_scale=0.1)) as running:
        yield running


def test_a_broadcast_is_paced_under_the_global_and_per_chat_limits_with_no_429(
        limited: EmulatorServer, db: Database, settings: Settings) -> None:
    with EmulatorClient(limited.base_url) as phone:
        chats = _residents_with_rows(db, phone, chats=60, per_chat=5)

        async def main() -> float:
            async with Bot("123:abc", base_url=limited.bot_api_url) as bot:
                sender = OutboxSender(bot, db, settings.model_copy(update={"pacing_scale": 0.1}))
                loop = asyncio.get_running_loop()
                started = loop.time()
                await _drain([sender], db)
                return loop.time() - started

        elapsed = asyncio.run(main())
        stats = phone.stats()
        assert stats["errors"] == {} and stats["calls"]["sendMessage"] == 300
        for chat in chats:
            assert _numbers(phone, chat) == [0, 1, 2, 3, 4]
    # 300 messages at 290/s take at least about a second: the pacer did space them.
    assert elapsed >= 0.9
    assert {(r.status, r.attempts) for r in _rows(db)} == {("delivered", 1)}


@pytest.mark.parametrize("senders", [1, 2])
def test_429s_server_errors_timeouts_and_a_block_leave_every_message_sent_once_in_order(
        db: Database, fast: Settings, database_url: str, senders: int) -> None:
    with EmulatorServer(Emulator(per_chat_rate=1000, per_chat_burst=1000)) as server, \
            EmulatorClient(server.base_url) as phone:
        chats = _residents_with_rows(db, phone, chats=6, per_chat=8)
        blocked = BASE_CHAT + 5
        phone.block(blocked)
        phone.fault("sendMessage", error_code=429, retry_after=1, times=3)
        phone.fault("sendMessage", error_code=502, times=3)
        phone.fault("sendMessage", error_code=500, times=2)
        late = BASE_CHAT + 2
        # Sent, but answered after the sender's timeout: failed as "outcome unknown", never sent twice.
        phone.fault("sendMessage", answer_delay=0.6, times=2, chat_id=late)

        async def main() -> None:
            databases = [Database(database_url) for _ in range(senders)]
            bots = [Bot("123:abc", base_url=server.bot_api_url) for _ in range(senders)]
            try:
                for bot in bots:
                    await bot.initialize()
                await _drain([OutboxSender(bot, database, fast, send_timeout=0.2, batch_size=4)
                              for bot, database in zip(bots, databases, strict=True)], db)
            finally:
                for bot in bots:
                    await bot.shutdown()
                for database in databases:
                    database.dispose()

        asyncio.run(main())
        for chat in chats:
            if chat != blocked:
                assert _numbers(phone, chat) == list(range(8)), chat
        assert _numbers(phone, blocked) == []
        stats = phone.stats()
        assert stats["errors"].get("429") == 3 and stats["errors"].get("403", 0) >= 1
    rows = _rows(db)
    blocked_id = chats[blocked]
    assert {(r.status, r.last_error) for r in rows if r.resident_id == blocked_id} == {("failed", outbox.BLOCKED)}
    unknown = [r for r in rows if r.status == "failed" and r.resident_id == chats[late]]
    assert [r.last_error for r in unknown] == ["outcome unknown: ReadTimeout; not resent to avoid a duplicate"] * 2
    delivered = [r for r in rows if r.resident_id != blocked_id and r not in unknown]
    assert {r.status for r in delivered} == {"delivered"} and len(delivered) == 38
    # Every attempt was one call, every refused call was retried, and nothing was sent twice.
    assert sum(r.attempts for r in rows) == stats["calls"]["sendMessage"] >= 40 + 8
    assert stats["messages_sent"] == 40


def test_the_weekly_digest_reaches_a_staff_chat_as_text_chart_and_document_in_order(
        db: Database, fast: Settings) -> None:
    with db.transaction() as s:
        resident = builders.resident(s)
        builders.concern(s, "The camera on Elm Street records my window", resident=resident,
                         now=datetime(2026, 11, 17, 12, tzinfo=UTC))
        jobs.run(s, "weekly-digest", now=datetime(2026, 11, 23, 9, tzinfo=UTC),
                 context=jobs.JobContext(zone=fast.zone, staff_chat_ids=(-100500,)), trigger="manual")
    with EmulatorServer(Emulator(per_chat_rate=1000, per_chat_burst=1000)) as server, \
            EmulatorClient(server.base_url) as phone:
        phone.create_chat(-100500, "supergroup", "City staff")

        async def main() -> None:
            async with Bot("123:abc", base_url=server.bot_api_url) as bot:
                await _drain([OutboxSender(bot, db, fast)], db)

        asyncio.run(main())
        text, chart, document = [m for m in phone.messages(-100500) if m["from"] == "bot"]
        assert text["plain"].startswith("Weekly digest, 2026-W47") and "records my window" in text["plain"]
        assert chart["photo"] and "2026-W47" in chart["caption"]
        assert phone.file(chart["document"]["file_id"]).startswith(b"\x89PNG")
        assert document["document"]["file_name"] == "civicpulse-summary-2026-W47.md"
        assert phone.file(document["document"]["file_id"]).decode().startswith("# Concerns in week 2026-W47")
    assert [r.status for r in _rows(db)] == ["delivered"] * 3
