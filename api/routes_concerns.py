"""Concerns for staff: list, detail, status, category, replies. Organizers and the public never read them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Staff
from api.deps import DatabaseDep, ReadSession, WriteSession
from api.errors import StrictJSONRoute
from api.schemas import RANGE, FromDate, ToDate
from api.schemas_staff import (
    CategoryIn,
    ConcernDetailOut,
    ConcernPage,
    MergeIn,
    MergeOut,
    ReplyIn,
    ReplyOut,
    StatusIn,
)
from core import audit, exports, triage
from core.db import Database
from core.deployments import normalize_code
from core.i18n import t
from core.models import Category, Concern, ConcernStatus, Deployment, District, Label
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/api/v1", tags=["concerns"], route_class=StrictJSONRoute)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no concern with this reference"}}


def _names(session: Session, concerns: list[Concern]) -> tuple[dict[int, str], dict[int, str]]:
    deployment_ids = {c.deployment_id for c in concerns if c.deployment_id}
    district_ids = {c.district_id for c in concerns if c.district_id}
    codes: dict[int, str] = {}
    slugs: dict[int, str] = {}
    if deployment_ids:
        codes = dict(session.execute(select(Deployment.id, Deployment.code)
                                     .where(Deployment.id.in_(deployment_ids))).all())
    if district_ids:
        slugs = dict(session.execute(select(District.id, District.slug)
                                     .where(District.id.in_(district_ids))).all())
    return codes, slugs


def _out(concern: Concern, code: str | None, slug: str | None) -> dict[str, Any]:
    return {
        "reference": concern.reference, "kind": concern.kind, "category": concern.category,
        "suggested_category": concern.suggested_category, "text": concern.text, "language": concern.language,
        "feeling": concern.feeling,
        "polarity": None if concern.polarity is None else round(concern.polarity, 4),
        "subjectivity": None if concern.subjectivity is None else round(concern.subjectivity, 4),
        "label": concern.label, "key_phrases": concern.key_phrases, "flags": concern.flags,
        "status": concern.status, "deployment": code, "district": slug, "created_at": concern.created_at,
        "updated_at": concern.updated_at, "closed_at": concern.closed_at, "first_reply_at": concern.first_reply_at,
        "satisfied": concern.satisfied,
    }


def _detail(session: Session, concern: Concern) -> dict[str, Any]:
    found = triage.detail(session, concern=concern)
    return {
        **_out(concern, found.deployment_code, found.district_slug),
        "history": [{"reference": ref, "kind": e.kind, "from_value": e.from_value, "to_value": e.to_value,
                     "reason": e.reason, "actor": e.actor, "created_at": e.created_at} for ref, e in found.history],
        "merged": found.merged,
        "replies": [{"id": r.id, "text": r.text, "language": r.language, "author": r.author,
                     "created_at": r.created_at, "delivery": delivery or "not_deliverable"}
                    for r, delivery in found.replies],
    }


Code = Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z]{2,4}-?\d{1,4}$")]
Slug = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]
Polarity = Annotated[float | None, Query(ge=-1, le=1, allow_inf_nan=False)]


def concern_filters(
    deployment: Code = None,
    category: Category | None = None,
    district: Slug = None,
    status: ConcernStatus | None = None,
    label: Label | None = None,
    polarity_min: Polarity = None,
    polarity_max: Polarity = None,
    language: Annotated[str | None, Query(pattern=r"^(en|es)$")] = None,
    from_: Annotated[FromDate | None, Query(alias="from", description=f"a local date {RANGE}")] = None,
    to: Annotated[ToDate | None, Query(description=f"a local date {RANGE}")] = None,
    has_reply: bool | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="words in the text")] = None,
    sort: Annotated[str, Query(pattern=r"^(newest|oldest)$")] = "newest",
) -> triage.ConcernFilters:
    """The filters shared by the list and the exports."""
    return triage.ConcernFilters(
        deployment=normalize_code(deployment) if deployment else None, category=category, district=district,
        status=status, label=label, polarity_min=polarity_min, polarity_max=polarity_max, language=language,
        start=from_, end=to, has_reply=has_reply, text=q, oldest_first=sort == "oldest")


Filters = Annotated[triage.ConcernFilters, Depends(concern_filters)]


@router.get("/concerns", response_model=ConcernPage, summary="List concerns (staff)")
def list_concerns(
    session: ReadSession,
    _who: Staff,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> dict[str, Any]:
    """Concerns matching every given filter, newest first unless sort=oldest."""
    page = triage.list_for_staff(session, filters=filters, limit=limit, cursor=cursor)
    codes, slugs = _names(session, page.items)
    return {"items": [_out(c, codes.get(c.deployment_id or 0), slugs.get(c.district_id or 0)) for c in page.items],
            "next_cursor": page.next_cursor}


def _streamed(database: Database, produce: Callable[..., Iterator[str]], filters: triage.ConcernFilters
              ) -> Iterator[str]:
    # The export opens its own read transaction inside the generator: the request's session is gone by the
    # time the body streams (STYLE §2).
    with database.reading() as session:
        yield from produce(session, filters=filters)


@router.get("/concerns.csv", summary="Export concerns as CSV (staff), streamed", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(database: DatabaseDep, _who: Staff, filters: Filters) -> StreamingResponse:
    """Every concern matching the filters, oldest first; list fields ';'-separated."""
    triage.filtered_query(filters)  # validates the filters before the 200 is sent
    return StreamingResponse(_streamed(database, exports.concerns_csv, filters), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="concerns.csv"'})


@router.get("/concerns.geojson", summary="Export located concerns as GeoJSON (staff), streamed",
            response_class=StreamingResponse, responses={200: {"content": {"application/geo+json": {}}}})
def export_geojson(database: DatabaseDep, _who: Staff, filters: Filters) -> StreamingResponse:
    """Concerns at their shared location, else at their deployment; concerns with neither are left out."""
    triage.filtered_query(filters)
    return StreamingResponse(_streamed(database, exports.concerns_geojson, filters),
                             media_type="application/geo+json")


@router.get("/concerns/{reference}", response_model=ConcernDetailOut, responses=NOT_FOUND,
            summary="One concern with its history and replies (staff)")
def get_concern(session: ReadSession, _who: Staff, reference: str) -> dict[str, Any]:
    return _detail(session, triage.get_by_reference(session, reference=reference))


@router.post("/concerns/{reference}/status", response_model=ConcernDetailOut, responses=NOT_FOUND,
             summary="Change a concern's status (staff)")
def change_status(session: WriteSession, who: Staff, reference: str, body: StatusIn) -> dict[str, Any]:
    concern = triage.get_by_reference(session, reference=reference)
    event = triage.change_status(session, concern=concern, status=body.status, actor=who.name, reason=body.reason)
    audit.record(session, principal=who.name, role=who.role.value, action="concern.status", target=concern.reference,
                 detail={"from": event.from_value, "to": event.to_value})
    return _detail(session, concern)


@router.post("/concerns/{reference}/category", response_model=ConcernDetailOut, responses=NOT_FOUND,
             summary="Correct a concern's category (staff); the suggested one is kept")
def correct_category(session: WriteSession, who: Staff, reference: str, body: CategoryIn) -> dict[str, Any]:
    concern = triage.get_by_reference(session, reference=reference)
    event = triage.correct_category(session, concern=concern, category=body.category, actor=who.name)
    audit.record(session, principal=who.name, role=who.role.value, action="concern.category",
                 target=concern.reference, detail={"from": event.from_value, "to": event.to_value})
    return _detail(session, concern)


@router.post("/concerns/{reference}/replies", response_model=ReplyOut, status_code=201, responses=NOT_FOUND,
             summary="Reply to the resident (staff); delivered through the bot's outbox")
def reply(session: WriteSession, who: Staff, reference: str, body: ReplyIn) -> dict[str, Any]:
    concern = triage.get_by_reference(session, reference=reference)
    staff_reply = triage.reply(session, concern=concern, text=body.text, author=who.name, language=body.language)
    audit.record(session, principal=who.name, role=who.role.value, action="concern.reply", target=concern.reference,
                 detail={"reply_id": staff_reply.id, "queued": staff_reply.outbox_id is not None})
    return {"id": staff_reply.id, "text": staff_reply.text, "language": staff_reply.language,
            "author": staff_reply.author, "created_at": staff_reply.created_at,
            "delivery": "queued" if staff_reply.outbox_id is not None else "not_deliverable"}


@router.post("/concerns/{reference}/merge", response_model=MergeOut, responses=NOT_FOUND,
             summary="Merge two concerns (staff): the older survives with both histories")
def merge(session: WriteSession, who: Staff, reference: str, body: MergeIn) -> dict[str, Any]:
    """The newer one becomes a duplicate of the older; both residents are told through the bot."""
    first = triage.get_by_reference(session, reference=reference)
    second = triage.get_by_reference(session, reference=body.reference)
    survivor, duplicate = triage.merge(session, first=first, second=second, actor=who.name)
    audit.record(session, principal=who.name, role=who.role.value, action="concern.merge", target=survivor.reference,
                 detail={"duplicate": duplicate.reference})
    return {"survivor": _detail(session, survivor), "duplicate": duplicate.reference}


@router.get("/reply-templates", summary="Reply templates per status (staff), from prompts/")
def reply_templates(_who: Staff, language: Annotated[str, Query(pattern=r"^(en|es)$")] = "en",
                    reference: Annotated[str, Query(max_length=16)] = "{reference}") -> dict[str, str]:
    """The text staff start a reply from, for each status that is announced to the resident."""
    return {status.value: t(language, f"reply-template-{status.value}", reference=reference)
            for status in ConcernStatus if status is not ConcernStatus.NEW}
