"""The resident's side of the emulator: what users write and press, and what tests read back."""

from __future__ import annotations

import re
import time
from typing import Any

from bot.emulator.markup import utf16_len
from bot.emulator.state import Chat, Emulator, StoredMessage

COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
CHAT_TYPES = ("private", "group", "supergroup")
ATTACHMENTS = ("sticker", "photo", "voice", "document", "contact", "poll", "video", "audio", "animation")


class ControlError(ValueError):
    """A control request that cannot be done; answered 400 with {"detail": reason}."""


def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or value is None:
        raise ControlError(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be an integer") from None


def _coordinates(value: Any, name: str) -> tuple[float, float]:
    if not isinstance(value, dict):
        raise ControlError(f"{name} must be an object with latitude and longitude")
    try:
        latitude, longitude = float(value["latitude"]), float(value["longitude"])
    except (KeyError, TypeError, ValueError):
        raise ControlError(f"{name} needs numeric latitude and longitude") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ControlError(f"{name} is outside latitude -90..90, longitude -180..180")
    return latitude, longitude


def _user(emulator: Emulator, body: dict[str, Any], user_id: int) -> dict[str, Any]:
    known = emulator.users.get(user_id, {})
    user: dict[str, Any] = {"id": user_id, "is_bot": False,
                            "first_name": body.get("first_name") or known.get("first_name") or f"Resident {user_id}"}
    language = body.get("language_code", known.get("language_code"))
    if language:
        user["language_code"] = str(language)
    emulator.users[user_id] = user
    return user


def _chat_for(emulator: Emulator, body: dict[str, Any], user: dict[str, Any]) -> Chat:
    chat_id = _int(body, "chat_id", user["id"])
    chat_type = body.get("chat_type") or (emulator.chats[chat_id].type if chat_id in emulator.chats else "private")
    if chat_type not in CHAT_TYPES:
        raise ControlError(f"chat_type must be one of {', '.join(CHAT_TYPES)}")
    if chat_type == "private" and chat_id != user["id"]:
        raise ControlError("a private chat's id is the user's id")
    return emulator.chat(chat_id, chat_type=chat_type, title=body.get("title"), first_name=user["first_name"])


def _attachment(emulator: Emulator, kind: str, user: dict[str, Any]) -> dict[str, Any]:
    def file(name: str, mime: str, **more: Any) -> dict[str, Any]:
        stored = emulator.new_file(f"emulated {kind}".encode(), name, mime, prefix="U")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content), **more}

    if kind == "sticker":
        return {"sticker": file("sticker.webp", "image/webp", type="regular", width=512, height=512,
                                is_animated=False, is_video=False, emoji="👍")}
    if kind == "photo":
        return {"photo": [file("photo.jpg", "image/jpeg", width=90, height=67),
                          file("photo.jpg", "image/jpeg", width=1280, height=960)]}
    if kind == "voice":
        return {"voice": file("voice.ogg", "audio/ogg", duration=3, mime_type="audio/ogg")}
    if kind == "document":
        return {"document": file("notes.pdf", "application/pdf", file_name="notes.pdf", mime_type="application/pdf")}
    if kind == "contact":
        return {"contact": {"phone_number": "+15555550100", "first_name": user["first_name"], "user_id": user["id"]}}
    if kind == "poll":
        return {"poll": {"id": str(int(time.time() * 1000)), "question": "Which day suits you?",
                         "options": [{"text": "Monday", "voter_count": 0, "persistent_id": "0"},
                                     {"text": "Friday", "voter_count": 0, "persistent_id": "1"}],
                         "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
                         "allows_multiple_answers": False, "allows_revoting": True,
                         "members_only": False}}
    if kind == "video":
        return {"video": file("video.mp4", "video/mp4", width=640, height=360, duration=5, mime_type="video/mp4")}
    if kind == "audio":
        return {"audio": file("audio.mp3", "audio/mpeg", duration=30, mime_type="audio/mpeg")}
    animation = file("animation.mp4", "video/mp4", width=320, height=240, duration=2, file_name="animation.mp4",
                     mime_type="video/mp4")
    return {"animation": animation, "document": {k: v for k, v in animation.items()
                                                 if k not in ("width", "height", "duration")}}


