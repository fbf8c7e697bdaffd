"""Open311 GeoReport v2 over concerns: services are concern categories, requests are concerns.

Privacy as DESIGN.md says: without a key no description and a location snapped to the deployment (or the
district centre); with a staff key the redacted text and the shared location. POST stores none of the
specification's personal fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import concerns
from core.deployments import get_by_code
from core.errors import Invalid
from core.i18n import t
from core.models import Category, Concern, ConcernStatus, Deployment, District, utcnow
from core.timeutil import check_in_range

DEFAULT_WINDOW = timedelta(days=90)
DEFAULT_CAP = 1000
PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone", "device_id")


def services(language: str | None) -> list[dict[str, Any]]:
    """Concern categories as Open311 services."""
    return [{"service_code": c.value, "service_name": t(language, f"category-{c.value}"),
             "description": t(language, f"category-{c.value}"), "metadata": False, "type": "realtime",
             "keywords": c.value.replace("_", ","), "group": "concerns"} for c in Category]


def service(code: str, language: str | None) -> dict[str, Any] | None:
    return next((s for s in services(language) if s["service_code"] == code), None)


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...] = ()
    service_code: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None  # open | closed


def parse_datetime(raw: str, name: str) -> datetime:
    """An ISO 8601 date-time with a zone (a bare date counts as midnight UTC) in the accepted years."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise Invalid(f"{name} must be an ISO 8601 date-time, e.g. 2026-11-16T00:00:00Z") from exc
    check_in_range(value, name)
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def list_requests(session: Session, *, query: RequestQuery, with_text: bool, language: str | None,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """Requests matching the query: by ids, or by code/status within a window (90 days by default), newest first."""
    statement = select(Concern).order_by(Concern.created_at.desc(), Concern.id.desc())
    if query.ids:
        statement = statement.where(Concern.reference.in_([i.strip().upper() for i in query.ids]))
    else:
        now = now or utcnow()
        end = query.end or now
        start = query.start or (end - DEFAULT_WINDOW)
        if end < start:
            raise Invalid("end_date is before start_date")
        statement = statement.where(Concern.created_at >= start, Concern.created_at <= end)
        if query.service_code:
            if query.service_code not in {c.value for c in Category}:
                raise Invalid(f"unknown service_code {query.service_code!r}")
            statement = statement.where(Concern.category == query.service_code)
        if query.status:
            if query.status not in ("open", "closed"):
                raise Invalid("status must be open or closed")
            wanted = [s.value for s in ConcernStatus if s.is_open == (query.status == "open")]
            statement = statement.where(Concern.status.in_(wanted))
    rows = list(session.scalars(statement.limit(DEFAULT_CAP)))
    return _render(session, rows, with_text=with_text, language=language)


def _render(session: Session, rows: list[Concern], *, with_text: bool, language: str | None) -> list[dict[str, Any]]:
    deployment_ids = {c.deployment_id for c in rows if c.deployment_id}
    district_ids = {c.district_id for c in rows if c.district_id}
    deps = {d.id: d for d in session.scalars(select(Deployment).where(Deployment.id.in_(deployment_ids)))}
    dists = {d.id: d for d in session.scalars(select(District).where(District.id.in_(district_ids)))}
    out = []
    for c in rows:
        deployment = deps.get(c.deployment_id or 0)
        district = dists.get(c.district_id or 0)
        lat: float | None
        lon: float | None
        if with_text and c.lat is not None and c.lon is not None:
            lat, lon = c.lat, c.lon
        elif deployment is not None:
            lat, lon = deployment.lat, deployment.lon
        elif district is not None:
            lat, lon = district.center_lat, district.center_lon
        else:
            lat = lon = None
        status = ConcernStatus(c.status)
        out.append({
            "service_request_id": c.reference,
            "status": "open" if status.is_open else "closed",
            "status_notes": status.value,
            "service_name": t(language, f"category-{c.category}"),
            "service_code": c.category,
            "description": c.text if with_text else None,
            "agency_responsible": deployment.accountable_org if deployment else None,
            "service_notice": None,
            "requested_datetime": c.created_at.isoformat(),
            "updated_datetime": c.updated_at.isoformat(),
            "expected_datetime": None,
            "address": district.name_en if district else None,
            "address_id": deployment.code if deployment else None,
            "zipcode": None,
            "lat": lat,
            "long": lon,
            "media_url": None,
        })
    return out


def create_request(session: Session, *, fields: dict[str, str], policy: concerns.IntakePolicy) -> Concern:
    """File a concern from an Open311 POST; personal fields are dropped unread."""
    for name in PERSONAL_FIELDS:
        fields.pop(name, None)
    code = fields.get("service_code", "").strip()
    if code not in {c.value for c in Category}:
        raise Invalid("service_code is missing or unknown; see services.json")
    lat_raw, lon_raw = fields.get("lat", "").strip(), fields.get("long", "").strip()
    address = fields.get("address_string", "").strip()
    lat = lon = None
    if lat_raw or lon_raw:
        try:
            lat, lon = float(lat_raw), float(lon_raw)
        except ValueError as exc:
            raise Invalid("lat and long must be decimal degrees") from exc
    elif not address and not fields.get("address_id"):
        raise Invalid("a location is required: lat and long, address_string or address_id")
    deployment = get_by_code(session, code=fields["address_id"]) if fields.get("address_id") else None
    description = fields.get("description", "")
    return concerns.submit(session, text=description, policy=policy, deployment=deployment, category=Category(code),
                           lat=lat, lon=lon, source="open311")
