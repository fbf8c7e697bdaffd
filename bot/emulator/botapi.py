"""The Bot API methods the emulator answers, with Telegram's checks and error texts."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bot.emulator.markup import (
    MAX_CAPTION,
    MAX_TEXT,
    EntityError,
    check_reply_markup,
    parse_text,
    utf16_len,
)
from bot.emulator.state import BotApiError, Chat, Emulator, StoredFile, StoredMessage

log = logging.getLogger("civicpulse.emulator")

MAX_POLL_TIMEOUT = 50
WEBHOOK_RETRIES = (0.1, 0.3, 1.0)
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass
class Upload:
    content: bytes
    filename: str | None
    content_type: str | None


class Params:
    """A method's parameters from JSON, a form or multipart (where nested objects arrive JSON-encoded)."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BotApiError(400, f"Bad Request: invalid {name} specified") from None

    def number(self, name: str, default: float) -> float:
        value = self.values.get(name)
        try:
            return default if value is None or value == "" else float(value)
        except (TypeError, ValueError):
            raise BotApiError(400, f"Bad Request: invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))

    def obj(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise BotApiError(400, f"Bad Request: can't parse {name} JSON object") from None
        return value

    def chat_id(self) -> int | None:
        try:
            return int(self.values["chat_id"])
        except (KeyError, TypeError, ValueError):
            return None


Handler = Callable[[Emulator, Params], Awaitable[Any]]
METHODS: dict[str, tuple[str, Handler]] = {}
SEND_METHODS = {"sendmessage", "senddocument", "sendphoto", "sendlocation"}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        METHODS[name.lower()] = (name, func)
        return func
    return register


async def call(emulator: Emulator, name: str, params: Params) -> Any:
    """Run one Bot API method; raise BotApiError with Telegram's answer on failure."""
    entry = METHODS.get(name.lower())
    if entry is None:
        raise BotApiError(404, "Not Found")
    canonical, handler = entry
    emulator.calls[canonical] += 1
    fault = emulator.take_fault(canonical.lower(), params.chat_id())
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.error_code:
            raise _fault_error(fault.error_code, fault.description, fault.retry_after)
    result = await handler(emulator, params)
    if fault is not None and fault.answer_delay:
        # Done, but answered late: a client that times out meanwhile cannot know its message went out.
        await asyncio.sleep(fault.answer_delay)
    if fault is not None and fault.garbled:
        # Done, and answered 200 with a body the client cannot read (a proxy's page, a cut-off answer).
        raise GarbledAnswer
    return result


class GarbledAnswer(Exception):
    """The method ran; its answer must be an unreadable 200 (a `garbled` fault)."""


def _fault_error(code: int, description: str | None, retry_after: int | None) -> BotApiError:
    if code == 429:
        wait = retry_after or 1
        return BotApiError(429, description or f"Too Many Requests: retry after {wait}", retry_after=wait)
    defaults = {400: "Bad Request: chat not found", 403: "Forbidden: bot was blocked by the user",
                500: "Internal Server Error", 502: "Bad Gateway"}
    return BotApiError(code, description or defaults.get(code, "Bad Gateway"))


# --- shared checks and builders ------------------------------------------------------------------------
def _text_and_entities(text: str | None, parse_mode: str | None, *, caption: bool) -> tuple[str, list[Any]]:
    if not caption and (text is None or not text.strip()):
        raise BotApiError(400, "Bad Request: message text is empty")
    try:
        plain, entities = parse_text(text or "", parse_mode)
    except EntityError as exc:
        raise BotApiError(400, f"Bad Request: can't parse entities: {exc}") from None
    if not caption and not plain.strip():
        raise BotApiError(400, "Bad Request: message text is empty")
    if caption and utf16_len(plain) > MAX_CAPTION:
        raise BotApiError(400, "Bad Request: message caption is too long")
    if not caption and utf16_len(plain) > MAX_TEXT:
        raise BotApiError(400, "Bad Request: message is too long")
    return plain, entities


def _reply_markup(params: Params) -> dict[str, Any] | None:
    markup = params.obj("reply_markup")
    reason = check_reply_markup(markup)
    if reason:
        raise BotApiError(400, f"Bad Request: {reason}")
    return markup if isinstance(markup, dict) else None


def _reply_to(emulator: Emulator, chat: Chat, params: Params) -> StoredMessage | None:
    reply = params.obj("reply_parameters")
    target = reply.get("message_id") if isinstance(reply, dict) else params.integer("reply_to_message_id")
    if target is None:
        return None
    message = emulator.find_message(chat, target)
    allow = params.flag("allow_sending_without_reply") or (isinstance(reply, dict) and
                                                            reply.get("allow_sending_without_reply") is True)
    if message is None and not allow:
        raise BotApiError(400, "Bad Request: message to be replied not found")
    return message


def _bot_message(emulator: Emulator, chat: Chat, params: Params, *, markup: dict[str, Any] | None,
                 reply_to: StoredMessage | None, fields: dict[str, Any], **stored: Any) -> StoredMessage:
    message_id = chat.new_message_id()
    telegram: dict[str, Any] = {"message_id": message_id, "from": emulator.bot_user(), "chat": chat.telegram(),
                                "date": int(time.time()), **fields}
    if markup and "inline_keyboard" in markup:
        telegram["reply_markup"] = markup
    if reply_to is not None:
        telegram["reply_to_message"] = reply_to.telegram
    extra = {"reply_to": reply_to.message_id} if reply_to is not None else {}
    return emulator.store(chat, StoredMessage(message_id=message_id, sender="bot", telegram=telegram,
                                              reply_markup=markup, parse_mode=params.text("parse_mode"),
                                              extra=extra, **stored))


def _with_entities(fields: dict[str, Any], key: str, entities: list[Any]) -> dict[str, Any]:
    if entities:
        fields[key] = entities
    return fields


def _upload(emulator: Emulator, params: Params, field: str, default_name: str, default_mime: str) -> StoredFile:
    upload = params.uploads.get(field)
    value = params.text(field)
    if upload is None and value and value.startswith("attach://"):
        upload = params.uploads.get(value.removeprefix("attach://"))
    if upload is not None:
        return emulator.new_file(upload.content, upload.filename or default_name,
                                 upload.content_type or default_mime, prefix=field[:1].upper())
    if value and value in emulator.files:
        return emulator.files[value]
    raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")


def _png_size(content: bytes) -> tuple[int, int]:
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return 640, 480


# --- identity and settings -----------------------------------------------------------------------------
@method("getMe")
async def get_me(emulator: Emulator, params: Params) -> Any:
    return {**emulator.bot_user(), "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}


@method("logOut")
async def log_out(emulator: Emulator, params: Params) -> Any:
    return True


@method("close")
async def close(emulator: Emulator, params: Params) -> Any:
    return True


def _commands_key(params: Params) -> str:
    scope = params.obj("scope") or {"type": "default"}
    key = str(scope.get("type", "default")) if isinstance(scope, dict) else "default"
    if isinstance(scope, dict) and "chat_id" in scope:
        key += f":{scope['chat_id']}"
    language = params.text("language_code")
    return f"{key}/{language}" if language else key


@method("setMyCommands")
async def set_my_commands(emulator: Emulator, params: Params) -> Any:
    commands = params.obj("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise BotApiError(400, "Bad Request: can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not COMMAND_RE.match(str(command.get("command", ""))):
            raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
            raise BotApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    emulator.commands[_commands_key(params)] = [{"command": c["command"], "description": c["description"]}
                                               for c in commands]
    return True


@method("getMyCommands")
async def get_my_commands(emulator: Emulator, params: Params) -> Any:
    return emulator.commands.get(_commands_key(params), [])


@method("deleteMyCommands")
async def delete_my_commands(emulator: Emulator, params: Params) -> Any:
    emulator.commands.pop(_commands_key(params), None)
    return True


def _bot_setting(name: str) -> Handler:
    async def handler(emulator: Emulator, params: Params) -> Any:
        emulator.bot_settings[name] = dict(params.values)
        return True
    return handler


for _name in ("setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton"):
    method(_name)(_bot_setting(_name))


# --- updates and webhooks ------------------------------------------------------------------------------
@method("getUpdates")
async def get_updates(emulator: Emulator, params: Params) -> Any:
    if emulator.webhook_url:
        raise BotApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                               "to delete the webhook first")
    offset = params.integer("offset")
    limit = min(max(params.integer("limit", 100) or 100, 1), 100)
    timeout = min(max(params.number("timeout", 0.0), 0.0), MAX_POLL_TIMEOUT)
    allowed = params.obj("allowed_updates")
    if isinstance(allowed, list):
        emulator.allowed_updates = [str(a) for a in allowed] or None
    emulator.poll_generation += 1
    generation = emulator.poll_generation
    emulator.update_signal.notify()  # an older long poll ends with a conflict, as on Telegram
    if offset is not None:
        emulator.confirm(offset)
    deadline = time.monotonic() + timeout
    while True:
        batch = emulator.pending(limit)
        if batch:
            for update in batch:
                update.delivered = True
            return [u.body for u in batch]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return []
        await emulator.update_signal.wait(remaining)
        if emulator.poll_generation != generation:
            raise BotApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                                   "instance is running")
        if emulator.webhook_url:
            return []


@method("setWebhook")
async def set_webhook(emulator: Emulator, params: Params) -> Any:
    url = params.text("url") or ""
    secret = params.text("secret_token")
    if secret is not None and not SECRET_RE.match(secret):
        raise BotApiError(400, "Bad Request: secret token contains unallowed characters")
    if url and not re.match(r"^https?://", url):
        raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if params.flag("drop_pending_updates"):
        emulator.drop_pending()
    allowed = params.obj("allowed_updates")
    if isinstance(allowed, list):
        emulator.allowed_updates = [str(a) for a in allowed] or None
    emulator.webhook_url = url or None
    emulator.webhook_secret = secret if url else None
    emulator.update_signal.notify()
    if url:
        _ensure_webhook_task(emulator)
    return True


@method("deleteWebhook")
async def delete_webhook(emulator: Emulator, params: Params) -> Any:
    if params.flag("drop_pending_updates"):
        emulator.drop_pending()
    emulator.webhook_url = emulator.webhook_secret = None
    return True


@method("getWebhookInfo")
async def get_webhook_info(emulator: Emulator, params: Params) -> Any:
    info: dict[str, Any] = {"url": emulator.webhook_url or "", "has_custom_certificate": False,
                            "pending_update_count": len(emulator.queue)}
    if emulator.webhook_url:
        info["max_connections"] = 40
        if emulator.allowed_updates:
            info["allowed_updates"] = emulator.allowed_updates
        last_error = emulator.bot_settings.get("webhook_last_error")
        if last_error:
            info["last_error_date"], info["last_error_message"] = last_error
    return info


def _ensure_webhook_task(emulator: Emulator) -> None:
    task = emulator.webhook_task
    if task is None or task.done():
        emulator.webhook_task = asyncio.get_running_loop().create_task(_deliver_webhook(emulator))


async def _deliver_webhook(emulator: Emulator) -> None:
    """POST queued updates, in order, to the webhook while one is set; retry a failed one a few times."""
    async with httpx.AsyncClient(timeout=10) as client:
        while emulator.webhook_url:
            if not emulator.queue:
                await emulator.update_signal.wait(1.0)
                continue
            update = emulator.queue[0]
            url = emulator.webhook_url
            headers = {"X-Telegram-Bot-Api-Secret-Token": emulator.webhook_secret} if emulator.webhook_secret else {}
            for delay in (*WEBHOOK_RETRIES, None):
                try:
                    answer = await client.post(url, json=update.body, headers=headers)
                    if 200 <= answer.status_code < 300:
                        break
                    reason = f"Wrong response from the webhook: {answer.status_code} {answer.reason_phrase}"
                except httpx.HTTPError as exc:
                    reason = f"Connection failed: {type(exc).__name__}"
                emulator.bot_settings["webhook_last_error"] = (int(time.time()), reason)
                emulator.errors["webhook"] += 1
                log.warning("webhook delivery of update %s failed: %s", update.update_id, reason)
                if delay is None:
                    break
                await asyncio.sleep(delay)
            if emulator.queue and emulator.queue[0] is update:
                emulator.queue.popleft()


# --- sending -------------------------------------------------------------------------------------------
@method("sendMessage")
async def send_message(emulator: Emulator, params: Params) -> Any:
    chat = emulator.known_chat(params.raw("chat_id"))
    text = params.text("text")
    plain, entities = _text_and_entities(text, params.text("parse_mode"), caption=False)
    markup = _reply_markup(params)
    reply_to = _reply_to(emulator, chat, params)
    emulator.take_send_token(chat)
    message = _bot_message(emulator, chat, params, markup=markup, reply_to=reply_to,
                           fields=_with_entities({"text": plain}, "entities", entities), text=text, plain=plain)
    return message.telegram


async def _send_file(emulator: Emulator, params: Params, field: str) -> Any:
    chat = emulator.known_chat(params.raw("chat_id"))
    caption = params.text("caption")
    plain, entities = _text_and_entities(caption, params.text("parse_mode"), caption=True)
    markup = _reply_markup(params)
    reply_to = _reply_to(emulator, chat, params)
    default_name, default_mime = ("document", "application/octet-stream") if field == "document" else \
        ("photo.jpg", "image/jpeg")
    stored = _upload(emulator, params, field, default_name, default_mime)
    emulator.take_send_token(chat)
    fields: dict[str, Any] = _with_entities({"caption": plain} if caption else {}, "caption_entities", entities)
    document = None
    if field == "document":
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                    "file_name": stored.file_name, "mime_type": stored.mime_type, "file_size": len(stored.content)}
        fields["document"] = document
    else:
        width, height = _png_size(stored.content)
        scale = min(1.0, 90 / max(width, height, 1))
        fields["photo"] = [
            {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id + "s", "width": int(width * scale),
             "height": int(height * scale), "file_size": len(stored.content)},
            {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": width, "height": height,
             "file_size": len(stored.content)},
        ]
        document = {"file_id": stored.file_id, "file_name": stored.file_name, "mime_type": stored.mime_type,
                    "file_size": len(stored.content)}
    message = _bot_message(emulator, chat, params, markup=markup, reply_to=reply_to, fields=fields,
                           caption=caption, plain=plain if caption else None, document=document,
                           photo=field == "photo")
    return message.telegram


@method("sendDocument")
async def send_document(emulator: Emulator, params: Params) -> Any:
    return await _send_file(emulator, params, "document")


@method("sendPhoto")
async def send_photo(emulator: Emulator, params: Params) -> Any:
    return await _send_file(emulator, params, "photo")


@method("sendLocation")
async def send_location(emulator: Emulator, params: Params) -> Any:
    chat = emulator.known_chat(params.raw("chat_id"))
    latitude, longitude = params.number("latitude", 1000.0), params.number("longitude", 1000.0)
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise BotApiError(400, "Bad Request: wrong latitude/longitude specified")
    markup = _reply_markup(params)
    reply_to = _reply_to(emulator, chat, params)
    emulator.take_send_token(chat)
    location = {"latitude": latitude, "longitude": longitude}
    message = _bot_message(emulator, chat, params, markup=markup, reply_to=reply_to, fields={"location": location})
    message.extra["location"] = location
    return message.telegram


@method("sendChatAction")
async def send_chat_action(emulator: Emulator, params: Params) -> Any:
    emulator.known_chat(params.raw("chat_id"))
    return True


@method("getFile")
async def get_file(emulator: Emulator, params: Params) -> Any:
    stored = emulator.files.get(params.text("file_id") or "")
    if stored is None:
        raise BotApiError(400, "Bad Request: invalid file_id")
    return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.content),
            "file_path": stored.file_path}


