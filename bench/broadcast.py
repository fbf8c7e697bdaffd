"""Benchmark the outbox sender: an announcement to 10,000 followers through the Bot API emulator with Telegram's
global bulk limit on (30 messages/s, and its per-chat bucket), as `civicpulse bot` sends it.

The emulator runs in its own process (as Telegram is another machine); the sender is bot.sender.OutboxSender with
the Bot that bot.runner gives it, against the database under test. Reported: the sustained rate (first to last
delivery), 429s, rows lost (not delivered) and doubled (a chat that got more than one message).

    .venv/bin/python bench/broadcast.py [--quick] [--followers 10000] [--database-url URL]
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# bench/bot.py would shadow the project's `bot` package: import the package first, then make bench/ importable.
_HERE = os.path.realpath(Path(__file__).resolve().parent)
sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry or ".") != _HERE]
import bot.sender  # noqa: E402,F401  (the project's package)

sys.path.append(_HERE)

import _common as c  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from bot.emulator_client import EmulatorClient  # noqa: E402
from bot.sender import GLOBAL_RATE, OutboxSender, sender_bot  # noqa: E402
from core import announcements  # noqa: E402
from core.models import District, Follow, Outbox, OutboxStatus, Resident  # noqa: E402
from core.settings import Settings  # noqa: E402

FIRST_CHAT = 10_000_000
TARGET_RATE = 27.0  # 90 % of Telegram's 30 messages/s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(port: int, chats: int) -> None:
    """The emulator process: every follower's chat known (they wrote to the bot once), the global limit on."""
    from bot.emulator import Emulator, EmulatorServer

    emulator = Emulator(global_limit=True)
    for n in range(chats):
        emulator.chat(FIRST_CHAT + n)
    server = EmulatorServer(emulator, port=port).start()
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


def _followers(target: c.Target, n: int) -> int:
    """n residents who follow the deployment, its district or both (de-duplicated); queue one announcement each."""
    now = datetime.now(UTC)
    with target.db.transaction() as s:
        for table in ("outbox", "follow", "notice", "resident", "district"):
            s.execute(text(f"DELETE FROM {table}"))
        district = District(slug="bench", name_en="Bench", name_es="Bench", geometry={}, center_lat=0, center_lon=0)
        s.add(district)
        s.flush()
        s.execute(insert(Resident), [
            {"pseudonym": f"bench-{i:08d}", "chat_id": FIRST_CHAT + i, "language": "es" if i % 3 == 0 else "en",
             "consent_at": now, "notifications": True, "active": True, "created_at": now, "last_seen_at": now}
            for i in range(n)])
        ids = list(s.scalars(select(Resident.id).order_by(Resident.id)))
        s.execute(text("INSERT INTO deployment (code, name, technology, status, lat, lon, mobile, district_id, "
                       "created_at, updated_at) VALUES ('CAM-BENCH', 'Bench camera', 'camera', 'pilot', 0, 0, :f, "
                       ":d, :now, :now)"), {"d": district.id, "now": now, "f": False})
        from core.models import Deployment

        deployment = s.scalar(select(Deployment).where(Deployment.code == "CAM-BENCH"))
        assert deployment is not None
        # 60 % follow the camera, 60 % its district: a fifth follow both and must hear once.
        rows = [{"resident_id": r, "deployment_id": deployment.id, "district_id": None, "created_at": now}
                for r in ids[: n * 6 // 10]]
        rows += [{"resident_id": r, "deployment_id": None, "district_id": district.id, "created_at": now}
                 for r in ids[n * 4 // 10:]]
        s.execute(insert(Follow), rows)
        return announcements.announce(s, text="The camera on Elm Street moves to the school crossing on Monday.",
                                      language="en", actor="bench", deployment=deployment, now=now)


async def _send(settings: Settings, target: c.Target, base_url: str, n: int, timeout: float) -> float:
    bot = sender_bot(settings, base_url=base_url)
    await bot.initialize()
    sender = OutboxSender(bot, target.db, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop, interval=0.2))
    started = time.perf_counter()
    try:
        while True:
            await asyncio.sleep(1.0)
            with target.db.reading() as s:
                waiting = s.scalar(select(func.count()).select_from(Outbox).where(
                    Outbox.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING))))
            if not waiting or time.perf_counter() - started > timeout:
                return time.perf_counter() - started
    finally:
        stop.set()
        await task
        await bot.shutdown()


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--followers", type=int, default=10_000)
    args = p.parse_args()
    if args.quick:
        args.followers = 1_000
    port = _free_port()
    emulator = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, args.followers), daemon=True)
    emulator.start()
    base = f"http://127.0.0.1:{port}"
    try:
        with EmulatorClient(base) as phone:
            for _ in range(300):
                try:
                    phone.stats()
                    break
                except Exception:
                    time.sleep(0.1)
            with c.open_target(args.database_url) as target:
                t0 = time.perf_counter()
                queued = _followers(target, args.followers)
                queue_s = time.perf_counter() - t0
                assert queued == args.followers, queued
                settings = Settings(_env_file=None, database_url=target.url, secret_key=SecretStr("x" * 40),  # type: ignore[call-arg]
                                    environment="test")
                wall = asyncio.run(_send(settings, target, f"{base}/bot", queued,
                                         timeout=queued / TARGET_RATE * 2 + 60))
                with target.db.reading() as s:
                    delivered = s.execute(select(Outbox.sent_at, Outbox.telegram_message_id).where(
                        Outbox.status == OutboxStatus.DELIVERED).order_by(Outbox.sent_at)).all()
                    attempts = s.scalar(select(func.sum(Outbox.attempts)).select_from(Outbox)) or 0
                stats = phone.stats()
                first, last = delivered[0][0], delivered[-1][0]
                span = (last - first).total_seconds()
                rate = (len(delivered) - 1) / span if span > 0 else float("inf")
                lost = queued - len(delivered)
                doubled = stats["messages_sent"] - len(delivered) + sum(1 for _, m in delivered if m != 1)
                too_many = stats["errors"].get("429", 0)
                rows = [
                    c.Row("queue the announcement (announce)", queued / queue_s, "rows/s",
                          f"{queue_s:.2f} s for {queued:,} followers"),
                    c.Row("sustained rate (first→last delivery)", rate, "messages/s",
                          f"{rate / 30:.2f}x of 30/s; pacer {GLOBAL_RATE:g}/s", f">= {TARGET_RATE:g}/s",
                          c.verdict(rate >= TARGET_RATE)),
                    c.Row("wall time, sender start → outbox empty", wall, "s", f"{queued / wall:.1f} messages/s"),
                    c.Row("429 answers", too_many, "count", "", "0", c.verdict(too_many == 0)),
                    c.Row("rows lost (not delivered)", lost, "count", "", "0", c.verdict(lost == 0)),
                    c.Row("rows doubled (a chat got two)", doubled, "count", "", "0", c.verdict(doubled == 0)),
                    c.Row("send attempts per row", attempts / queued, "attempts", f"{attempts:,} in all"),
                ]
                c.print_report("broadcast: announcement to followers through the emulator (global limit on)",
                               target, rows, [
                                   f"{queued:,} followers of a deployment or its district (a fifth follow both); "
                                   "the emulator in its own process with Telegram's limits (30/s overall, 1/s "
                                   f"per chat, burst 20); emulator calls: {stats['calls'].get('sendMessage', 0):,} "
                                   f"sendMessage, errors {stats['errors'] or 'none'}"])
    finally:
        emulator.terminate()
        emulator.join(10)


if __name__ == "__main__":
    main()
