"""`civicpulse chat` against a running emulator and bot, and `civicpulse qr` PNGs of deep links."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import segno
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.chat import chat_loop
from bot.emulator import Emulator, EmulatorServer
from bot.emulator_client import EmulatorClient
from bot.qr import QrError, deep_link_payload

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:chat-test"
USER = 5150


# --- a small bot on a real PTB Application, polling the emulator from its own thread -----------------------
async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    if message.text == "menu":
        await message.reply_text("<b>Pick</b> one", parse_mode=ParseMode.HTML, reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Yes", callback_data="yes"), InlineKeyboardButton("Site", url="https://x.org")]]))
    elif message.text == "where":
        await message.reply_text("Share your location?", reply_markup=ReplyKeyboardMarkup(
            [[KeyboardButton("Send location", request_location=True)], ["Cancel"]], resize_keyboard=True))
    elif message.text == "doc":
        await message.reply_document(b"code,name\nAQ-017,Sensor\n", filename="register.csv", caption="Register")
    else:
        await message.reply_text(f"echo: {message.text}")


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.location is not None
    await message.reply_text(f"at {message.location.latitude:.2f},{message.location.longitude:.2f}")


async def on_sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("nice sticker")


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Noted")
    await query.edit_message_text(f"You chose {query.data}")


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Emulator(per_chat_rate=100, per_chat_burst=100)) as running:
        yield running


@pytest.fixture
def bot(server: EmulatorServer) -> Iterator[None]:
    app: Application = (ApplicationBuilder().token(TOKEN).base_url(server.bot_api_url)  # type: ignore[type-arg]
                        .base_file_url(server.file_api_url).build())
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(MessageHandler(filters.LOCATION, on_location))
    app.add_handler(MessageHandler(filters.Sticker.ALL, on_sticker))
    app.add_handler(CallbackQueryHandler(on_press))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            started.set()
            await stop.wait()
            await app.updater.stop()
            await app.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    yield
    assert stop is not None
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def test_chat_sends_lines_prints_replies_and_runs_commands(server: EmulatorServer, bot: None,
                                                           tmp_path: Path) -> None:
    printed: list[str] = []
    script = ["hello there", "menu", "!1", "!2", "where", "!loc 45.49 -73.64", "!sticker", "doc", "!file",
              "!help", "!bogus", "!quit", "never sent"]
    with EmulatorClient(server.base_url) as client:
        status = chat_loop(client, user_id=USER, lines=script, language="es", out=printed.append,
                           save_dir=tmp_path, follow=False, reply_wait=5)
        sent_by_user = [m for m in client.messages(USER) if m["from"] == "user"]
    assert status == 0
    output = "\n".join(printed)
    assert "bot: echo: hello there" in output
    assert "bot: Pick one\n  [1] Yes  [2] Site" in output  # tags removed, buttons numbered
    assert "bot (edited): You chose yes" in output
    assert "(button [2] Site opens https://x.org)" in output
    assert "keyboard: ‹Send location› (sends your location: !loc LAT LON)  ‹Cancel›" in output
    assert "bot: at 45.49,-73.64" in output and "bot: nice sticker" in output
    assert "[document: register.csv" in output
    assert (tmp_path / "register.csv").read_bytes() == b"code,name\nAQ-017,Sensor\n"
    assert "!press N" in output and "unknown command !bogus" in output
    assert "never sent" not in [m["text"] for m in sent_by_user]
    assert len(sent_by_user) == 6  # texts, the location and the sticker; client commands send nothing


def test_chat_explains_a_missing_emulator() -> None:
    printed: list[str] = []
    with EmulatorClient("http://127.0.0.1:9", timeout=1) as client:
        assert chat_loop(client, user_id=USER, lines=["hi"], out=printed.append, follow=False) == 1
    assert "civicpulse emulator" in printed[0]


# --- qr ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "payload"), [("aq017", "AQ-017"), (" AQ 17 ", "AQ-17"), ("cam_0042", "CAM-0042"),
                                                ("c_shuttle-2026", "c_shuttle-2026"), ("C_Survey_1", "c_Survey_1")])
def test_qr_payload_is_normalised(typed: str, payload: str) -> None:
    assert deep_link_payload(typed) == payload


@pytest.mark.parametrize("typed", ["hello", "", "c_", "c_" + "x" * 63, "c_shuttle 2026", "c_ñandú", "AQ-12345"])
def test_qr_refuses_payloads_telegram_would_reject(typed: str) -> None:
    with pytest.raises(QrError):
        deep_link_payload(typed)


def png_modules(data: bytes, scale: int = 10, border: int = 4) -> list[list[bool]]:
    """Decode a 1-bit greyscale PNG (segno's) into dark modules, undoing scale and quiet zone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + chunk) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        header, idat = (chunk, idat) if kind == b"IHDR" else (header, idat + chunk if kind == b"IDAT" else idat)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert (depth, colour) == (1, 0) and width == height
    raw, stride, rows, previous = zlib.decompress(idat), (width + 7) // 8, [], bytes((width + 7) // 8)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left, up = line[i - 1] if i else 0, previous[i]
            upleft = previous[i - 1] if i else 0
            p = left + up - upleft
            nearest = min((abs(p - left), left), (abs(p - up), up), (abs(p - upleft), upleft))[1]
            line[i] = (line[i] + (0, left, up, (left + up) // 2, nearest)[kind]) & 0xFF
        rows.append([not (line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
        previous = bytes(line)
    size = width // scale - 2 * border
    return [[rows[(border + r) * scale][(border + c) * scale] for c in range(size)] for r in range(size)]


def run_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    environ.update({"PYTHONPATH": str(ROOT), "CIVICPULSE_SECRET_KEY": "q" * 40, **env})
    return subprocess.run([sys.executable, "-m", "civicpulse_cli", *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=120)


def test_qr_writes_a_png_of_the_deep_link(tmp_path: Path, server: EmulatorServer) -> None:
    # No username configured: getMe on the configured Bot API (here the emulator) names the bot.
    done = run_cli("qr", "aq017", cwd=tmp_path, CIVICPULSE_TELEGRAM_API_URL=server.bot_api_url)
    assert done.returncode == 0, done.stderr
    link = "https://t.me/civicpulse_bot?start=AQ-017"
    assert link in done.stdout
    png = (tmp_path / "AQ-017.png").read_bytes()
    assert png_modules(png) == [[bool(m) for m in row] for row in segno.make(link, error="m", micro=False).matrix]

    named = run_cli("qr", "c_shuttle-2026", "--output", "sign.png", cwd=tmp_path,
                    CIVICPULSE_BOT_USERNAME="@riverton_bot")
    assert named.returncode == 0 and "https://t.me/riverton_bot?start=c_shuttle-2026" in named.stdout
    assert (tmp_path / "sign.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_qr_errors_are_clear_and_keep_the_token_secret(tmp_path: Path) -> None:
    bad = run_cli("qr", "not a code", cwd=tmp_path, CIVICPULSE_BOT_USERNAME="riverton_bot")
    assert bad.returncode == 2 and "neither a deployment code" in bad.stderr
    unreachable = run_cli("qr", "AQ-017", cwd=tmp_path, CIVICPULSE_TELEGRAM_TOKEN="42:very-secret",
                          CIVICPULSE_TELEGRAM_API_URL="http://127.0.0.1:9/bot")
    assert unreachable.returncode == 1 and "CIVICPULSE_BOT_USERNAME" in unreachable.stderr
    assert "very-secret" not in unreachable.stderr + unreachable.stdout
    assert not list(tmp_path.glob("*.png"))


def test_emulator_refuses_production_and_documents_its_limits(tmp_path: Path) -> None:
    helped = run_cli("emulator", "--help", cwd=tmp_path)
    assert "per-chat token bucket" in helped.stdout and "--global-limit" in helped.stdout
    refused = run_cli("emulator", cwd=tmp_path, CIVICPULSE_ENVIRONMENT="production",
                      CIVICPULSE_TELEGRAM_TOKEN="42:real-token")
    assert refused.returncode == 2 and "never runs in production" in refused.stderr
