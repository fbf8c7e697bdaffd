"""The floor for bench/api.py's load test: a bare FastAPI app with the same path and query parameters as
GET /api/v1/deployments/near, answering a constant dict (no database, no middleware).

    taskset -c 0 .venv/bin/uvicorn --app-dir bench _bare_app:app --port 8001 --no-access-log
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query

app = FastAPI(title="bare")
ANSWER: dict[str, Any] = {"items": [], "status": "ok"}


@app.get("/api/v1/deployments/near")
def near(lat: Annotated[float, Query(ge=-90, le=90)], lon: Annotated[float, Query(ge=-180, le=180)],
         radius_m: float = 1000, limit: int = 10) -> dict[str, Any]:
    # A plain (sync) def like the real route, so both run in the same threadpool.
    return ANSWER


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
