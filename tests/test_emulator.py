"""The local Bot API emulator, checked with the real python-telegram-bot client and Application."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.emulator import Emulator, EmulatorServer, create_emulator_app
from bot.emulator_client import EmulatorClient, EmulatorClientError, buttons

TOKEN = "123456:TEST-token_abc"
# PTB 22 warns that RetryAfter.retry_after will become a timedelta; the tests accept both.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
RESIDENT = 4242


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Emulator(per_chat_rate=100, per_chat_burst=100)) as running:
        yield running


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[EmulatorClient]:
    with EmulatorClient(server.base_url) as c:
        yield c


def make_bot(server: EmulatorServer) -> Bot:
    return Bot(TOKEN, base_url=server.bot_api_url, base_file_url=server.file_api_url)


def seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that retry_after becomes a timedelta
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def test_ptb_bot_methods_round_trip(server: EmulatorServer, client: EmulatorClient) -> None:
    client.say(RESIDENT, "hello")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (200).to_bytes(4, "big") + (100).to_bytes(4, "big") + b"x" * 40

    async def scenario() -> dict[str, Any]:
        async with make_bot(server) as bot:
            me = await bot.get_me()
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Raise a concern", callback_data="report")],
                                             [InlineKeyboardButton("Register", url="https://example.org/r")]])
            sent = await bot.send_message(RESIDENT, "<b>AQ-017</b> &amp; friends", parse_mode=ParseMode.HTML,
                                          reply_markup=keyboard)
            edited = await bot.edit_message_text("Now <i>edited</i>", chat_id=RESIDENT, message_id=sent.message_id,
                                                 parse_mode=ParseMode.HTML, reply_markup=keyboard)
            press = client.press(RESIDENT, sent.message_id, button=0)
            answered = await bot.answer_callback_query(press["callback_query_id"], text="Noted")
            document = await bot.send_document(RESIDENT, b"code,name\nAQ-017,Sensor\n", filename="register.csv",
                                               caption="The <b>register</b>", parse_mode=ParseMode.HTML)
            photo = await bot.send_photo(RESIDENT, png, caption="QR")
            assert document.document is not None
            downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
            assert await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("near", "Nearby")])
            commands = await bot.get_my_commands()
            assert await bot.delete_webhook(drop_pending_updates=True)
            assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret")
            info = await bot.get_webhook_info()
            assert await bot.delete_webhook()
            return {"me": me, "sent": sent, "edited": edited, "answered": answered, "document": document,
                    "photo": photo, "downloaded": bytes(downloaded), "commands": commands, "info": info,
                    "press": press}

    out = asyncio.run(scenario())
    assert out["me"].username == "civicpulse_bot" and out["me"].is_bot and out["me"].id == 7000000001
    assert out["sent"].text == "AQ-017 & friends" and out["sent"].text_html == "<b>AQ-017</b> &amp; friends"
    assert out["sent"].reply_markup.inline_keyboard[0][0].callback_data == "report"
    assert out["edited"].text == "Now edited" and out["edited"].edit_date is not None
    assert out["answered"] is True
    assert client.callback_answer(out["press"]["callback_query_id"])["text"] == "Noted"
    assert out["document"].document.file_name == "register.csv" and out["document"].caption == "The register"
    assert out["downloaded"] == b"code,name\nAQ-017,Sensor\n"
    assert out["photo"].photo[-1].width == 200 and out["photo"].photo[-1].height == 100
    assert [c.command for c in out["commands"]] == ["start", "near"]
    assert out["info"].url == "http://127.0.0.1:9/hook"

    messages = client.messages(RESIDENT)
    assert [m["from"] for m in messages] == ["user", "bot", "bot", "bot"]
    card, doc, pic = messages[1:]
    assert card["text"] == "Now <i>edited</i>" and card["plain"] == "Now edited" and card["edited"]
    assert buttons(card) == [("Raise a concern", "report"), ("Register", "https://example.org/r")]
    assert client.file(doc["document"]["file_id"]) == b"code,name\nAQ-017,Sensor\n"
    assert pic["photo"] and client.file(pic["document"]["file_id"]) == png
    stats = client.stats()
    assert stats["calls"]["sendMessage"] == 1 and stats["messages_sent"] == 3
    assert stats["commands"]["default"][1] == {"command": "near", "description": "Nearby"}


def test_ptb_raises_telegrams_errors(server: EmulatorServer, client: EmulatorClient) -> None:
    client.say(RESIDENT, "hi")
    client.create_chat(-1001, "supergroup", "Staff")

    async def scenario() -> None:
        async with make_bot(server) as bot:
            with pytest.raises(BadRequest, match="Chat not found"):
                await bot.send_message(999, "hello")
            for bad in ("a < b", "<div>x</div>", "<b>open", "<a>no href</a>", "fish & chips", "<b><i>x</b></i>"):
                with pytest.raises(BadRequest, match="Can't parse entities"):
                    await bot.send_message(RESIDENT, bad, parse_mode=ParseMode.HTML)
            with pytest.raises(BadRequest, match="Message text is empty"):
                await bot.send_message(RESIDENT, "<b></b>", parse_mode=ParseMode.HTML)
            # 4096 counts UTF-16 units of the text without tags: entities count once, tags not at all.
            await bot.send_message(RESIDENT, "<b>" + "&lt;" * 4096 + "</b>", parse_mode=ParseMode.HTML)
            with pytest.raises(BadRequest, match="Message is too long"):
                await bot.send_message(RESIDENT, "😀" * 2049)
            with pytest.raises(BadRequest, match="caption is too long"):
                await bot.send_document(RESIDENT, b"x", filename="x.txt", caption="c" * 1025)
            with pytest.raises(BadRequest, match="Button_data_invalid"):
                await bot.send_message(RESIDENT, "x", reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("b", callback_data="é" * 33)]]))
            many = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
            with pytest.raises(BadRequest, match="Reply markup is too long"):
                await bot.send_message(RESIDENT, "x", reply_markup=InlineKeyboardMarkup(many))
            sent = await bot.send_message(RESIDENT, "same")
            with pytest.raises(BadRequest, match="Message is not modified"):
                await bot.edit_message_text("same", chat_id=RESIDENT, message_id=sent.message_id)
            with pytest.raises(BadRequest, match="Message to edit not found"):
                await bot.edit_message_text("x", chat_id=RESIDENT, message_id=10_000)
            with pytest.raises(BadRequest, match="Query is too old"):
                await bot.answer_callback_query("12345")
            await bot.send_message(-1001, "digest for staff")

            client.block(RESIDENT)
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(RESIDENT, "hello?")
            client.block(RESIDENT, blocked=False)

            client.fault("sendMessage", error_code=429, retry_after=7)
            with pytest.raises(RetryAfter) as flood:
                await bot.send_message(RESIDENT, "x")
            assert seconds(flood.value) == 7
            client.fault("sendMessage", error_code=502, times=2, chat_id=RESIDENT)
            for _ in range(2):
                with pytest.raises(NetworkError, match="Bad Gateway"):
                    await bot.send_message(RESIDENT, "x")
            await bot.send_message(RESIDENT, "through again")

    asyncio.run(scenario())
    stats = client.stats()
    assert stats["errors"]["400"] >= 10 and stats["errors"]["403"] == 1 and stats["errors"]["502"] == 2


def test_an_answer_delay_sends_the_message_but_answers_after_the_clients_timeout(
        server: EmulatorServer, client: EmulatorClient) -> None:
    client.say(RESIDENT, "hi")
    client.fault("sendMessage", answer_delay=0.5, chat_id=RESIDENT)

    async def scenario() -> None:
        async with make_bot(server) as bot:
            with pytest.raises(TimedOut) as late:
                await bot.send_message(RESIDENT, "sent, answered late", read_timeout=0.1)
            assert isinstance(late.value.__cause__, httpx.ReadTimeout)
            await bot.send_message(RESIDENT, "next")  # the fault was used up

    asyncio.run(scenario())
    assert [m["plain"] for m in client.messages(RESIDENT) if m["from"] == "bot"] == ["sent, answered late", "next"]
    with pytest.raises(EmulatorClientError) as refused:
        client.fault("sendMessage", error_code=502, answer_delay=1)  # a refused call has no late answer
    assert refused.value.status_code == 400


def test_a_garbled_fault_sends_the_message_and_answers_200_unreadable(
        server: EmulatorServer, client: EmulatorClient) -> None:
    client.say(RESIDENT, "hi")
    client.fault("sendMessage", garbled=True, chat_id=RESIDENT)

    async def scenario() -> None:
        async with make_bot(server) as bot:
            with pytest.raises(TelegramError, match="Invalid server response") as unreadable:
                await bot.send_message(RESIDENT, "sent, answer unreadable")
            assert isinstance(unreadable.value.__cause__, ValueError)
            await bot.send_message(RESIDENT, "next")

    asyncio.run(scenario())
    assert [m["plain"] for m in client.messages(RESIDENT) if m["from"] == "bot"] == ["sent, answer unreadable", "next"]
    with pytest.raises(EmulatorClientError) as refused:
        client.fault("sendMessage", error_code=502, garbled=True)
    assert refused.value.status_code == 400


def test_per_chat_bucket_answers_429_with_retry_after(server: EmulatorServer, client: EmulatorClient) -> None:
    client.limits(per_chat_rate=0.5, per_chat_burst=3)
    client.say(RESIDENT, "hi")
    client.say(RESIDENT + 1, "hi")

    async def scenario() -> float:
        async with make_bot(server) as bot:
            for _ in range(3):
                await bot.send_message(RESIDENT, "burst")
            with pytest.raises(RetryAfter) as flood:
                await bot.send_message(RESIDENT, "one too many")
            await bot.send_message(RESIDENT + 1, "another chat has its own bucket")
            return seconds(flood.value)

    assert asyncio.run(scenario()) == 2  # 1 token at 0.5/s


def test_global_limit_only_when_switched_on(server: EmulatorServer, client: EmulatorClient) -> None:
    for user in range(1, 8):
        client.say(user, "hi")
    client.limits(global_rate=5, global_limit=True)

    async def scenario() -> int:
        async with make_bot(server) as bot:
            for user in range(1, 6):
                await bot.send_message(user, "bulk")
            try:
                await bot.send_message(6, "bulk")
            except RetryAfter:
                return 429
            return 200

    assert asyncio.run(scenario()) == 429
    client.limits(global_limit=False)
    assert asyncio.run(scenario()) == 200


def test_ptb_application_long_polling_echo(server: EmulatorServer, client: EmulatorClient) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    async def scenario() -> list[dict[str, Any]]:
        app = (ApplicationBuilder().token(TOKEN).base_url(server.bot_api_url).base_file_url(server.file_api_url)
               .build())
        app.add_handler(MessageHandler(filters.TEXT, echo))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=True)
            sent = await asyncio.to_thread(client.say, RESIDENT, "/start AQ-017")
            await asyncio.to_thread(client.say, RESIDENT, "second")
            replies = await asyncio.to_thread(client.wait, RESIDENT, sent["message_id"], 2, 10)
            await app.updater.stop()
            await app.stop()
        return replies

    replies = asyncio.run(scenario())
    assert [r["text"] for r in replies] == ["echo: /start AQ-017", "echo: second"]
    assert client.stats()["pending_updates"] == 0


class _Receiver:
    """A tiny webhook endpoint on a real socket, recording what it gets."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.failures = failures

        async def hook(request: Request) -> JSONResponse:
            if self.failures:
                self.failures -= 1
                return JSONResponse({}, status_code=500)
            self.received.append((await request.json(), request.headers.get("x-telegram-bot-api-secret-token")))
            return JSONResponse({})

        config = uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), host="127.0.0.1",
                                port=0, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)


