"""A city's districts: import its polygons from GeoJSON, export and list them; deployments follow their point."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import exchange, versions
from core.deployments import to_record
from core.errors import Invalid
from core.geo import POLYGON_DEPTH, DistrictIndex, centroid, nested_numbers, position_problem
from core.models import Deployment, District, utcnow
from core.pagination import DEFAULT_LIMIT, Page, check_limit, cursor_key, decode_cursor, encode_cursor

# Bot buttons carry `ud:<slug>` (and `y:ud:<slug>` before consent) in Telegram's 64 bytes of callback data.
MAX_SLUG = 40
SLUG_RE = re.compile(rf"[a-z0-9][a-z0-9-]{{0,{MAX_SLUG - 1}}}")
SLUG_RULE = f"slug must be 1-{MAX_SLUG} characters of a-z, 0-9 and dashes, starting with a letter or digit"
MAX_NAME = 200  # district.name_en / name_es
NAME_RULE = 'give name_en and name_es, or name as {"en": ..., "es": ...}, or one name for both'


@dataclass
class DistrictImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    replaced: int = 0  # deployments whose district changed because a polygon did
    rejected: list[tuple[int, str | None, str]] = field(default_factory=list)  # (feature number, slug, reason)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def lines(self) -> list[str]:
        out = [f"feature {number}{f' (slug {slug!r})' if slug is not None else ''}: {reason}"
               for number, slug, reason in self.rejected]
        out.append(f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                   f"{len(self.rejected)} rejected; {self.replaced} deployments re-placed")
        return out


@dataclass(frozen=True)
class DistrictIn:
    slug: str
    name_en: str
    name_es: str
    geometry: dict[str, Any]


def read_file(path: Path) -> Any:
    """Read a district file's FeatureCollection (parsed JSON), or raise Invalid with the reason."""
    return exchange.load_json(exchange.read_text(path))


def import_districts(session: Session, *, collection: Any, actor: str, now: datetime | None = None
                     ) -> DistrictImportReport:
    """Validate every feature, upsert the good ones by slug and re-place the deployments that follow their point.

    Nothing is written unless the collection itself is readable; the caller's transaction holds it all.
    """
    features = exchange.features_of(collection)
    report = DistrictImportReport()
    good: list[DistrictIn] = []
    seen: dict[str, int] = {}
    for number, feature in enumerate(features, start=1):
        slug = _slug_of(feature)
        try:
            parsed = parse_feature(feature)
        except Invalid as exc:
            report.rejected.append((number, slug, exc.reason))
            continue
        if parsed.slug in seen:
            report.rejected.append((number, slug, f"duplicate slug, first on feature {seen[parsed.slug]}"))
            continue
        seen[parsed.slug] = number
        good.append(parsed)
    existing = {d.slug: d for d in session.scalars(select(District).order_by(District.id))}
    before = DistrictIndex((d.id, d.geometry) for d in existing.values())
    stamp = _stamp(session, now or utcnow())
    redrawn: list[BaseGeometry] = []
    for item in good:
        district = existing.get(item.slug)
        if district is not None and (district.name_en, district.name_es, district.geometry) == (
                item.name_en, item.name_es, item.geometry):
            report.unchanged += 1
            continue
        if district is None:
            report.created += 1
            district = District(slug=item.slug)
            session.add(district)
        else:
            report.updated += 1
        if district.geometry != item.geometry:
            redrawn += [shape(g) for g in (district.geometry, item.geometry) if g is not None]
        district.name_en, district.name_es, district.geometry = item.name_en, item.name_es, item.geometry
        district.center_lat, district.center_lon = centroid(item.geometry)
        district.updated_at = stamp
    session.flush()
    if redrawn:
        report.replaced = _replace_deployments(session, before=before, redrawn=redrawn, actor=actor, now=stamp)
    return report


def _stamp(session: Session, now: datetime) -> datetime:
    """Return the districts' new updated_at: now, or just past the latest one when a clock lags behind it.

    The district index's fingerprint reads max(updated_at), so every write must raise it.
    """
    latest = session.scalar(select(func.max(District.updated_at)))
    return max(now, latest + timedelta(microseconds=1)) if latest else now


def _replace_deployments(session: Session, *, before: DistrictIndex, redrawn: list[BaseGeometry], actor: str,
                         now: datetime) -> int:
    """Move deployments that follow their point into the district that now covers it; return how many moved.

    A deployment follows its point when its district is the one the polygons before the import placed it in
    (none counts); a district given by hand that its point is not in stays. Only points inside a redrawn
    polygon (old or new outline) can move. Each move is versioned, without notices to followers.
    """
    after = DistrictIndex(session.execute(select(District.id, District.geometry).order_by(District.id)).all())
    west, south, east, north = (float(v) for v in shapely.total_bounds(redrawn))
    candidates = list(session.scalars(
        select(Deployment).where(Deployment.lat.between(south, north), Deployment.lon.between(west, east))
        .order_by(Deployment.id)))
    slugs = dict(session.execute(select(District.id, District.slug)).all())
    moved = 0
    for deployment in candidates:
        if deployment.district_id != before.locate(deployment.lat, deployment.lon):
            continue
        placed = after.locate(deployment.lat, deployment.lon)
        if placed == deployment.district_id:
            continue
        deployment.district_id, deployment.updated_at = placed, now
        versions.record_change(session, deployment=deployment, record=to_record(deployment, slugs.get(placed or 0)),
                               fields=["district"], actor=actor, created=False, now=now, notify=False)
        moved += 1
    return moved