def user_message(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    """Enqueue what a user writes (text, location, venue or an attachment) and return its ids."""
    user = _user(emulator, body, _int(body, "user_id"))
    chat = _chat_for(emulator, body, user)
    kinds = [k for k in ("text", "location", "venue", "attachment") if body.get(k) is not None]
    if len(kinds) != 1:
        raise ControlError("give exactly one of text, location, venue, attachment")
    content: dict[str, Any]
    extra: dict[str, Any] = {}
    text: str | None = None
    if "text" in kinds:
        text = body["text"]
        if not isinstance(text, str) or not text.strip():
            raise ControlError("text must be a non-empty string")
        content = {"text": text}
        command = COMMAND_RE.match(text)
        if command:
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}]
    elif "location" in kinds:
        latitude, longitude = _coordinates(body["location"], "location")
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        if body["location"].get("live_period"):
            location["live_period"] = int(body["location"]["live_period"])
        content, extra = {"location": location}, {"location": location}
    elif "venue" in kinds:
        latitude, longitude = _coordinates(body["venue"], "venue")
        location = {"latitude": latitude, "longitude": longitude}
        venue = {"location": location, "title": str(body["venue"].get("title", "")),
                 "address": str(body["venue"].get("address", ""))}
        content, extra = {"venue": venue, "location": location}, {"venue": venue, "location": location}
    else:
        kind = body["attachment"]
        if kind not in ATTACHMENTS:
            raise ControlError(f"attachment must be one of {', '.join(ATTACHMENTS)}")
        content, extra = _attachment(emulator, kind, user), {"attachment": kind}

    edit_of = body.get("edit_of")
    if edit_of is not None:
        original = emulator.find_message(chat, edit_of)
        if original is None or original.sender != "user":
            raise ControlError(f"no user message {edit_of} in chat {chat.id}")
        for key in ("text", "entities", "location", "venue"):
            original.telegram.pop(key, None)
        original.telegram.update(content, edit_date=int(time.time()))
        if text is not None:
            original.text = original.plain = text
        original.extra.update(extra)
        emulator.mark_edited(original)
        update_id = emulator.enqueue({"edited_message": dict(original.telegram)})
        return {"update_id": update_id, "message_id": original.message_id, "chat_id": chat.id}

    message_id = chat.new_message_id()
    telegram = {"message_id": message_id, "from": user, "chat": chat.telegram(), "date": int(time.time()), **content}
    emulator.store(chat, StoredMessage(message_id=message_id, sender="user", telegram=telegram, text=text,
                                       plain=text, photo="photo" in content, extra=extra))
    update_id = emulator.enqueue({"message": dict(telegram)})
    return {"update_id": update_id, "message_id": message_id, "chat_id": chat.id}


def press(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    """Enqueue a callback query for a button of a bot message."""
    user_id = _int(body, "user_id")
    chat_id = _int(body, "chat_id", user_id)
    chat = emulator.chats.get(chat_id)
    if chat is None:
        raise ControlError(f"unknown chat {chat_id}")
    message = emulator.find_message(chat, body.get("message_id"))
    if message is None or message.sender != "bot":
        raise ControlError(f"no bot message {body.get('message_id')} in chat {chat_id}")
    if (body.get("data") is None) == (body.get("button") is None):
        raise ControlError("give either data or button")
    try:
        button = emulator.button(message, data=body.get("data"),
                                 index=_int(body, "button") if body.get("button") is not None else None)
    except LookupError as exc:
        raise ControlError(str(exc)) from None
    if "callback_data" not in button:
        raise ControlError(f"button {button.get('text')!r} has no callback_data (it is a {next(iter(button))} "
                           "button)")
    user = emulator.users.get(user_id) or _user(emulator, body, user_id)
    query_id = emulator.record_callback(chat.id, message.message_id, button["callback_data"])
    update_id = emulator.enqueue({"callback_query": {
        "id": query_id, "from": user, "message": dict(message.telegram), "chat_instance": str(abs(chat.id) * 7919),
        "data": button["callback_data"]}})
    return {"update_id": update_id, "callback_query_id": query_id}


def create_chat(emulator: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    chat_id = _int(body, "chat_id")
    default_type = "private" if chat_id > 0 else ("supergroup" if str(chat_id).startswith("-100") else "group")
    chat_type = body.get("chat_type") or default_type
    if chat_type not in CHAT_TYPES:
        raise ControlError(f"chat_type must be one of {', '.join(CHAT_TYPES)}")
    chat = emulator.chat(chat_id, chat_type=chat_type, title=body.get("title"))
    return {"chat": chat.telegram()}


def views(messages: list[StoredMessage]) -> list[dict[str, Any]]:
    return [m.view() for m in sorted(messages, key=lambda m: m.message_id)]
