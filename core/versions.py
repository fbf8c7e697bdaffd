"""Register changes: each one is versioned (who, when, which fields) and told to the record's followers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.models import Deployment, DeploymentVersion, Follow, Outbox, Resident

# Fields a follower hears about; bookkeeping (updated_at) and geometry details are versioned but not announced.
NOTICE_KINDS = {True: "deployment_created", False: "deployment_changed"}


def record_change(session: Session, *, deployment: Deployment, record: dict[str, Any], fields: list[str],
                  actor: str, created: bool, now: datetime, notify: bool = True) -> DeploymentVersion:
    """Store the next version of a deployment and queue one notice per follower, in the caller's transaction.

    notify=False versions the change without telling anyone (a district redrawn around the deployment).
    """
    last = session.scalar(select(func.max(DeploymentVersion.version))
                          .where(DeploymentVersion.deployment_id == deployment.id)) or 0
    version = DeploymentVersion(deployment_id=deployment.id, version=last + 1, changed_by=actor,
                                fields=sorted(fields), record=record, created_at=now)
    session.add(version)
    for resident_id in followers(session, deployment=deployment) if notify else []:
        session.add(Outbox(
            resident_id=resident_id, kind=NOTICE_KINDS[created], created_at=now, not_before=now,
            payload={"code": deployment.code, "name": deployment.name, "fields": sorted(fields),
                     "status": deployment.status, "version": last + 1},
            dedupe_key=f"deployment:{deployment.id}:v{last + 1}:r{resident_id}",
        ))
    session.flush()
    return version


def followers(session: Session, *, deployment: Deployment) -> list[int]:
    """Residents who follow the deployment or its district, once each, and who can and want to hear."""
    target = Follow.deployment_id == deployment.id
    if deployment.district_id is not None:
        target = or_(target, Follow.district_id == deployment.district_id)
    query = (
        select(Resident.id).join(Follow, Follow.resident_id == Resident.id)
        .where(target, Resident.notifications.is_(True), Resident.active.is_(True),
               Resident.chat_id.is_not(None), Resident.consent_at.is_not(None))
        .distinct().order_by(Resident.id)
    )
    return list(session.scalars(query))


def history(session: Session, *, deployment: Deployment) -> list[DeploymentVersion]:
    return list(session.scalars(select(DeploymentVersion).where(DeploymentVersion.deployment_id == deployment.id)
                                .order_by(DeploymentVersion.version)))
