"""`civicpulse chat`: talk to the bot as a resident, in a terminal, through the local Bot API emulator."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bot.emulator_client import EmulatorClient, EmulatorClientError, buttons

ATTACHMENT_COMMANDS = ("sticker", "photo", "voice", "document", "contact", "poll", "video", "audio", "animation")
HELP = """Type a line to send it to the bot. Client commands start with '!':
  !N or !press N        press button N of the last message with buttons
  !loc LAT LON          share a location            !venue LAT LON TITLE   share a venue
  !sticker !photo !voice !document !contact !poll !video !audio !animation   send one
  !edit TEXT            edit your last text          !file   save the bot's last document or photo here
  !help                 this help                    !quit   leave (Ctrl-D too)"""
POLL_TIMEOUT_S = 20.0


class ChatSession:
    """One resident's side of a chat: sends what is typed, prints what the bot sends."""

    def __init__(self, client: EmulatorClient, *, user_id: int, language: str | None = None,
                 out: Callable[[str], None] = print, save_dir: Path | None = None) -> None:
        self.client = client
        self.user_id = user_id
        self.language = language
        self.out = out
        self.save_dir = save_dir or Path.cwd()
        self.last_seen = 0
        self.edit_mark = 0
        self.shown: dict[int, tuple[Any, Any]] = {}  # message id → (text, markup) as last printed
        self.last_with_buttons: dict[str, Any] | None = None
        self.last_file: dict[str, Any] | None = None
        self.last_text_id: int | None = None
        self.sent = False  # whether the last line reached the bot (so a reply may come)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Skip the chat's history: only what the bot sends from now on is printed."""
        history = self.client.messages(self.user_id)
        self.last_seen = max((m["message_id"] for m in history), default=0)
        self.edit_mark = self.client.poll(self.user_id, self.last_seen, timeout=0)["edit_counter"]

    # --- what is typed ---------------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Act on one typed line; return False to leave."""
        line = line.strip()
        self.sent = False
        if not line:
            return True
        if not line.startswith("!"):
            self.last_text_id = self.client.say(self.user_id, line, **self._extra())["message_id"]
            self.sent = True
            return True
        command, _, rest = line[1:].partition(" ")
        command, rest = command.lower(), rest.strip()
        try:
            return self._command(command, rest)
        except EmulatorClientError as exc:
            self.out(f"! {exc.reason}")
        except ValueError:
            self.out(f"! could not read '{line}'; !help lists the commands")
        return True

    def _extra(self) -> dict[str, Any]:
        return {"language_code": self.language} if self.language else {}

    def _command(self, command: str, rest: str) -> bool:
        if command in ("quit", "exit", "q"):
            return False
        if command == "help":
            self.out(HELP)
        elif command.isdigit() or command == "press":
            self._press(int(command if command.isdigit() else rest))
        elif command == "loc":
            lat, lon = rest.split()
            self.client.send_location(self.user_id, float(lat), float(lon), **self._extra())
            self.sent = True
        elif command == "venue":
            lat, lon, title = rest.split(maxsplit=2)
            self.client.send_location(self.user_id, float(lat), float(lon), venue={"title": title, "address": ""},
                                      **self._extra())
            self.sent = True
        elif command in ATTACHMENT_COMMANDS:
            self.client.send_attachment(self.user_id, command, **self._extra())
            self.sent = True
        elif command == "edit":
            if self.last_text_id is None or not rest:
                self.out("! nothing to edit yet (send a text first), or no new text given")
            else:
                self.client.edit(self.user_id, self.last_text_id, rest, **self._extra())
                self.sent = True
        elif command == "file":
            self._save_file()
        else:
            self.out(f"! unknown command !{command}; !help lists the commands")
        return True

    def _press(self, number: int) -> None:
        message = self.last_with_buttons
        if message is None:
            self.out("! no message with buttons yet")
            return
        listed = buttons(message)
        if not 1 <= number <= len(listed):
            self.out(f"! choose a button from 1 to {len(listed)}")
            return
        label, target = listed[number - 1]
        inline = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        if "callback_data" not in inline[number - 1]:
            self.out(f"(button [{number}] {label} opens {target})")
            return
        self.client.press(self.user_id, message["message_id"], button=number - 1)
        self.sent = True

    def _save_file(self) -> None:
        if self.last_file is None:
            self.out("! the bot has not sent a document or photo yet")
            return
        document = self.last_file
        name = Path(document.get("file_name") or f"{document['file_id']}.bin").name
        target = self.save_dir / name
        counter = 1
        while target.exists():
            target = self.save_dir / f"{Path(name).stem}-{counter}{Path(name).suffix}"
            counter += 1
        target.write_bytes(self.client.file(document["file_id"]))
        self.out(f"(saved {target})")

    # --- what the bot sends ----------------------------------------------------------------------------
    def show_new(self, timeout: float) -> int:
        """Wait up to `timeout` for bot messages (new or edited), print them, and return how many."""
        answer = self.client.poll(self.user_id, self.last_seen, edits_after=self.edit_mark, timeout=timeout)
        with self._lock:
            self.edit_mark = max(self.edit_mark, answer["edit_counter"])
            messages = answer["messages"]
            shown = 0
            for message in messages:
                key = (message["text"] or message["caption"], message["reply_markup"])
                if self.shown.get(message["message_id"]) == key:
                    continue
                edited = message["message_id"] in self.shown or message["message_id"] <= self.last_seen
                self.shown[message["message_id"]] = key
                self.last_seen = max(self.last_seen, message["message_id"])
                self.out(render(message, edited=edited))
                shown += 1
                if buttons(message):
                    self.last_with_buttons = message
                if message["document"]:
                    self.last_file = message["document"]
            return shown

    def settle(self, first_wait: float, quiet: float = 0.3) -> None:
        """Print replies: wait up to first_wait for one, then until the bot is quiet for `quiet` seconds."""
        if self.show_new(first_wait):
            while self.show_new(quiet):
                pass

    def follow(self, stop: threading.Event) -> None:
        """Print the bot's messages as they come until stop is set (the background thread's loop)."""
        while not stop.is_set():
            try:
                self.show_new(POLL_TIMEOUT_S)
            except (httpx.HTTPError, EmulatorClientError) as exc:
                self.out(f"! lost the emulator ({type(exc).__name__}); retrying")
                stop.wait(2)