def test_webhook_delivers_with_the_secret_and_retries(server: EmulatorServer, client: EmulatorClient) -> None:
    receiver = _Receiver(failures=1)
    with receiver as url:
        async def set_hook() -> None:
            async with make_bot(server) as bot:
                assert await bot.set_webhook(url, secret_token="s3cret-token")
                with pytest.raises(Exception, match="webhook is active"):
                    await bot.get_updates()

        asyncio.run(set_hook())
        sent = client.say(RESIDENT, "via webhook")
        deadline = time.monotonic() + 5
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(receiver.received) == 1
    update, secret = receiver.received[0]
    assert secret == "s3cret-token"
    assert update["update_id"] == sent["update_id"] and update["message"]["text"] == "via webhook"
    assert client.stats()["webhook"] == {"url": url, "has_secret": True}


def test_control_api_shapes(server: EmulatorServer, client: EmulatorClient) -> None:
    first = client.say(RESIDENT, "/start@civicpulse_bot AQ-017", language_code="es")
    loc = client.send_location(RESIDENT, 45.49, -73.64, live_period=60)
    venue = client.send_location(RESIDENT, 45.5, -73.6, venue={"title": "Library", "address": "1 Main St"})
    sticker = client.send_attachment(RESIDENT, "sticker")
    edit = client.edit(RESIDENT, first["message_id"], "/start AQ-018")
    redelivered = client.raw_update({"update_id": first["update_id"], "message": {
        "message_id": first["message_id"], "date": int(time.time()), "chat": {"id": RESIDENT, "type": "private"},
        "text": "again"}})
    assert redelivered["update_id"] == first["update_id"]
    assert loc["update_id"] > first["update_id"] and edit["message_id"] == first["message_id"]

    async def poll() -> list[Update]:
        async with make_bot(server) as bot:
            return list(await bot.get_updates(timeout=0))

    updates = asyncio.run(poll())
    assert [u.update_id for u in updates][:5] == [first["update_id"], loc["update_id"], venue["update_id"],
                                                  sticker["update_id"], edit["update_id"]]
    message = updates[0].message
    assert message is not None and message.from_user is not None and message.from_user.language_code == "es"
    assert message.entities[0].type == "bot_command" and message.entities[0].length == len("/start@civicpulse_bot")
    assert updates[1].message is not None and updates[1].message.location is not None
    assert updates[1].message.location.live_period == 60
    assert updates[2].message is not None and updates[2].message.venue is not None
    assert updates[2].message.venue.title == "Library"
    assert updates[3].message is not None and updates[3].message.sticker is not None
    assert updates[4].edited_message is not None and updates[4].edited_message.text == "/start AQ-018"
    assert updates[5].update_id == first["update_id"]  # a redelivery reaches the bot even with an old id

    with pytest.raises(EmulatorClientError) as refused:
        client.press(RESIDENT, 999, button=0)
    assert refused.value.status_code == 400
    with pytest.raises(EmulatorClientError):
        client.say(RESIDENT, "   ")
    assert client.wait(RESIDENT, 0, timeout=0.2) == []


