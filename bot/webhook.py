"""The webhook route: Telegram (or the emulator) posts updates here in webhook mode."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

logger = logging.getLogger(__name__)

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
MAX_UPDATE_BYTES = 1_048_576


def webhook_route(application: Application[Any, Any, Any, Any, Any, Any], secret: str | None) -> Route:
    """A POST route that checks the secret in constant time and queues the update for the Application."""
    expected = (secret or "").encode()

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        # compare_digest on bytes takes the same time wherever the first difference is.
        if not expected or not hmac.compare_digest(given, expected):
            return JSONResponse({"detail": "wrong or missing secret token"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return JSONResponse({"detail": "update too large"}, status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return JSONResponse({"detail": "the body is not JSON"}, status_code=400)
        # An update is a JSON object with an integer update_id; PTB's parser assumes as much.
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return JSONResponse({"detail": "the body is not a Telegram update (an object with an integer "
                                           "update_id)"}, status_code=400)
        try:
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("webhook body is not a Telegram update: %s", type(exc).__name__)
            return JSONResponse({"detail": "the body is not a Telegram update"}, status_code=400)
        if update is None:
            return JSONResponse({"detail": "the body is not a Telegram update"}, status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Route(PATH, receive, methods=["POST"], name="telegram_webhook")
