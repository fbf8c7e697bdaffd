"""The emulator's in-memory world: chats, messages, the update queue, files, faults, limits and counters."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.emulator.markup import inline_buttons

BOT_ID = 7000000001
CALLBACK_MAX_AGE_S = 15 * 60
ID_BLOCK = 1000  # update ids reserved in the state file at a time


class BotApiError(Exception):
    """A Telegram-shaped failure: HTTP status = error_code, plus an optional retry_after."""

    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class Signal:
    """Wake every coroutine waiting on this signal (one event loop)."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        """Return when notified or after timeout seconds, whichever comes first."""
        if timeout <= 0:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)


@dataclass
class Bucket:
    """A token bucket; its clock is emulated seconds."""

    tokens: float
    stamp: float

    def take(self, now: float, rate: float, burst: float) -> float:
        """Take a token and return 0, or return the seconds until one is free (taking nothing)."""
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate

    def peek(self, now: float, rate: float, burst: float) -> float:
        tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / rate


@dataclass
class StoredMessage:
    """One message of a chat with what the control API shows of it."""

    message_id: int
    sender: str  # "bot" | "user"
    telegram: dict[str, Any]  # the Message object as the Bot API returns it
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    plain: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    photo: bool = False
    edited: bool = False
    edit_seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        """Return the control API's view of the message."""
        doc = self.document
        return {"message_id": self.message_id, "from": self.sender, "text": self.text, "plain": self.plain,
                "caption": self.caption, "parse_mode": self.parse_mode, "reply_markup": self.reply_markup,
                "document": {k: doc[k] for k in ("file_id", "file_name", "mime_type", "file_size")} if doc else None,
                "photo": self.photo, "edited": self.edited, "date": self.telegram["date"], **self.extra}


@dataclass
class Chat:
    id: int
    type: str = "private"
    title: str | None = None
    first_name: str | None = None
    blocked: bool = False
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    bucket: Bucket | None = None

    def telegram(self) -> dict[str, Any]:
        if self.type == "private":
            return {"id": self.id, "type": "private", "first_name": self.first_name or f"Resident {self.id}"}
        return {"id": self.id, "type": self.type, "title": self.title or f"Chat {self.id}"}

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class Fault:
    method: str  # lower case, or "*"
    error_code: int | None
    description: str | None
    retry_after: int | None
    times: int
    chat_id: int | None = None
    delay: float | None = None  # seconds to wait before the method runs
    answer_delay: float | None = None  # seconds to hold the answer after the method ran (its message is recorded)
    garbled: bool = False  # the method runs (its message is recorded) but the 200 answer's body is not JSON

    def matches(self, method: str, chat_id: int | None) -> bool:
        return self.method in ("*", method) and (self.chat_id is None or self.chat_id == chat_id)


@dataclass
class QueuedUpdate:
    update_id: int
    body: dict[str, Any]
    raw: bool = False
    delivered: bool = False

    @property
    def kind(self) -> str:
        return next((k for k in self.body if k != "update_id"), "")


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_name: str | None
    mime_type: str | None

    @property
    def file_path(self) -> str:
        return f"files/{self.file_id}"


@dataclass
class CallbackRecord:
    chat_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None


