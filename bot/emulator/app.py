"""The emulator's ASGI app: the Bot API under /bot<token>/, files under /file/bot<token>/, control under /_emulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.emulator import control
from bot.emulator.botapi import GarbledAnswer, Params, Upload, call
from bot.emulator.state import BotApiError, CallbackRecord, Emulator, Fault

TOKEN_RE = re.compile(r"^\d+:\S+$")
MAX_WAIT_S = 60.0
FAULT_CODES = (400, 403, 429, 500, 502)


def _emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


async def _params(request: Request) -> Params:
    values: dict[str, Any] = dict(request.query_params)
    uploads: dict[str, Upload] = {}
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if not body:
        return Params(values)
    if content_type.startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            raise BotApiError(400, "Bad Request: can't parse JSON") from None
        if not isinstance(parsed, dict):
            raise BotApiError(400, "Bad Request: parameters must be a JSON object")
        values.update(parsed)
    elif content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            filename = part.get_filename()
            if filename is not None:
                uploads[name] = Upload(payload, filename, part.get_content_type())
            else:
                values[name] = payload.decode("utf-8", errors="replace")
    else:
        values.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return Params(values, uploads)


def _telegram_error(emulator: Emulator, error: BotApiError) -> JSONResponse:
    emulator.errors[str(error.error_code)] += 1
    return JSONResponse(error.payload(), status_code=error.error_code)


async def bot_api(request: Request) -> Response:
    emulator = _emulator(request)
    if not TOKEN_RE.match(request.path_params["token"]):
        return _telegram_error(emulator, BotApiError(401, "Unauthorized"))
    try:
        result = await call(emulator, request.path_params["method"], await _params(request))
    except BotApiError as error:
        return _telegram_error(emulator, error)
    except GarbledAnswer:
        return Response(b"<html>upstream answer cut short", media_type="text/html")
    return JSONResponse({"ok": True, "result": result})


async def bot_file(request: Request) -> Response:
    emulator = _emulator(request)
    path = request.path_params["path"]
    stored = emulator.files.get(path.removeprefix("files/"))
    if not TOKEN_RE.match(request.path_params["token"]) or stored is None:
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
    return Response(stored.content, media_type=stored.mime_type or "application/octet-stream")


# --- control API ---------------------------------------------------------------------------------------
async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise control.ControlError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise control.ControlError("the body must be a JSON object")
    return body


def _detail(reason: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"detail": reason}, status_code=status)


async def post_message(request: Request) -> Response:
    try:
        return JSONResponse(control.user_message(_emulator(request), await _json(request)))
    except control.ControlError as exc:
        return _detail(str(exc))


async def post_callback(request: Request) -> Response:
    try:
        return JSONResponse(control.press(_emulator(request), await _json(request)))
    except control.ControlError as exc:
        return _detail(str(exc))


async def post_update(request: Request) -> Response:
    try:
        body = await _json(request)
    except control.ControlError as exc:
        return _detail(str(exc))
    emulator = _emulator(request)
    query = body.get("callback_query") if isinstance(body, dict) else None
    if isinstance(query, dict) and isinstance(query.get("id"), str) and query["id"] not in emulator.callbacks:
        # A press forged by a test or a benchmark is a real query for the bot: it can be answered once.
        message: dict[str, Any] = query["message"] if isinstance(query.get("message"), dict) else {}
        chat: dict[str, Any] = message["chat"] if isinstance(message.get("chat"), dict) else {}
        emulator.callbacks[query["id"]] = CallbackRecord(
            chat_id=int(chat.get("id", 0)), message_id=int(message.get("message_id", 0)),
            data=str(query.get("data", "")), created=time.monotonic())
    return JSONResponse({"update_id": emulator.enqueue(body, raw=True)})


def _chat_id(request: Request) -> int | None:
    try:
        return int(request.path_params["chat_id"])
    except ValueError:
        return None


def _query_number(request: Request, name: str, default: float) -> float:
    try:
        return float(request.query_params.get(name, default))
    except ValueError:
        raise control.ControlError(f"{name} must be a number") from None


async def get_messages(request: Request) -> Response:
    emulator, chat_id = _emulator(request), _chat_id(request)
    try:
        after = int(_query_number(request, "after", 0))
    except control.ControlError as exc:
        return _detail(str(exc))
    chat = emulator.chats.get(chat_id) if chat_id is not None else None
    messages = [m for m in chat.messages.values() if m.message_id > after] if chat else []
    return JSONResponse({"messages": control.views(messages)})


async def wait_messages(request: Request) -> Response:
    """Long-poll until `count` bot messages newer than `after` exist (edits count with edits=true).

    `edits_after=<edit_counter of an earlier answer>` counts every edit since that answer, so a client that
    polls in a loop misses none between two calls.
    """
    emulator, chat_id = _emulator(request), _chat_id(request)
    try:
        after = int(_query_number(request, "after", 0))
        count = int(_query_number(request, "count", 1))
        timeout = min(max(_query_number(request, "timeout", 5.0), 0.0), MAX_WAIT_S)
    except control.ControlError as exc:
        return _detail(str(exc))
    if chat_id is None:
        return _detail("chat_id must be an integer")
    edits_since = emulator.edit_counter if request.query_params.get("edits", "").lower() in ("true", "1") else None
    if request.query_params.get("edits_after"):  # edits since a counter an earlier answer gave (no gap)
        try:
            edits_since = int(request.query_params["edits_after"])
        except ValueError:
            return _detail("edits_after must be an integer")
    deadline = time.monotonic() + timeout
    while True:
        messages = emulator.bot_messages_since(chat_id, after, edits_since)
        remaining = deadline - time.monotonic()
        if len(messages) >= count or remaining <= 0:
            return JSONResponse({"messages": control.views(messages), "timed_out": len(messages) < count,
                                 "edit_counter": emulator.edit_counter})
        await emulator.chat_signal.wait(remaining)


async def get_callback(request: Request) -> Response:
    record = _emulator(request).callbacks.get(request.path_params["query_id"])
    if record is None:
        return _detail("unknown callback query", 404)
    return JSONResponse({"answered": record.answered, "text": record.text, "show_alert": record.show_alert,
                         "url": record.url, "data": record.data})


async def get_file(request: Request) -> Response:
    stored = _emulator(request).files.get(request.path_params["file_id"])
    if stored is None:
        return _detail("unknown file_id", 404)
    return Response(stored.content, media_type=stored.mime_type or "application/octet-stream")


async def post_chat(request: Request) -> Response:
    try:
        return JSONResponse(control.create_chat(_emulator(request), await _json(request)))
    except control.ControlError as exc:
        return _detail(str(exc))


async def post_block(request: Request) -> Response:
    emulator = _emulator(request)
    try:
        body = await _json(request)
        chat_id = int(body["chat_id"])
    except (control.ControlError, KeyError, TypeError, ValueError):
        return _detail("give chat_id (an integer) and blocked (true or false)")
    chat = emulator.chat(chat_id)
    chat.blocked = bool(body.get("blocked", True))
    return JSONResponse({"chat_id": chat_id, "blocked": chat.blocked})


async def post_fault(request: Request) -> Response:
    emulator = _emulator(request)
    try:
        body = await _json(request)
        method = str(body.get("method") or "*").lower()
        code = body.get("error_code")
        delay = body.get("delay")
        answer_delay = body.get("answer_delay")
        garbled = body.get("garbled", False)
        if not isinstance(garbled, bool):
            raise control.ControlError("garbled must be true or false")
        if code is None and delay is None and answer_delay is None and not garbled:
            raise control.ControlError("give error_code, delay, answer_delay or garbled")
        if code is not None and (answer_delay is not None or garbled):
            raise control.ControlError("answer_delay and garbled change the answer of a method that ran: give them "
                                       "without error_code")
        if code is not None and int(code) not in FAULT_CODES:
            raise control.ControlError(f"error_code must be one of {FAULT_CODES}")
        fault = Fault(method=method, error_code=int(code) if code is not None else None,
                      description=body.get("description"),
                      retry_after=int(body["retry_after"]) if body.get("retry_after") is not None else None,
                      times=int(body.get("times", 1)),
                      chat_id=int(body["chat_id"]) if body.get("chat_id") is not None else None,
                      delay=float(delay) if delay is not None else None,
                      answer_delay=float(answer_delay) if answer_delay is not None else None, garbled=garbled)
    except control.ControlError as exc:
        return _detail(str(exc))
    except (TypeError, ValueError):
        return _detail("error_code, retry_after, times, chat_id, delay and answer_delay must be numbers")
    emulator.faults.append(fault)
    return JSONResponse({"faults": len(emulator.faults)})


async def delete_faults(request: Request) -> Response:
    _emulator(request).faults.clear()
    return JSONResponse({"faults": 0})


async def post_limits(request: Request) -> Response:
    emulator = _emulator(request)
    try:
        body = await _json(request)
        emulator.set_limits(per_chat_rate=body.get("per_chat_rate"), per_chat_burst=body.get("per_chat_burst"),
                            global_rate=body.get("global_rate"), global_limit=body.get("global_limit"))
    except (control.ControlError, TypeError, ValueError) as exc:
        return _detail(str(exc))
    return JSONResponse(emulator.stats()["limits"])


async def get_stats(request: Request) -> Response:
    return JSONResponse(_emulator(request).stats())


async def post_reset(request: Request) -> Response:
    _emulator(request).reset()
    return JSONResponse({"reset": True})


def create_emulator_app(emulator: Emulator | None = None) -> Starlette:
    """Build the ASGI app for an emulator (a fresh one by default); `app.state.emulator` is it."""
    emulator = emulator or Emulator()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        task = emulator.webhook_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    routes = [
        Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
        Route("/file/bot{token}/{path:path}", bot_file, methods=["GET"]),
        Route("/_emulator/messages", post_message, methods=["POST"]),
        Route("/_emulator/callbacks", post_callback, methods=["POST"]),
        Route("/_emulator/callbacks/{query_id}", get_callback, methods=["GET"]),
        Route("/_emulator/updates", post_update, methods=["POST"]),
        Route("/_emulator/chats", post_chat, methods=["POST"]),
        Route("/_emulator/chats/{chat_id}/messages", get_messages, methods=["GET"]),
        Route("/_emulator/chats/{chat_id}/wait", wait_messages, methods=["GET"]),
        Route("/_emulator/files/{file_id}", get_file, methods=["GET"]),
        Route("/_emulator/block", post_block, methods=["POST"]),
        Route("/_emulator/faults", post_fault, methods=["POST"]),
        Route("/_emulator/faults", delete_faults, methods=["DELETE"]),
        Route("/_emulator/limits", post_limits, methods=["POST"]),
        Route("/_emulator/stats", get_stats, methods=["GET"]),
        Route("/_emulator/reset", post_reset, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = emulator
    return app
