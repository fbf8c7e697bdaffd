"""The outbox sender through a real PTB Bot talking HTTP to the local Bot API emulator."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from telegram import Bot
from telegram.request import HTTPXRequest

from api.app import create_app
from bot.emulator import Emulator, EmulatorServer
from bot.emulator_client import EmulatorClient, buttons
from bot.sender import OutboxSender, SendReport
from core import apikeys, outbox
from core.db import Database
from core.models import Outbox, Resident, Role
from core.settings import Settings
from tests import builders

CHAT = 777001
HOSTILE = 'We moved it <script>alert("x")</script> & re-aimed the lens.'


@pytest.fixture
def server(emulator_server: EmulatorServer, phone: EmulatorClient) -> EmulatorServer:
    """The module's emulator, reset for this test (conftest's `phone` resets it)."""
    return emulator_server


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"pacing_scale": 0.01})


def _bot(server: EmulatorServer) -> Bot:
    return Bot(token="123:abc", base_url=server.bot_api_url)


def _resident(db: Database, chat_id: int = CHAT, *, language: str = "en", telegram_user_id: int | None = None) -> int:
    with db.transaction() as s:
        return builders.resident(s, telegram_user_id=telegram_user_id or chat_id, chat_id=chat_id,
                                 language=language).id


def _queue(db: Database, n: int = 1, *, resident_id: int | None = None, staff_chat_id: int | None = None,
           kind: str = "staff_reply", payload: dict[str, Any] | None = None) -> list[int]:
    with db.transaction() as s:
        rows = [Outbox(resident_id=resident_id, staff_chat_id=staff_chat_id, kind=kind,
                       payload=payload or {"reference": "C-7K2Q9", "text": f"message {i}", "language": "en"})
                for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def _rows(db: Database) -> list[Outbox]:
    with db.reading() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def _bot_messages(phone: EmulatorClient, chat_id: int = CHAT) -> list[dict[str, Any]]:
    return [m for m in phone.messages(chat_id) if m["from"] == "bot"]


async def _until(sender: OutboxSender, done: Callable[[], bool], timeout: float = 10.0) -> SendReport:
    """Run delivery rounds until done() holds; return the summed report."""
    total = SendReport()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        assert loop.time() < deadline, "delivery did not finish in time"
        report = await sender.run_once()
        total.delivered += report.delivered
        total.retried += report.retried
        total.failed += report.failed
        await asyncio.sleep(0.02)
    return total


def _with_bot(server: EmulatorServer, body: Callable[[Bot], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with _bot(server) as bot:
            return await body(bot)
    return asyncio.run(main())


def test_a_staff_reply_from_the_api_reaches_the_resident_in_their_language(
        server: EmulatorServer, phone: EmulatorClient, db: Database, fast: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with db.transaction() as s:
        key = apikeys.create(s, role=Role.STAFF, principal="reply desk")[1]
        resident = builders.resident(s, telegram_user_id=424242, chat_id=CHAT, language="es")
        reference = builders.concern(s, "La cámara graba mi ventana", resident=resident).reference
    phone.say(CHAT, "/start")  # the resident wrote to the bot once, so Telegram knows the chat
    with TestClient(create_app(fast, db)) as api:
        headers = {"Authorization": f"Bearer {key}"}
        assert api.post(f"/api/v1/concerns/{reference}/replies", json={"text": HOSTILE},
                        headers=headers).status_code == 201

        report = _with_bot(server, lambda bot: OutboxSender(bot, db, fast).run_once())
        assert (report.delivered, report.retried, report.failed) == (1, 0, 0)
        [message] = _bot_messages(phone)
        assert message["parse_mode"] == "HTML"
        assert message["plain"] == f"Respuesta de la ciudad sobre tu inquietud {reference}:\n\n{HOSTILE}"
        [row] = _rows(db)
        assert (row.status, row.telegram_message_id, row.attempts) == ("delivered", message["message_id"], 1)
        assert row.sent_at is not None
        detail = api.get(f"/api/v1/concerns/{reference}", headers=headers).json()
        assert detail["replies"][0]["delivery"] == "delivered"
    # The sender's own records (PTB's DEBUG records do carry chat ids: its logger must stay above DEBUG).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("civicpulse"))
    assert f"outbox {row.id} staff_reply: delivered" in logged
    for secret in (str(CHAT), "424242", "123:abc", "alert", "re-aimed"):
        assert secret not in logged


def test_flood_control_waits_retry_after_then_delivers_once(server: EmulatorServer, phone: EmulatorClient,
                                                            db: Database, fast: Settings) -> None:
    phone.say(CHAT, "/start")
    [row_id] = _queue(db, resident_id=_resident(db))
    phone.fault("sendMessage", error_code=429, retry_after=1, times=1)

    async def body(bot: Bot) -> SendReport:
        # Telegram asks for 1 s; a pacing scale of 0.3 makes that 300 ms, long enough to see the row wait.
        sender = OutboxSender(bot, db, fast.model_copy(update={"pacing_scale": 0.3}))
        first = await sender.run_once()
        assert (first.delivered, first.retried) == (0, 1)
        [row] = _rows(db)
        assert row.status == "queued" and "retry after 1 s" in (row.last_error or "")
        return await _until(sender, lambda: _rows(db)[0].status == "delivered")

    _with_bot(server, body)
    assert len(_bot_messages(phone)) == 1
    assert phone.stats()["errors"].get("429") == 1
    [row] = _rows(db)
    assert (row.id, row.attempts, row.last_error) == (row_id, 2, None)


def test_bad_gateway_twice_is_retried_with_backoff_then_delivered(server: EmulatorServer, phone: EmulatorClient,
                                                                  db: Database, fast: Settings) -> None:
    phone.say(CHAT, "/start")
    _queue(db, resident_id=_resident(db))
    phone.fault("sendMessage", error_code=502, times=2)
    report = _with_bot(server, lambda bot: _until(OutboxSender(bot, db, fast),
                                                  lambda: _rows(db)[0].status == "delivered"))
    assert (report.delivered, report.retried, report.failed) == (1, 2, 0)
    assert len(_bot_messages(phone)) == 1
    assert _rows(db)[0].attempts == 3


@pytest.mark.parametrize(("fault", "recorded"), [
    ({"answer_delay": 0.5}, 1),  # sent, but answered after the client gave up
    ({"delay": 0.5, "error_code": 502}, 0),  # slow and then refused: the sender cannot tell the two apart
], ids=["answered-late", "slow-then-refused"])
def test_a_send_that_timed_out_waiting_for_the_answer_is_failed_not_sent_again(
        server: EmulatorServer, phone: EmulatorClient, db: Database, fast: Settings, fault: dict[str, Any],
        recorded: int) -> None:
    phone.say(CHAT, "/start")
    late, after = _queue(db, 2, resident_id=_resident(db))
    phone.fault("sendMessage", times=1, **fault)

    async def body(bot: Bot) -> SendReport:
        sender = OutboxSender(bot, db, fast, send_timeout=0.2)
        first = await sender.run_once()
        assert (first.delivered, first.retried, first.failed) == (0, 0, 1)
        # The chat's next row goes on; the failed one is never claimed again.
        return await _until(sender, lambda: _rows(db)[1].status == "delivered")

    report = _with_bot(server, body)
    assert (report.delivered, report.retried, report.failed) == (1, 0, 0)
    by_id = {r.id: r for r in _rows(db)}
    assert (by_id[late].status, by_id[late].attempts, by_id[late].telegram_message_id) == ("failed", 1, None)
    assert by_id[late].last_error == "outcome unknown: ReadTimeout; not resent to avoid a duplicate"
    assert by_id[after].status == "delivered"
    assert phone.stats()["calls"]["sendMessage"] == 2
    assert [m["plain"].rsplit(" ", 1)[1] for m in _bot_messages(phone)] == ["0"] * recorded + ["1"]


def test_a_send_answered_200_with_an_unreadable_body_is_failed_not_sent_again(
        server: EmulatorServer, phone: EmulatorClient, db: Database, fast: Settings) -> None:
    phone.say(CHAT, "/start")
    garbled, later = _queue(db, 2, resident_id=_resident(db))
    phone.fault("sendMessage", times=1, garbled=True)

    async def body(bot: Bot) -> SendReport:
        sender = OutboxSender(bot, db, fast)
        first = await sender.run_once()
        assert (first.delivered, first.retried, first.failed) == (0, 0, 1)
        return await _until(sender, lambda: _rows(db)[1].status == "delivered")

    _with_bot(server, body)
    by_id = {r.id: r for r in _rows(db)}
    assert (by_id[garbled].status, by_id[garbled].attempts) == ("failed", 1)
    assert by_id[garbled].last_error == "outcome unknown: unreadable answer; not resent to avoid a duplicate"
    assert (by_id[later].status, by_id[later].attempts) == ("delivered", 1)
    # Telegram recorded the message once; the sender did not send it again.
    assert [m["plain"].rsplit(" ", 1)[1] for m in _bot_messages(phone)] == ["0", "1"]


def test_a_connection_that_could_not_be_made_is_retried_and_delivered_once(db: Database, fast: Settings) -> None:
    # A port nobody listens on yet: the request never leaves, so the row is safe to send again.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [row_id] = _queue(db, resident_id=_resident(db))

    async def main() -> SendReport:
        bot = Bot(token="123:abc", base_url=f"http://127.0.0.1:{port}/bot")  # getMe would fail: not initialised
        try:
            sender = OutboxSender(bot, db, fast, send_timeout=0.5)
            first = await sender.run_once()
            assert (first.delivered, first.retried, first.failed) == (0, 1, 0)
            [row] = _rows(db)
            assert row.status == "queued" and "ConnectError" in (row.last_error or "")
            with EmulatorServer(Emulator(per_chat_rate=1000, per_chat_burst=1000), port=port) as up, \
                    EmulatorClient(up.base_url) as phone:
                phone.say(CHAT, "/start")
                await _until(sender, lambda: _rows(db)[0].status == "delivered")
                assert len(_bot_messages(phone)) == 1 and phone.stats()["calls"]["sendMessage"] == 1
            return first
        finally:
            await bot.shutdown()

    asyncio.run(main())
    [row] = _rows(db)
    assert (row.id, row.status, row.attempts, row.last_error) == (row_id, "delivered", 2, None)


@pytest.mark.parametrize(("failure", "unknown"), [
    (httpx.PoolTimeout, None),
    (httpx.ConnectTimeout, None),
    (httpx.ConnectError, None),
    (httpx.ReadTimeout, "ReadTimeout"),
    (httpx.WriteTimeout, "WriteTimeout"),  # part of the request may have gone: as unknown as a read timeout
    (httpx.ReadError, "ReadError"),
    (httpx.WriteError, "WriteError"),
    (httpx.RemoteProtocolError, "RemoteProtocolError"),
    (OSError, "OSError"),  # below httpx: PTB's "Unknown error in HTTP implementation"
])
def test_only_a_request_that_never_left_is_sent_again(db: Database, fast: Settings, failure: type[Exception],
                                                      unknown: str | None) -> None:
    """PTB's own HTTPXRequest wraps what the HTTP transport raised; the sender decides from what is below."""
    _queue(db, resident_id=_resident(db))

    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/getMe"):  # the Bot's initialisation goes through
            return httpx.Response(200, json={"ok": True, "result": {"id": 123, "is_bot": True,
                                                                     "first_name": "CivicPulse", "username": "cp_bot"}})
        raise failure("no answer") if issubclass(failure, OSError) else failure("no answer", request=request)

    async def main() -> SendReport:
        request = HTTPXRequest(httpx_kwargs={"transport": httpx.MockTransport(transport)})
        async with Bot(token="123:abc", request=request) as bot:
            return await OutboxSender(bot, db, fast).run_once()

    report = asyncio.run(main())
    [row] = _rows(db)
    if unknown is None:
        assert (report.retried, row.status, row.attempts) == (1, "queued", 1)
    else:
        assert (report.failed, row.status, row.attempts) == (1, "failed", 1)
        assert row.last_error == f"outcome unknown: {unknown}; not resent to avoid a duplicate"


