"""The campaign-lifecycle job's body: open and close campaigns on time, and write their notices to the outbox.

Data-driven and idempotent: each step finds due work in the database (a draft whose opens_at has come, an open
campaign without invitations yet, ...), does it and records it on the campaign; every outbox row carries a
dedupe_key and is inserted with ON CONFLICT DO NOTHING, so a repeated or concurrent run never writes one twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.campaigns.definition import close_campaign, open_campaign
from core.campaigns.results import headline
from core.campaigns.targeting import reached_residents
from core.models import Campaign, CampaignResponse, CampaignStatus, Outbox, OutboxStatus, Resident

INVITATION, REMINDER, RESULTS = "campaign_invitation", "campaign_reminder", "campaign_results"
_OUTBOX = cast(Table, Outbox.__table__)
_INSERTS = {
    "sqlite": sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(_OUTBOX.c.id),
    "postgresql": pg_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(_OUTBOX.c.id),
}


@dataclass
class LifecycleReport:
    """What one run did."""

    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    invitations: int = 0
    reminders: int = 0
    results_messages: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"opened": self.opened, "closed": self.closed, "invitations": self.invitations,
                "reminders": self.reminders, "results_messages": self.results_messages}


def _queue(session: Session, kind: str, campaign: Campaign, resident_ids: Sequence[int | None], payload: dict[str, Any],
           now: datetime) -> int:
    """Insert one queued row per resident, skipping any already written (dedupe_key); return how many were new."""
    if not resident_ids:
        return 0
    statement = _INSERTS[session.get_bind().dialect.name]
    rows = [{"resident_id": rid, "staff_chat_id": None, "kind": kind, "payload": payload,
             "status": OutboxStatus.QUEUED.value, "attempts": 0, "not_before": now, "created_at": now,
             "dedupe_key": f"{kind}:{campaign.id}:r{rid}"} for rid in resident_ids]
    written = 0
    for start in range(0, len(rows), 1000):
        written += len(session.execute(statement, rows[start:start + 1000]).all())
    return written


def about(campaign: Campaign, zone: ZoneInfo) -> dict[str, Any]:
    """The payload every campaign notice carries: code, title per language, local closing date."""
    closes_on = campaign.closes_at.astimezone(zone).date().isoformat() if campaign.closes_at else None
    return {"code": campaign.code, "title": dict(campaign.title), "closes_on": closes_on}


def _writable() -> list[Any]:
    return [Resident.active.is_(True), Resident.chat_id.is_not(None), Resident.consent_at.is_not(None)]


def lifecycle(session: Session, *, now: datetime, min_group_size: int, zone: ZoneInfo) -> LifecycleReport:
    """Open drafts whose opens_at has come, close open campaigns whose closes_at has, and write invitations
    (on opening), one halfway reminder (to residents who started and did not finish) and the results message
    (after closing, to participants, when results are public)."""
    report = LifecycleReport()
    due_open = session.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.DRAFT.value, Campaign.opens_at <= now,
        or_(Campaign.closes_at.is_(None), Campaign.closes_at > now)).order_by(Campaign.id))
    for campaign in list(due_open):
        open_campaign(session, campaign=campaign, now=now)
        report.opened.append(campaign.code)
    due_close = session.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.OPEN.value, Campaign.closes_at <= now).order_by(Campaign.id))
    for campaign in list(due_close):
        close_campaign(session, campaign=campaign, now=now)
        report.closed.append(campaign.code)

    for campaign in list(session.scalars(select(Campaign).where(
            Campaign.status == CampaignStatus.OPEN.value, Campaign.invitations_at.is_(None)).order_by(Campaign.id))):
        recipients = reached_residents(session, campaign=campaign, now=now)
        report.invitations += _queue(session, INVITATION, campaign, recipients, about(campaign, zone), now)
        campaign.invitations_at = now

    for campaign in list(session.scalars(select(Campaign).where(
            Campaign.status == CampaignStatus.OPEN.value, Campaign.reminders_at.is_(None),
            Campaign.closes_at.is_not(None), Campaign.opened_at.is_not(None)).order_by(Campaign.id))):
        assert campaign.closes_at is not None and campaign.opened_at is not None
        if now < campaign.opened_at + (campaign.closes_at - campaign.opened_at) / 2:
            continue
        # Started and not finished, and still wanting to hear from the bot (notifications on).
        unfinished = list(session.scalars(
            select(CampaignResponse.resident_id).join(Resident, Resident.id == CampaignResponse.resident_id)
            .where(CampaignResponse.campaign_id == campaign.id, CampaignResponse.completed_at.is_(None),
                   Resident.notifications.is_(True), *_writable()).order_by(CampaignResponse.resident_id)))
        report.reminders += _queue(session, REMINDER, campaign, unfinished, about(campaign, zone), now)
        campaign.reminders_at = now

    for campaign in list(session.scalars(select(Campaign).where(
            Campaign.status.in_((CampaignStatus.CLOSED.value, CampaignStatus.ARCHIVED.value)),
            Campaign.results_public.is_(True), Campaign.results_sent_at.is_(None)).order_by(Campaign.id))):
        # Every participant was told at the end that results would be shared: notifications aside.
        participants = list(session.scalars(
            select(CampaignResponse.resident_id).join(Resident, Resident.id == CampaignResponse.resident_id)
            .where(CampaignResponse.campaign_id == campaign.id, *_writable()).order_by(CampaignResponse.resident_id)))
        payload = {**about(campaign, zone), "headline": headline(session, campaign=campaign,
                                                                  min_group_size=min_group_size)}
        report.results_messages += _queue(session, RESULTS, campaign, participants, payload, now)
        campaign.results_sent_at = now
    session.flush()
    return report
