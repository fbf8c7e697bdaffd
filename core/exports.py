"""Streamed exports of concerns for staff: CSV and GeoJSON, one bounded batch in memory at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Concern, Deployment, District
from core.plaintext import spreadsheet_safe
from core.triage import ConcernFilters, filtered_query

BATCH = 2000
CSV_COLUMNS = (
    "reference", "created_at", "kind", "category", "suggested_category", "status", "language", "label", "polarity",
    "subjectivity", "feeling", "deployment", "district", "text", "key_phrases", "flags", "closed_at",
    "first_reply_at", "satisfied",
)
_SELECTED = (
    Concern.reference, Concern.created_at, Concern.kind, Concern.category, Concern.suggested_category,
    Concern.status, Concern.language, Concern.label, Concern.polarity, Concern.subjectivity, Concern.feeling,
    Concern.deployment_id, Concern.district_id, Concern.text, Concern.key_phrases, Concern.flags, Concern.closed_at,
    Concern.first_reply_at, Concern.satisfied, Concern.lat, Concern.lon, Concern.id,
)



def _rows(session: Session, filters: ConcernFilters) -> Iterator[Any]:
    query = filtered_query(filters).with_only_columns(*_SELECTED, maintain_column_froms=True).order_by(Concern.id)
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _names(session: Session) -> tuple[dict[int, str], dict[int, str]]:
    return (dict(session.execute(select(Deployment.id, Deployment.code)).all()),
            dict(session.execute(select(District.id, District.slug)).all()))


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value


def concerns_csv(session: Session, *, filters: ConcernFilters) -> Iterator[str]:
    """Yield the CSV export a chunk at a time (header first); list fields are ';'-separated."""
    codes, slugs = _names(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for n, row in enumerate(_rows(session, filters), start=1):
        values = dict(zip(CSV_COLUMNS, (_plain(v) for v in row), strict=False))
        values["deployment"] = codes.get(row.deployment_id) if row.deployment_id else None
        values["district"] = slugs.get(row.district_id) if row.district_id else None
        values["text"] = spreadsheet_safe(row.text)
        values["key_phrases"] = ";".join(row.key_phrases or [])
        values["flags"] = ";".join(row.flags or [])
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def concerns_geojson(session: Session, *, filters: ConcernFilters) -> Iterator[str]:
    """Yield a FeatureCollection of concerns placed at their shared location, else their deployment."""
    codes, slugs = _names(session)
    points = {i: (lon, lat) for i, lat, lon in session.execute(select(Deployment.id, Deployment.lat, Deployment.lon))}
    yield '{"type":"FeatureCollection","features":['
    first = True
    for row in _rows(session, filters):
        if row.lat is not None and row.lon is not None:
            coordinates: tuple[float, float] | None = (row.lon, row.lat)
        else:
            coordinates = points.get(row.deployment_id) if row.deployment_id else None
        if coordinates is None:
            continue
        properties = {c: _plain(getattr(row, c)) for c in CSV_COLUMNS if c not in ("deployment", "district")}
        properties["deployment"] = codes.get(row.deployment_id) if row.deployment_id else None
        properties["district"] = slugs.get(row.district_id) if row.district_id else None
        feature = {"type": "Feature", "id": row.reference,
                   "geometry": {"type": "Point", "coordinates": list(coordinates)}, "properties": properties}
        yield ("" if first else ",") + json.dumps(feature, ensure_ascii=False, separators=(",", ":"))
        first = False
    yield "]}"