def test_server_errors_give_up_after_the_attempt_cap(server: EmulatorServer, phone: EmulatorClient, db: Database,
                                                     fast: Settings) -> None:
    phone.say(CHAT, "/start")
    _queue(db, resident_id=_resident(db))
    phone.fault("sendMessage", error_code=500, times=10)
    _with_bot(server, lambda bot: _until(OutboxSender(bot, db, fast, max_attempts=3),
                                         lambda: _rows(db)[0].status == "failed"))
    [row] = _rows(db)
    assert row.attempts == 3 and (row.last_error or "").startswith("gave up after 3 attempts")
    assert _bot_messages(phone) == []


def test_a_resident_who_blocked_the_bot_becomes_inactive_and_their_rows_fail(
        server: EmulatorServer, phone: EmulatorClient, db: Database, fast: Settings) -> None:
    phone.say(CHAT, "/start")
    phone.say(CHAT + 1, "/start")
    blocker, other = _resident(db), _resident(db, CHAT + 1)
    _queue(db, 3, resident_id=blocker)
    _queue(db, resident_id=other)
    phone.block(CHAT)
    report = _with_bot(server, lambda bot: OutboxSender(bot, db, fast).run_once())
    assert (report.delivered, report.failed) == (1, 1)  # one send refused; the rest failed with it, unsent
    rows = _rows(db)
    assert [(r.status, r.last_error) for r in rows[:3]] == [("failed", outbox.BLOCKED)] * 3
    assert rows[3].status == "delivered"
    with db.reading() as s:
        assert {r.chat_id: r.active for r in s.scalars(select(Resident))} == {CHAT: False, CHAT + 1: True}
    assert phone.stats()["errors"].get("403") == 1


