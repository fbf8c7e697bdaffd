"""The public deployment register: records, search, nearby, import and export."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator
from shapely.geometry import shape
from sqlalchemy import String, func, or_, select, text
from sqlalchemy.orm import Session

from core import versions
from core.errors import Invalid, NotFound
from core.geo import (
    POLYGON_DEPTH,
    Box,
    DistrictIndex,
    bounding_box,
    haversine_m,
    nested_numbers,
    position_problem,
    valid_point,
)
from core.models import Base, Deployment, DeploymentStatus, District, utcnow
from core.pagination import Page, check_limit, cursor_key, decode_cursor, encode_cursor
from core.plaintext import control_problem
from core.timeutil import in_range, range_reason
from core.vocab import vocabularies

CODE_RE = re.compile(r"^[A-Z]{2,4}-\d{1,4}$")
LOOSE_CODE_RE = re.compile(r"^\s*([A-Za-z]{2,4})\s*[-_ ]?\s*(\d{1,4})\s*$")
LIST_FIELDS = {"purposes": "purpose", "data_types": "data_type", "processing": "processing", "access": "access",
               "storage": "storage"}
# The record's property names: GeoJSON properties and CSV columns alike, in this order.
RECORD_FIELDS = (
    "code", "name", "description", "technology", "purposes", "data_types", "processing", "access", "storage",
    "retention", "personal_data", "legal_basis", "privacy_url", "info_url", "accountable_org",
    "accountable_contact", "vendor", "status", "pilot_start", "pilot_end", "district", "mobile", "area", "lat",
    "lon", "updated_at",
)
MAX_NEARBY_RADIUS_M = 50_000
MAX_NEARBY_LIMIT = 50


def _length(model: type[Base], column: str) -> int:
    kind = model.__table__.c[column].type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"{model.__tablename__}.{column} has no length")
    return kind.length


# The most characters each text field holds: its column's length (core.models), so PostgreSQL never refuses a
# record that passed; the description (a Text column) has the register's own limit. Every text refuses NUL.
MAX_LENGTHS: dict[str, int] = {
    **{name: _length(Deployment, name) for name in (
        "name", "technology", "legal_basis", "privacy_url", "info_url", "accountable_org", "accountable_contact",
        "vendor")},
    "description": 4000,
    "district": _length(District, "slug"),
}
MAX_TERMS = 30  # terms in one list field (purposes, data_types...), each one a vocabulary id
MAX_TERM_LENGTH = 64
MAX_RETENTION_DAYS = 36_500


def normalize_code(raw: str) -> str | None:
    """Return the canonical code (AQ-017) for what a resident typed (aq017, AQ 017), or None."""
    match = LOOSE_CODE_RE.match(raw)
    if not match:
        return None
    return f"{match.group(1).upper()}-{match.group(2)}"


class DeploymentRecord(BaseModel):
    """One validated record of the register, as imported or written by staff."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str
    name: str
    description: str | None = None
    technology: str
    purposes: list[str] | None = None
    data_types: list[str] | None = None
    processing: list[str] | None = None
    access: list[str] | None = None
    storage: list[str] | None = None
    retention_days: int | None = None
    personal_data: bool | None = None
    legal_basis: str | None = None
    privacy_url: str | None = None
    info_url: str | None = None
    accountable_org: str | None = None
    accountable_contact: str | None = None
    vendor: str | None = None
    status: DeploymentStatus
    pilot_start: date | None = None
    pilot_end: date | None = None
    district: str | None = None
    mobile: bool = False
    area: dict[str, Any] | None = None
    lat: float
    lon: float

    @field_validator(*MAX_LENGTHS)
    @classmethod
    def _text(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if (problem := control_problem(value)) is not None:
            raise ValueError(problem)
        limit = MAX_LENGTHS[str(info.field_name)]
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters, this one has {len(value)}")
        return value

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        code = normalize_code(value)
        if code is None or not CODE_RE.match(code):
            raise ValueError("code must look like AQ-017 (2-4 letters, a dash, 1-4 digits)")
        return code

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value:
            raise ValueError("name is required")
        return value

    @field_validator("technology")
    @classmethod
    def _technology(cls, value: str) -> str:
        if value not in vocabularies().ids("technology"):
            raise ValueError(f"unknown technology {value!r}")
        return value

    @field_validator("purposes", "data_types", "processing", "access", "storage")
    @classmethod
    def _terms(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return None
        if len(value) > MAX_TERMS:
            raise ValueError(f"at most {MAX_TERMS} terms, this one has {len(value)}")
        if any(len(v) > MAX_TERM_LENGTH for v in value):
            raise ValueError(f"terms are at most {MAX_TERM_LENGTH} characters")
        vocabulary = vocabularies().ids(LIST_FIELDS[str(info.field_name)])
        unknown = [v for v in value if v not in vocabulary]
        if unknown:
            raise ValueError(f"unknown {info.field_name} {', '.join(map(repr, unknown))}")
        return list(dict.fromkeys(value))

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= MAX_RETENTION_DAYS:
            raise ValueError(f"retention must be 0 to {MAX_RETENTION_DAYS} days, 'none' or 'unknown'")
        return value

    @field_validator("privacy_url", "info_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://\S+$", value):
            raise ValueError("links must be http(s) URLs")
        return value or None

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("coordinates must be finite numbers")
        return value

    @field_validator("area")
    @classmethod
    def _area(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        kind = value.get("type")
        if not isinstance(kind, str) or kind not in POLYGON_DEPTH:
            raise ValueError("area must be a GeoJSON Polygon or MultiPolygon")
        coordinates: Any = value.get("coordinates")
        area = {"type": kind, "coordinates": coordinates}  # other members are not kept
        if not nested_numbers(coordinates, POLYGON_DEPTH[kind]):
            raise ValueError(f"area coordinates must be {POLYGON_DEPTH[kind]} levels of lists down to finite numbers")
        polygons: list[list[list[list[float]]]] = [coordinates] if kind == "Polygon" else coordinates
        for position in (p for rings in polygons for ring in rings for p in ring):
            if (problem := position_problem(position)) is not None:
                raise ValueError(problem)  # as a district's polygon is checked
        try:
            if not shape(area).is_valid:
                raise ValueError("area is not a valid polygon")
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError("area is not a valid GeoJSON geometry") from exc
        return area

    @model_validator(mode="after")
    def _consistent(self) -> DeploymentRecord:
        if not -90 <= self.lat <= 90:
            raise ValueError(f"latitude {self.lat:g} is outside -90..90")
        if not -180 <= self.lon <= 180:
            raise ValueError(f"longitude {self.lon:g} is outside -180..180")
        for name, day in (("pilot_start", self.pilot_start), ("pilot_end", self.pilot_end)):
            if day is not None and not in_range(day):
                raise ValueError(range_reason(name))
        if self.pilot_start and self.pilot_end and self.pilot_end < self.pilot_start:
            raise ValueError("pilot_end is before pilot_start")
        return self


def _error_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_record(raw: dict[str, Any]) -> DeploymentRecord:
    """Validate one record in the register's exchange shape (GeoJSON properties or a CSV row)."""
    data = {k: v for k, v in raw.items() if k not in ("updated_at",)}
    if "retention" in data:
        data["retention_days"] = _parse_retention(data.pop("retention"))
    try:
        return DeploymentRecord.model_validate(data)
    except ValidationError as exc:
        raise Invalid(_error_text(exc)) from exc


def _parse_retention(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "unknown")):
        return None
    if isinstance(value, str) and value.strip().lower() == "none":
        return 0
    if isinstance(value, bool):
        raise Invalid("retention: must be a number of days, 'none' or 'unknown'")
    try:
        days = int(str(value).strip())
    except ValueError as exc:
        raise Invalid("retention: must be a number of days, 'none' or 'unknown'") from exc
    return days


def retention_text(days: int | None) -> int | str:
    """Return the exchange form of a retention: days, 'none' or 'unknown'."""
    if days is None:
        return "unknown"
    return "none" if days == 0 else days


@dataclass
class DistrictLookup:
    """Districts by slug and by polygon, loaded once per transaction that needs them."""

    by_slug: dict[str, District]
    by_id: dict[int, District]
    index: DistrictIndex

    @classmethod
    def load(cls, session: Session) -> DistrictLookup:
        districts = list(session.scalars(select(District).order_by(District.id)))
        return cls({d.slug: d for d in districts}, {d.id: d for d in districts},
                   DistrictIndex((d.id, d.geometry) for d in districts))

    def resolve(self, record: DeploymentRecord) -> int | None:
        if record.district:
            district = self.by_slug.get(record.district)
            if district is None:
                raise Invalid(f"district: unknown district {record.district!r}")
            return district.id
        return self.index.locate(record.lat, record.lon)


# Polygons prepared once per process and database, keyed by a fingerprint of the district rows: an added or
# removed district changes count/max(id), a polygon rewritten in place (by this process or another) changes
# max(updated_at), which core.districts keeps rising on every write.
_DISTRICT_INDEXES: dict[str, tuple[tuple[Any, ...], DistrictIndex]] = {}
_DISTRICT_FINGERPRINT = text("SELECT count(id), max(id), max(updated_at) FROM district")


def locate_district(session: Session, *, lat: float, lon: float) -> int | None:
    """Return the id of the district whose polygon covers the point, or None."""
    fingerprint = tuple(session.connection().execute(_DISTRICT_FINGERPRINT).one())
    key = str(session.get_bind().engine.url)
    cached = _DISTRICT_INDEXES.get(key)
    if cached is None or cached[0] != fingerprint:
        index = DistrictIndex(session.execute(select(District.id, District.geometry).order_by(District.id)).all())
        cached = _DISTRICT_INDEXES[key] = (fingerprint, index)
    return cached[1].locate(lat, lon)


def _columns(record: DeploymentRecord, district_id: int | None) -> dict[str, Any]:
    values = record.model_dump(exclude={"district"})
    values["status"] = record.status.value
    values["district_id"] = district_id
    return values


def get_by_code(session: Session, *, code: str) -> Deployment:
    """Return the deployment with this code (any case, dash optional), or raise NotFound."""
    canonical = normalize_code(code)
    found = session.scalar(select(Deployment).where(Deployment.code == canonical)) if canonical else None
    if found is None:
        raise NotFound(f"no deployment with code {code.strip()[:40]!r}")
    return found


def upsert(session: Session, *, record: DeploymentRecord, actor: str, districts: DistrictLookup | None = None
           ) -> tuple[Deployment, bool, list[str]]:
    """Create or update a deployment by code, versioned and told to its followers.

    Return the deployment, whether it is new, and the changed fields (none: nothing was written).
    """
    districts = districts or DistrictLookup.load(session)
    values = _columns(record, districts.resolve(record))
    existing = session.scalar(select(Deployment).where(Deployment.code == record.code))
    now = utcnow()
    if existing is None:
        deployment = Deployment(**values, created_at=now, updated_at=now)
        session.add(deployment)
        session.flush()
        changed, created = sorted(values), True
    else:
        deployment, created = existing, False
        changed = [k for k, v in values.items() if getattr(existing, k) != v]
        if not changed:
            return existing, False, []
        for key in changed:
            setattr(existing, key, values[key])
        existing.updated_at = now
        session.flush()
    slug = districts.by_id[deployment.district_id].slug if deployment.district_id in districts.by_id else None
    versions.record_change(session, deployment=deployment, record=to_record(deployment, slug),
                           fields=["district" if f == "district_id" else f for f in changed], actor=actor,
                           created=created, now=now)
    return deployment, created, changed


def _printable(text_: str) -> str:
    return text_.encode("utf-8", "replace").decode("utf-8")


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, code, reason)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def reject(self, line: int, code: str, reason: str) -> None:
        """Note a bad row; what it echoes of the file is cut short and made printable (a JSON escape can hold
        an unpaired surrogate, which neither a terminal nor a JSON answer can carry)."""
        self.rejected.append((line, _printable(code[:40]), _printable(reason)))

    def lines(self) -> list[str]:
        out = [f"line {line}: rejected {code or '(no code)'}: {reason}" for line, code, reason in self.rejected]
        out.append(f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                   f"{len(self.rejected)} rejected")
        return out


def import_records(session: Session, *, rows: list[tuple[int, dict[str, Any] | Invalid]], actor: str
                   ) -> ImportReport:
    """Validate every row, then upsert the good ones in the caller's transaction."""
    report = ImportReport()
    districts = DistrictLookup.load(session)
    seen: dict[str, int] = {}
    good: list[DeploymentRecord] = []
    for line, raw in rows:
        if isinstance(raw, Invalid):
            # The reader names the code when it could read one, though the row is malformed otherwise.
            code = raw.details.get("code")
            report.reject(line, code if isinstance(code, str) else "", raw.reason)
            continue
        code = str(raw.get("code") or "").strip()
        try:
            record = parse_record(raw)
            districts.resolve(record)
        except Invalid as exc:
            report.reject(line, code, exc.reason)
            continue
        if record.code in seen:
            report.reject(line, record.code, f"duplicate code, first on line {seen[record.code]}")
            continue
        seen[record.code] = line
        good.append(record)
    for record in good:
        _, created, changed = upsert(session, record=record, actor=actor, districts=districts)
        if created:
            report.created += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1
    return report


def to_record(deployment: Deployment, district_slug: str | None) -> dict[str, Any]:
    """Return the exchange shape of a deployment (GeoJSON properties; CSV after flattening)."""
    return {
        "code": deployment.code,
        "name": deployment.name,
        "description": deployment.description,
        "technology": deployment.technology,
        "purposes": deployment.purposes,
        "data_types": deployment.data_types,
        "processing": deployment.processing,
        "access": deployment.access,
        "storage": deployment.storage,
        "retention": retention_text(deployment.retention_days),
        "personal_data": deployment.personal_data,
        "legal_basis": deployment.legal_basis,
        "privacy_url": deployment.privacy_url,
        "info_url": deployment.info_url,
        "accountable_org": deployment.accountable_org,
        "accountable_contact": deployment.accountable_contact,
        "vendor": deployment.vendor,
        "status": deployment.status,
        "pilot_start": deployment.pilot_start.isoformat() if deployment.pilot_start else None,
        "pilot_end": deployment.pilot_end.isoformat() if deployment.pilot_end else None,
        "district": district_slug,
        "mobile": deployment.mobile,
        "area": deployment.area,
        "lat": deployment.lat,
        "lon": deployment.lon,
        "updated_at": deployment.updated_at.isoformat(),
    }


def slugs_by_id(session: Session) -> dict[int, str]:
    return dict(session.execute(select(District.id, District.slug)).all())


@dataclass(frozen=True)
class SearchFilters:
    text: str | None = None
    technology: str | None = None
    district: str | None = None
    status: str | None = None


# Words that say nothing about which device: place words, and what people type to a chat ("no thanks").
STOP_WORDS = frozenset(
    "a an the on in at of near by to for and or is it this that my our de del la el los las en y o un una "
    "cerca calle street st avenue ave road rd "
    "no not yes si sí ok okay thanks thank you hi hello hey please what where which gracias hola vale por favor "
    "qué que dónde donde cuál cual".split()
)


def _words(text_: str) -> list[str]:
    return [w for w in re.findall(r"\w+", text_.lower()) if len(w) > 1 and w not in STOP_WORDS][:8]


def _forms(word: str) -> set[str]:
    """The word and its singular as English and Spanish write plurals ("cameras", "sensores", "batteries")."""
    forms = {word}
    if len(word) >= 5 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
        if word.endswith("ies"):
            forms.add(word[:-3] + "y")
        elif word.endswith("es") and len(word) >= 6:
            forms.add(word[:-2])
    return forms


def _technologies_named(words: list[str]) -> set[str]:
    vocab = vocabularies()
    wanted = {form for w in words for form in _forms(w)}
    found = set()
    for term_id, term in vocab.terms["technology"].items():
        label_words = {w for lbl in term.label.values() for w in re.findall(r"\w+", lbl.lower()) if len(w) > 2}
        if label_words & wanted or term_id in wanted:
            found.add(term_id)
    return found


def _name_words(*names: str) -> set[str]:
    return {w for name in names for w in re.findall(r"\w+", name.lower())}


def search(session: Session, *, filters: SearchFilters, limit: int = 50, cursor: str | None = None
           ) -> Page[Deployment]:
    """List deployments matching filters, ordered by code, a page at a time."""
    check_limit(limit)
    query = select(Deployment)
    if filters.technology:
        query = query.where(Deployment.technology == filters.technology)
    if filters.status:
        query = query.where(Deployment.status == filters.status)
    if filters.district:
        query = query.join(District, Deployment.district_id == District.id).where(District.slug == filters.district)
    if filters.text:
        query = query.where(_text_condition(session, filters.text))
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        query = query.where(Deployment.code > cursor_key(after))
    rows = list(session.scalars(query.order_by(Deployment.code).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].code) if more and rows else None)


