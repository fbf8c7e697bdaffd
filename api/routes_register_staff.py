"""Staff writes to the register: create, update, retire, bulk import; each change versioned and announced."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, Staff
from api.deps import ReadSession, WriteSession
from api.errors import StrictJSONRoute
from api.schemas import DeploymentIn, DeploymentOut, DeploymentPatch, ImportReportOut, VersionOut
from core import audit, deployments, exchange, versions
from core.errors import Conflict, Invalid
from core.models import Deployment, DeploymentStatus

router = APIRouter(prefix="/api/v1", tags=["register (staff)"], route_class=StrictJSONRoute)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no deployment with this code"}}
MAX_IMPORT_BYTES = 10 * 1024 * 1024


def _save(session: Session, who: Principal, raw: dict[str, Any], action: str) -> tuple[Deployment, list[str]]:
    """Upsert the record; a write that changes nothing (the same values, a retired record retired) is not audited,
    as it is not versioned."""
    record = deployments.parse_record(raw)
    deployment, _, changed = deployments.upsert(session, record=record, actor=who.name)
    if changed:
        audit.record(session, principal=who.name, role=who.role.value, action=action, target=deployment.code,
                     detail={"fields": changed})
    return deployment, changed


def _record(session: Session, deployment: Deployment) -> dict[str, Any]:
    return deployments.to_record(deployment, deployments.slugs_by_id(session).get(deployment.district_id or 0))


@router.post("/deployments", response_model=DeploymentOut, status_code=201, summary="Add a deployment (staff)",
             responses={409: {"description": "the code is taken"}})
def create(session: WriteSession, who: Staff, body: DeploymentIn) -> dict[str, Any]:
    """Add a record; followers of its district hear of it through the bot."""
    code = deployments.normalize_code(body.code)
    if code and session.scalar(select(Deployment.id).where(Deployment.code == code)) is not None:
        raise Conflict(f"{code} exists; change it with PATCH /api/v1/deployments/{code}")
    deployment, _ = _save(session, who, body.model_dump(), "deployment.create")
    return _record(session, deployment)


def _patched(session: Session, code: str, changes: dict[str, Any]) -> dict[str, Any]:
    current = deployments.get_by_code(session, code=code)
    merged = {k: v for k, v in _record(session, current).items() if k != "updated_at"}
    moved = ("lat" in changes or "lon" in changes) and "district" not in changes
    if moved and current.district_id == deployments.locate_district(session, lat=current.lat, lon=current.lon):
        # Its district came from its point (as a district import decides it): it follows the point that moves.
        # A district that disagreed with the old point was set on purpose and stays.
        merged["district"] = None
    merged.update(changes)
    return merged


@router.patch("/deployments/{code}", response_model=DeploymentOut, responses=NOT_FOUND,
              summary="Change some fields of a deployment (staff)")
def update(session: WriteSession, who: Staff, code: str, body: DeploymentPatch) -> dict[str, Any]:
    """Only the fields given change; followers hear which ones."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("nothing to change")
    deployment, _ = _save(session, who, _patched(session, code, changes), "deployment.update")
    return _record(session, deployment)


@router.delete("/deployments/{code}", response_model=DeploymentOut, responses=NOT_FOUND,
               summary="Retire a deployment (staff); the record stays public as retired")
def retire(session: WriteSession, who: Staff, code: str) -> dict[str, Any]:
    """Retiring a retired record answers 200 with it unchanged, like a PATCH of the values it has."""
    deployment, _ = _save(session, who, _patched(session, code, {"status": DeploymentStatus.RETIRED.value}),
                          "deployment.retire")
    return _record(session, deployment)


@router.get("/deployments/{code}/versions", response_model=list[VersionOut], responses=NOT_FOUND,
            summary="A deployment's change history (staff)")
def history(session: ReadSession, _who: Staff, code: str) -> list[dict[str, Any]]:
    deployment = deployments.get_by_code(session, code=code)
    return [{"version": v.version, "changed_by": v.changed_by, "fields": v.fields, "created_at": v.created_at}
            for v in versions.history(session, deployment=deployment)]


def _import(session: Session, who: Principal, body: bytes, rows_of: Any) -> dict[str, Any]:
    if len(body) > MAX_IMPORT_BYTES:
        raise Invalid(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("the file is not UTF-8 text") from exc
    report = deployments.import_records(session, rows=rows_of(text), actor=who.name)
    audit.record(session, principal=who.name, role=who.role.value, action="deployment.import",
                 detail={"created": report.created, "updated": report.updated, "rejected": len(report.rejected)})
    return {"created": report.created, "updated": report.updated, "unchanged": report.unchanged,
            "rejected": [{"line": line, "code": code, "reason": reason} for line, code, reason in report.rejected]}


async def raw_body(request: Request) -> bytes:
    """The request body as sent: register files are parsed by core, not by FastAPI's JSON decoder."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _file_body(media_type: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {media_type: {"schema": {"type": "string"}}}}}


@router.post("/deployments.csv", response_model=ImportReportOut, summary="Import a CSV register file (staff)",
             openapi_extra=_file_body("text/csv"))
def import_csv(session: WriteSession, who: Staff, body: RawBody) -> dict[str, Any]:
    """Upsert by code as `civicpulse deployments import` does: good rows are written, bad rows reported."""
    return _import(session, who, body, exchange.read_csv)


@router.post("/deployments.geojson", response_model=ImportReportOut,
             summary="Import a GeoJSON register file (staff)", openapi_extra=_file_body("application/geo+json"))
def import_geojson(session: WriteSession, who: Staff, body: RawBody) -> dict[str, Any]:
    """Upsert by code from a FeatureCollection; bad features are reported by their position."""
    return _import(session, who, body, exchange.read_geojson)
