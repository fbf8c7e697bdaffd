"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import (
    errors,
    ops,
    routes_admin,
    routes_announcements,
    routes_campaigns,
    routes_concerns,
    routes_open311,
    routes_register,
    routes_register_staff,
    routes_stats,
    routes_summaries,
)
from core.db import Database
from core.schema import revision_problem
from core.settings import Settings

log = logging.getLogger("civicpulse.api")


class BodyLimit:
    """Answer 413 to request bodies larger than the configured limit, before a route reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"}, 413)(
                scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"}, 413)(
                scope, receive, send)


class BodyTooLarge(Exception):
    pass


class RejectNul:
    """Answer 422 to a NUL character in the path or the query (PostgreSQL cannot store or compare them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode()
            if b"\x00" in unquote_to_bytes(raw) or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
                path = scope.get("path", "")
                # Open311 clients expect Open311's own error list; everyone else the API's {"detail": ...}.
                answer = (routes_open311.error_response(path, 400, "NUL characters are not accepted")
                          if path.startswith("/open311/")
                          else JSONResponse({"detail": "NUL characters are not accepted"}, 422))
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """Build the API for these settings (and an existing database, e.g. in tests)."""
    owns_database = database is None
    db = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            db.dispose()

    app = FastAPI(
        title="civicpulse",
        version="0.1.0",
        summary="Public register of smart-city deployments and residents' concerns about them.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = db
    errors.install(app)
    for module in (routes_register, routes_register_staff, routes_concerns, routes_announcements, routes_stats,
                   routes_summaries, routes_admin, routes_open311, routes_campaigns):
        app.include_router(module.router)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The database answers and is at this version's schema",
             responses={503: {"description": "database unreachable, or its schema is not this version's"}})
    def readyz() -> Any:
        try:
            with db.reading() as session:
                problem = revision_problem(session.connection())
        except Exception as exc:  # any failure to reach the database means not ready
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, 503)
        if problem is not None:
            return JSONResponse({"status": "unavailable", "detail": problem}, 503)
        return {"status": "ok"}

    _document_errors(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "PATCH"],
                           allow_headers=["Authorization", "Content-Type"])
    ops.install(app, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RejectNul)
    return app


ERROR_SCHEMA = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}},
                "title": "Error"}
ERROR_STATUSES = {"401": "missing or invalid API key", "403": "the key's role may not do this",
                  "404": "not found", "409": "conflicts with the current state", "413": "request body too large",
                  "429": "rate limit exceeded (see Retry-After)"}


def _document_errors(app: FastAPI) -> None:
    """Declare the error shapes every operation can answer with, so clients (and fuzzers) can rely on them.

    A 422 is FastAPI's list of validation errors or a domain reason ({"detail": "..."}); the other 4xx carry a
    reason. Open311 routes keep the specification's own error list and are left as they are.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/open311/"):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                validation = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema")
                if validation:
                    responses["422"]["content"]["application/json"]["schema"] = {
                        "anyOf": [validation, {"$ref": "#/components/schemas/Error"}]}
                else:
                    responses["422"] = {"description": "invalid input", "content": error}
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(status, {"description": description, "content": error})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
