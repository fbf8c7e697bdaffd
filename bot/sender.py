"""The outbox sender: delivers queued rows to Telegram at Telegram's pace and records each outcome, never twice.

Rows are claimed in batches (committed as `sending`), at most one per chat and only when nothing older for that
chat is unfinished, so each chat gets its messages in order across retries and several senders. Each row is
sent, then marked in its own transaction, so a crash leaves at most the rows in flight undecided;
`core.outbox.recover_interrupted` fails those later rather than risk a second copy. For the same reason a send
that failed without an answer from Telegram is retried only when the request provably never left (no connection
could be made or taken from the pool); after a read or write timeout or a dropped connection Telegram may have
the message, so the row fails as "outcome unknown" instead, as it does after a 2xx answer that cannot be read.
A pacer spaces sends at about 29 a second overall
and one a second per chat (one every 3 s in groups), so bulk sends get no 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy.orm import Session
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.ratelimit import retry_after_seconds
from core import outbox
from core.db import Database
from core.logging_setup import TOKEN_IN_URL, log_unexpected
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


GLOBAL_RATE = 29.0  # messages a second overall: Telegram allows about 30 for bulk notices
PRIVATE_INTERVAL = 1.0  # seconds between two messages to one private chat
GROUP_INTERVAL = 3.0  # groups and channels: about 20 messages a minute
SENDER_CONNECTIONS = 8
# The HTTP failures after which the request provably never reached Telegram: no connection was made, or none was
# free in the pool. After any other (a read or write timeout, a connection dropped or a garbled answer while the
# request was being written or answered) Telegram may have taken the message, so it is not sent again.
NEVER_SENT = (httpx.PoolTimeout, httpx.ConnectTimeout, httpx.ConnectError)
OUTCOME_UNKNOWN = "outcome unknown: {}; not resent to avoid a duplicate"


class Pacer:
    """Space sends: one global slot every 1/rate s, and per chat no sooner than its interval after the last one.

    Waits use the event loop's monotonic clock, so a jump of the wall clock never bursts or stalls sending.
    """

    def __init__(self, *, rate: float = GLOBAL_RATE, private_interval: float = PRIVATE_INTERVAL,
                 group_interval: float = GROUP_INTERVAL, scale: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._gap = scale / rate
        self._private = private_interval * scale
        self._group = group_interval * scale
        self._clock = clock
        self._next = 0.0
        self._chats: dict[int, float] = {}  # chat id → the earliest moment of its next message

    async def slot(self, chat_id: int) -> None:
        """Wait until a message may go to the chat, and take the slot."""
        ready = self._chats.get(chat_id, 0.0)
        if ready > self._clock():
            await asyncio.sleep(ready - self._clock())
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self._gap
        if slot > now:
            await asyncio.sleep(slot - now)
        self._chats[chat_id] = slot + (self._group if chat_id < 0 else self._private)
        if len(self._chats) > 50_000:
            self._chats = {c: t for c, t in self._chats.items() if t > slot}

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram asked to wait (429): no message to the chat for `seconds`."""
        self._chats[chat_id] = max(self._chats.get(chat_id, 0.0), self._clock() + seconds)


def sender_bot(settings: Settings, *, base_url: str | None = None) -> Bot:
    """A Bot for the sender: no reply limiter (the sender paces itself) and a few connections, so one slow send
    does not hold the others back."""
    from telegram.request import HTTPXRequest

    from bot.app import endpoints

    token, base, files = endpoints(settings, base_url)
    request = HTTPXRequest(connection_pool_size=SENDER_CONNECTIONS)
    if base is None or files is None:
        return Bot(token, request=request)
    return Bot(token, base_url=base, base_file_url=files, request=request)


