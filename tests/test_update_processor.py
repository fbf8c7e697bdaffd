"""The bot's update processor: one chat's updates in order, other chats never wait behind a busy chat."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.app import PerChatUpdateProcessor


def _update(update_id: int, chat_id: int) -> Update:
    message = Message(message_id=update_id, date=datetime.now(UTC), chat=Chat(id=chat_id, type="private"))
    return Update(update_id=update_id, message=message)


def test_a_chat_with_a_backlog_does_not_hold_up_other_chats() -> None:
    async def scenario() -> list[str]:
        processor = PerChatUpdateProcessor(max_concurrent_updates=2)
        release = asyncio.Event()
        done: list[str] = []

        async def work(name: str, wait: asyncio.Event | None = None) -> None:
            if wait is not None:
                await wait.wait()
            done.append(name)

        # One chat sends more updates than there are slots; each waits (a paced reply, a slow database).
        busy = [asyncio.create_task(processor.process_update(_update(i, 1), work(f"a{i}", release)))
                for i in range(6)]
        await asyncio.sleep(0)
        other = asyncio.create_task(processor.process_update(_update(100, 2), work("b")))
        await asyncio.wait_for(other, timeout=2)  # answered while the busy chat still waits
        assert done == ["b"]
        release.set()
        await asyncio.wait_for(asyncio.gather(*busy), timeout=2)
        return done

    done = asyncio.run(scenario())
    assert done == ["b", "a0", "a1", "a2", "a3", "a4", "a5"]  # the busy chat's updates kept their order


def test_at_most_the_configured_number_of_chats_run_at_once() -> None:
    async def scenario() -> int:
        processor = PerChatUpdateProcessor(max_concurrent_updates=3)
        running = peak = 0

        async def work() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

        await asyncio.gather(*(processor.process_update(_update(i, chat), work())
                               for i, chat in enumerate(range(10, 20))))
        return peak

    assert asyncio.run(scenario()) == 3