def _text_condition(session: Session, text_: str) -> Any:
    words = _words(text_)
    code = normalize_code(text_)
    conditions: list[Any] = []
    if code:
        conditions.append(Deployment.code == code)
    per_word = []
    technologies = _technologies_named(words)
    # A district is named by its whole words ("old", "town"), not by letters inside them ("no" in "north").
    district_ids = [
        d_id for d_id, en, es in session.execute(select(District.id, District.name_en, District.name_es))
        if _name_words(en, es) & set(words)
    ]
    for word in words:
        # autoescape: a word's own _ (or %) is a character to find, not a LIKE wildcard.
        per_word.append(or_(*(func.lower(column).contains(form, autoescape=True)
                              for form in sorted(_forms(word))
                              for column in (Deployment.name, Deployment.description, Deployment.code))))
    if technologies:
        per_word.append(Deployment.technology.in_(sorted(technologies)))
    if district_ids:
        per_word.append(Deployment.district_id.in_(district_ids))
    if per_word:
        conditions.append(or_(*per_word))
    return or_(*conditions) if conditions else text("1 = 0")


def rank_by_words(deployments: list[Deployment], text_: str, districts: dict[int, str] | None = None
                  ) -> list[Deployment]:
    """Order search hits by the words they hold (stable for ties): a word in the code, name, technology or
    district name counts twice, one only in the description once ("no cameras here" is not about cameras)."""
    words = [sorted(_forms(w)) for w in _words(text_)]
    districts = districts or {}

    def score(d: Deployment) -> int:
        title = f"{d.code} {d.name} {d.technology.replace('_', ' ')} {districts.get(d.district_id or 0, '')}".lower()
        body = (d.description or "").lower()
        return sum(2 if any(f in title for f in forms) else 1 if any(f in body for f in forms) else 0
                   for forms in words)

    return sorted(deployments, key=score, reverse=True)