def test_a_bad_request_fails_the_row_with_telegrams_reason(server: EmulatorServer, phone: EmulatorClient,
                                                           db: Database, fast: Settings) -> None:
    phone.say(CHAT, "/start")
    refused = _queue(db, resident_id=_resident(db))
    unknown_chat = _queue(db, resident_id=_resident(db, 999_999))  # Telegram never heard of this chat
    phone.fault("sendMessage", error_code=400, description="Bad Request: message is too long", times=1, chat_id=CHAT)
    report = _with_bot(server, lambda bot: OutboxSender(bot, db, fast).run_once())
    assert (report.delivered, report.retried, report.failed) == (0, 0, 2)
    by_id = {r.id: r for r in _rows(db)}
    # PTB drops the "Bad Request: " prefix and capitalises what is left.
    assert (by_id[refused[0]].status, by_id[refused[0]].last_error) == ("failed", "Message is too long")
    assert (by_id[unknown_chat[0]].status, by_id[unknown_chat[0]].last_error) == ("failed", "Chat not found")


def test_an_unknown_kind_fails_without_a_send(server: EmulatorServer, phone: EmulatorClient, db: Database,
                                              fast: Settings) -> None:
    phone.say(CHAT, "/start")
    _queue(db, resident_id=_resident(db), kind="telepathy", payload={"x": 1})
    report = _with_bot(server, lambda bot: OutboxSender(bot, db, fast).run_once())
    assert report.failed == 1 and _rows(db)[0].last_error == "unknown kind"
    assert phone.stats()["calls"].get("sendMessage", 0) == 0


