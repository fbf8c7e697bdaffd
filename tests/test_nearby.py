"""Nearby: exact haversine distances, the same answer as brute force, across the antimeridian and poles."""

from __future__ import annotations

import random

import pytest

from core.db import Database
from core.deployments import nearby
from core.errors import Invalid
from core.geo import haversine_m
from tests import builders


def _brute(points: list[tuple[str, float, float]], lat: float, lon: float, radius: float, k: int
           ) -> list[tuple[str, float]]:
    hits = sorted((haversine_m(lat, lon, la, lo), code) for code, la, lo in points)
    return [(code, d) for d, code in hits if d <= radius][:k]


def test_nearby_matches_brute_force(db: Database) -> None:
    rng = random.Random(7)
    points: list[tuple[str, float, float]] = []
    # A city, the antimeridian, and both poles.
    clusters = [(45.5, -73.6, 0.05), (0.0, 179.995, 0.02), (-16.5, -179.99, 0.02), (89.995, 0.0, 0.004),
                (-89.995, 10.0, 0.004)]
    with db.transaction() as s:
        n = 0
        for clat, clon, spread in clusters:
            for _ in range(60):
                lat = max(-90.0, min(90.0, clat + rng.uniform(-spread, spread)))
                lon = clon + rng.uniform(-spread * 2, spread * 2)
                lon = (lon + 180) % 360 - 180
                n += 1
                code = f"AQ-{n}"
                builders.deployment(s, code=code, lat=lat, lon=lon)
                points.append((code, lat, lon))
    queries = [(c[0] + rng.uniform(-c[2], c[2]), c[1] + rng.uniform(-c[2], c[2])) for c in clusters for _ in range(8)]
    queries += [(0.0, -179.999), (0.0, 179.999), (90.0, 0.0), (-90.0, 0.0)]
    with db.reading() as s:
        for lat, lon in queries:
            lat = max(-90.0, min(90.0, lat))
            lon = (lon + 180) % 360 - 180
            for radius in (200.0, 1500.0, 6000.0):
                got = [(h.deployment.code, h.distance_m) for h in nearby(s, lat=lat, lon=lon, radius_m=radius,
                                                                          limit=10)]
                want = _brute(points, lat, lon, radius, 10)
                assert [c for c, _ in got] == [c for c, _ in want], (lat, lon, radius, got, want)
                assert all(abs(a - b) < 1e-6 for (_, a), (_, b) in zip(got, want, strict=True))


def test_nothing_near_the_middle_of_the_ocean(db: Database) -> None:
    with db.transaction() as s:
        builders.deployment(s)
    with db.reading() as s:
        assert nearby(s, lat=-40.0, lon=-120.0, radius_m=50_000, limit=10) == []


@pytest.mark.parametrize(("lat", "lon", "radius", "limit"), [
    (91, 0, 100, 5), (0, 181, 100, 5), (0, 0, 0, 5), (0, 0, 10**9, 5), (0, 0, 100, 0), (float("nan"), 0, 100, 5),
])
def test_bad_queries_are_domain_errors(db: Database, lat: float, lon: float, radius: float, limit: int) -> None:
    with db.reading() as s, pytest.raises(Invalid):
        nearby(s, lat=lat, lon=lon, radius_m=radius, limit=limit)
