"""Request and response shapes of the organizer API (campaigns)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import BoundedDateTime, Clean
from core.campaigns.definition import (
    MAX_DESCRIPTION,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_QUESTION,
    MAX_QUESTIONS,
    MAX_RADIUS_M,
    MAX_TARGETS,
    MAX_TITLE,
)
from core.models import QuestionKind


class StrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TitleIn(StrictIn):
    en: Annotated[Clean, Field(min_length=1, max_length=MAX_TITLE)] | None = None
    es: Annotated[Clean, Field(min_length=1, max_length=MAX_TITLE)] | None = None


class DescriptionIn(StrictIn):
    en: Annotated[Clean, Field(max_length=MAX_DESCRIPTION)] | None = None
    es: Annotated[Clean, Field(max_length=MAX_DESCRIPTION)] | None = None


class QuestionTextIn(StrictIn):
    en: Annotated[Clean, Field(min_length=1, max_length=MAX_QUESTION)] | None = None
    es: Annotated[Clean, Field(min_length=1, max_length=MAX_QUESTION)] | None = None


class OptionIn(StrictIn):
    en: Annotated[Clean, Field(min_length=1, max_length=MAX_OPTION)] | None = None
    es: Annotated[Clean, Field(min_length=1, max_length=MAX_OPTION)] | None = None


class QuestionIn(StrictIn):
    kind: QuestionKind
    required: bool = False
    text: QuestionTextIn
    options: list[OptionIn] = Field(default_factory=list, max_length=MAX_OPTIONS,
                                    description="2 to 10 for single and multiple choice; none otherwise")


class RadiusIn(StrictIn):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    radius_m: int = Field(ge=1, le=MAX_RADIUS_M)


DeploymentCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z]{2,4}-\d{1,4}$")]
DistrictSlug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]


class TargetIn(StrictIn):
    deployments: list[DeploymentCode] = Field(default_factory=list, max_length=MAX_TARGETS)
    districts: list[DistrictSlug] = Field(default_factory=list, max_length=MAX_TARGETS)
    radius: RadiusIn | None = None


class CampaignIn(StrictIn):
    """A campaign: every text in the same languages (en, es or both); one or more kinds of target."""

    title: TitleIn
    description: DescriptionIn = Field(default_factory=DescriptionIn)
    questions: list[QuestionIn] = Field(min_length=1, max_length=MAX_QUESTIONS)
    target: TargetIn
    opens_at: BoundedDateTime | None = Field(default=None, description="a draft with opens_at opens by itself then")
    closes_at: BoundedDateTime | None = None
    results_public: bool = Field(default=False, description="publish suppressed results once closed")


class CampaignPatch(StrictIn):
    """Fields to replace while the campaign is a draft (each replaces the stored one whole)."""

    title: TitleIn | None = None
    description: DescriptionIn | None = None
    questions: list[QuestionIn] | None = Field(default=None, min_length=1, max_length=MAX_QUESTIONS)
    target: TargetIn | None = None
    opens_at: BoundedDateTime | None = None
    closes_at: BoundedDateTime | None = None
    results_public: bool | None = None


class QuestionOut(BaseModel):
    kind: str
    required: bool
    text: dict[str, str]
    options: list[dict[str, str]]


class RadiusOut(BaseModel):
    lat: float
    lon: float
    radius_m: int


class TargetOut(BaseModel):
    deployments: list[str]
    districts: list[str]
    radius: RadiusOut | None


class CampaignOut(BaseModel):
    id: int
    code: str = Field(description="public and unguessable; the bot's deep link is ?start=c_<code>")
    start_payload: str = Field(examples=["c_Ab3dEf7hJk"])
    owner: str
    status: str = Field(examples=["draft"])
    languages: list[str]
    title: dict[str, str]
    description: dict[str, str]
    questions: list[QuestionOut]
    target: TargetOut
    opens_at: datetime | None
    closes_at: datetime | None
    results_public: bool
    created_at: datetime
    updated_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    archived_at: datetime | None


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    next_cursor: str | None


class EstimateOut(BaseModel):
    residents: int = Field(description="residents an invitation would reach if it opened now")
    min_group_size: int
    enough_to_publish: bool = Field(description="whether the reach is at least min_group_size")


class PreviewQuestionOut(BaseModel):
    index: int
    number: int
    total: int
    kind: str
    required: bool
    header: str
    text: str
    options: list[str]
    hint: str


class PreviewLanguageOut(BaseModel):
    title: str
    description: str
    invitation: str = Field(description="the invitation message residents get when it opens")
    questions: list[PreviewQuestionOut]


class TryInBotOut(BaseModel):
    payload: str = Field(description="deep-link payload that opens the draft in the bot for trying it; answers "
                                     "given through it are dropped when the campaign opens")
    link: str | None = Field(description="t.me link with the payload (null until CIVICPULSE_BOT_USERNAME is set)")


class PreviewOut(BaseModel):
    languages: dict[str, PreviewLanguageOut]
    try_in_bot: TryInBotOut | None = Field(default=None, description="only while the campaign is a draft")


class OptionCountOut(BaseModel):
    index: int
    text: dict[str, str]
    count: int | None = Field(description="null when suppressed (public results)")
    share: float | None = Field(description="of all respondents")


class ScaleCountOut(BaseModel):
    value: int
    count: int | None


class CategoryCountOut(BaseModel):
    category: str
    count: int | None


class PhraseOut(BaseModel):
    phrase: str
    count: int


class TextAnswerOut(BaseModel):
    text: str
    language: str | None
    polarity: float | None
    subjectivity: float | None
    label: str | None
    category: str | None
    key_phrases: list[str]
    flags: list[str]


class QuestionResultOut(BaseModel):
    index: int
    kind: str
    required: bool
    text: dict[str, str]
    answered: int | None = Field(description="null in public results (a total could reveal a hidden cell)")
    skipped: int | None
    no_answer: int | None = Field(description="respondents without an answer to it (skipped or not reached)")
    options: list[OptionCountOut] | None = None
    distribution: list[ScaleCountOut] | None = None
    n: int | None = Field(default=None, description="scale: answers the figures are computed from")
    mean: float | None = None
    std_dev: float | None = Field(default=None, description="population standard deviation")
    median: float | None = Field(default=None, description="the lower median")
    labels: dict[str, int | None] | None = None
    categories: list[CategoryCountOut] | None = None
    share_negative: float | None = None
    mean_polarity: float | None = None
    key_phrases: list[PhraseOut] | None = None
    answers: list[TextAnswerOut] | None = Field(default=None, description="the newest 200 (full results only)")


class DistrictResultOut(BaseModel):
    district: str | None
    responses: int | None
    completed: int | None


class ResultsOut(BaseModel):
    code: str
    status: str
    published: bool = Field(description="false when there are too few responses to publish anything")
    responses: int | None
    completed: int | None
    completion_rate: float | None
    questions: list[QuestionResultOut]
    districts: list[DistrictResultOut]
    suppressed: int = Field(description="cells hidden (public results); 0 in full results")
