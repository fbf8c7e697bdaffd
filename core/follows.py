"""Residents following deployments and districts (notices are written when a record changes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import LimitReached
from core.models import Deployment, District, Follow, Resident

MAX_FOLLOWS = 100  # deployments and districts together; `following` lists them all


@dataclass(frozen=True)
class Following:
    deployments: list[Deployment]
    districts: list[District]


def follow(session: Session, *, resident: Resident, deployment: Deployment | None = None,
           district: District | None = None, now: datetime) -> bool:
    """Follow a deployment or a district; return False when the resident already did.

    Raise LimitReached when the resident already follows MAX_FOLLOWS things.
    """
    if (deployment is None) == (district is None):
        raise ValueError("follow exactly one deployment or one district")
    if is_following(session, resident=resident, deployment=deployment, district=district):
        return False
    if (session.scalar(select(func.count()).select_from(Follow).where(Follow.resident_id == resident.id)) or 0
            ) >= MAX_FOLLOWS:
        raise LimitReached(f"at most {MAX_FOLLOWS} follows", limit=MAX_FOLLOWS)
    try:
        with session.begin_nested():
            session.add(Follow(resident_id=resident.id, deployment_id=deployment.id if deployment else None,
                               district_id=district.id if district else None, created_at=now))
    except IntegrityError:
        return False  # the same follow arrived twice at once
    return True


def unfollow(session: Session, *, resident: Resident, deployment: Deployment | None = None,
             district: District | None = None) -> bool:
    """Stop following; return False when the resident did not follow it."""
    query = delete(Follow).where(Follow.resident_id == resident.id)
    if deployment is not None:
        query = query.where(Follow.deployment_id == deployment.id)
    elif district is not None:
        query = query.where(Follow.district_id == district.id)
    else:
        raise ValueError("unfollow a deployment or a district")
    return bool(session.execute(query).rowcount)  # type: ignore[attr-defined]


_FOLLOWS_DEPLOYMENT = (select(Follow.id).where(Follow.resident_id == bindparam("resident_id"),
                                               Follow.deployment_id == bindparam("deployment_id")).limit(1))


def is_following(session: Session, *, resident: Resident, deployment: Deployment | None = None,
                 district: District | None = None) -> bool:
    if deployment is not None and district is None:  # every card asks this
        return session.scalar(_FOLLOWS_DEPLOYMENT, {"resident_id": resident.id, "deployment_id": deployment.id}
                              ) is not None
    query = select(Follow.id).where(Follow.resident_id == resident.id)
    if deployment is not None:
        query = query.where(Follow.deployment_id == deployment.id)
    if district is not None:
        query = query.where(Follow.district_id == district.id)
    return session.scalar(query.limit(1)) is not None


def following(session: Session, *, resident: Resident) -> Following:
    """What the resident follows, deployments by code and districts by slug."""
    deployments = list(session.scalars(
        select(Deployment).join(Follow, Follow.deployment_id == Deployment.id)
        .where(Follow.resident_id == resident.id).order_by(Deployment.code).limit(MAX_FOLLOWS)))
    districts = list(session.scalars(
        select(District).join(Follow, Follow.district_id == District.id)
        .where(Follow.resident_id == resident.id).order_by(District.slug).limit(MAX_FOLLOWS)))
    return Following(deployments, districts)
