"""Statistics over concerns: full figures for staff, the suppressed public variant for everyone else."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import OptionalPrincipal
from api.deps import ReadSession, SettingsDep
from api.errors import StrictJSONRoute
from api.schemas import RANGE, FromDate, ToDate
from api.schemas_staff import StatsOut, TrendsOut
from core import stats
from core.models import Role

router = APIRouter(prefix="/api/v1", tags=["statistics"], route_class=StrictJSONRoute)


@router.get("/stats", response_model=StatsOut, summary="Concern counts and sentiment, grouped")
def get_stats(
    session: ReadSession,
    settings: SettingsDep,
    who: OptionalPrincipal,
    group_by: Annotated[str, Query(max_length=200, examples=["category,week"],
                                   description=f"comma-separated: {', '.join(stats.DIMENSIONS)}")],
    from_: Annotated[FromDate | None, Query(alias="from", description=f"a local date {RANGE}")] = None,
    to: Annotated[ToDate | None, Query(description=f"a local date {RANGE}")] = None,
) -> dict[str, Any]:
    """Staff and admins get every group. Everyone else gets whole ISO weeks, built only from weekly groups of at
    least CIVICPULSE_MIN_GROUP_SIZE concerns (smaller ones are left out and counted in `suppressed`)."""
    dims = stats.parse_group_by(group_by)
    if who is not None and who.role in (Role.STAFF, Role.ADMIN):
        result = stats.aggregate(session, group_by=dims, start=from_, end=to)
    else:
        result = stats.aggregate_public(session, group_by=dims, min_group_size=settings.min_group_size,
                                        start=from_, end=to)
    return {"groups": [g.as_dict() for g in result.groups], "suppressed": result.suppressed}


@router.get("/stats/trends", response_model=TrendsOut, summary="Weekly series with week-over-week change")
def get_trends(
    session: ReadSession,
    settings: SettingsDep,
    who: OptionalPrincipal,
    group_by: Annotated[str | None, Query(max_length=200, examples=["category"],
                                          description="optional, comma-separated; not week")] = None,
    from_: Annotated[FromDate | None, Query(alias="from", description=f"a local date {RANGE}")] = None,
    to: Annotated[ToDate | None, Query(description=f"a local date {RANGE}")] = None,
) -> dict[str, Any]:
    """One weekly series per group (one overall series without group_by); public callers get suppressed cells."""
    dims = stats.parse_group_by(group_by) if group_by else ()
    full = who is not None and who.role in (Role.STAFF, Role.ADMIN)
    series, suppressed = stats.trends(session, group_by=dims, start=from_, end=to,
                                      min_group_size=None if full else settings.min_group_size)
    return {"series": [{"key": s.key, "points": [vars(p) for p in s.points]} for s in series],
            "suppressed": suppressed}
