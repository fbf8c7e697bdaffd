"""Announcements: a staff message about a deployment or a district, queued once for each follower."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Invalid
from core.models import Deployment, District, Follow, Outbox, Resident, utcnow
from core.versions import followers

MAX_CHARS = 3500


def district_followers(session: Session, *, district: District) -> list[int]:
    """Residents following the district who can and want to hear."""
    return list(session.scalars(
        select(Resident.id).join(Follow, Follow.resident_id == Resident.id)
        .where(Follow.district_id == district.id, Resident.notifications.is_(True), Resident.active.is_(True),
               Resident.chat_id.is_not(None), Resident.consent_at.is_not(None))
        .distinct().order_by(Resident.id)))


def announce(session: Session, *, text: str, language: str | None, actor: str, deployment: Deployment | None = None,
             district: District | None = None, now: datetime | None = None) -> int:
    """Queue the message for the followers of the deployment (and its district) or of the district; return how many."""
    text = text.strip()
    if not text or len(text) > MAX_CHARS:
        raise Invalid(f"an announcement needs 1 to {MAX_CHARS} characters")
    if deployment is not None and district is None:
        recipients, about = followers(session, deployment=deployment), {"deployment": deployment.code}
    elif district is not None and deployment is None:
        recipients, about = district_followers(session, district=district), {"district": district.slug}
    else:
        raise Invalid("an announcement is about one deployment or one district")
    now = now or utcnow()
    batch = uuid4().hex
    for resident_id in recipients:
        session.add(Outbox(resident_id=resident_id, kind="announcement", created_at=now, not_before=now,
                           payload={**about, "text": text, "language": language, "by": actor},
                           dedupe_key=f"announcement:{batch}:r{resident_id}"))
    session.flush()
    return len(recipients)
