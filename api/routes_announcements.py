"""Announcements from staff to the followers of a deployment or a district, through the outbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from api.auth import Staff
from api.deps import WriteSession
from api.errors import StrictJSONRoute
from api.schemas_staff import AnnouncementIn, AnnouncementOut
from core import announcements, audit, deployments
from core.errors import NotFound
from core.models import District

router = APIRouter(prefix="/api/v1", tags=["announcements"], route_class=StrictJSONRoute)


@router.post("/announcements", response_model=AnnouncementOut, status_code=201,
             summary="Tell the followers of a deployment or a district (staff)")
def announce(session: WriteSession, who: Staff, body: AnnouncementIn) -> dict[str, Any]:
    """Queued once per follower (a resident following both the deployment and its district hears once)."""
    deployment = deployments.get_by_code(session, code=body.deployment) if body.deployment else None
    district = None
    if body.district:
        district = session.scalar(select(District).where(District.slug == body.district))
        if district is None:
            raise NotFound(f"no district {body.district!r}")
    count = announcements.announce(session, text=body.text, language=body.language, actor=who.name,
                                   deployment=deployment, district=district)
    audit.record(session, principal=who.name, role=who.role.value, action="announcement",
                 target=body.deployment or body.district, detail={"recipients": count, "text": body.text})
    return {"recipients": count}
