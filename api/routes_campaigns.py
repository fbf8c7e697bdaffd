"""Campaigns for organizers: create, edit while draft, preview, estimate, open, close, archive, results, CSV.

Organizers see only their own campaigns (another's answers 404, so ids do not leak); staff and admins see every
campaign and may close any. Published results are public, suppressed below CIVICPULSE_MIN_GROUP_SIZE.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.auth import OptionalPrincipal, Principal, require
from api.deps import DatabaseDep, ReadSession, SettingsDep, WriteSession
from api.errors import StrictJSONRoute
from api.schemas_campaigns import (
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    EstimateOut,
    PreviewOut,
    ResultsOut,
)
from core import audit, campaigns
from core.db import Database
from core.models import Campaign, CampaignStatus, Role, utcnow
from core.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/api/v1", tags=["campaigns"], route_class=StrictJSONRoute)
Organizer = Annotated[Principal, Depends(require(Role.ORGANIZER, Role.STAFF, Role.ADMIN))]
CampaignId = Annotated[int, Path(ge=1, le=2_147_483_647)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such campaign (or not yours)"}}


def _sees_all(who: Principal) -> bool:
    return who.role in (Role.STAFF, Role.ADMIN)


def _visible(session: Session, who: Principal, campaign_id: int) -> Campaign:
    """The campaign if the caller may see it: an organizer's own, any for staff and admins; else 404."""
    return campaigns.get(session, campaign_id=campaign_id, owner=None if _sees_all(who) else who.name)


def _owned(session: Session, who: Principal, campaign_id: int) -> Campaign:
    """The campaign if the caller owns it (edit, open, archive); staff and admins get 403 on another's."""
    campaign = _visible(session, who, campaign_id)
    if campaign.owner != who.name:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the campaign's owner may do this")
    return campaign


def _out(campaign: Campaign) -> dict[str, Any]:
    return {"id": campaign.id, "code": campaign.code, "start_payload": f"c_{campaign.code}", "owner": campaign.owner,
            "status": campaign.status, "languages": list(campaign.languages), **campaigns.spec_of(campaign),
            "created_at": campaign.created_at, "updated_at": campaign.updated_at, "opened_at": campaign.opened_at,
            "closed_at": campaign.closed_at, "archived_at": campaign.archived_at}


