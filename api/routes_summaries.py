"""Weekly concern summaries for staff: JSON, CSV or Markdown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api.auth import Staff
from api.deps import ReadSession, SettingsDep
from api.errors import StrictJSONRoute
from core import summaries, summary_formats
from core.models import utcnow

router = APIRouter(prefix="/api/v1", tags=["summaries"], route_class=StrictJSONRoute)
FORMATS = {"json": "application/json", "csv": "text/csv", "markdown": "text/markdown"}
RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/json": {}, "text/csv": {}, "text/markdown": {}}},
    404: {"description": "the week has not started yet"},
    422: {"description": "not an ISO week such as 2026-W47"},
}
Format = Annotated[str | None, Query(pattern=r"^(json|csv|markdown)$",
                                     description="json (default), csv or markdown; or send an Accept header")]
Language = Annotated[str, Query(pattern=r"^(en|es)$", description="language of the Markdown's words")]


def _render(request: Request, summary: dict[str, object], fmt: str | None, language: str) -> Response:
    if fmt is None:
        accept = request.headers.get("accept", "")
        fmt = "csv" if "text/csv" in accept else "markdown" if "text/markdown" in accept else "json"
    if fmt == "csv":
        return Response(summary_formats.to_csv(summary), media_type="text/csv; charset=utf-8")
    if fmt == "markdown":
        return Response(summary_formats.to_markdown(summary, language=language),
                        media_type="text/markdown; charset=utf-8")
    return JSONResponse(summary)


@router.get("/summaries/weekly/latest", summary="The last completed week's summary (staff)", responses=RESPONSES)
def latest(request: Request, session: ReadSession, settings: SettingsDep, _who: Staff, format: Format = None,
           language: Language = "en") -> Response:
    """The ISO week before the current one in CIVICPULSE_TIMEZONE."""
    week = summaries.last_completed_week(utcnow(), settings.zone)
    return _render(request, summaries.get(session, iso_week=week, zone=settings.zone), format, language)


@router.get("/summaries/weekly/{iso_week}", summary="One ISO week's summary (staff)", responses=RESPONSES)
def weekly(request: Request, session: ReadSession, settings: SettingsDep, _who: Staff, iso_week: str,
           format: Format = None, language: Language = "en") -> Response:
    """Stored summaries are returned as stored (quotes resolved now); other weeks are computed on demand. The
    current week is summarised so far (`complete` false); a week that has not started is 404."""
    return _render(request, summaries.get(session, iso_week=iso_week, zone=settings.zone), format, language)
