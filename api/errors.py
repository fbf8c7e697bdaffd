"""Domain errors become 4xx answers with a reason; nothing unexpected leaks details."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from core.errors import Conflict, DomainError, InvalidTransition, NotFound, RateLimited, TooLong
from core.logging_setup import log_unexpected

log = logging.getLogger("civicpulse.api")

STATUS = {NotFound: 404, Conflict: 409, InvalidTransition: 409, RateLimited: 429, TooLong: 422}


def status_for(error: DomainError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 422


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"{literal[:40]} is too large for a number")
    return value


def _check_text(value: Any) -> None:
    """Refuse lone UTF-16 surrogates (\\ud800 escapes): no database or UTF-8 text can hold them."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ValueError("a string holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), not text")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def strict_loads(body: bytes) -> Any:
    """Parse a JSON body as RFC 8259 does: no NaN or Infinity, no number too large for a float, no lone
    surrogates. Anything refused raises json.JSONDecodeError, which FastAPI answers with a 422 and the reason."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite)
        _check_text(value)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from exc
        raise json.JSONDecodeError(str(exc), "", 0) from exc
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """Every router's route class: request bodies are parsed by strict_loads."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict


def _echoable(value: Any) -> Any:
    """A validation error's input as JSON can carry it: non-finite numbers and lone surrogates as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and _SURROGATE.search(value):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_echoable(k): _echoable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_echoable(v) for v in value]
    return value


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's shape; the rejected input is echoed only in a form JSON can carry (a NaN in a query
        # parameter, say, would otherwise make the answer itself fail).
        return JSONResponse({"detail": _echoable(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=status_for(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log_unexpected(log, "unexpected error on %s %s: %s", exc, request.method, request.url.path)
        return JSONResponse({"detail": "internal error; nothing was changed"}, status_code=500)