def render(message: dict[str, Any], *, edited: bool = False) -> str:
    """Return a bot message as the terminal shows it: plain text, numbered buttons, reply keyboard, file."""
    lines = [("bot (edited): " if edited else "bot: ") + (message.get("plain") or "")]
    listed = buttons(message)
    if listed:
        lines.append("  " + "  ".join(f"[{i}] {label}" for i, (label, _) in enumerate(listed, 1)))
    markup = message.get("reply_markup") or {}
    if markup.get("keyboard"):
        keys = []
        for row in markup["keyboard"]:
            for key in row:
                label = key if isinstance(key, str) else key.get("text", "")
                hint = " (sends your location: !loc LAT LON)" if isinstance(key, dict) and \
                    key.get("request_location") else ""
                keys.append(f"‹{label}›{hint}")
        lines.append("  keyboard: " + "  ".join(keys))
    if markup.get("remove_keyboard"):
        lines.append("  (keyboard removed)")
    document = message.get("document")
    if document:
        kind = "photo" if message.get("photo") else "document"
        lines.append(f"  [{kind}: {document.get('file_name')}, {document.get('file_size')} bytes — !file saves it]")
    return "\n".join(lines)


def chat_loop(client: EmulatorClient, *, user_id: int, lines: Iterable[str], language: str | None = None,
              out: Callable[[str], None] = print, save_dir: Path | None = None, follow: bool = True,
              reply_wait: float = 3.0) -> int:
    """Run a chat over the given input lines; return the exit status.

    With follow (a terminal), a background thread prints the bot's messages as they arrive. Without it
    (scripted input), each line waits up to reply_wait for the bot's answer before the next one is sent.
    """
    session = ChatSession(client, user_id=user_id, language=language, out=out, save_dir=save_dir)
    try:
        session.start()
    except (httpx.HTTPError, EmulatorClientError) as exc:
        out(f"civicpulse chat: no emulator at {client.base_url} ({type(exc).__name__}); "
            "start one with `civicpulse emulator`")
        return 1
    stop = threading.Event()
    follower = threading.Thread(target=session.follow, args=(stop,), daemon=True) if follow else None
    if follower:
        follower.start()
    try:
        for line in lines:
            if not session.handle(line):
                break
            if not follow and session.sent:
                session.settle(reply_wait)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
    return 0


def typed_lines(prompt: str = "") -> Iterator[str]:
    """Yield lines typed at the terminal until Ctrl-D."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    while True:
        try:
            yield input(prompt)
        except EOFError:
            return
