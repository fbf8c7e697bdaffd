"""Who a campaign reaches, which open campaigns a resident can find, and a respondent's district.

A campaign's target area is the union of: the radius (if any), the polygons of the targeted districts, and a
circle of NEAR_DEPLOYMENT_M around each targeted deployment. A resident is reached when they consented, can
be written to (active, a chat id), switched notifications on, and either follow a targeted deployment, a
targeted district or a deployment inside the target area, or kept a location (opt-in, coarsened, not expired)
inside the target area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely.geometry import Point, shape
from shapely.prepared import PreparedGeometry, prep
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.deployments import locate_district
from core.geo import bounding_box, haversine_m
from core.models import Campaign, CampaignStatus, Deployment, District, Follow, Resident

# Around a targeted deployment: a few blocks, the distance at which people live with a sensor or a camera.
NEAR_DEPLOYMENT_M = 500


@dataclass
class Target:
    """A campaign's target resolved to ids and shapes."""

    deployment_ids: set[int]  # targeted, plus every deployment inside the target area
    targeted_deployment_ids: set[int]
    district_ids: set[int]
    circles: list[tuple[float, float, float]]  # (lat, lon, radius_m)
    polygons: list[PreparedGeometry[Any]]
    box: tuple[float, float, float, float] | None  # min_lat, max_lat, min_lon, max_lon; None: no prefilter

    def covers(self, lat: float, lon: float) -> bool:
        """Whether the point lies inside the target area."""
        if any(haversine_m(lat, lon, c_lat, c_lon) <= radius for c_lat, c_lon, radius in self.circles):
            return True
        point = Point(lon, lat)
        return any(p.covers(point) for p in self.polygons)


def resolve(session: Session, *, campaign: Campaign) -> Target:
    """Resolve the campaign's codes, slugs and radius into ids and shapes."""
    circles: list[tuple[float, float, float]] = []
    if campaign.target_radius_m is not None and campaign.target_lat is not None and campaign.target_lon is not None:
        circles.append((campaign.target_lat, campaign.target_lon, float(campaign.target_radius_m)))
    targeted: list[tuple[int, float, float]] = []
    if campaign.target_deployments:
        targeted = [(r.id, r.lat, r.lon) for r in session.execute(
            select(Deployment.id, Deployment.lat, Deployment.lon)
            .where(Deployment.code.in_(campaign.target_deployments)))]
        circles.extend((lat, lon, float(NEAR_DEPLOYMENT_M)) for _, lat, lon in targeted)
    districts: list[tuple[int, dict[str, Any]]] = []
    if campaign.target_districts:
        districts = [(r.id, r.geometry) for r in session.execute(
            select(District.id, District.geometry).where(District.slug.in_(campaign.target_districts)))]
    shapes = [shape(g) for _, g in districts]
    boxes = []
    for lat, lon, radius in circles:
        b = bounding_box(lat, lon, radius)
        boxes.append(None if len(b.lon_ranges) != 1 else (b.min_lat, b.max_lat, *b.lon_ranges[0]))
    for geometry in shapes:
        min_lon, min_lat, max_lon, max_lat = geometry.bounds
        boxes.append((min_lat, max_lat, min_lon, max_lon))
    box = None
    if boxes and all(b is not None for b in boxes):
        box = (min(b[0] for b in boxes if b), max(b[1] for b in boxes if b),
               min(b[2] for b in boxes if b), max(b[3] for b in boxes if b))
    target = Target(deployment_ids={i for i, _, _ in targeted}, targeted_deployment_ids={i for i, _, _ in targeted},
                    district_ids={i for i, _ in districts}, circles=circles, polygons=[prep(s) for s in shapes],
                    box=box)
    target.deployment_ids |= _deployments_inside(session, target)
    return target


def _deployments_inside(session: Session, target: Target) -> set[int]:
    found: set[int] = set()
    if target.district_ids:
        found |= set(session.scalars(select(Deployment.id).where(Deployment.district_id.in_(target.district_ids))))
    if target.box is not None:
        min_lat, max_lat, min_lon, max_lon = target.box
        rows = session.execute(select(Deployment.id, Deployment.lat, Deployment.lon).where(
            Deployment.lat.between(min_lat, max_lat), Deployment.lon.between(min_lon, max_lon)))
    else:
        rows = session.execute(select(Deployment.id, Deployment.lat, Deployment.lon))
    found |= {r.id for r in rows if target.covers(r.lat, r.lon)}
    return found