class OutboxSender:
    """Deliver due outbox rows through a PTB Bot at Telegram's pace, retrying what Telegram asks to retry and
    what provably never reached it."""

    def __init__(self, bot: Bot, database: Database, settings: Settings, *, batch_size: int = 50,
                 lease: timedelta = timedelta(minutes=2), send_timeout: float = 10.0,
                 max_attempts: int = outbox.MAX_ATTEMPTS, clock: Callable[[], datetime] = utcnow,
                 pacer: Pacer | None = None) -> None:
        # A send takes at most pool + connect + write + read timeouts; the claim must outlive it (and the wait for
        # a slot), or the row could be failed as interrupted while Telegram is still accepting it.
        if lease.total_seconds() <= 4 * send_timeout + 5 + batch_size / GLOBAL_RATE:
            raise ValueError("the lease must be longer than the longest send (4 × send_timeout + 5 s) plus the "
                             "time a batch waits for its slots")
        self._bot = bot
        self._database = database
        self._scale = settings.pacing_scale
        self._batch_size = batch_size
        self._lease = lease
        self._timeout = send_timeout
        self._max_attempts = max_attempts
        self._clock = clock
        self.pacer = pacer or Pacer(scale=settings.pacing_scale)

    async def run(self, stop: asyncio.Event, interval: float = 1.0,
                  active: Callable[[], bool] | None = None) -> None:
        """Deliver until stop is set, while `active()` holds (this process owns the schedule's lease).

        An error is logged (without personal data) and the loop goes on.
        """
        while not stop.is_set():
            busy = False
            if active is None or active():
                try:
                    report = await self.run_once()
                    busy = report.total > 0  # more may be due: go on without waiting
                except Exception as exc:  # the sender must outlive a database or network outage
                    log_unexpected(log, "outbox sender: %s in a delivery round; continuing", exc)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)

    async def run_once(self) -> SendReport:
        """Fail interrupted rows, then claim a batch of due rows (one per chat, in order) and send them paced."""
        report = SendReport()
        report.failed += await self._db(outbox.recover_interrupted, now=self._clock())
        batch = await self._db(outbox.claim, now=self._clock(), lease=self._lease, batch_size=self._batch_size,
                               fifo=True)
        report.failed += batch.failed
        for outcome in await asyncio.gather(*(self._paced(row) for row in batch.rows)):
            if outcome:
                setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    async def _paced(self, row: outbox.Claimed) -> str | None:
        """Render the row, wait for its slot, send it; None when it went back to the queue untried."""
        try:
            if row.kind in outbox.STORED_KINDS:
                rendered = await self._read(_render_stored, kind=row.kind, payload=row.payload, language=row.language)
            elif row.kind == "digest_chart":
                rendered = await asyncio.to_thread(outbox.render, row.kind, row.payload, row.language)
            else:
                rendered = outbox.render(row.kind, row.payload, row.language)
        except outbox.UnknownKind:
            return await self._fail(row, outbox.UNKNOWN_KIND)
        except (KeyError, ValueError, TypeError, LookupError) as exc:
            return await self._fail(row, f"cannot render {row.kind}: {type(exc).__name__}")
        await self.pacer.slot(row.chat_id)
        return await self._deliver(row, rendered)

    async def _send(self, row: outbox.Claimed, rendered: outbox.Rendered) -> Message:
        markup = None
        if rendered.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in line]
                                           for line in rendered.buttons])
        timeouts: dict[str, Any] = {"read_timeout": self._timeout, "write_timeout": self._timeout,
                                    "connect_timeout": self._timeout, "pool_timeout": self._timeout}
        if rendered.photo is not None:
            return await self._bot.send_photo(chat_id=row.chat_id, photo=rendered.photo, caption=rendered.text,
                                              parse_mode=rendered.parse_mode, reply_markup=markup, **timeouts)
        if rendered.document is not None:
            document = InputFile(rendered.document, filename=rendered.filename or "document")
            return await self._bot.send_document(chat_id=row.chat_id, document=document, caption=rendered.text,
                                                 parse_mode=rendered.parse_mode, reply_markup=markup, **timeouts)
        return await self._bot.send_message(chat_id=row.chat_id, text=rendered.text, parse_mode=rendered.parse_mode,
                                            reply_markup=markup, **timeouts)

    async def _deliver(self, row: outbox.Claimed, rendered: outbox.Rendered) -> str:
        """Send one claimed row and record the outcome; return the SendReport field it counts in."""
        try:
            message = await self._send(row, rendered)
        except RetryAfter as exc:
            asked = retry_after_seconds(exc)
            wait = asked * self._scale
            self.pacer.hold(row.chat_id, wait)
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
        except NetworkError as exc:  # TimedOut too, and 5xx answers
            unknown = _outcome_unknown(exc)
            if unknown is not None:
                return await self._fail(row, OUTCOME_UNKNOWN.format(unknown), log_reason=True)
            cause = "timeout" if isinstance(exc, TimedOut) else type(exc).__name__
            return await self._retry(row, self._backoff(row), _reason(exc) or "timed out", cause)
        except TelegramError as exc:  # Conflict and other Telegram errors retry too
            if isinstance(exc.__cause__, ValueError):
                # A 2xx answer whose body could not be read (PTB raises a bare TelegramError from the JSON error;
                # an error answer's unreadable body is a NetworkError or BadRequest): Telegram took the message.
                return await self._fail(row, OUTCOME_UNKNOWN.format("unreadable answer"), log_reason=True)
            return await self._retry(row, self._backoff(row), _reason(exc), type(exc).__name__)
        except Exception as exc:  # a bug or an unexpected library error: fail the row, keep the process alive
            log_unexpected(log, f"outbox {row.id} {row.kind}: %s while sending", exc)
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

    async def _fail(self, row: outbox.Claimed, reason: str, *, log_reason: bool = False) -> str:
        await self._db(outbox.mark_failed, outbox_id=row.id, reason=reason)
        # The reason stays in the database for staff: Telegram's may quote a fragment of the message. Only a
        # reason of our own (log_reason) is logged.
        log.warning("outbox %s %s: failed%s", row.id, row.kind, f", {reason}" if log_reason else "")
        return "failed"

    async def _read(self, service: Callable[..., T], **kwargs: Any) -> T:
        """Run a core function in a read-only transaction on a worker thread."""
        def work() -> T:
            with self._database.reading() as session:
                return service(session, **kwargs)
        return await asyncio.to_thread(work)

    async def _db(self, service: Callable[..., T], **kwargs: Any) -> T:
        """Run a core service in its own transaction on a worker thread, off the bot's event loop."""
        def work() -> T:
            with self._database.transaction() as session:
                return service(session, **kwargs)
        return await asyncio.to_thread(work)


