"""Campaign definitions: the validated spec, codes, owners, and the draft → open → closed → archived lifecycle."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import DomainError, Invalid, InvalidTransition, NotFound
from core.models import Campaign, CampaignResponse, CampaignStatus, Deployment, District, QuestionKind
from core.pagination import Page, newest_first
from core.timeutil import in_range, range_reason

LANGUAGES = ("en", "es")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (0/O, 1/l/I)
CODE_LENGTH = 10  # ~57 bits: unguessable, and `c_<code>` fits a Telegram deep link (64 of A-Za-z0-9_-)
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_QUESTION = 500
MAX_OPTION = 60  # an option is an inline button label
MAX_QUESTIONS = 20
MIN_OPTIONS, MAX_OPTIONS = 2, 10  # multiple choice keeps the chosen options as bits of one integer
MAX_TARGETS = 50
MAX_RADIUS_M = 50_000
SCALE = (1, 5)
EDITABLE = ("title", "description", "questions", "target", "opens_at", "closes_at", "results_public")


class NeedsConsent(Invalid):
    """Answering a campaign needs the resident's consent (DESIGN.md, Bot)."""

    code = "needs_consent"


class CampaignClosed(DomainError):
    """The campaign exists but takes no answers (closed or archived, or its closing time has passed)."""

    code = "campaign_closed"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Texts = dict[str, str]


def _texts(value: Texts, limit: int, what: str, *, required: bool = True) -> Texts:
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"{what}: unknown language {', '.join(unknown)}; use {', '.join(LANGUAGES)}")
    for language, text in value.items():
        if "\x00" in text:
            raise ValueError(f"{what}: NUL characters are not accepted")
        if required and not text:
            raise ValueError(f"{what} ({language}) is empty")
        if len(text) > limit:
            raise ValueError(f"{what} ({language}) is longer than {limit} characters")
    return {language: value[language] for language in LANGUAGES if language in value}


class QuestionSpec(_Strict):
    kind: QuestionKind
    required: bool = False
    text: Texts
    options: list[Texts] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shape(self) -> QuestionSpec:
        self.text = _texts(self.text, MAX_QUESTION, "question")
        choice = self.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
        if choice and not MIN_OPTIONS <= len(self.options) <= MAX_OPTIONS:
            raise ValueError(f"a {self.kind.value} question needs {MIN_OPTIONS} to {MAX_OPTIONS} options")
        if not choice and self.options:
            raise ValueError(f"a {self.kind.value} question has no options")
        self.options = [_texts(o, MAX_OPTION, "option") for o in self.options]
        for language in LANGUAGES:
            seen: set[str] = set()
            for option in self.options:
                text = option.get(language)
                if text is not None and text.casefold() in seen:
                    raise ValueError(f"option {text!r} ({language}) is given twice; each option needs its own text")
                if text is not None:
                    seen.add(text.casefold())
        return self


class RadiusSpec(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: int = Field(ge=1, le=MAX_RADIUS_M)

    @field_validator("lat", "lon")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("coordinates must be finite numbers")
        return value


class TargetSpec(_Strict):
    deployments: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)
    districts: list[str] = Field(default_factory=list, max_length=MAX_TARGETS)
    radius: RadiusSpec | None = None

    @model_validator(mode="after")
    def _something(self) -> TargetSpec:
        if not self.deployments and not self.districts and self.radius is None:
            raise ValueError("target needs deployments, districts or a radius (one or more of them)")
        self.deployments = list(dict.fromkeys(self.deployments))
        self.districts = list(dict.fromkeys(self.districts))
        return self


class CampaignSpec(_Strict):
    """What an organizer writes: every text in the same languages (en, es or both)."""

    title: Texts
    description: Texts = Field(default_factory=dict)
    questions: list[QuestionSpec] = Field(min_length=1, max_length=MAX_QUESTIONS)
    target: TargetSpec
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    results_public: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSpec:
        self.title = _texts(self.title, MAX_TITLE, "title")
        if not self.title:
            raise ValueError("title needs at least one language")
        self.description = _texts(self.description, MAX_DESCRIPTION, "description", required=False)
        languages = set(self.title)
        if self.description and set(self.description) != languages:
            raise ValueError("description must be given in the same languages as the title")
        for number, question in enumerate(self.questions, 1):
            if set(question.text) != languages or any(set(o) != languages for o in question.options):
                raise ValueError(f"question {number}: give every text in the title's languages "
                                 f"({', '.join(sorted(languages))})")
        for name in ("opens_at", "closes_at"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} needs a UTC offset")
            if moment is not None and not in_range(moment):
                raise ValueError(range_reason(name))
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self

    @property
    def languages(self) -> list[str]:
        return list(self.title)