def test_a_satisfaction_check_carries_the_buttons_the_bot_answers(server: EmulatorServer, phone: EmulatorClient,
                                                                  db: Database, fast: Settings) -> None:
    phone.say(CHAT, "/start")
    _queue(db, resident_id=_resident(db, language="es"), kind="satisfaction_check", payload={"reference": "C-7K2Q9"})
    _with_bot(server, lambda bot: OutboxSender(bot, db, fast).run_once())
    [message] = _bot_messages(phone)
    assert "C-7K2Q9" in message["plain"]
    assert buttons(message) == [("Sí, me ayudó", "sat:y:C-7K2Q9"), ("No, reabrirla", "sat:n:C-7K2Q9")]


def test_staff_chats_get_their_rows_in_english(server: EmulatorServer, phone: EmulatorClient, db: Database,
                                               fast: Settings) -> None:
    phone.create_chat(-100123, "supergroup", "City staff")
    _queue(db, staff_chat_id=-100123, kind="concern_status", payload={"reference": "C-1", "status": "resolved"})
    _with_bot(server, lambda bot: OutboxSender(bot, db, fast).run_once())
    assert [m["plain"] for m in _bot_messages(phone, -100123)] == ["Your concern C-1 is now: resolved."]
    assert _rows(db)[0].status == "delivered"