class Emulator:
    """All the emulator's state. Runs in one event loop (the server's); not shared across threads."""

    def __init__(self, *, username: str = "civicpulse_bot", per_chat_rate: float = 1.0, per_chat_burst: int = 20,
                 global_rate: float = 30.0, global_limit: bool = False, time_scale: float = 1.0,
                 state_file: str | Path | None = None) -> None:
        if per_chat_rate <= 0 or per_chat_burst < 1 or global_rate <= 0 or time_scale <= 0:
            raise ValueError("rates, burst and time_scale must be positive")
        self.username = username
        self.per_chat_rate = float(per_chat_rate)
        self.per_chat_burst = float(per_chat_burst)
        self.global_rate = float(global_rate)
        self.global_limit = global_limit
        self.time_scale = time_scale
        self.state_file = Path(state_file) if state_file else None
        self._next_update_id = int(time.time() * 1000)
        self._reserved_until = 0
        if self.state_file and self.state_file.exists():
            saved = json.loads(self.state_file.read_text() or "{}")
            self._next_update_id = max(self._next_update_id, int(saved.get("next_update_id", 0)))
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.queue: deque[QueuedUpdate] = deque()
        self.files: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.faults: list[Fault] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.bot_settings: dict[str, Any] = {}
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.allowed_updates: list[str] | None = None
        self.webhook_task: asyncio.Task[None] | None = None
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.updates_total = 0
        self.messages_sent = 0
        self.edit_counter = 0
        self.poll_generation = 0
        self.update_signal = Signal()
        self.chat_signal = Signal()
        self.global_bucket = Bucket(tokens=self.global_rate, stamp=self.now())
        self._file_ids = itertools.count(1)

    # --- identity, clock, ids -------------------------------------------------------------------------
    def bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "civicpulse (emulator)", "username": self.username}

    def now(self) -> float:
        """Emulated seconds for the rate limits: time_scale < 1 makes buckets refill faster."""
        return time.monotonic() / self.time_scale

    def next_update_id(self) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        if self.state_file and update_id >= self._reserved_until:
            self._reserved_until = update_id + ID_BLOCK
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps({"next_update_id": self._reserved_until}))
        return update_id

    def new_file(self, content: bytes, file_name: str | None, mime_type: str | None, prefix: str = "F") -> StoredFile:
        n = next(self._file_ids)
        stored = StoredFile(file_id=f"{prefix}{n}-{secrets.token_hex(6)}", file_unique_id=f"u{n}{secrets.token_hex(3)}",
                            content=content, file_name=file_name, mime_type=mime_type)
        self.files[stored.file_id] = stored
        return stored

    # --- chats ---------------------------------------------------------------------------------------
    def chat(self, chat_id: int, *, chat_type: str = "private", title: str | None = None,
             first_name: str | None = None) -> Chat:
        """Return the chat, creating (making known) it if needed."""
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(id=chat_id, type=chat_type, title=title, first_name=first_name)
        else:
            if title:
                chat.title = title
            if first_name and chat.type == "private":
                chat.first_name = first_name
        return chat

    def known_chat(self, chat_id: Any) -> Chat:
        """Return a chat the bot may write to, or raise Telegram's error."""
        try:
            key = int(chat_id)
        except (TypeError, ValueError):
            raise BotApiError(400, "Bad Request: chat not found") from None
        chat = self.chats.get(key)
        if chat is None:
            raise BotApiError(400, "Bad Request: chat not found")
        if chat.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    # --- limits --------------------------------------------------------------------------------------
    def take_send_token(self, chat: Chat) -> None:
        """Charge one message to the chat's bucket (and the global one when on), or raise 429."""
        now = self.now()
        if chat.bucket is None:
            chat.bucket = Bucket(tokens=self.per_chat_burst, stamp=now)
        wait = 0.0
        if self.global_limit:
            wait = self.global_bucket.peek(now, self.global_rate, self.global_rate)
        if wait == 0.0:
            wait = chat.bucket.take(now, self.per_chat_rate, self.per_chat_burst)
            if wait == 0.0 and self.global_limit:
                self.global_bucket.take(now, self.global_rate, self.global_rate)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise BotApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    def set_limits(self, *, per_chat_rate: float | None = None, per_chat_burst: float | None = None,
                   global_rate: float | None = None, global_limit: bool | None = None) -> None:
        if per_chat_rate is not None:
            self.per_chat_rate = float(per_chat_rate)
        if per_chat_burst is not None:
            self.per_chat_burst = float(per_chat_burst)
        if global_rate is not None:
            self.global_rate = float(global_rate)
        if global_limit is not None:
            self.global_limit = bool(global_limit)
        if min(self.per_chat_rate, self.per_chat_burst, self.global_rate) <= 0:
            raise ValueError("rates and burst must be positive")
        now = self.now()
        for chat in self.chats.values():
            chat.bucket = Bucket(tokens=self.per_chat_burst, stamp=now)
        self.global_bucket = Bucket(tokens=self.global_rate, stamp=now)

    # --- faults --------------------------------------------------------------------------------------
    def take_fault(self, method: str, chat_id: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # --- updates -------------------------------------------------------------------------------------
    def enqueue(self, body: dict[str, Any], *, raw: bool = False) -> int:
        """Add an update (assigning an update_id unless raw gives one) and wake pollers and the webhook."""
        given = body.get("update_id")
        if raw and isinstance(given, int):
            update_id = given
        else:
            update_id = self.next_update_id()
            body = {"update_id": update_id, **{k: v for k, v in body.items() if k != "update_id"}}
        self.queue.append(QueuedUpdate(update_id=update_id, body=body, raw=raw))
        self.updates_total += 1
        self.update_signal.notify()
        return update_id

    def confirm(self, offset: int) -> None:
        """Drop updates the bot confirmed (Telegram's offset); a negative offset keeps the last -offset."""
        if offset < 0:
            while len(self.queue) > -offset:
                self.queue.popleft()
            return
        self.queue = deque(u for u in self.queue if not (u.update_id < offset and (u.delivered or not u.raw)))

    def pending(self, limit: int) -> list[QueuedUpdate]:
        allowed = self.allowed_updates
        if allowed:
            self.queue = deque(u for u in self.queue if u.kind in allowed)
        return list(itertools.islice(self.queue, limit))

    def drop_pending(self) -> None:
        self.queue.clear()

    # --- messages ------------------------------------------------------------------------------------
    def store(self, chat: Chat, message: StoredMessage) -> StoredMessage:
        chat.messages[message.message_id] = message
        if message.sender == "bot":
            self.messages_sent += 1
        self.chat_signal.notify()
        return message

    def find_message(self, chat: Chat, message_id: Any) -> StoredMessage | None:
        try:
            return chat.messages.get(int(message_id))
        except (TypeError, ValueError):
            return None

    def mark_edited(self, message: StoredMessage) -> None:
        self.edit_counter += 1
        message.edited = True
        message.edit_seq = self.edit_counter
        self.chat_signal.notify()

    def record_callback(self, chat_id: int, message_id: int, data: str) -> str:
        query_id = str(secrets.randbits(62))
        self.callbacks[query_id] = CallbackRecord(chat_id=chat_id, message_id=message_id, data=data,
                                                  created=time.monotonic())
        return query_id

    def answer_callback(self, query_id: str, *, text: str | None, show_alert: bool, url: str | None) -> None:
        record = self.callbacks.get(query_id)
        if record is None or record.answered or time.monotonic() - record.created > CALLBACK_MAX_AGE_S:
            raise BotApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        record.answered, record.text, record.show_alert, record.url = True, text, show_alert, url

    # --- control -------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        return {"calls": dict(self.calls), "errors": dict(self.errors), "updates": self.updates_total,
                "pending_updates": len(self.queue), "messages_sent": self.messages_sent,
                "commands": self.commands,
                "webhook": {"url": self.webhook_url, "has_secret": self.webhook_secret is not None},
                "limits": {"per_chat_rate": self.per_chat_rate, "per_chat_burst": self.per_chat_burst,
                           "global_rate": self.global_rate, "global_limit": self.global_limit}}

    def reset(self) -> None:
        """Forget chats, messages, users, the queue, files, callbacks, faults and counters (ids keep rising)."""
        self.chats.clear()
        self.users.clear()
        self.queue.clear()
        self.files.clear()
        self.callbacks.clear()
        self.faults.clear()
        self.calls.clear()
        self.errors.clear()
        self.updates_total = self.messages_sent = 0
        self.global_bucket = Bucket(tokens=self.global_rate, stamp=self.now())
        self.chat_signal.notify()

    def bot_messages_since(self, chat_id: int, after: int, edits_since: int | None) -> list[StoredMessage]:
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if m.sender == "bot" and
                (m.message_id > after or (edits_since is not None and m.edit_seq > edits_since))]

    def button(self, message: StoredMessage, *, data: str | None, index: int | None) -> dict[str, Any]:
        buttons = inline_buttons(message.reply_markup)
        if index is not None:
            if not 0 <= index < len(buttons):
                raise LookupError(f"message {message.message_id} has no button {index} ({len(buttons)} buttons)")
            return buttons[index]
        for candidate in buttons:
            if candidate.get("callback_data") == data:
                return candidate
        raise LookupError(f"message {message.message_id} has no button with callback_data {data!r}")
