"""The register: validation, upsert by code, import reports, export round trips, search."""

from __future__ import annotations

import csv
import io
import json

import pytest

from core import exchange
from core.db import Database
from core.deployments import SearchFilters, get_by_code, import_records, normalize_code, parse_record, search
from core.errors import Invalid, NotFound
from tests import builders

GOOD = {"code": "AQ-001", "name": "Air sensor", "technology": "air_quality", "status": "active", "lat": 45.5,
        "lon": -73.6}


def test_unknown_is_a_real_value() -> None:
    record = parse_record({**GOOD, "retention": "unknown", "personal_data": None, "purposes": None})
    assert record.retention_days is None and record.personal_data is None and record.purposes is None
    assert parse_record({**GOOD, "retention": "none"}).retention_days == 0
    assert parse_record({**GOOD, "retention": 30}).retention_days == 30


@pytest.mark.parametrize(("change", "reason"), [
    ({"lat": 200}, "latitude 200"),
    ({"lon": -181}, "longitude"),
    ({"technology": "teleporter"}, "unknown technology"),
    ({"purposes": ["mind_control"]}, "unknown purposes"),
    ({"status": "imaginary"}, "status"),
    ({"code": "not a code"}, "code must look like"),
    ({"retention": "forever"}, "retention"),
    ({"pilot_start": "2026-05-01", "pilot_end": "2026-04-01"}, "pilot_end is before"),
    ({"lat": float("nan")}, "finite"),
    ({"vendor": "v" * 201}, "vendor: at most 200 characters, this one has 201"),
    ({"legal_basis": "b" * 501}, "legal_basis: at most 500 characters"),
    ({"technology": "t" * 65}, "technology: at most 64 characters"),
    ({"district": "d" * 65}, "district: at most 64 characters"),
    ({"name": "Air\x00sensor"}, "name: NUL characters are not accepted"),
    ({"description": "\x00"}, "description: NUL characters are not accepted"),
    ({"info_url": "https://example.org/\x00"}, "info_url: NUL characters are not accepted"),
    ({"storage": ["cloud"] * 31}, "storage: at most 30 terms"),
    ({"access": ["x" * 65]}, "access: terms are at most 64 characters"),
    ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, float("inf")], [0, 0]]]}}, "finite numbers"),
    ({"area": {"type": ["Polygon"]}}, "area must be a GeoJSON Polygon"),
    ({"area": {"type": "Polygon", "coordinates": [[[500, 0], [501, 0], [501, 1], [500, 0]]]}},
     "area: longitude 500 is outside -180..180"),
    ({"area": {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 95], [0, 0]]]]}},
     "area: latitude 95 is outside -90..90"),
    ({"area": {"type": "Polygon", "coordinates": [[[10 ** 400, 0], [1, 0], [1, 1], [10 ** 400, 0]]]}},
     "finite numbers"),
])
def test_bad_records_are_rejected_with_a_reason(change: dict[str, object], reason: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_record({**GOOD, **change})
    assert reason in caught.value.reason


def test_every_text_column_is_limited_by_the_record() -> None:
    from sqlalchemy import String

    from core.deployments import MAX_LENGTHS
    from core.models import Deployment

    texts = {c.name: c.type.length for c in Deployment.__table__.columns
             if isinstance(c.type, String) and c.name not in ("code", "status")}  # a pattern, an enum
    assert set(texts) <= set(MAX_LENGTHS)  # every text column, Text ones (description) included
    assert all(MAX_LENGTHS[name] == length for name, length in texts.items() if length)
    assert parse_record({**GOOD, "vendor": "v" * 200, "description": "d" * 4000}).vendor == "v" * 200


def test_rejections_echo_what_a_report_can_carry(db: Database) -> None:
    area = {"type": "Polygon", "coordinates": [[[-73.64, 45.49], [-73.63, 45.49], [-73.63, 45.5], [-73.64, 45.49]]],
            "note": float("nan")}  # a member PostgreSQL's JSON cannot hold
    rows: list[tuple[int, dict[str, object] | Invalid]] = [
        (1, {**GOOD, "code": "\ud800" + "A" * 100}),  # an unpaired surrogate, as a JSON escape can give
        (2, {**GOOD, "code": "AV-001", "mobile": True, "area": area}),
    ]
    with db.transaction() as s:
        report = import_records(s, rows=rows, actor="test")
    (line, code, reason), = report.rejected
    assert (line, code, report.created) == (1, "?" + "A" * 39, 1) and reason.startswith("code: ")
    "\n".join(report.lines()).encode("utf-8")
    with db.reading() as s:
        assert set(get_by_code(s, code="AV-001").area or {}) == {"type", "coordinates"}


def test_codes_are_found_in_any_case_with_or_without_dash(db: Database) -> None:
    with db.transaction() as s:
        builders.deployment(s, code="AQ-017")
    with db.reading() as s:
        for typed in ("AQ-017", "aq-017", "aq017", " AQ 017 "):
            assert get_by_code(s, code=typed).code == "AQ-017"
        with pytest.raises(NotFound):
            get_by_code(s, code="ZZ-999")
    assert normalize_code("hello world") is None


CSV_HEADER = "code,name,technology,status,lat,lon,district,retention,personal_data,purposes\n"


def test_import_keeps_good_rows_and_reports_bad_ones_by_line(db: Database, tmp_path) -> None:
    with db.transaction() as s:
        builders.districts(s)
    body = CSV_HEADER + (
        "AQ-101,Good sensor,air_quality,active,45.49,-73.63,,30,no,public_health\n"
        "AQ-102,Bad latitude,air_quality,active,200,-73.6,,30,no,\n"
        "XX-103,Bad technology,teleporter,active,45.49,-73.6,,unknown,unknown,\n"
        "CAM-104,Good camera,camera,pilot,45.495,-73.61,,none,yes,safety_security;mobility\n"
        "AQ-101,Duplicate,air_quality,active,45.49,-73.63,,30,no,\n"
        "AQ-105,Unknown district,air_quality,active,45.49,-73.63,atlantis,30,no,\n"
    )
    path = tmp_path / "register.csv"
    path.write_text(body)
    with db.transaction() as s:
        report = import_records(s, rows=exchange.read_file(path), actor="test")
    assert (report.created, report.updated) == (2, 0)
    rejected = {line: reason for line, _, reason in report.rejected}
    assert set(rejected) == {3, 4, 6, 7}
    assert "latitude 200" in rejected[3]
    assert "unknown technology 'teleporter'" in rejected[4]
    assert "duplicate code, first on line 2" in rejected[6]
    assert "unknown district 'atlantis'" in rejected[7]
    with db.reading() as s:
        camera = get_by_code(s, code="CAM-104")
        assert camera.retention_days == 0 and camera.personal_data is True
        assert camera.purposes == ["safety_security", "mobility"]
        assert camera.district_id is not None  # placed by polygon


def test_malformed_cells_are_reported_not_crashed() -> None:
    rows = exchange.read_csv(CSV_HEADER + "AQ-1,x,air_quality,active,north,-73.6,,30,maybe,\n")
    assert isinstance(rows[0][1], Invalid)
    with pytest.raises(Invalid):
        exchange.read_csv("no,header,here\n1,2,3\n")
    with pytest.raises(Invalid):
        exchange.read_geojson("[1, 2]")


POINT = {"type": "Point", "coordinates": [-73.63, 45.49]}
PROPERTIES = {"code": "YY-20", "name": "x", "technology": "camera", "status": "active"}


@pytest.mark.parametrize(("feature", "code", "reason"), [
    ({"geometry": [1, 2]}, "YY-20", "geometry must be a Point"),
    ({"geometry": "POINT (1 2)"}, "YY-20", "geometry must be a Point"),
    ({"geometry": None}, "YY-20", "geometry is missing"),
    ({"properties": [1, 2]}, "", "properties must be an object"),
    ({"properties": "code=YY-20"}, "", "properties must be an object"),
    ({"properties": 7}, "", "properties must be an object"),
    ({"geometry": {"type": "Point", "coordinates": [10 ** 400, 45.49]}}, "YY-20",
     "geometry coordinates must be [lon, lat] numbers"),
    ({"properties": {**PROPERTIES, "colour": "red"}}, "YY-20", "unknown properties colour"),
])
def test_malformed_features_are_rejected_with_their_code_and_a_reason(db: Database, feature: dict[str, object],
                                                                      code: str, reason: str) -> None:
    good = {"type": "Feature", "geometry": POINT, "properties": {**PROPERTIES, "code": "YY-21"}}
    text = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": POINT, "properties": PROPERTIES, **feature}, good]})
    with db.transaction() as s:
        report = import_records(s, rows=exchange.read_geojson(text), actor="test")
    (line, named, why), = report.rejected
    assert (line, named, report.created) == (1, code, 1) and why.startswith(reason)
    assert report.lines()[0].startswith(f"line 1: rejected {code or '(no code)'}: ")


def test_a_csv_row_with_extra_cells_is_reported_by_its_code(db: Database) -> None:
    rows = exchange.read_csv("code,name,technology,status,lat,lon\nAQ-1,x,air_quality,active,45.49,-73.63,extra\n")
    with db.transaction() as s:
        report = import_records(s, rows=rows, actor="test")
    assert report.lines()[0] == "line 2: rejected AQ-1: the row has more cells than the header"


@pytest.mark.parametrize("fmt", ["csv", "geojson"])
def test_export_then_import_round_trips(db: Database, tmp_path, fmt: str) -> None:
    with db.transaction() as s:
        builders.districts(s)
        first = import_records(s, rows=builders.demo_register_rows(), actor="test")
    assert first.ok and first.created >= 40
    with db.reading() as s:
        records = exchange.all_records(s)
    if fmt == "csv":
        buffer = io.StringIO()
        exchange.write_csv(records, buffer)
        out = buffer.getvalue()
        assert next(csv.reader(io.StringIO(out))) == list(exchange.CSV_COLUMNS)
        rows = exchange.read_csv(out)
    else:
        collection = exchange.feature_collection(records)
        rows = exchange.read_geojson(json.dumps(collection))
    with db.transaction() as s:
        again = import_records(s, rows=rows, actor="test")
    assert again.ok and again.created == 0 and again.updated == 0 and again.unchanged == len(records)
    with db.reading() as s:
        assert exchange.all_records(s) == records


def test_csv_export_cells_never_run_as_formulas_and_still_round_trip(db: Database) -> None:
    hostile = {"description": "-2+3", "vendor": "@SUM(A1)", "accountable_contact": "=1+1",
               "legal_basis": "'=HYPERLINK(\"x\")", "name": "+cmd|' /C calc'!A0"}
    with db.transaction() as s:
        builders.deployment(s, **hostile)
    with db.reading() as s:
        records = exchange.all_records(s)
    buffer = io.StringIO()
    exchange.write_csv(records, buffer)
    row = next(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert {key: row[key] for key in hostile} == {key: "'" + value for key, value in hostile.items()}
    assert row["lon"] == "-73.6395"  # numbers stay numbers
    with db.transaction() as s:
        again = import_records(s, rows=exchange.read_csv(buffer.getvalue()), actor="test")
    assert again.ok and again.unchanged == 1 and again.updated == 0
    with db.reading() as s:
        assert exchange.all_records(s) == records


def test_empty_lists_and_line_ends_survive_a_csv_file_round_trip(db: Database, tmp_path) -> None:
    with db.transaction() as s:
        builders.deployment(s, data_types=[], purposes=None, description="first line\r\nsecond\rthird")
    with db.reading() as s:
        records = exchange.all_records(s)
    assert records[0]["data_types"] == [] and records[0]["purposes"] is None
    path = tmp_path / "register.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        exchange.write_csv(records, out)
    row = next(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert row["data_types"] == exchange.EMPTY_LIST and row["purposes"] == "unknown"
    with db.transaction() as s:
        again = import_records(s, rows=exchange.read_file(path), actor="test")
    assert again.ok and again.unchanged == 1 and again.updated == 0
    with db.reading() as s:
        assert exchange.all_records(s) == records


def test_search_by_words_technology_district_status_and_pages(db: Database) -> None:
    with db.transaction() as s:
        builders.districts(s)
        import_records(s, rows=builders.demo_register_rows(), actor="test")
    with db.reading() as s:
        cameras = search(s, filters=SearchFilters(technology="camera"), limit=200).items
        assert cameras and all(d.technology == "camera" for d in cameras)
        elm = search(s, filters=SearchFilters(text="camera on Elm street"), limit=200).items
        assert any(d.technology == "camera" for d in elm)
        retired = search(s, filters=SearchFilters(status="retired"), limit=200).items
        assert [d.status for d in retired] == ["retired"]
        first = search(s, filters=SearchFilters(), limit=10)
        second = search(s, filters=SearchFilters(), limit=10, cursor=first.next_cursor)
        assert first.next_cursor and {d.code for d in first.items}.isdisjoint({d.code for d in second.items})
        assert [d.code for d in first.items] == sorted(d.code for d in first.items)
        with pytest.raises(Invalid):
            search(s, filters=SearchFilters(), cursor="%%%not-a-cursor")