def test_wait_sees_edits_and_reset_keeps_ids_rising(server: EmulatorServer, client: EmulatorClient) -> None:
    first = client.say(RESIDENT, "hi")

    async def scenario() -> None:
        async with make_bot(server) as bot:
            sent = await bot.send_message(RESIDENT, "Pick", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Yes", callback_data="y"), InlineKeyboardButton("No", callback_data="n")]]))
            seen = await asyncio.to_thread(client.wait, RESIDENT, sent.message_id, 1, 0.3, edits=False)
            assert seen == []
            waiter = asyncio.create_task(asyncio.to_thread(client.wait, RESIDENT, sent.message_id, 1, 5,
                                                           edits=True))
            await asyncio.sleep(0.2)
            await bot.edit_message_reply_markup(RESIDENT, sent.message_id)  # no markup: the keyboard goes
            edited = await waiter
            assert edited[0]["message_id"] == sent.message_id and edited[0]["reply_markup"] is None

    asyncio.run(scenario())
    client.reset()
    assert client.messages(RESIDENT) == [] and client.stats()["pending_updates"] == 0
    assert client.say(RESIDENT, "again")["update_id"] > first["update_id"]


def test_update_ids_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    emulator = Emulator(state_file=state)
    emulator._next_update_id = 10**13  # far ahead of the clock, as after a burst of traffic
    last = emulator.enqueue({"message": {}})
    assert Emulator(state_file=state).enqueue({"message": {}}) > last


def test_token_and_method_checks(server: EmulatorServer) -> None:
    with httpx.Client(base_url=server.base_url) as http:
        assert http.get("/botnot-a-token/getMe").json() == {"ok": False, "error_code": 401,
                                                            "description": "Unauthorized"}
        assert http.post(f"/bot{TOKEN}/GETME").json()["result"]["username"] == "civicpulse_bot"
        unknown = http.post(f"/bot{TOKEN}/sendTeleport")
        assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found"
        form = http.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": "1", "text": "x"})
        assert form.status_code == 400 and form.json()["description"] == "Bad Request: chat not found"
    assert create_emulator_app().state.emulator.username == "civicpulse_bot"


def test_the_emulators_own_logs_never_carry_the_token(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), EmulatorServer() as running:
        with EmulatorClient(running.base_url) as residents:
            residents.say(RESIDENT, "hi")

        async def scenario() -> None:
            async with make_bot(running) as bot:
                await bot.send_message(RESIDENT, "hello")
                with pytest.raises(BadRequest):
                    await bot.send_message(RESIDENT, "<nope>", parse_mode=ParseMode.HTML)
                await bot.set_webhook("http://127.0.0.1:9/hook")  # nothing listens: delivery fails and is logged
                residents_update = httpx.post(f"{running.base_url}/_emulator/messages",
                                              json={"user_id": RESIDENT, "text": "again"})
                assert residents_update.status_code == 200
                await asyncio.sleep(0.3)

        asyncio.run(scenario())
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore", "telegram"))]
    assert any(r.name == "civicpulse.emulator" for r in server_side)
    assert all(TOKEN not in r.getMessage() for r in server_side)


def test_every_attachment_kind_parses_in_ptb(server: EmulatorServer, client: EmulatorClient) -> None:
    kinds = ["sticker", "photo", "voice", "document", "contact", "poll", "video", "audio", "animation"]
    for kind in kinds:
        client.send_attachment(RESIDENT, kind)

    async def poll() -> list[Update]:
        async with make_bot(server) as bot:
            return list(await bot.get_updates(timeout=0))

    messages = [u.message for u in asyncio.run(poll())]
    assert all(m is not None and getattr(m, kind) for m, kind in zip(messages, kinds, strict=True))
    assert all(m is not None and m.text is None for m in messages)