# --- editing -------------------------------------------------------------------------------------------
def _editable(emulator: Emulator, params: Params) -> tuple[Chat, StoredMessage]:
    if params.raw("inline_message_id") is not None:
        raise BotApiError(400, "Bad Request: MESSAGE_ID_INVALID")
    chat = emulator.known_chat(params.raw("chat_id"))
    message = emulator.find_message(chat, params.raw("message_id"))
    if message is None:
        raise BotApiError(400, "Bad Request: message to edit not found")
    if message.sender != "bot":
        raise BotApiError(400, "Bad Request: message can't be edited")
    return chat, message


NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")


def _apply_markup(message: StoredMessage, markup: dict[str, Any] | None) -> None:
    message.reply_markup = markup
    if markup and "inline_keyboard" in markup:
        message.telegram["reply_markup"] = markup
    else:
        message.telegram.pop("reply_markup", None)


@method("editMessageText")
async def edit_message_text(emulator: Emulator, params: Params) -> Any:
    _, message = _editable(emulator, params)
    text = params.text("text")
    plain, entities = _text_and_entities(text, params.text("parse_mode"), caption=False)
    markup = _reply_markup(params)
    if message.text is None:
        raise BotApiError(400, "Bad Request: there is no text in the message to edit")
    old_markup = message.telegram.get("reply_markup")
    new_markup = markup if markup and "inline_keyboard" in markup else None
    if plain == message.plain and entities == message.telegram.get("entities", []) and new_markup == old_markup:
        raise BotApiError(400, NOT_MODIFIED)
    message.text, message.plain, message.parse_mode = text, plain, params.text("parse_mode")
    message.telegram["text"] = plain
    message.telegram.pop("entities", None)
    _with_entities(message.telegram, "entities", entities)
    message.telegram["edit_date"] = int(time.time())
    _apply_markup(message, markup)
    emulator.mark_edited(message)
    return message.telegram


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(emulator: Emulator, params: Params) -> Any:
    _, message = _editable(emulator, params)
    markup = _reply_markup(params)
    new_markup = markup if markup and "inline_keyboard" in markup else None
    if new_markup == message.telegram.get("reply_markup"):
        raise BotApiError(400, NOT_MODIFIED)
    _apply_markup(message, markup)
    message.telegram["edit_date"] = int(time.time())
    emulator.mark_edited(message)
    return message.telegram


@method("deleteMessage")
async def delete_message(emulator: Emulator, params: Params) -> Any:
    chat = emulator.known_chat(params.raw("chat_id"))
    message = emulator.find_message(chat, params.raw("message_id"))
    if message is None:
        raise BotApiError(400, "Bad Request: message to delete not found")
    del chat.messages[message.message_id]
    emulator.chat_signal.notify()
    return True


@method("answerCallbackQuery")
async def answer_callback_query(emulator: Emulator, params: Params) -> Any:
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
    emulator.answer_callback(params.text("callback_query_id") or "", text=text, show_alert=params.flag("show_alert"),
                             url=params.text("url"))
    return True
