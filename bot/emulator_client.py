"""A small synchronous client for the emulator's control API: the residents' side, for tests and `chat`."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx


class EmulatorClient:
    """Write, press and read as residents do, over the emulator's /_emulator API."""

    def __init__(self, base_url: str, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url + "/_emulator", timeout=timeout)

    def _call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
              timeout: float | None = None) -> Any:
        response = self._http.request(method, path, json=json, params=params,
                                      timeout=timeout if timeout is not None else self.timeout)
        if response.status_code >= 400:
            try:
                reason = response.json().get("detail", response.text)
            except ValueError:
                reason = response.text
            raise EmulatorClientError(response.status_code, str(reason))
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    # --- what residents do -----------------------------------------------------------------------------
    def say(self, user_id: int, text: str, **extra: Any) -> dict[str, Any]:
        """Send a text from the user (chat_id, chat_type, first_name, language_code, edit_of may be given)."""
        result: dict[str, Any] = self._call("POST", "/messages", json={"user_id": user_id, "text": text, **extra})
        return result

    def send_location(self, user_id: int, lat: float, lon: float, *, live_period: int | None = None,
                      venue: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        """Share a location, or a venue when `venue` gives its title and address."""
        location: dict[str, Any] = {"latitude": lat, "longitude": lon}
        if venue is not None:
            body = {"venue": {**location, "title": venue.get("title", ""), "address": venue.get("address", "")}}
        else:
            if live_period is not None:
                location["live_period"] = live_period
            body = {"location": location}
        result: dict[str, Any] = self._call("POST", "/messages", json={"user_id": user_id, **body, **extra})
        return result

    def send_attachment(self, user_id: int, kind: str, **extra: Any) -> dict[str, Any]:
        """Send a sticker, photo, voice, document, contact, poll, video, audio or animation."""
        result: dict[str, Any] = self._call("POST", "/messages",
                                            json={"user_id": user_id, "attachment": kind, **extra})
        return result

    def edit(self, user_id: int, message_id: int, text: str, **extra: Any) -> dict[str, Any]:
        """Edit an earlier text of the user (an edited_message update)."""
        return self.say(user_id, text, edit_of=message_id, **extra)

    def press(self, user_id: int, message_id: int, *, data: str | None = None, button: int | None = None,
              chat_id: int | None = None) -> dict[str, Any]:
        """Press an inline button by its callback_data or its 0-based index; returns the callback_query_id."""
        body: dict[str, Any] = {"user_id": user_id, "message_id": message_id}
        if data is not None:
            body["data"] = data
        if button is not None:
            body["button"] = button
        if chat_id is not None:
            body["chat_id"] = chat_id
        result: dict[str, Any] = self._call("POST", "/callbacks", json=body)
        return result

    def raw_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Enqueue an update object as given (an update_id in it is kept)."""
        result: dict[str, Any] = self._call("POST", "/updates", json=update)
        return result

    # --- what the bot did ------------------------------------------------------------------------------
    def messages(self, chat_id: int, after: int = 0) -> list[dict[str, Any]]:
        """Return every message of the chat after a message id, users' and the bot's, in order."""
        result: list[dict[str, Any]] = self._call("GET", f"/chats/{chat_id}/messages",
                                                  params={"after": after})["messages"]
        return result

    def wait(self, chat_id: int, after: int, count: int = 1, timeout: float = 5.0, *,
             edits: bool = False) -> list[dict[str, Any]]:
        """Wait until the bot sent `count` messages after `after` (edits count with edits=True); return them."""
        params: dict[str, Any] = {"after": after, "count": count, "timeout": timeout}
        if edits:
            params["edits"] = "true"
        result: list[dict[str, Any]] = self._call("GET", f"/chats/{chat_id}/wait", params=params,
                                                  timeout=timeout + self.timeout)["messages"]
        return result

    def poll(self, chat_id: int, after: int, *, edits_after: int | None = None, timeout: float = 5.0
             ) -> dict[str, Any]:
        """Wait for bot messages after `after` or edits since `edits_after`; the answer's edit_counter is the next."""
        params: dict[str, Any] = {"after": after, "timeout": timeout}
        if edits_after is not None:
            params["edits_after"] = edits_after
        result: dict[str, Any] = self._call("GET", f"/chats/{chat_id}/wait", params=params,
                                            timeout=timeout + self.timeout)
        return result

    def callback_answer(self, callback_query_id: str) -> dict[str, Any]:
        """Return how the bot answered a button press: answered, text, show_alert."""
        result: dict[str, Any] = self._call("GET", f"/callbacks/{callback_query_id}")
        return result

    def file(self, file_id: str) -> bytes:
        """Return the bytes of a document or photo the bot sent."""
        response = self._http.get(f"/files/{file_id}")
        if response.status_code >= 400:
            raise EmulatorClientError(response.status_code, f"unknown file {file_id}")
        return response.content

    # --- the world around ------------------------------------------------------------------------------
    def create_chat(self, chat_id: int, chat_type: str = "supergroup", title: str | None = None) -> dict[str, Any]:
        """Make a chat known without a message (e.g. a staff group)."""
        result: dict[str, Any] = self._call("POST", "/chats",
                                            json={"chat_id": chat_id, "chat_type": chat_type, "title": title})
        return result

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """Block (or unblock) the bot in a chat: sends answer 403 while blocked."""
        self._call("POST", "/block", json={"chat_id": chat_id, "blocked": blocked})

    def fault(self, method: str, error_code: int | None = None, times: int = 1, chat_id: int | None = None,
              retry_after: int | None = None, delay: float | None = None, description: str | None = None,
              answer_delay: float | None = None, garbled: bool = False) -> None:
        """Make the next `times` calls of a Bot API method fail, or be slow: `delay` seconds before the method
        runs, or `answer_delay` seconds after it ran (the message is recorded, but a client that times out first
        never learns it went out; not with `error_code`); `garbled`: the method runs and its 200 answer is not
        JSON (not with `error_code`)."""
        body: dict[str, Any] = {"method": method, "times": times}
        if garbled:
            body["garbled"] = True
        for key, value in (("error_code", error_code), ("chat_id", chat_id), ("retry_after", retry_after),
                           ("delay", delay), ("description", description), ("answer_delay", answer_delay)):
            if value is not None:
                body[key] = value
        self._call("POST", "/faults", json=body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def limits(self, **kw: Any) -> dict[str, Any]:
        """Change the limit model: per_chat_rate, per_chat_burst, global_rate, global_limit."""
        result: dict[str, Any] = self._call("POST", "/limits", json=kw)
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/stats")
        return result

    def reset(self) -> None:
        """Forget chats, messages, pending updates and faults (update ids keep rising)."""
        self._call("POST", "/reset")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class EmulatorClientError(RuntimeError):
    """The control API refused a request (its status and reason)."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(f"{status_code}: {reason}")
        self.status_code = status_code
        self.reason = reason


def buttons(message: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Return the inline buttons of a message as (label, callback_data or url), row by row."""
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or []
    return [(b.get("text", ""), b.get("callback_data", b.get("url"))) for row in rows for b in row]
