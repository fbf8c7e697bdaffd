"""Benchmark core.deployments.nearby: 100,000 deployments in a 40 km city, 2,000 random 1 km queries.

Compared, in the same run and on the same data, with
  * the bare candidate SELECT (the same SQL that nearby() sends, run through the raw DBAPI cursor of the same
    connection: R*Tree on SQLite, lat/lon B-tree on PostgreSQL), and
  * a brute-force full scan in Python over all points (haversine on every point, for a few queries),
    which also checks that nearby() returns the same deployments.

    .venv/bin/python bench/nearby.py [--quick] [--database-url URL]
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from sqlalchemy import text

from core.deployments import _candidate_sql, nearby
from core.geo import EARTH_RADIUS_M, bounding_box, haversine_m
from core.vocab import vocabularies

CITY_LAT, CITY_LON = 40.40, -3.70  # centre of the synthetic city
HALF_SIDE_M = 20_000  # a 40 km x 40 km square
ANTIMERIDIAN = (-17.8, 180.0)  # a handful of points around here (Fiji), on both sides of +-180
RADIUS_M = 1000
LIMIT = 10
STATUSES = ("proposed", "pilot", "active", "paused", "retired")


def city_point(rng: random.Random) -> tuple[float, float]:
    dlat = math.degrees(HALF_SIDE_M / EARTH_RADIUS_M)
    dlon = dlat / math.cos(math.radians(CITY_LAT))
    return CITY_LAT + rng.uniform(-dlat, dlat), CITY_LON + rng.uniform(-dlon, dlon)


def antimeridian_point(rng: random.Random) -> tuple[float, float]:
    lon = rng.uniform(179.99, 180.0) if rng.random() < 0.5 else rng.uniform(-180.0, -179.99)
    return ANTIMERIDIAN[0] + rng.uniform(-0.01, 0.01), lon


def make_points(n: int, n_antimeridian: int, rng: random.Random) -> list[tuple[float, float]]:
    return [city_point(rng) for _ in range(n - n_antimeridian)] + [
        antimeridian_point(rng) for _ in range(n_antimeridian)]


def bulk_insert(target: c.Target, points: list[tuple[float, float]], rng: random.Random) -> float:
    technologies = sorted(vocabularies().ids("technology"))
    purposes = sorted(vocabularies().ids("purpose"))
    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i, (lat, lon) in enumerate(points):
        tech = technologies[i % len(technologies)]
        prefix = "".join(chr(65 + (i // 10_000 // 26 ** k) % 26) for k in (1, 0))
        created = now - timedelta(days=rng.randrange(1000))
        stamp = c.sqlite_datetime(created) if target.is_sqlite else created
        rows.append((f"B{prefix}-{i % 10_000:04d}", f"{tech.replace('_', ' ').title()} #{i}",
                     f"Synthetic {tech} on street {i % 997}", tech, json.dumps(rng.sample(purposes, 2)),
                     rng.choice((None, 0, 30, 90, 365)), rng.choice(STATUSES), lat, lon, rng.random() < 0.02,
                     stamp, stamp))
    columns = ("code, name, description, technology, purposes, retention_days, status, lat, lon, mobile, "
               "created_at, updated_at")
    t0 = time.perf_counter()
    c.bulk_load(target, "deployment", columns, [rows])
    return time.perf_counter() - t0


def bare_sql(is_sqlite: bool, box: object) -> tuple[str, dict[str, float]]:
    """The candidate SELECT nearby() sends, the same text and parameters, for the raw DBAPI cursor."""
    return _candidate_sql("sqlite" if is_sqlite else "postgresql", box)  # type: ignore[arg-type]


def brute_force(points: list[tuple[int, float, float]], lat: float, lon: float) -> list[tuple[float, int]]:
    return sorted((d, i) for i, la, lo in points if (d := haversine_m(lat, lon, la, lo)) <= RADIUS_M)[:LIMIT]


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--deployments", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=2_000)
    p.add_argument("--brute-queries", type=int, default=5)
    p.add_argument("--profile", action="store_true", help="also print a cProfile of 500 nearby() calls")
    args = p.parse_args()
    if args.quick:
        args.deployments, args.queries, args.brute_queries = 10_000, 200, 2
    rng = random.Random(args.seed)
    n_anti = max(5, args.deployments // 10_000)
    points = make_points(args.deployments, n_anti, rng)
    queries = [city_point(rng) for _ in range(args.queries - max(1, args.queries // 100))]
    queries += [antimeridian_point(rng) for _ in range(args.queries - len(queries))]
    rng.shuffle(queries)

    with c.open_target(args.database_url) as target:
        load_s = bulk_insert(target, points, rng)
        with target.db.reading() as s:
            stored = s.execute(text("SELECT count(*) FROM deployment")).scalar_one()
            assert stored == len(points), stored
            if target.is_sqlite:
                assert s.execute(text("SELECT count(*) FROM deployment_rtree")).scalar_one() == stored
            all_points = [tuple(r) for r in s.execute(text("SELECT id, lat, lon FROM deployment"))]

            # Warm-up: caches, statement compilation, page cache; not timed.
            for lat, lon in queries[:50]:
                nearby(s, lat=lat, lon=lon, radius_m=RADIUS_M, limit=LIMIT)

            nearby_ms, hits = [], 0
            for lat, lon in queries:
                t0 = time.perf_counter()
                found = nearby(s, lat=lat, lon=lon, radius_m=RADIUS_M, limit=LIMIT)
                nearby_ms.append((time.perf_counter() - t0) * 1000)
                hits += len(found)

            # core's candidate SELECT through SQLAlchemy's connection (exec_driver_sql), without the rest of nearby().
            orm_ms = []
            for lat, lon in queries:
                box = bounding_box(lat, lon, RADIUS_M)
                t0 = time.perf_counter()
                sql_, params_ = _candidate_sql(s.get_bind().dialect.name, box)
                s.connection().exec_driver_sql(sql_, params_).fetchall()
                orm_ms.append((time.perf_counter() - t0) * 1000)

            # Bare SQL: the raw DBAPI cursor of the same connection, same transaction.
            cur = s.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            bare_ms, candidates = [], 0
            for lat, lon in queries:
                sql, params = bare_sql(target.is_sqlite, bounding_box(lat, lon, RADIUS_M))
                t0 = time.perf_counter()
                cur.execute(sql, params)
                rows = cur.fetchall()
                bare_ms.append((time.perf_counter() - t0) * 1000)
                candidates += len(rows)
            cur.close()

            # Brute force in Python over every point (already in memory), and a correctness check.
            across = next(q for q in queries if abs(q[1]) > 179)
            sample = [*rng.sample(queries, args.brute_queries - 1), across]
            brute_ms = []
            for lat, lon in sample:
                t0 = time.perf_counter()
                expected = brute_force(all_points, lat, lon)
                brute_ms.append((time.perf_counter() - t0) * 1000)
                got = nearby(s, lat=lat, lon=lon, radius_m=RADIUS_M, limit=LIMIT)
                assert [i for _, i in expected] == [n.deployment.id for n in got], (lat, lon, expected, got)

            profile_text = ""
            if args.profile:
                def run() -> None:
                    for lat, lon in queries[:500]:
                        nearby(s, lat=lat, lon=lon, radius_m=RADIUS_M, limit=LIMIT)
                profile_text = c.profile(run, title="500 nearby() calls")

    med, p95 = c.median(nearby_ms), c.pct(nearby_ms, 0.95)
    bare_med = c.median(bare_ms)
    orm_med = c.median(orm_ms)
    brute_med = c.median(brute_ms)
    target_ok = med <= 1.0 if target.is_sqlite else True
    rows = [
        c.Row("bulk load deployments", len(points) / load_s, "rows/s", f"{load_s:.1f} s for {len(points):,}"),
        c.Row("nearby() median", med, "ms", f"{med / bare_med:.1f}x bare SQL median",
              "<= 1 ms (sqlite)" if target.is_sqlite else "(none)", c.verdict(target_ok) if target.is_sqlite else ""),
        c.Row("nearby() p95", p95, "ms", f"{p95 / c.pct(bare_ms, 0.95):.1f}x bare SQL p95"),
        c.Row("nearby() max", max(nearby_ms), "ms"),
        c.Row("candidate SELECT via SQLAlchemy median", orm_med, "ms", f"{orm_med / bare_med:.1f}x bare SQL median"),
        c.Row("bare candidate SELECT median", bare_med, "ms", "1.0x (raw DBAPI cursor)"),
        c.Row("bare candidate SELECT p95", c.pct(bare_ms, 0.95), "ms"),
        c.Row("brute-force Python scan median", brute_med, "ms",
              f"{brute_med / med:.0f}x nearby() median ({len(brute_ms)} queries)"),
    ]
    notes = [
        f"{len(points):,} deployments ({n_anti} near the antimeridian), {len(queries):,} queries "
        f"(radius {RADIUS_M} m, limit {LIMIT}) in one read session; mean {candidates / len(queries):.0f} "
        f"candidates and {hits / len(queries):.1f} hits per query",
        f"brute force agreed with nearby() on {len(sample)} queries (one across the antimeridian)",
    ]
    c.print_report("nearby", target, rows, notes)
    if profile_text:
        print(profile_text)


if __name__ == "__main__":
    main()