def test_two_senders_at_once_never_send_a_row_twice(server: EmulatorServer, phone: EmulatorClient, db: Database,
                                                    fast: Settings, database_url: str) -> None:
    # More chats than a batch: each round both senders find rows whose chat has no earlier row in flight.
    chats = [CHAT + i for i in range(20)]
    for chat in chats:
        phone.say(chat, "/start")
        _queue(db, 3, resident_id=_resident(db, chat), payload=None)

    delivered = [0, 0]

    async def main() -> None:
        first_db, second_db = Database(database_url), Database(database_url)
        try:
            async with _bot(server) as one, _bot(server) as two:
                senders = [OutboxSender(one, first_db, fast, batch_size=7),
                           OutboxSender(two, second_db, fast, batch_size=7)]
                while any(r.status != "delivered" for r in _rows(db)):
                    reports = await asyncio.gather(*(s.run_once() for s in senders))
                    for i, report in enumerate(reports):
                        delivered[i] += report.delivered
        finally:
            first_db.dispose()
            second_db.dispose()

    asyncio.run(main())
    assert sum(delivered) == 60 and min(delivered) > 0  # both worked, on different rows
    rows = _rows(db)
    assert all(r.attempts == 1 for r in rows)
    for chat in chats:
        texts = [m["plain"] for m in _bot_messages(phone, chat)]
        assert len(texts) == len(set(texts)) == 3
    assert phone.stats()["calls"]["sendMessage"] == 60
    assert len({(r.resident_id, r.telegram_message_id) for r in rows}) == 60  # message ids count per chat


def test_the_loop_survives_an_error_and_stops_when_told(server: EmulatorServer, phone: EmulatorClient,
                                                        db: Database, fast: Settings,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    phone.say(CHAT, "/start")
    _queue(db, resident_id=_resident(db))

    async def main() -> None:
        async with _bot(server) as bot:
            sender = OutboxSender(bot, db, fast)
            real = sender.run_once
            calls = 0

            async def flaky() -> SendReport:
                nonlocal calls
                calls += 1
                if calls == 1:
                    raise RuntimeError(f"database went away while writing to chat {CHAT}")
                return await real()

            sender.run_once = flaky  # type: ignore[method-assign]
            stop = asyncio.Event()
            task = asyncio.create_task(sender.run(stop, interval=0.01))
            for _ in range(500):
                if _rows(db)[0].status == "delivered":
                    break
                await asyncio.sleep(0.01)
            stop.set()
            await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert _rows(db)[0].status == "delivered"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("civicpulse"))
    assert "RuntimeError in a delivery round; continuing" in logged
    assert str(CHAT) not in logged and "went away" not in logged
