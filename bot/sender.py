"""The outbox sender: delivers queued rows to Telegram and records each outcome, never sending a row twice.

Each row is claimed in its own short transaction (committed as `sending`), sent, then marked in another, so a
crash can leave at most the one row in flight undecided; `core.outbox.recover_interrupted` fails it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.ratelimit import retry_after_seconds
from core import outbox
from core.db import Database
from core.logging_setup import TOKEN_IN_URL
from core.models import OutboxStatus, utcnow
from core.settings import Settings

log = logging.getLogger("civicpulse.outbox")

T = TypeVar("T")


@dataclass
class SendReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.retried + self.failed


class OutboxSender:
    """Deliver due outbox rows through a PTB Bot, retrying what Telegram asks to retry."""

    def __init__(self, bot: Bot, database: Database, settings: Settings, *, batch_size: int = 50,
                 lease: timedelta = timedelta(minutes=2), send_timeout: float = 10.0,
                 max_attempts: int = outbox.MAX_ATTEMPTS, clock: Callable[[], datetime] = utcnow) -> None:
        # A send takes at most pool + connect + write + read timeouts; the claim must outlive it, or the row
        # could be failed as interrupted while Telegram is still accepting it.
        if lease.total_seconds() <= 4 * send_timeout + 5:
            raise ValueError("the lease must be longer than the longest send (4 × send_timeout + 5 s)")
        self._bot = bot
        self._database = database
        self._scale = settings.pacing_scale
        self._batch_size = batch_size
        self._lease = lease
        self._timeout = send_timeout
        self._max_attempts = max_attempts
        self._clock = clock

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Deliver until stop is set; an error is logged (without personal data) and the loop goes on."""
        while not stop.is_set():
            busy = False
            try:
                report = await self.run_once()
                busy = report.total >= self._batch_size  # more may be due: go on without waiting
            except Exception as exc:  # the sender must outlive a database or network outage
                _log_unexpected("outbox sender: %s in a delivery round; continuing", exc)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

    async def run_once(self) -> SendReport:
        """Fail interrupted rows, then claim and send due rows one at a time, up to the batch size."""
        report = SendReport()
        report.failed += await self._db(outbox.recover_interrupted, now=self._clock())
        held: dict[int, datetime] = {}  # chat id → when Telegram lets us write to it again (after a 429)
        for _ in range(self._batch_size):
            batch = await self._db(outbox.claim, now=self._clock(), lease=self._lease, batch_size=1)
            report.failed += batch.failed
            if not batch.rows:
                if batch.failed:
                    continue
                break
            row = batch.rows[0]
            until = held.get(row.chat_id)
            if until is not None and until > self._clock():
                await self._db(outbox.release, outbox_ids=[row.id], not_before=until)
                continue
            outcome = await self._deliver(row, held)
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    async def _deliver(self, row: outbox.Claimed, held: dict[int, datetime]) -> str:
        """Send one claimed row and record the outcome; return the SendReport field it counts in."""
        try:
            rendered = outbox.render(row.kind, row.payload, row.language)
        except outbox.UnknownKind:
            return await self._fail(row, outbox.UNKNOWN_KIND)
        except (KeyError, ValueError, TypeError) as exc:
            return await self._fail(row, f"cannot render {row.kind}: {type(exc).__name__}")
        markup = None
        if rendered.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in line]
                                           for line in rendered.buttons])
        try:
            message = await self._bot.send_message(
                chat_id=row.chat_id, text=rendered.text, parse_mode=rendered.parse_mode, reply_markup=markup,
                read_timeout=self._timeout, write_timeout=self._timeout, connect_timeout=self._timeout,
                pool_timeout=self._timeout)
        except RetryAfter as exc:
            asked = retry_after_seconds(exc)
            wait = asked * self._scale
            held[row.chat_id] = self._clock() + timedelta(seconds=wait)
            return await self._retry(row, wait, f"Telegram flood control: retry after {asked:g} s", "429")
        except Forbidden:
            count = await self._db(outbox.recipient_blocked, outbox_id=row.id)
            log.info("outbox %s %s: failed, recipient blocked the bot (%s waiting rows failed)", row.id, row.kind,
                     max(0, count - 1))
            return "failed"
        except ChatMigrated:
            return await self._fail(row, "the group became a supergroup with a new chat id; update the staff chat ids")
        except BadRequest as exc:  # a subclass of NetworkError in PTB: it must be caught first
            return await self._fail(row, _reason(exc))
        except InvalidToken:
            # Nothing is wrong with the row: give it back untried and let the round end with an error.
            await self._db(outbox.release, outbox_ids=[row.id], not_before=self._clock())
            raise
        except TimedOut as exc:
            return await self._retry(row, self._backoff(row), _reason(exc) or "timed out", "timeout")
        except TelegramError as exc:  # 5xx arrive as NetworkError; Conflict and other Telegram errors retry too
            return await self._retry(row, self._backoff(row), _reason(exc), type(exc).__name__)
        except Exception as exc:  # a bug or an unexpected library error: fail the row, keep the process alive
            _log_unexpected(f"outbox {row.id} {row.kind}: %s while sending", exc)
            return await self._fail(row, f"unexpected error: {type(exc).__name__}")
        await self._db(outbox.mark_delivered, outbox_id=row.id, message_id=message.message_id, now=self._clock())
        log.info("outbox %s %s: delivered (attempt %s)", row.id, row.kind, row.attempts)
        return "delivered"

    def _backoff(self, row: outbox.Claimed) -> float:
        return outbox.backoff(row.attempts) * self._scale

    async def _retry(self, row: outbox.Claimed, wait: float, reason: str, cause: str) -> str:
        status = await self._db(outbox.retry, outbox_id=row.id, wait=wait, reason=reason, now=self._clock(),
                                max_attempts=self._max_attempts)
        if status is OutboxStatus.QUEUED:
            log.info("outbox %s %s: %s, retry in %.2f s (attempt %s)", row.id, row.kind, cause, wait, row.attempts)
            return "retried"
        log.warning("outbox %s %s: %s, failed after %s attempts", row.id, row.kind, cause, row.attempts)
        return "failed"

    async def _fail(self, row: outbox.Claimed, reason: str) -> str:
        await self._db(outbox.mark_failed, outbox_id=row.id, reason=reason)
        # The reason stays in the database for staff: Telegram's may quote a fragment of the message.
        log.warning("outbox %s %s: failed", row.id, row.kind)
        return "failed"

    async def _db(self, service: Callable[..., T], **kwargs: Any) -> T:
        """Run a core service in its own transaction on a worker thread, off the bot's event loop."""
        def work() -> T:
            with self._database.transaction() as session:
                return service(session, **kwargs)
        return await asyncio.to_thread(work)


def _reason(exc: TelegramError) -> str:
    return TOKEN_IN_URL.sub("/bot<token>", exc.message)[: outbox.REASON_CHARS]


def _log_unexpected(message: str, exc: BaseException) -> None:
    # The exception's text can carry SQL parameters or message text: log its type and where, never its words.
    where = "\n".join(f"  {frame.filename}:{frame.lineno} in {frame.name}"
                      for frame in traceback.extract_tb(exc.__traceback__))
    log.error(message + "\n%s", type(exc).__name__, where)
