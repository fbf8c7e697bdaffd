"""Telegram's checks on what a bot sends: HTML entities, text lengths and keyboards."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100
MAX_CALLBACK_DATA = 64

# Every `&` must start one of the entities Telegram decodes.
ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
}
OTHER_TAGS = {"span", "a", "code", "pre", "blockquote", "tg-emoji"}
BUTTON_KINDS = ("url", "callback_data", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
                "switch_inline_query_chosen_chat", "callback_game", "pay", "web_app", "copy_text")


class EntityError(ValueError):
    """The text is not valid for its parse mode; the message is Telegram's reason."""


def utf16_len(text: str) -> int:
    """Return the length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class _TelegramHTML(HTMLParser):
    """Telegram's HTML subset: collects the plain text and the entities, raises on anything else."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.parts: list[str] = []
        self.length = 0  # UTF-16 units so far
        self.stack: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self) -> int:
        line, col = self.getpos()
        return len(self.source[: self.line_starts[line - 1] + col].encode())

    def fail(self, reason: str) -> None:
        raise EntityError(f"{reason} at byte offset {self.byte_offset()}")

    def add_text(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.fail("Unexpected character '<' (use &lt;)")
        if "&" in data:
            self.fail("Can't find end of the entity (use &amp;)")
        self.add_text(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            self.fail(f'Unsupported HTML entity "&{name};"')
        self.add_text(NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.add_text(chr(code))
        except (ValueError, OverflowError):
            self.fail(f"Invalid character reference &#{name};")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        entity: dict[str, Any]
        if tag in SIMPLE_TAGS:
            entity = {"type": SIMPLE_TAGS[tag]}
        elif tag == "span":
            if values.get("class") != "tg-spoiler":
                self.fail('Tag "span" must have class "tg-spoiler"')
            entity = {"type": "spoiler"}
        elif tag == "a":
            href = values.get("href")
            if not href:
                self.fail('Tag "a" must have attribute "href"')
            entity = {"type": "text_link", "url": href}
        elif tag == "code":
            entity = {"type": "code"}
            language = (values.get("class") or "").removeprefix("language-")
            if self.stack and self.stack[-1][0] == "pre" and language:
                self.stack[-1][2]["language"] = language
        elif tag == "pre":
            entity = {"type": "pre"}
        elif tag == "blockquote":
            entity = {"type": "expandable_blockquote" if "expandable" in values else "blockquote"}
        elif tag == "tg-emoji":
            if not values.get("emoji-id"):
                self.fail('Tag "tg-emoji" must have attribute "emoji-id"')
            entity = {"type": "custom_emoji", "custom_emoji_id": values["emoji-id"]}
        else:
            self.fail(f'Unsupported start tag "{tag}"')
        self.stack.append((tag, self.length, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.fail(f'Unsupported self-closing tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self.fail(f'Unexpected end tag "{tag}"')
        open_tag, start, entity = self.stack.pop()
        if open_tag != tag:
            self.fail(f'Unmatched end tag, expected "</{open_tag}>", found "</{tag}>"')
        if open_tag == "code" and self.stack and self.stack[-1][0] == "pre":
            return  # <pre><code class="language-x"> is one pre entity
        if self.length > start:
            self.entities.append({**entity, "offset": start, "length": self.length - start})

    def handle_comment(self, data: str) -> None:
        self.fail("Unsupported comment")

    def handle_decl(self, decl: str) -> None:
        self.fail("Unsupported declaration")

    def handle_pi(self, data: str) -> None:
        self.fail("Unsupported processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.fail("Unsupported declaration")


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the plain text and entities of Telegram HTML, or raise EntityError with Telegram's reason."""
    for match in re.finditer("&", text):
        if not ENTITY_RE.match(text, match.start()):
            where = len(text[: match.start()].encode())
            raise EntityError(f"Can't find end of the entity starting at byte offset {where} (use &amp;)")
    parser = _TelegramHTML(text)
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"')
    parser.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), parser.entities


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return the plain text and entities for a parse mode (MarkdownV2 and Markdown are passed through)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode in ("", "markdown", "markdownv2"):
        return text, []
    raise EntityError(f"Unsupported parse_mode {parse_mode!r}")


def strip_tags(text: str) -> str:
    """Return HTML text without its tags and with entities decoded, leniently (for display)."""
    try:
        return parse_html(text)[0]
    except EntityError:
        return re.sub(r"<[^>]*>", "", text)


def check_reply_markup(markup: Any) -> str | None:
    """Return Telegram's reason to refuse a reply_markup, or None when it is acceptable."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        return "can't parse reply keyboard markup JSON object"
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            return "can't parse inline keyboard markup: field \"inline_keyboard\" must be an Array of Arrays"
        buttons = [b for row in rows for b in row]
        if len(buttons) > MAX_BUTTONS:
            return "reply markup is too long"
        for button in buttons:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                return "can't parse inline keyboard button: Text must be a String"
            kinds = [k for k in BUTTON_KINDS if k in button]
            if not kinds:
                return "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            if len(kinds) > 1:
                return "can't parse inline keyboard button: exactly one of the optional fields must be used"
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    return "BUTTON_DATA_INVALID"
            if "url" in button and not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
                return f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL"
        return None
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            return "can't parse keyboard markup: field \"keyboard\" must be an Array of Arrays"
        for row in rows:
            for button in row:
                if not (isinstance(button, str) or (isinstance(button, dict) and isinstance(button.get("text"),
                                                                                              str))):
                    return "can't parse keyboard button: Text must be a String"
        return None
    if markup.get("remove_keyboard") is True or "force_reply" in markup:
        return None
    return "can't parse reply keyboard markup JSON object"


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Return the inline buttons of a markup row by row (empty for none or a reply keyboard)."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [b for row in markup["inline_keyboard"] for b in row]