def parse_spec(raw: Mapping[str, Any]) -> CampaignSpec:
    """Validate a campaign definition, or raise Invalid with every reason."""
    try:
        return CampaignSpec.model_validate(dict(raw))
    except ValidationError as exc:
        reasons = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            reasons.append(f"{where}: {message}" if where else message)
        raise Invalid("; ".join(reasons)) from None


def spec_of(campaign: Campaign) -> dict[str, Any]:
    """The campaign's definition as the plain document an organizer writes (and PATCH merges into)."""
    radius = None
    if campaign.target_radius_m is not None:
        radius = {"lat": campaign.target_lat, "lon": campaign.target_lon, "radius_m": campaign.target_radius_m}
    return {
        "title": dict(campaign.title), "description": dict(campaign.description),
        "questions": [dict(q) for q in campaign.questions],
        "target": {"deployments": list(campaign.target_deployments), "districts": list(campaign.target_districts),
                   "radius": radius},
        "opens_at": campaign.opens_at, "closes_at": campaign.closes_at, "results_public": campaign.results_public,
    }


def _check_targets(session: Session, target: TargetSpec) -> None:
    if target.deployments:
        known = set(session.scalars(select(Deployment.code).where(Deployment.code.in_(target.deployments))))
        missing = [c for c in target.deployments if c not in known]
        if missing:
            raise Invalid(f"target.deployments: unknown deployment {', '.join(missing)}")
    if target.districts:
        known = set(session.scalars(select(District.slug).where(District.slug.in_(target.districts))))
        missing = [s for s in target.districts if s not in known]
        if missing:
            raise Invalid(f"target.districts: unknown district {', '.join(missing)}")


def _apply(campaign: Campaign, spec: CampaignSpec) -> None:
    campaign.languages = spec.languages
    campaign.title = spec.title
    campaign.description = spec.description
    campaign.questions = [q.model_dump(mode="json") for q in spec.questions]
    campaign.target_deployments = spec.target.deployments
    campaign.target_districts = spec.target.districts
    radius = spec.target.radius
    campaign.target_lat = radius.lat if radius else None
    campaign.target_lon = radius.lon if radius else None
    campaign.target_radius_m = radius.radius_m if radius else None
    # Stored and answered in UTC, whatever offset was sent, so a write answers what a later read does.
    campaign.opens_at = spec.opens_at.astimezone(UTC) if spec.opens_at else None
    campaign.closes_at = spec.closes_at.astimezone(UTC) if spec.closes_at else None
    campaign.results_public = spec.results_public


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _check_times(spec: CampaignSpec, now: datetime) -> None:
    # A draft that could never open (open_campaign refuses it) is refused when it is written.
    if spec.closes_at is not None and spec.closes_at <= now:
        raise Invalid("closes_at: the time has passed; a campaign closes in the future")


def create(session: Session, *, owner: str, spec: CampaignSpec, now: datetime) -> Campaign:
    """Store a new draft campaign owned by the principal, with a fresh public code."""
    _check_times(spec, now)
    _check_targets(session, spec.target)
    for _ in range(20):
        code = new_code()
        if session.scalar(select(Campaign.id).where(Campaign.code == code)) is None:
            break
    else:
        raise RuntimeError("could not draw an unused campaign code")
    campaign = Campaign(code=code, owner=owner, status=CampaignStatus.DRAFT.value, created_at=now, updated_at=now)
    _apply(campaign, spec)
    session.add(campaign)
    session.flush()
    return campaign


def edit(session: Session, *, campaign: Campaign, changes: Mapping[str, Any], now: datetime) -> list[str]:
    """Change a draft: the given top-level fields replace the stored ones, and the whole is validated again.

    Return the fields whose values changed; none (the same values again) writes nothing.
    """
    if campaign.status != CampaignStatus.DRAFT:
        raise InvalidTransition(f"only a draft can be edited; this campaign is {campaign.status}")
    if not changes:
        raise Invalid("nothing to change")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid(f"cannot edit {', '.join(unknown)}")
    before = spec_of(campaign)
    spec = parse_spec({**before, **changes})
    _check_times(spec, now)
    _check_targets(session, spec.target)
    _apply(campaign, spec)
    after = spec_of(campaign)
    changed = [name for name in EDITABLE if after[name] != before[name]]
    if changed:
        campaign.updated_at = now
    session.flush()
    return changed


