"""Domain errors become 4xx answers with a reason; nothing unexpected leaks details."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from core.errors import Conflict, DomainError, InvalidTransition, NotFound, RateLimited, TooLong
from core.logging_setup import log_unexpected

log = logging.getLogger("civicpulse.api")

STATUS = {NotFound: 404, Conflict: 409, InvalidTransition: 409, RateLimited: 429, TooLong: 422}


def status_for(error: DomainError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 422


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.reason}, status_code=status_for(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log_unexpected(log, "unexpected error on %s %s: %s", exc, request.method, request.url.path)
        return JSONResponse({"detail": "internal error; nothing was changed"}, status_code=500)
