"""Operations: rate limits (per client address and per key), Prometheus metrics, request ids."""

from __future__ import annotations

import time

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import optional_principal
from core.models import Role
from core.settings import Settings


class RateBudget:
    """A moving-window budget per identity, from the `limits` library (in-process memory)."""

    def __init__(self, rate: str, scope: str) -> None:
        self.items = parse_many(rate)
        self.scope = scope
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, identity: str) -> int | None:
        """Spend one request; None when allowed, else the seconds to wait."""
        for item in self.items:
            if not self.limiter.hit(item, self.scope, identity):
                reset_at, _ = self.limiter.get_window_stats(item, self.scope, identity)
                return max(1, int(reset_at - time.time()) + 1)
        return None


class KeyLimiter(RateBudget):
    """Requests per API key across every address (a leaked key cannot outrun its limit by spreading out)."""

    def check(self, key_id: int) -> None:
        retry = self.retry_after(str(key_id))
        if retry is not None:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "rate limit exceeded for this API key",
                                headers={"Retry-After": str(retry)})


class AddressLimit:
    """Answer 429 with Retry-After once a client address spends its budget, before any route runs."""

    def __init__(self, app: ASGIApp, rate: str) -> None:
        self.app = app
        self.budget = RateBudget(rate, "address")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            retry = self.budget.retry_after(client[0] if client else "unknown")
            if retry is not None:
                response = JSONResponse({"detail": "rate limit exceeded for this address"}, status_code=429,
                                        headers={"Retry-After": str(retry)})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Wire limits, metrics and request ids into the app."""
    app.state.key_limiter = KeyLimiter(settings.api_rate_per_key, "key")
    app.add_middleware(AddressLimit, rate=settings.api_rate_per_address)

    registry = CollectorRegistry()
    Instrumentator(registry=registry, excluded_handlers=["/metrics"]).instrument(app)

    @app.get("/metrics", tags=["operations"], include_in_schema=True,
             summary="Prometheus metrics (staff or admin key in production)",
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics(request: Request) -> Response:
        if settings.is_production:
            _require_staff(request)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")


def _require_staff(request: Request) -> None:
    principal = optional_principal(request, request.app.state.database)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "an API key is required",
                            headers={"WWW-Authenticate": "Bearer"})
    if principal.role not in (Role.STAFF, Role.ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {principal.role.value} role may not read metrics")