def district_names(session: Session) -> dict[int, str]:
    """Every district's names in both languages, by id (for ranking search hits)."""
    return {d_id: f"{en} {es}" for d_id, en, es in session.execute(select(District.id, District.name_en,
                                                                              District.name_es))}


@dataclass(frozen=True)
class Nearby:
    deployment: Deployment
    distance_m: float
    district: str | None = None  # the district's slug


def nearby(session: Session, *, lat: float, lon: float, radius_m: float, limit: int = 10) -> list[Nearby]:
    """Return the nearest deployments within radius_m of a point, nearest first, with exact distances."""
    if not valid_point(lat, lon):
        raise Invalid("lat must be within -90..90 and lon within -180..180")
    if not (math.isfinite(radius_m) and 0 < radius_m <= MAX_NEARBY_RADIUS_M):
        raise Invalid(f"radius_m must be between 0 and {MAX_NEARBY_RADIUS_M}")
    if not 1 <= limit <= MAX_NEARBY_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_NEARBY_LIMIT}")
    box = bounding_box(lat, lon, radius_m)
    sql, params = _candidate_sql(session.get_bind().dialect.name, box)
    rows = session.connection().exec_driver_sql(sql, params).fetchall()
    if session.get_bind().dialect.name == "sqlite":
        ids = _shortlist(rows, lat, lon, radius_m, limit)
    else:
        # The B-tree rows carry the exact coordinates: rank them here and load only the nearest.
        ranked = sorted((d, i) for i, la, lo in rows if (d := haversine_m(lat, lon, la, lo)) <= radius_m)
        ids = [i for _, i in ranked[:limit]]
    if not ids:
        return []
    found = session.execute(select(Deployment, District.slug)
                            .outerjoin(District, Deployment.district_id == District.id)
                            .where(Deployment.id.in_(ids))).all()
    hits = sorted((d, x.id, x, slug) for x, slug in found if (d := haversine_m(lat, lon, x.lat, x.lon)) <= radius_m)
    return [Nearby(x, d, slug) for d, _, x, slug in hits[:limit]]


