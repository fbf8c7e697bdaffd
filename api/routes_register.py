"""The public deployment register and the city's districts: no key needed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from api.deps import ReadSession, SettingsDep
from api.errors import StrictJSONRoute
from api.schemas import DeploymentOut, DeploymentPage, DistrictPage, NearbyPage
from core import deployments, districts, exchange
from core.about import describe
from core.deployments import MAX_NEARBY_LIMIT, MAX_NEARBY_RADIUS_M, SearchFilters
from core.models import DeploymentStatus
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/api/v1", tags=["register"], route_class=StrictJSONRoute)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Text = Annotated[str | None, Query(min_length=1, max_length=200, description="words in code, name or purpose")]
Slug = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]
Cursor = Annotated[str | None, Query(max_length=200)]
GEOJSON: dict[int | str, dict[str, Any]] = {200: {"content": {"application/geo+json": {}}}}


def _geojson(collection: dict[str, Any]) -> Response:
    return Response(json.dumps(collection, ensure_ascii=False), media_type="application/geo+json")


@router.get("/deployments", response_model=DeploymentPage, summary="List and search the register")
def list_deployments(
    session: ReadSession,
    technology: Slug = None,
    district: Slug = None,
    status: DeploymentStatus | None = None,
    text: Text = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """List deployments by code, filtered by technology, district, status and words."""
    filters = SearchFilters(text=text, technology=technology, district=district,
                            status=status.value if status else None)
    page = deployments.search(session, filters=filters, limit=limit, cursor=cursor)
    slugs = deployments.slugs_by_id(session)
    return {"items": [deployments.to_record(d, slugs.get(d.district_id or 0)) for d in page.items],
            "next_cursor": page.next_cursor}


@router.get("/deployments/near", response_model=NearbyPage, summary="Deployments near a point")
def near(
    session: ReadSession,
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
    radius_m: Annotated[float, Query(gt=0, le=MAX_NEARBY_RADIUS_M, allow_inf_nan=False)] = 1000,
    limit: Annotated[int, Query(ge=1, le=MAX_NEARBY_LIMIT)] = 10,
) -> dict[str, Any]:
    """The nearest deployments within radius_m metres, nearest first, with exact distances."""
    hits = deployments.nearby(session, lat=lat, lon=lon, radius_m=radius_m, limit=limit)
    return {"items": [{**deployments.to_record(h.deployment, h.district), "distance_m": round(h.distance_m, 1)}
                      for h in hits]}


@router.get("/deployments.geojson", summary="The whole register as an RFC 7946 FeatureCollection",
            response_class=Response, responses=GEOJSON)
def deployments_geojson(session: ReadSession) -> Response:
    """Every deployment as a GeoJSON Feature whose properties carry its record."""
    return _geojson(exchange.feature_collection(exchange.all_records(session)))


@router.get("/deployments.csv", summary="The whole register as CSV", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
def deployments_csv(session: ReadSession) -> StreamingResponse:
    """Every deployment as a CSV row; list fields are ';'-separated."""
    records = exchange.all_records(session)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=exchange.CSV_COLUMNS)
        writer.writeheader()
        for record in records:
            writer.writerow(exchange.to_csv_row(record))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="deployments.csv"'})


@router.get("/districts", response_model=DistrictPage, tags=["districts"], summary="The city's districts")
def list_districts(session: ReadSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
    """Districts by slug, with their names, a point inside each and how many deployments each holds."""
    page = districts.list_districts(session, limit=limit, cursor=cursor)
    return {"items": [{"slug": d.slug, "name_en": d.name_en, "name_es": d.name_es, "lat": d.center_lat,
                       "lon": d.center_lon, "deployments": d.deployments} for d in page.items],
            "next_cursor": page.next_cursor}


@router.get("/districts.geojson", tags=["districts"], response_class=Response, responses=GEOJSON,
            summary="The districts' polygons as an RFC 7946 FeatureCollection")
def districts_geojson(session: ReadSession) -> Response:
    """Every district as a Polygon or MultiPolygon Feature with properties slug, name_en and name_es."""
    return _geojson(districts.export_districts(session))


@router.get("/deployments/{code}", response_model=DeploymentOut, summary="One deployment's full record",
            responses={404: {"description": "no deployment with this code"}})
def get_deployment(session: ReadSession, code: str) -> dict[str, Any]:
    """The full transparency record of one deployment (code in any case, dash optional)."""
    deployment = deployments.get_by_code(session, code=code)
    slugs = deployments.slugs_by_id(session)
    return deployments.to_record(deployment, slugs.get(deployment.district_id or 0))


@router.get("/about", tags=["about"], summary="What civicpulse itself collects, why, and residents' rights")
def about(settings: SettingsDep,
          language: Annotated[str, Query(pattern=r"^(en|es)$")] = "en") -> dict[str, Any]:
    """civicpulse's own transparency record, in the fields it asks of every deployment."""
    return describe(language=language, retention_days=settings.retention_days,
                    min_group_size=settings.min_group_size, public_url=settings.public_url)
