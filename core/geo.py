"""Distances, bounding boxes and district placement."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point, shape
from shapely.prepared import PreparedGeometry, prep

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180
# GeoJSON coordinates nest this deep down to numbers: rings of positions, and polygons of those.
POLYGON_DEPTH = {"Polygon": 3, "MultiPolygon": 4}


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres between two points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Box:
    min_lat: float
    max_lat: float
    lon_ranges: tuple[tuple[float, float], ...]


def bounding_box(lat: float, lon: float, radius_m: float) -> Box:
    """Return a box that contains every point within radius_m of (lat, lon), split at the antimeridian."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90 or max_lat >= 90:
        # The circle contains a pole: every longitude is within reach.
        return Box(max(min_lat, -90.0), min(max_lat, 90.0), ((-180.0, 180.0),))
    # The widest longitude span of the circle (at its tangent latitude), exact on the sphere.
    ratio = math.sin(radius_m / EARTH_RADIUS_M) / math.cos(math.radians(lat))
    if ratio >= 1:
        return Box(min_lat, max_lat, ((-180.0, 180.0),))
    dlon = math.degrees(math.asin(ratio))
    west, east = lon - dlon, lon + dlon
    if west < -180:
        return Box(min_lat, max_lat, ((west + 360, 180.0), (-180.0, east)))
    if east > 180:
        return Box(min_lat, max_lat, ((west, 180.0), (-180.0, east - 360)))
    return Box(min_lat, max_lat, ((west, east),))


def nested_numbers(value: Any, depth: int) -> bool:
    """Whether value is lists nested `depth` deep whose innermost items are all finite numbers.

    Walked level by level, not recursively, so no input can exhaust the stack.
    """
    level = [value]
    for _ in range(depth):
        if not all(isinstance(item, list) for item in level):
            return False
        level = [inner for item in level for inner in item]
    return all(finite_number(n) for n in level)


def finite_number(value: Any) -> bool:
    """Whether value is an int or float (not a bool) that a float holds finitely (a 400-digit int does not)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def position_problem(position: list[float]) -> str | None:
    """Why a GeoJSON position (finite numbers) is not [lon, lat] or [lon, lat, altitude] in WGS 84, or None."""
    if len(position) not in (2, 3):
        return "a position must be [lon, lat] or [lon, lat, altitude]"
    lon, lat = position[0], position[1]
    if not -180 <= lon <= 180:
        return f"longitude {lon:g} is outside -180..180"
    if not -90 <= lat <= 90:
        return f"latitude {lat:g} is outside -90..90"
    return None


def valid_point(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


class DistrictIndex:
    """Place points in districts by polygon."""

    def __init__(self, districts: Iterable[tuple[int, dict[str, Any]]]) -> None:
        self._shapes: list[tuple[int, PreparedGeometry[Any]]] = [(i, prep(shape(g))) for i, g in districts]

    def locate(self, lat: float, lon: float) -> int | None:
        point = Point(lon, lat)
        for district_id, polygon in self._shapes:
            if polygon.covers(point):
                return district_id
        return None


def centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """Return (lat, lon) of a point inside the geometry (its centroid when that lies inside)."""
    geom = shape(geometry)
    c = geom.centroid
    if not geom.covers(c):
        c = geom.representative_point()
    return c.y, c.x