def _slug_of(feature: Any) -> str | None:
    """The slug a feature names, for the report (cut short), whether valid or not."""
    properties = feature.get("properties") if isinstance(feature, dict) else None
    slug = properties.get("slug") if isinstance(properties, dict) else None
    return slug[:MAX_SLUG + 10] if isinstance(slug, str) else None


def parse_feature(feature: Any) -> DistrictIn:
    """Validate one GeoJSON Feature as a district (slug, names, polygon), or raise Invalid with the reason."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise Invalid("not a GeoJSON Feature")
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise Invalid("properties must be an object")
    slug = properties.get("slug")
    if slug is None or slug == "":
        raise Invalid("slug is missing")
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        raise Invalid(SLUG_RULE)
    name_en, name_es = _names(properties)
    return DistrictIn(slug, name_en, name_es, polygon(feature.get("geometry")))


def _names(properties: dict[str, Any]) -> tuple[str, str]:
    name = properties.get("name")
    given: dict[str, Any] = {}
    for language in ("en", "es"):
        given[language] = properties.get(f"name_{language}")
        if given[language] is None:
            given[language] = name.get(language) if isinstance(name, dict) else name
    missing = [f"name_{language}" for language, value in given.items() if value is None]
    if missing:
        raise Invalid(f"{' and '.join(missing)} missing; {NAME_RULE}")
    return _name("name_en", given["en"]), _name("name_es", given["es"])


def _name(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{key} must be a text")
    text = value.strip()
    if not text:
        raise Invalid(f"{key} is empty")
    if "\x00" in text:
        raise Invalid(f"{key}: NUL characters are not accepted")
    if len(text) > MAX_NAME:
        raise Invalid(f"{key}: at most {MAX_NAME} characters, this one has {len(text)}")
    return text


def polygon(geometry: Any) -> dict[str, Any]:
    """Return a valid, non-empty Polygon or MultiPolygon with RFC 7946 winding, or raise Invalid."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if not isinstance(kind, str) or kind not in POLYGON_DEPTH:
        raise Invalid("geometry is not a Polygon or MultiPolygon")
    coordinates = geometry.get("coordinates")
    if not nested_numbers(coordinates, POLYGON_DEPTH[kind]):
        raise Invalid(f"{kind} coordinates must be {POLYGON_DEPTH[kind]} levels of lists down to finite numbers")
    rings = coordinates if kind == "Polygon" else [ring for part in coordinates for ring in part]
    for ring in rings:
        _check_ring(ring)
    try:
        geom = shape({"type": kind, "coordinates": coordinates})
    except (ValueError, TypeError, IndexError, shapely.errors.GEOSException) as exc:
        raise Invalid(f"not a valid GeoJSON {kind}") from exc
    if geom.is_empty:
        raise Invalid("the polygon is empty")
    if not geom.is_valid:
        raise Invalid(f"the polygon is not valid: {explain_validity(geom)}")
    # Exterior rings counterclockwise, holes clockwise (RFC 7946 section 3.1.6), as lists for the JSON column.
    oriented: dict[str, Any] = _lists(mapping(shapely.orient_polygons(geom)))
    return oriented


def _check_ring(ring: list[list[float]]) -> None:
    for position in ring:
        if (problem := position_problem(position)) is not None:
            raise Invalid(problem)
    if len(ring) < 4:
        raise Invalid("a ring needs at least 4 positions")
    if ring[0] != ring[-1]:
        raise Invalid("a ring must end where it started")


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


def export_districts(session: Session) -> dict[str, Any]:
    """Return every district as an RFC 7946 FeatureCollection (properties slug, name_en, name_es), by slug."""
    districts = sorted(session.scalars(select(District)), key=lambda d: d.slug)
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": d.slug, "geometry": d.geometry,
             "properties": {"slug": d.slug, "name_en": d.name_en, "name_es": d.name_es}}
            for d in districts
        ],
    }


@dataclass(frozen=True)
class DistrictSummary:
    slug: str
    name_en: str
    name_es: str
    center_lat: float
    center_lon: float
    deployments: int


def list_districts(session: Session, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
                   ) -> Page[DistrictSummary]:
    """List districts by slug (code-point order on every database) with their deployment counts, a page at a time."""
    check_limit(limit)
    rows = sorted(session.execute(select(District.id, District.slug, District.name_en, District.name_es,
                                         District.center_lat, District.center_lon)).all(), key=lambda r: r.slug)
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        after = cursor_key(after)
        rows = [r for r in rows if r.slug > after]
    more = len(rows) > limit
    rows = rows[:limit]
    counts = dict(session.execute(select(Deployment.district_id, func.count()).where(
        Deployment.district_id.in_([r.id for r in rows])).group_by(Deployment.district_id)).all())
    items = [DistrictSummary(r.slug, r.name_en, r.name_es, r.center_lat, r.center_lon, counts.get(r.id, 0))
             for r in rows]
    return Page(items, encode_cursor(rows[-1].slug) if more and rows else None)