def _given(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _given(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_given(v) for v in value]
    return value


def _record(session: Session, who: Principal, action: str, campaign: Campaign, **detail: Any) -> None:
    audit.record(session, principal=who.name, role=who.role.value, action=f"campaign.{action}",
                 target=campaign.code, detail={"id": campaign.id, **detail})


@router.post("/campaigns", response_model=CampaignOut, status_code=201, summary="Create a draft campaign")
def create_campaign(session: WriteSession, who: Organizer, body: CampaignIn) -> dict[str, Any]:
    """The campaign belongs to the key's principal (reissuing a key orphans nothing)."""
    spec = campaigns.parse_spec(body.model_dump(exclude_none=True))
    campaign = campaigns.create(session, owner=who.name, spec=spec, now=utcnow())
    _record(session, who, "create", campaign)
    return _out(campaign)


@router.get("/campaigns", response_model=CampaignPage, summary="List campaigns (organizers: their own)")
def list_campaigns(
    session: ReadSession,
    who: Organizer,
    status_: Annotated[CampaignStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> dict[str, Any]:
    """Newest first; staff and admins see everyone's."""
    page = campaigns.list_for(session, owner=None if _sees_all(who) else who.name, status=status_, limit=limit,
                              cursor=cursor)
    return {"items": [_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, responses=NOT_FOUND, summary="One campaign")
def get_campaign(session: ReadSession, who: Organizer, campaign_id: CampaignId) -> dict[str, Any]:
    return _out(_visible(session, who, campaign_id))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut, responses=NOT_FOUND,
              summary="Edit a draft campaign (owner)")
def edit_campaign(session: WriteSession, who: Organizer, campaign_id: CampaignId, body: CampaignPatch
                  ) -> dict[str, Any]:
    """Each given field replaces the stored one whole; refused (409) once the campaign has opened. Values equal to
    the stored ones change nothing (200, nothing written to the audit log)."""
    campaign = _owned(session, who, campaign_id)
    # null clears opens_at or closes_at; elsewhere (a language left out, no radius) it means "not given".
    changes = {name: value if name in ("opens_at", "closes_at") else _given(value)
               for name, value in body.model_dump(exclude_unset=True).items()
               if value is not None or name in ("opens_at", "closes_at")}
    changed = campaigns.edit(session, campaign=campaign, changes=changes, now=utcnow())
    if changed:
        _record(session, who, "edit", campaign, fields=changed)
    return _out(campaign)


@router.get("/campaigns/{campaign_id}/preview", response_model=PreviewOut, responses=NOT_FOUND,
            summary="See the invitation and the questions as residents will")
def preview_campaign(session: ReadSession, settings: SettingsDep, who: Organizer, campaign_id: CampaignId
                     ) -> dict[str, Any]:
    campaign = _visible(session, who, campaign_id)
    shown = campaigns.preview(campaign, zone=settings.zone)
    if campaign.status == CampaignStatus.DRAFT:
        payload = campaigns.preview_payload(settings.secret_bytes(), campaign.code)
        username = (settings.bot_username or "").lstrip("@")
        shown["try_in_bot"] = {"payload": payload,
                               "link": f"https://t.me/{username}?start={payload}" if username else None}
    return shown


@router.get("/campaigns/{campaign_id}/estimate", response_model=EstimateOut, responses=NOT_FOUND,
            summary="How many residents an invitation would reach now")
def estimate(session: ReadSession, settings: SettingsDep, who: Organizer, campaign_id: CampaignId
             ) -> dict[str, Any]:
    """Residents who consented, switched notifications on, and follow a targeted deployment or district (or a
    deployment in the target area) or kept a location inside it."""
    reach = campaigns.estimate_reach(session, campaign=_visible(session, who, campaign_id), now=utcnow())
    return {"residents": reach, "min_group_size": settings.min_group_size,
            "enough_to_publish": reach >= settings.min_group_size}


@router.post("/campaigns/{campaign_id}/open", response_model=CampaignOut, responses=NOT_FOUND,
             summary="Open a draft now (owner); invitations follow from the campaign-lifecycle job")
def open_campaign(session: WriteSession, who: Organizer, campaign_id: CampaignId) -> dict[str, Any]:
    campaign = campaigns.open_campaign(session, campaign=_owned(session, who, campaign_id), now=utcnow())
    _record(session, who, "open", campaign)
    return _out(campaign)


@router.post("/campaigns/{campaign_id}/close", response_model=CampaignOut, responses=NOT_FOUND,
             summary="Close an open campaign now (owner; staff and admins: any)")
def close_campaign(session: WriteSession, who: Organizer, campaign_id: CampaignId) -> dict[str, Any]:
    campaign = campaigns.close_campaign(session, campaign=_visible(session, who, campaign_id), now=utcnow())
    _record(session, who, "close", campaign)
    return _out(campaign)


@router.post("/campaigns/{campaign_id}/archive", response_model=CampaignOut, responses=NOT_FOUND,
             summary="Archive a closed campaign (owner)")
def archive_campaign(session: WriteSession, who: Organizer, campaign_id: CampaignId) -> dict[str, Any]:
    campaign = campaigns.archive_campaign(session, campaign=_owned(session, who, campaign_id), now=utcnow())
    _record(session, who, "archive", campaign)
    return _out(campaign)


@router.get("/campaigns/{campaign_id}/results", response_model=ResultsOut, responses=NOT_FOUND,
            summary="Results: full for the owner, staff and admins; published and suppressed for everyone else")
def results(session: ReadSession, settings: SettingsDep, who: OptionalPrincipal, campaign_id: CampaignId
            ) -> dict[str, Any]:
    """Everyone else sees results only once the campaign is closed and its owner made them public: any option or
    group below CIVICPULSE_MIN_GROUP_SIZE is hidden, with enough others that no total reveals it."""
    campaign = campaigns.get(session, campaign_id=campaign_id, owner=None)
    if who is not None and (_sees_all(who) or campaign.owner == who.name):
        return campaigns.results(session, campaign=campaign)
    return campaigns.public_results(session, campaign=campaign, min_group_size=settings.min_group_size)


def _streamed(database: Database, campaign_id: int) -> Iterator[str]:
    # The export opens its own read transaction inside the generator (STYLE §2).
    with database.reading() as session:
        yield from campaigns.responses_csv(session, campaign=campaigns.get(session, campaign_id=campaign_id,
                                                                           owner=None))


@router.get("/campaigns/{campaign_id}/responses.csv", summary="Anonymised responses as CSV (owner, staff, admin)",
            response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}, **NOT_FOUND})
def responses_csv(database: DatabaseDep, session: ReadSession, who: Organizer, campaign_id: CampaignId
                  ) -> StreamingResponse:
    """One row per respondent, numbered in a random order drawn for each export; no resident id or pseudonym."""
    campaign = _visible(session, who, campaign_id)
    return StreamingResponse(_streamed(database, campaign.id), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.code}.csv"'})