def _reachable() -> list[Any]:
    return [Resident.consent_at.is_not(None), Resident.notifications.is_(True), Resident.active.is_(True),
            Resident.chat_id.is_not(None)]


def _follow_condition(target: Target) -> Any:
    conditions = []
    if target.deployment_ids:
        conditions.append(Follow.deployment_id.in_(target.deployment_ids))
    if target.district_ids:
        conditions.append(Follow.district_id.in_(target.district_ids))
    return or_(*conditions) if conditions else None


def _located(session: Session, target: Target, now: datetime, conditions: list[Any]) -> set[int]:
    query = select(Resident.id, Resident.location_lat, Resident.location_lon).where(
        *conditions, Resident.location_until > now, Resident.location_lat.is_not(None),
        Resident.location_lon.is_not(None))
    if target.box is not None:
        min_lat, max_lat, min_lon, max_lon = target.box
        query = query.where(Resident.location_lat.between(min_lat, max_lat),
                            Resident.location_lon.between(min_lon, max_lon))
    return {r.id for r in session.execute(query) if target.covers(r.location_lat, r.location_lon)}


def reached_residents(session: Session, *, campaign: Campaign, now: datetime, target: Target | None = None
                      ) -> list[int]:
    """Ids of the residents an invitation would reach (see the module's docstring), once each, in id order."""
    target = target or resolve(session, campaign=campaign)
    found: set[int] = set()
    follows = _follow_condition(target)
    if follows is not None:
        found |= set(session.scalars(select(Follow.resident_id).join(Resident, Resident.id == Follow.resident_id)
                                     .where(follows, *_reachable()).distinct()))
    found |= _located(session, target, now, _reachable())
    return sorted(found)


def estimate_reach(session: Session, *, campaign: Campaign, now: datetime) -> int:
    """How many residents the campaign's invitation would reach if it opened now."""
    return len(reached_residents(session, campaign=campaign, now=now))


def _kept_location(resident: Resident, now: datetime) -> tuple[float, float] | None:
    if resident.location_lat is None or resident.location_lon is None or resident.location_until is None:
        return None
    if resident.location_until <= now or not (math.isfinite(resident.location_lat)):
        return None
    return resident.location_lat, resident.location_lon


def concerns_resident(session: Session, *, campaign: Campaign, resident: Resident, now: datetime,
                      target: Target | None = None) -> bool:
    """Whether the resident follows something in the target or kept a location inside it (notifications aside)."""
    target = target or resolve(session, campaign=campaign)
    location = _kept_location(resident, now)
    if location is not None and target.covers(*location):
        return True
    follows = _follow_condition(target)
    if follows is None:
        return False
    return session.scalar(select(Follow.id).where(Follow.resident_id == resident.id, follows).limit(1)) is not None


def open_for(session: Session, *, resident: Resident, now: datetime) -> list[Campaign]:
    """Open campaigns near the resident (kept location) or about what they follow, closing soonest first."""
    candidates = list(session.scalars(select(Campaign).where(Campaign.status == CampaignStatus.OPEN.value)
                                      .order_by(Campaign.id)))
    found = [c for c in candidates if (c.closes_at is None or now < c.closes_at)
             and concerns_resident(session, campaign=c, resident=resident, now=now)]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(found, key=lambda c: (c.closes_at or far, c.id))


def respondent_district(session: Session, *, campaign: Campaign, resident: Resident, now: datetime) -> int | None:
    """The respondent's district at answer time: their kept location's, else a followed targeted district, else
    the district of a followed deployment in the target; None when none of these says."""
    location = _kept_location(resident, now)
    if location is not None:
        found = locate_district(session, lat=location[0], lon=location[1])
        if found is not None:
            return found
    target = resolve(session, campaign=campaign)
    if target.district_ids:
        followed = session.scalar(
            select(District.id).join(Follow, Follow.district_id == District.id)
            .where(Follow.resident_id == resident.id, District.id.in_(target.district_ids))
            .order_by(District.slug).limit(1))
        if followed is not None:
            return int(followed)
    if target.deployment_ids:
        ordering = [Deployment.id.in_(target.targeted_deployment_ids).desc(), Deployment.code] \
            if target.targeted_deployment_ids else [Deployment.code]
        district = session.scalar(
            select(Deployment.district_id).join(Follow, Follow.deployment_id == Deployment.id)
            .where(Follow.resident_id == resident.id, Deployment.id.in_(target.deployment_ids),
                   Deployment.district_id.is_not(None))
            .order_by(*ordering).limit(1))
        if district is not None:
            return int(district)
    return None