# SQLite's R*Tree keeps 32-bit floats, rounded outwards: a stored box is within ~1.7 m of the true point on each
# axis. Distances from box centres are therefore within this margin of the exact ones.
RTREE_MARGIN_M = 5.0


def _shortlist(rows: Sequence[Any], lat: float, lon: float, radius_m: float, limit: int) -> list[int]:
    """Pick, from R*Tree boxes, every id that can be among the `limit` nearest within radius_m.

    Approximate distances (box centres) rank the candidates; anything farther than the limit-th approximate
    distance plus twice the margin cannot make the exact top `limit`, so only the rest is loaded and measured
    exactly on the stored coordinates.
    """
    approx = sorted(
        (d, i) for i, s, n, w, e in rows
        if (d := haversine_m(lat, lon, (s + n) / 2, (w + e) / 2)) <= radius_m + RTREE_MARGIN_M
    )
    if len(approx) > limit:
        cutoff = approx[limit - 1][0] + 2 * RTREE_MARGIN_M
        approx = [a for a in approx if a[0] <= cutoff]
    return [i for _, i in approx]


def _candidate_sql(dialect: str, box: Box) -> tuple[str, dict[str, float]]:
    """SQL for the candidates inside the box: R*Tree boxes on SQLite, (id, lat, lon) from the B-tree elsewhere.

    Driver-level SQL on the hot path of every location a resident shares. Final distances always come from the
    deployment rows' stored coordinates, never from the R*Tree's 32-bit floats.
    """
    params: dict[str, float] = {"s": box.min_lat, "n": box.max_lat}
    for i, (west, east) in enumerate(box.lon_ranges):
        params[f"w{i}"], params[f"e{i}"] = west, east
    ranges = range(len(box.lon_ranges))
    if dialect == "sqlite":
        lon = " OR ".join(f"(max_lon >= :w{i} AND min_lon <= :e{i})" for i in ranges)
        return ("SELECT id, min_lat, max_lat, min_lon, max_lon FROM deployment_rtree "
                f"WHERE max_lat >= :s AND min_lat <= :n AND ({lon})"), params
    lon = " OR ".join(f"(lon >= %(w{i})s AND lon <= %(e{i})s)" for i in ranges)
    return f"SELECT id, lat, lon FROM deployment WHERE lat >= %(s)s AND lat <= %(n)s AND ({lon})", params
