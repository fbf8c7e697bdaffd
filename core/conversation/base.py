"""What the bot hands the conversation (an event) and what it gets back (replies to send), transport-free."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core import flows, residents
from core.concerns import IntakePolicy
from core.i18n import t
from core.models import FlowState, Resident

# Telegram's limits, which every reply respects (the emulator checks them as Telegram does).
MAX_MESSAGE_CHARS = 4096
MAX_CALLBACK_BYTES = 64
PREVIEW_CHARS = 600
LONG_VALUE = 200


class Safe(str):
    """Text that is already HTML (rendered from prompts): inserted without escaping."""


def tr(language: str | None, key: str, **args: Any) -> Safe:
    """Render a prompt as Telegram HTML: the prompt's own markup kept, every variable escaped.

    Fluent refuses a placeable over 1,000 characters; long values go in as short markers and are put back
    after rendering, so a 4,000-character concern or a long card body renders whole.
    """
    escaped: dict[str, Any] = {}
    long_values: dict[str, str] = {}
    for name, value in args.items():
        if isinstance(value, str):
            value = value if isinstance(value, Safe) else html.escape(value, quote=False)
            if len(value) > LONG_VALUE:
                marker = f"\ue000{len(long_values)}\ue001"
                long_values[marker] = value
                value = marker
        escaped[name] = value
    text = t(language, key, **escaped)
    for marker, value in long_values.items():
        text = text.replace(marker, value)
    return Safe(text)


_TAG = re.compile(r"<[^>]*>")


def visible_length(html_text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after the HTML is parsed."""
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


def cut(text: str, limit: int = PREVIEW_CHARS) -> str:
    """Shorten resident text for a preview (before escaping), marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if self.data is not None and not 0 < len(self.data.encode()) <= MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass
class Document:
    filename: str
    content: bytes
    caption: str | None = None


@dataclass
class Reply:
    """One message to send: HTML text, inline buttons, an optional reply keyboard or document."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    ask_location: str | None = None  # label of a reply-keyboard button that sends the location
    keyboard_extra: str | None = None  # a second reply-keyboard button that sends its label as text
    remove_keyboard: bool = False
    document: Document | None = None
    edit: bool = False  # replace the message whose button was pressed instead of sending a new one

    def __post_init__(self) -> None:
        if visible_length(self.text) > MAX_MESSAGE_CHARS:
            raise ValueError(f"a reply over {MAX_MESSAGE_CHARS} characters")


@dataclass(frozen=True)
class Env:
    """Who wrote and the settings the conversation depends on."""

    secret: bytes
    policy: IntakePolicy
    user_id: int
    chat_id: int
    now: datetime
    bot_id: int = 0
    update_id: int | None = None
    language_code: str | None = None
    bot_username: str | None = None


@dataclass(frozen=True)
class Event:
    """What the resident did: kind is command, text, location, callback or attachment."""

    kind: str
    text: str = ""
    args: str = ""
    lat: float | None = None
    lon: float | None = None
    attachment: str | None = None


@dataclass
class Turn:
    """One update being handled: the session, the resident, their flow, the replies so far."""

    session: Session
    env: Env
    resident: Resident
    flow: FlowState | None
    replies: list[Reply] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.resident.language or "en"

    def t(self, key: str, **args: Any) -> Safe:
        return tr(self.lang, key, **args)

    def say(self, key: str, *, buttons: list[list[Button]] | None = None, **args: Any) -> Reply:
        reply = Reply(self.t(key, **args), buttons or [])
        self.replies.append(reply)
        return reply

    def label(self, key: str, **args: Any) -> str:
        """A button's label: plain text (Telegram shows it as is), so its variables are not HTML-escaped."""
        return t(self.lang, key, **args)

    def button(self, key: str, data: str, **args: Any) -> Button:
        return Button(self.label(key, **args), data)

    def set_flow(self, flow: str, step: str, data: dict[str, Any]) -> None:
        self.flow = flows.put(self.session, resident=self.resident, flow=flow, step=step, data=data,
                              now=self.env.now)

    def end_flow(self) -> None:
        flows.clear(self.session, resident=self.resident)
        self.flow = None

    def in_flow(self, flow: str, step: str | None = None) -> bool:
        return self.flow is not None and self.flow.flow == flow and (step is None or self.flow.step == step)

    @property
    def consented(self) -> bool:
        return self.resident.consent_at is not None


# Statements on every update's path are built once (building one costs about as much as running it).
_RESIDENT_AND_FLOW = (select(Resident, FlowState).outerjoin(FlowState, FlowState.resident_id == Resident.id)
                      .where(Resident.pseudonym == bindparam("pseudonym")))


def resident_for(session: Session, env: Env) -> tuple[Resident, FlowState | None]:
    """The resident behind the update and their flow, in one query; the chat id is kept only after consent."""
    language = env.language_code[:2].lower() if env.language_code else None
    row = session.execute(_RESIDENT_AND_FLOW, {"pseudonym": residents.pseudonym(env.secret, env.user_id)}).first()
    if row is None:
        resident = residents.get_or_create(session, secret=env.secret, telegram_user_id=env.user_id,
                                           language=language if language in residents.LANGUAGES else None)
        return resident, None
    resident, state = row
    residents.seen(resident, now=env.now)
    if resident.consent_at is not None and resident.chat_id != env.chat_id:
        resident.chat_id = env.chat_id
    return resident, flows.current(session, resident=resident, now=env.now, state=state)
