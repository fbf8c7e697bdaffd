"""The register's exchange formats: CSV and GeoJSON, with CSV columns equal to the GeoJSON properties."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.deployments import LIST_FIELDS, RECORD_FIELDS, slugs_by_id, to_record
from core.errors import Invalid
from core.geo import finite_number
from core.models import Deployment
from core.plaintext import from_spreadsheet, spreadsheet_safe

CSV_COLUMNS = list(RECORD_FIELDS)
MAX_IMPORT_BYTES = 50 * 1024 * 1024


def all_records(session: Session) -> list[dict[str, Any]]:
    slugs = slugs_by_id(session)
    return [to_record(d, slugs.get(d.district_id or 0))
            for d in session.scalars(select(Deployment).order_by(Deployment.code))]


def feature_collection(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Return an RFC 7946 FeatureCollection: Point geometry [lon, lat], the record as properties."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": r["code"], "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
             "properties": r}
            for r in records
        ],
    }


# A list the city published as empty ("collects no data"), in a CSV cell; a blank cell stays "unknown", as
# spreadsheets leave cells blank for that. Vocabulary ids are lower-case words, so this is never one of them.
EMPTY_LIST = "(none)"


def _csv_value(key: str, value: Any) -> str:
    if value is None:
        return "unknown" if key in LIST_FIELDS or key == "personal_data" else ""
    if key in LIST_FIELDS:
        return ";".join(value) if value else EMPTY_LIST
    if key == "personal_data" or isinstance(value, bool):
        return "yes" if value else "no"
    if key == "area":
        return json.dumps(value, separators=(",", ":"))
    return spreadsheet_safe(value) if isinstance(value, str) else str(value)


def to_csv_row(record: dict[str, Any]) -> dict[str, str]:
    return {k: _csv_value(k, record.get(k)) for k in CSV_COLUMNS}


def write_csv(records: Iterable[dict[str, Any]], out: io.TextIOBase | Any) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(to_csv_row(record))


def _bool(value: str, key: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in ("", "unknown"):
        return None
    if lowered in ("yes", "true", "1", "y", "sí", "si"):
        return True
    if lowered in ("no", "false", "0", "n"):
        return False
    raise Invalid(f"{key}: expected yes, no or unknown, got {value[:40]!r}")


def _float(value: str, key: str) -> float:
    try:
        return float(value.strip())
    except ValueError as exc:
        raise Invalid(f"{key}: not a number: {value[:40]!r}") from exc


def from_csv_row(row: dict[str, str | None]) -> dict[str, Any]:
    """Turn a CSV row into the exchange record shape (raises Invalid on malformed cells)."""
    if None in row:
        raise Invalid("the row has more cells than the header")
    out: dict[str, Any] = {}
    for key, raw in row.items():
        value = (raw or "").strip()
        if key == "updated_at":
            continue
        if key in LIST_FIELDS:
            if value.lower() in ("", "unknown"):
                out[key] = None
            else:
                out[key] = [] if value == EMPTY_LIST else [p.strip() for p in value.split(";") if p.strip()]
        elif key == "personal_data":
            out[key] = _bool(value, key)
        elif key == "mobile":
            out[key] = bool(_bool(value, key))
        elif key in ("lat", "lon"):
            out[key] = _float(value, key) if value else None
        elif key == "area":
            try:
                out[key] = json.loads(value) if value else None
            except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
                raise Invalid("area: not valid GeoJSON") from exc
        else:
            out[key] = from_spreadsheet(value) or None
    return out


def read_csv(text: str) -> list[tuple[int, dict[str, Any] | Invalid]]:
    """Parse CSV text into (line number, record or the reason it is malformed)."""
    if "\x00" in text:
        raise Invalid("the file contains NUL characters")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = set(reader.fieldnames or [])
    except csv.Error as exc:
        raise Invalid(f"the CSV header is not readable: {exc}") from exc
    missing = {"code", "name", "technology", "status", "lat", "lon"} - header
    if missing:
        raise Invalid(f"the CSV header lacks {', '.join(sorted(missing))}")
    unknown = header - set(CSV_COLUMNS)
    if unknown:
        raise Invalid(f"the CSV header has unknown columns {', '.join(sorted(unknown))}")
    rows: list[tuple[int, dict[str, Any] | Invalid]] = []
    try:
        for row in reader:
            try:
                rows.append((reader.line_num, from_csv_row(row)))
            except Invalid as exc:
                rows.append((reader.line_num, _with_code(exc, row.get("code"))))
    except csv.Error as exc:
        raise Invalid(f"not readable as CSV near line {reader.line_num}: {exc}") from exc
    return rows


def load_json(text: str) -> Any:
    """Parse a file's JSON text, or raise Invalid with the reason."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Invalid(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:  # nested deeper than the parser goes
        raise Invalid("not valid JSON: nested too deeply") from exc