def _render_stored(session: Session, *, kind: str, payload: dict[str, Any], language: str) -> outbox.Rendered:
    return outbox.render(kind, payload, language, session=session)


def _outcome_unknown(exc: NetworkError) -> str | None:
    """The failure's name when a send got no answer from Telegram after the request may have reached it; None when
    Telegram answered (a 5xx: retried as any error answer) or the request provably never left (NEVER_SENT).

    PTB's HTTPXRequest raises TimedOut or NetworkError `from` the httpx exception (PoolTimeout, ConnectTimeout,
    ReadTimeout, WriteTimeout, ConnectError, RemoteProtocolError, ...), and BaseRequest a NetworkError "Unknown
    error in HTTP implementation" from any other exception; an error answer is a NetworkError with no cause, or
    one caused by the TelegramError of an unreadable body. A TimedOut with nothing below it proves nothing.
    """
    below = exc.__cause__ if exc.__cause__ is not None or exc.__suppress_context__ else exc.__context__
    if below is None:
        return type(exc).__name__ if isinstance(exc, TimedOut) else None
    if isinstance(below, (TelegramError, NEVER_SENT)):
        return None
    return type(below).__name__


def _reason(exc: TelegramError) -> str:
    return TOKEN_IN_URL.sub("/bot<token>", exc.message)[: outbox.REASON_CHARS]
