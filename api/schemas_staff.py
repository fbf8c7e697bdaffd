"""Request and response shapes of the staff API (concerns, keys, audit, statistics)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Clean as CleanText
from core.models import Category, ConcernStatus, Role


class StrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConcernOut(BaseModel):
    reference: str = Field(examples=["C-7K2Q9"])
    kind: str
    category: str
    suggested_category: str | None
    text: str = Field(description="redacted at intake; empty once erased or past retention")
    language: str | None
    feeling: int | None
    polarity: float | None
    subjectivity: float | None
    label: str | None
    key_phrases: list[str]
    flags: list[str]
    status: str
    deployment: str | None
    district: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    first_reply_at: datetime | None
    satisfied: bool | None


class ConcernPage(BaseModel):
    items: list[ConcernOut]
    next_cursor: str | None


class EventOut(BaseModel):
    reference: str = Field(description="the concern it happened to (a merged concern's history shows here too)")
    kind: str
    from_value: str | None
    to_value: str | None
    reason: str | None
    actor: str | None
    created_at: datetime


class ReplyOut(BaseModel):
    id: int
    text: str
    language: str | None
    author: str
    created_at: datetime
    delivery: str = Field(description="queued, sending, delivered or failed; 'not_deliverable' when the "
                                      "resident can no longer be reached (no chat, erased or blocked)")


class ConcernDetailOut(ConcernOut):
    history: list[EventOut]
    replies: list[ReplyOut]
    merged: list[str] = Field(description="references of concerns merged into this one")


class MergeIn(StrictIn):
    reference: str = Field(min_length=3, max_length=16, pattern=r"^[Cc]-[0-9A-Za-z]{4,8}$",
                           description="the other concern; the older of the two survives")


class MergeOut(BaseModel):
    survivor: ConcernDetailOut
    duplicate: str


class StatusIn(StrictIn):
    status: ConcernStatus
    reason: Annotated[CleanText, Field(max_length=2000)] | None = Field(default=None,
                                     description="required for not_responsible: who is responsible")


class CategoryIn(StrictIn):
    category: Category


class ReplyIn(StrictIn):
    text: CleanText = Field(min_length=1, max_length=3500)
    language: Annotated[str, Field(pattern=r"^(en|es)$")] | None = None


class ApiKeyIn(StrictIn):
    role: Role
    name: CleanText = Field(min_length=1, max_length=200)


class ApiKeyOut(BaseModel):
    id: int
    principal: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the secret, shown this once")


class AuditOut(BaseModel):
    id: int
    principal: str
    role: str
    action: str
    target: str | None
    detail: dict[str, Any]
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


class GroupOut(BaseModel):
    key: dict[str, str | None]
    count: int
    mean_polarity: float | None
    share_negative: float | None = Field(description="share of labelled concerns that are negative; null in the "
                                         "public figures (it would count a group crossed with the label)")
    mean_feeling: float | None


class StatsOut(BaseModel):
    groups: list[GroupOut]
    suppressed: int = Field(description="groups left out because they are smaller than the threshold")


class TrendPointOut(BaseModel):
    week: str = Field(examples=["2026-W47"])
    count: int | None = Field(description="null when the public figures hide the week's group (too small); "
                                          "0 when it had no concerns")
    change: float | None = Field(description="relative change from the previous week; null after a week of 0 "
                                             "or a hidden one")
    mean_polarity: float | None
    share_negative: float | None = Field(description="null in the public figures")


class SeriesOut(BaseModel):
    key: dict[str, str | None]
    points: list[TrendPointOut]


class TrendsOut(BaseModel):
    series: list[SeriesOut]
    suppressed: int


class AnnouncementIn(StrictIn):
    deployment: Annotated[str, Field(max_length=32, examples=["AV-001"])] | None = None
    district: Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9_-]+$")] | None = None
    text: CleanText = Field(min_length=1, max_length=3500)
    language: Annotated[str, Field(pattern=r"^(en|es)$")] | None = Field(default=None,
                                 description="the text's language; residents get it framed in their own")


class AnnouncementOut(BaseModel):
    recipients: int = Field(description="followers it was queued for (once each)")