def features_of(data: Any) -> list[Any]:
    """Return the features of a parsed GeoJSON FeatureCollection, or raise Invalid."""
    features = data.get("features") if isinstance(data, dict) and data.get("type") == "FeatureCollection" else None
    if not isinstance(features, list):
        raise Invalid("expected a GeoJSON FeatureCollection")
    return features


def read_geojson(text: str) -> list[tuple[int, dict[str, Any] | Invalid]]:
    """Parse a FeatureCollection into (feature number, record or the reason it is malformed)."""
    if "\x00" in text:
        raise Invalid("the file contains NUL characters")
    rows: list[tuple[int, dict[str, Any] | Invalid]] = []
    for number, feature in enumerate(features_of(load_json(text)), start=1):
        try:
            rows.append((number, _from_feature(feature)))
        except Invalid as exc:
            properties = feature.get("properties") if isinstance(feature, dict) else None
            rows.append((number, _with_code(exc, properties.get("code") if isinstance(properties, dict) else None)))
    return rows


def _with_code(error: Invalid, code: Any) -> Invalid:
    """The reason a row is malformed, carrying the code it names (when it names one) for the report."""
    if isinstance(code, str) and code.strip() and "code" not in error.details:
        error.details["code"] = code.strip()
    return error


def _from_feature(feature: Any) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise Invalid("not a GeoJSON Feature")
    given = feature.get("properties")
    if given is not None and not isinstance(given, dict):
        raise Invalid("properties must be an object")
    properties = dict(given or {})
    geometry = feature.get("geometry")
    if geometry is None:
        raise Invalid("geometry is missing: a Point [lon, lat] is needed")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise Invalid("geometry must be a Point (mobile deployments carry their area in properties.area)")
    coordinates = geometry.get("coordinates")
    # Infinity is left to the record's own check; a number too large for a float has no place on Earth.
    if not (isinstance(coordinates, list) and len(coordinates) >= 2
            and all(isinstance(c, float) or finite_number(c) for c in coordinates[:2])):
        raise Invalid("geometry coordinates must be [lon, lat] numbers")
    properties["lon"], properties["lat"] = float(coordinates[0]), float(coordinates[1])
    properties.pop("updated_at", None)
    unknown = set(properties) - set(RECORD_FIELDS)
    if unknown:
        raise Invalid(f"unknown properties {', '.join(sorted(unknown))}")
    return properties


def read_text(path: Path) -> str:
    """Return an import file's text, or raise Invalid when it is too large or not UTF-8."""
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise Invalid(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:  # line ends inside quoted cells kept as sent
            return file.read()
    except UnicodeDecodeError as exc:
        raise Invalid("the file is not UTF-8 text") from exc


def read_file(path: Path) -> list[tuple[int, dict[str, Any] | Invalid]]:
    """Read a register file (.csv, or .geojson/.json) into numbered records."""
    text = read_text(path)
    if path.suffix.lower() == ".csv":
        return read_csv(text)
    if path.suffix.lower() in (".geojson", ".json"):
        return read_geojson(text)
    raise Invalid("the file must end in .csv, .geojson or .json")