def get(session: Session, *, campaign_id: int, owner: str | None) -> Campaign:
    """The campaign with this id; owner None sees every campaign, otherwise another owner's is NotFound."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or (owner is not None and campaign.owner != owner):
        raise NotFound("no such campaign")
    return campaign


def get_by_code(session: Session, *, code: str) -> Campaign:
    campaign = session.scalar(select(Campaign).where(Campaign.code == code)) if CODE_RE.match(code) else None
    if campaign is None:
        raise NotFound("no such campaign")
    return campaign


def list_for(session: Session, *, owner: str | None, status: CampaignStatus | None = None, limit: int = 50,
             cursor: str | None = None) -> Page[Campaign]:
    """Campaigns newest first (owner None: everyone's), a page at a time."""
    query = select(Campaign)
    if owner is not None:
        query = query.where(Campaign.owner == owner)
    if status is not None:
        query = query.where(Campaign.status == status.value)
    return newest_first(session, query, Campaign.id, limit=limit, cursor=cursor)


# Each move: the status it needs, the timestamp it sets, and what the refusal says.
_MOVES = {
    CampaignStatus.OPEN: (CampaignStatus.DRAFT, "opened_at", "only a draft can be opened"),
    CampaignStatus.CLOSED: (CampaignStatus.OPEN, "closed_at", "only an open campaign can be closed"),
    CampaignStatus.ARCHIVED: (CampaignStatus.CLOSED, "archived_at", "only a closed campaign can be archived"),
}


def _check_move(campaign: Campaign, to: CampaignStatus) -> None:
    needed, _, refusal = _MOVES[to]
    if campaign.status != needed:
        raise InvalidTransition(f"{refusal}; this campaign is {campaign.status}")


def _move(session: Session, campaign: Campaign, to: CampaignStatus, now: datetime) -> Campaign:
    _check_move(campaign, to)
    campaign.status = to.value
    setattr(campaign, _MOVES[to][1], now)
    campaign.updated_at = now
    session.flush()
    return campaign


def open_campaign(session: Session, *, campaign: Campaign, now: datetime) -> Campaign:
    """Open a draft now; invitations are written by the campaign-lifecycle job (the owner of campaign notices).

    Answers given while it was a draft came through the preview link (organizers trying it): they are dropped,
    so results count only residents' answers.
    """
    _check_move(campaign, CampaignStatus.OPEN)
    if campaign.closes_at is not None and campaign.closes_at <= now:
        raise InvalidTransition("closes_at has passed; move it later before opening")
    session.execute(delete(CampaignResponse).where(CampaignResponse.campaign_id == campaign.id))
    return _move(session, campaign, CampaignStatus.OPEN, now)


def close_campaign(session: Session, *, campaign: Campaign, now: datetime) -> Campaign:
    """Close an open campaign now: no more answers; participants hear the results (if public) from the job."""
    return _move(session, campaign, CampaignStatus.CLOSED, now)


def archive_campaign(session: Session, *, campaign: Campaign, now: datetime) -> Campaign:
    """Archive a closed campaign (its results stay readable)."""
    return _move(session, campaign, CampaignStatus.ARCHIVED, now)


def is_accepting(campaign: Campaign, now: datetime) -> bool:
    """Whether answers are taken now: open, and its closing time (if any) not yet come; a draft takes the answers
    of its preview (reachable only with the preview token, see `open_for_preview`)."""
    if campaign.status == CampaignStatus.DRAFT:
        return True
    return campaign.status == CampaignStatus.OPEN and (campaign.closes_at is None or now < campaign.closes_at)


PREVIEW_TOKEN_CHARS = 16


def preview_token(secret: bytes, code: str) -> str:
    """The token of a campaign's preview link (HMAC of its code): whoever has it can try the draft in the bot."""
    return hmac.new(secret, f"campaign-preview:{code}".encode(), hashlib.sha256).hexdigest()[:PREVIEW_TOKEN_CHARS]


def preview_payload(secret: bytes, code: str) -> str:
    """The bot deep-link payload that opens the draft for trying: `p_<token>_<code>` (within Telegram's 64)."""
    return f"p_{preview_token(secret, code)}_{code}"


def open_for_preview(session: Session, *, payload: str, secret: bytes) -> Campaign:
    """The campaign behind a preview payload (`<token>_<code>`), checked in constant time; NotFound otherwise."""
    token, _, code = payload.partition("_")
    campaign = get_by_code(session, code=code) if code else None
    if campaign is None or not hmac.compare_digest(token.encode(), preview_token(secret, code).encode()):
        raise NotFound("no such campaign")
    return campaign


def count_responses(session: Session, *, campaign: Campaign) -> int:
    return int(session.scalar(select(func.count()).select_from(CampaignResponse)
                              .where(CampaignResponse.campaign_id == campaign.id)) or 0)


def text_in(texts: Mapping[str, str], language: str | None) -> str:
    """A campaign text in the language, else in the first language it was written in."""
    if language and language in texts:
        return texts[language]
    for fallback in LANGUAGES:
        if fallback in texts:
            return texts[fallback]
    return ""


def language_for(campaign: Campaign, language: str | None) -> str:
    """The language the campaign is shown in: the resident's when the campaign has it, else its first."""
    return language if language in campaign.languages else campaign.languages[0]
