"""Pace the bot's own replies per chat, and retry every 429 after Telegram's retry_after.

PTB's AIORateLimiter caps everything at 30 messages/s overall and has no per-private-chat bucket; replies to a
resident's own messages are not bulk, so they get a per-chat bucket instead (bulk notices are paced by the
outbox sender). A 429 pauses only the chat it concerns.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

logger = logging.getLogger(__name__)


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's retry_after in seconds (PTB 22 gives an int, deprecated, or a timedelta with PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)

GROUP_RATE_PER_MINUTE = 20  # Telegram: about 20 messages a minute in a group
MAX_LIMITERS = 4096


class ChatRateLimiter(BaseRateLimiter[int]):
    """A token bucket per chat (private chats at `per_chat_rate`/s, groups 20/min); 429s retried per chat."""

    def __init__(self, *, per_chat_rate: float = 1.0, burst: int = 3, max_retries: int = 3,
                 retry_scale: float = 1.0) -> None:
        self._rate = per_chat_rate
        self._burst = max(1, burst)
        self._max_retries = max_retries
        self._retry_scale = retry_scale
        self._limiters: dict[int | str, AsyncLimiter] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _limiter(self, chat_id: int | str) -> AsyncLimiter:
        limiter = self._limiters.get(chat_id)
        if limiter is None:
            if len(self._limiters) >= MAX_LIMITERS:
                # Forget idle buckets (full again) so memory stays bounded with many residents.
                for key, old in list(self._limiters.items()):
                    if old.has_capacity(old.max_rate):
                        del self._limiters[key]
            is_group = isinstance(chat_id, str) or chat_id < 0
            limiter = (AsyncLimiter(GROUP_RATE_PER_MINUTE, 60) if is_group
                       else AsyncLimiter(self._burst, self._burst / self._rate))
            self._limiters[chat_id] = limiter
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            try:
                if chat_id is None:
                    return await callback(*args, **kwargs)
                key = int(chat_id) if str(chat_id).lstrip("-").isdigit() else str(chat_id)
                async with self._limiter(key):
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                wait = retry_after_seconds(exc)
                logger.info("429 from Telegram on %s; retrying after %.2f s", endpoint, wait * self._retry_scale)
                await asyncio.sleep(wait * self._retry_scale)
        raise AssertionError("unreachable")
