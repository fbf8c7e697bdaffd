"""A city loads its own districts: the command's report, re-placed deployments, export round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import LinearRing, shape
from sqlalchemy import delete, func, select

from core import districts, exchange, follows, residents
from core.db import Database
from core.deployments import get_by_code, locate_district
from core.errors import Invalid
from core.models import AuditEvent, DeploymentVersion, District, Outbox, utcnow
from tests import builders
from tests.test_cli import run


def square(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                 [west, south]]]}


def feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def write(path: Path, *features: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


def test_import_reports_each_bad_feature_and_stores_the_good_ones(tmp_path: Path, database_url: str,
                                                                  db: Database) -> None:
    path = write(
        tmp_path / "city.geojson",
        feature(square(0, 0, 1, 1), slug="north-end", name={"en": "North End", "es": "Extremo Norte"}),
        feature(square(0, 0, 1, 1), slug="Old Town", name="Old Town"),
        feature({"type": "Point", "coordinates": [0.5, 0.5]}, slug="pointy", name="Pointy"),
        feature(BOWTIE, slug="bowtie", name="Bow tie"),
        feature(square(0, 199, 1, 200), slug="far-north", name="Far North"),
        feature(square(1, 0, 2, 1), slug="north-end", name="North End again"),
        feature(square(1, 0, 2, 1), slug="nameless"),
        feature(square(1, 0, 2, 1), slug="half-named", name_en="Half"),
        feature(square(1, 0, 2, 1), slug="x" * 41, name="Long"),
        feature(square(1, 0, 2, 1), slug="quay", name_en="Quay", name_es="Muelle", OBJECTID=7),
        {"type": "Feature"},
    )
    report = run("districts", "import", str(path), cwd=tmp_path, url=database_url)
    assert report.returncode == 1 and report.stderr == ""
    assert report.stdout.splitlines() == [
        "feature 2 (slug 'Old Town'): slug must be 1-40 characters of a-z, 0-9 and dashes, starting with a letter "
        "or digit",
        "feature 3 (slug 'pointy'): geometry is not a Polygon or MultiPolygon",
        "feature 4 (slug 'bowtie'): the polygon is not valid: Self-intersection[0.5 0.5]",
        "feature 5 (slug 'far-north'): latitude 199 is outside -90..90",
        "feature 6 (slug 'north-end'): duplicate slug, first on feature 1",
        "feature 7 (slug 'nameless'): name_en and name_es missing; give name_en and name_es, or name as "
        '{"en": ..., "es": ...}, or one name for both',
        "feature 8 (slug 'half-named'): name_es missing; give name_en and name_es, or name as "
        '{"en": ..., "es": ...}, or one name for both',
        f"feature 9 (slug '{'x' * 41}'): slug must be 1-40 characters of a-z, 0-9 and dashes, starting with a "
        "letter or digit",
        "feature 11: slug is missing",
        "2 created, 0 updated, 0 unchanged, 9 rejected; 0 deployments re-placed",
    ]
    listing = run("districts", "list", cwd=tmp_path, url=database_url)
    assert listing.returncode == 0
    assert [line.split()[:2] for line in listing.stdout.splitlines()[1:]] == [["north-end", "0"], ["quay", "0"]]
    assert "Extremo Norte" in listing.stdout and "Muelle" in listing.stdout
    with db.reading() as s:
        events = list(s.scalars(select(AuditEvent)))
    assert [(e.action, e.target, e.detail) for e in events] == [
        ("district.import", "city.geojson",
         {"created": 2, "updated": 0, "rejected": 9, "deployments_replaced": 0})]


@pytest.mark.parametrize(("content", "reason"), [
    ('{"type": "Feature", "geometry": null, "properties": {}}', "expected a GeoJSON FeatureCollection"),
    ('{"type": "FeatureCollection", "features": [', "not valid JSON"),
    ("[" * 100_000, "not valid JSON: nested too deeply"),
    (b"\xff\xfe", "the file is not UTF-8 text"),
])
def test_an_unreadable_file_is_refused_with_one_reason_and_nothing_written(
        tmp_path: Path, database_url: str, db: Database, content: str | bytes, reason: str) -> None:
    path = tmp_path / "districts.geojson"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run("districts", "import", str(path), cwd=tmp_path, url=database_url)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"civicpulse districts import: {reason}")
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(District)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_redrawn_district_moves_the_deployments_that_follow_their_point(tmp_path: Path, database_url: str,
                                                                          db: Database) -> None:
    first = write(tmp_path / "before.geojson", feature(square(0, 0, 1, 1), slug="a", name="A"),
                  feature(square(1, 0, 2, 1), slug="b", name="B"))
    assert run("districts", "import", str(first), cwd=tmp_path, url=database_url).returncode == 0
    with db.transaction() as s:
        builders.deployment(s, code="AQ-001", lat=0.5, lon=2.5)  # outside every district
        builders.deployment(s, code="AQ-002", lat=0.5, lon=0.5)  # placed in a by its point
        builders.deployment(s, code="AQ-003", lat=0.5, lon=1.5, district="a")  # given a by hand, though in b
        follower = residents.give_consent(s, resident=builders.resident(s))
        follows.follow(s, resident=follower, district=s.scalar(select(District).where(District.slug == "a")),
                       now=utcnow())
    with db.reading() as s:
        assert locate_district(s, lat=0.5, lon=2.5) is None  # this process now holds the index

    # Another process redraws a over the first deployment and b over the second.
    second = write(tmp_path / "after.geojson", feature(square(2, 0, 3, 1), slug="a", name="A"),
                   feature(square(0, 0, 2, 1), slug="b", name="B"))
    report = run("districts", "import", str(second), cwd=tmp_path, url=database_url)
    assert report.returncode == 0, report.stderr
    assert report.stdout.splitlines() == ["0 created, 2 updated, 0 unchanged, 0 rejected; 2 deployments re-placed"]

    with db.reading() as s:
        ids = dict(s.execute(select(District.slug, District.id)).all())
        assert locate_district(s, lat=0.5, lon=2.5) == ids["a"]  # no restart: the fingerprint saw the change
        assert locate_district(s, lat=0.5, lon=0.5) == ids["b"]
        placed = {code: get_by_code(s, code=code).district_id for code in ("AQ-001", "AQ-002", "AQ-003")}
        assert placed == {"AQ-001": ids["a"], "AQ-002": ids["b"], "AQ-003": ids["a"]}
        moved = s.scalars(select(DeploymentVersion).where(DeploymentVersion.version == 2)).all()
        assert sorted((v.record["code"], v.record["district"], v.fields) for v in moved) == [
            ("AQ-001", "a", ["district"]), ("AQ-002", "b", ["district"])]
        assert all(v.changed_by.startswith("cli:") for v in moved)
        # A redrawn map is not a change to the record: the district's follower is not told.
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "deployment_changed")) == 0


def test_export_then_import_round_trips(tmp_path: Path, database_url: str, db: Database) -> None:
    with db.transaction() as s:
        builders.districts(s)
        builders.demo_register(s)
    exported = run("districts", "export", cwd=tmp_path, url=database_url)
    assert exported.returncode == 0, exported.stderr
    collection = json.loads(exported.stdout)
    demo = json.loads(Path("core/data/demo_districts.geojson").read_text(encoding="utf-8"))
    assert sorted(f["properties"]["slug"] for f in collection["features"]) == sorted(
        f["properties"]["slug"] for f in demo["features"])
    by_slug = {f["properties"]["slug"]: f for f in collection["features"]}
    assert by_slug["old-town"]["properties"] == {"slug": "old-town", "name_en": "Old Town", "name_es": "Casco Antiguo"}

    out = tmp_path / "districts.geojson"
    assert run("districts", "export", "--output", str(out), cwd=tmp_path, url=database_url).returncode == 0
    assert json.loads(out.read_text(encoding="utf-8")) == collection
    again = run("districts", "import", str(out), cwd=tmp_path, url=database_url)
    assert again.returncode == 0
    assert again.stdout.splitlines() == ["0 created, 0 updated, 8 unchanged, 0 rejected; 0 deployments re-placed"]

    # Into a city that has none: the same districts, and the register placed in them again.
    with db.transaction() as s:
        s.execute(delete(District))
    loaded = run("districts", "import", str(out), cwd=tmp_path, url=database_url)
    assert loaded.stdout.splitlines() == ["8 created, 0 updated, 0 unchanged, 0 rejected; 57 deployments re-placed"]
    assert json.loads(run("districts", "export", cwd=tmp_path, url=database_url).stdout) == collection
    with db.reading() as s:
        register = {r["code"]: r["district"] for r in exchange.all_records(s)}
    shipped = {code: record["district"] for _, record in builders.demo_register_rows()
               if isinstance(record, dict) for code in [record["code"]]}
    assert register == shipped


@pytest.mark.parametrize(("change", "reason"), [
    ({"slug": "-dash-first"}, "slug must be 1-40 characters"),
    ({"slug": "tab\there"}, "slug must be 1-40 characters"),
    ({"slug": 7}, "slug must be 1-40 characters"),
    ({"name": "N" * 201}, "name_en: at most 200 characters, this one has 201"),
    ({"name": "Old\x00Town"}, "name_en: NUL characters are not accepted"),
    ({"name": "   "}, "name_en is empty"),
    ({"name": ["Old Town"]}, "name_en must be a text"),
    ({"geometry": None}, "geometry is not a Polygon or MultiPolygon"),
    ({"geometry": {"type": "Polygon", "coordinates": []}}, "the polygon is empty"),
    ({"geometry": square(-181, 0, 0, 1)}, "longitude -181 is outside -180..180"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0.5]]]}},
     "a ring must end where it started"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}}, "at least 4 positions"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, float("nan")], [1, 1], [0, 0]]]}},
     "3 levels of lists down to finite numbers"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[int("9" * 401), 0], [1, 0], [1, 1], [int("9" * 401), 0]]]}},
     "3 levels of lists down to finite numbers"),
    ({"geometry": [1, 2]}, "geometry is not a Polygon or MultiPolygon"),
    ({"geometry": {"type": "MultiPolygon", "coordinates": [BOWTIE["coordinates"]]}}, "Self-intersection"),
])
def test_a_bad_district_is_refused_with_a_reason(change: dict[str, Any], reason: str) -> None:
    raw: dict[str, Any] = {"slug": "old-town", "name": "Old Town", "geometry": square(0, 0, 1, 1), **change}
    geometry = raw.pop("geometry")
    with pytest.raises(Invalid) as caught:
        districts.parse_feature(feature(geometry, **raw))
    assert reason in caught.value.reason


def test_polygons_are_stored_with_rfc_7946_winding() -> None:
    clockwise = {"type": "MultiPolygon", "coordinates": [
        [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]], [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.4], [0.2, 0.2]]]]}
    parsed = districts.parse_feature(feature(clockwise, slug="x", name_en="X", name_es="Equis"))
    (exterior, hole), = parsed.geometry["coordinates"]
    assert LinearRing(exterior).is_ccw and not LinearRing(hole).is_ccw
    assert shape(parsed.geometry).equals(shape(clockwise))
