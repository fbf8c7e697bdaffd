"""Response shapes of the public register."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from core import timeutil
from core.deployments import MAX_LENGTHS, MAX_RETENTION_DAYS, MAX_TERM_LENGTH, MAX_TERMS
from core.plaintext import control_problem

D = TypeVar("D", bound=date)


class DeploymentOut(BaseModel):
    code: str = Field(examples=["AQ-017"])
    name: str
    description: str | None
    technology: str = Field(examples=["air_quality"])
    purposes: list[str] | None
    data_types: list[str] | None
    processing: list[str] | None
    access: list[str] | None
    storage: list[str] | None
    retention: int | str = Field(description="days kept, 'none' (nothing kept) or 'unknown' (not published)")
    personal_data: bool | None = Field(description="null when the city has not published it")
    legal_basis: str | None
    privacy_url: str | None
    info_url: str | None
    accountable_org: str | None
    accountable_contact: str | None
    vendor: str | None
    status: str = Field(examples=["pilot"])
    pilot_start: str | None
    pilot_end: str | None
    district: str | None
    mobile: bool
    area: dict[str, Any] | None
    lat: float
    lon: float
    updated_at: str


class DeploymentPage(BaseModel):
    items: list[DeploymentOut]
    next_cursor: str | None


class DistrictOut(BaseModel):
    slug: str = Field(examples=["old-town"])
    name_en: str
    name_es: str
    lat: float = Field(description="a point inside the district (its centroid when that lies inside)")
    lon: float
    deployments: int = Field(description="deployments placed in the district")


class DistrictPage(BaseModel):
    items: list[DistrictOut]
    next_cursor: str | None


class NearbyOut(DeploymentOut):
    distance_m: float = Field(description="great-circle distance from the query point, metres")


class NearbyPage(BaseModel):
    items: list[NearbyOut]


def _no_control(value: str) -> str:
    """Refuse NUL (PostgreSQL cannot store it) and the other control characters; tab and line ends stay."""
    if (problem := control_problem(value)) is not None:
        raise ValueError(problem)
    return value


Clean = Annotated[str, AfterValidator(_no_control)]


def _in_range(name: str | None = None) -> Callable[[D, ValidationInfo], D]:
    """A validator keeping dates and date-times to the accepted years (core.timeutil), naming the parameter."""

    def check(value: D, info: ValidationInfo) -> D:
        if not timeutil.in_range(value):
            raise ValueError(timeutil.range_reason(name or info.field_name or "the date"))
        return value

    return check


_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _plain_date(name: str) -> Callable[[Any], Any]:
    """A validator taking only a calendar date written YYYY-MM-DD: a local date has no time or offset to drop."""

    def parse(value: Any) -> Any:
        if isinstance(value, str) and _PLAIN_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ValueError(f"{name}: a date as YYYY-MM-DD")

    return parse


RANGE = f"from {timeutil.FIRST_DAY.isoformat()} to {timeutil.LAST_DAY.isoformat()}"
# Body fields (the field's own name in the reason).
BoundedDate = Annotated[date, AfterValidator(_in_range())]
BoundedDateTime = Annotated[AwareDatetime, AfterValidator(_in_range())]
# Query parameters: FastAPI does not tell a validator the parameter's name, so each carries it. A local date
# (the city's) is a plain date: a date-time, even at midnight or with an offset, is refused, not cut to its date.
FromDate = Annotated[date, BeforeValidator(_plain_date("from")), AfterValidator(_in_range("from"))]
ToDate = Annotated[date, BeforeValidator(_plain_date("to")), AfterValidator(_in_range("to"))]


# The limits are the register's own (core.deployments): a record this schema accepts is one core accepts.
Terms = Annotated[list[Annotated[str, Field(max_length=MAX_TERM_LENGTH)]], Field(max_length=MAX_TERMS)]
Name = Annotated[Clean, Field(min_length=1, max_length=MAX_LENGTHS["name"])]
Retention = Annotated[int, Field(ge=0, le=MAX_RETENTION_DAYS)] | Literal["none", "unknown"]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class _DeploymentOptional(BaseModel):
    """The fields a record may leave out, alike when it is created and when it is changed."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[Clean, Field(max_length=MAX_LENGTHS["description"])] | None = None
    purposes: Terms | None = None
    data_types: Terms | None = None
    processing: Terms | None = None
    access: Terms | None = None
    storage: Terms | None = None
    personal_data: bool | None = None
    legal_basis: Annotated[Clean, Field(max_length=MAX_LENGTHS["legal_basis"])] | None = None
    privacy_url: Annotated[Clean, Field(max_length=MAX_LENGTHS["privacy_url"])] | None = None
    info_url: Annotated[Clean, Field(max_length=MAX_LENGTHS["info_url"])] | None = None
    accountable_org: Annotated[Clean, Field(max_length=MAX_LENGTHS["accountable_org"])] | None = None
    accountable_contact: Annotated[Clean, Field(max_length=MAX_LENGTHS["accountable_contact"])] | None = None
    vendor: Annotated[Clean, Field(max_length=MAX_LENGTHS["vendor"])] | None = None
    pilot_start: BoundedDate | None = None
    pilot_end: BoundedDate | None = None
    district: Annotated[str, Field(max_length=MAX_LENGTHS["district"])] | None = None
    area: dict[str, Any] | None = None


class DeploymentIn(_DeploymentOptional):
    """A register record in the exchange shape (the GeoJSON properties); 'unknown' is a real value."""

    code: Annotated[str, Field(max_length=32, examples=["AQ-017"])]
    name: Name
    technology: Annotated[str, Field(max_length=MAX_LENGTHS["technology"], examples=["air_quality"])]
    retention: Retention = "unknown"
    status: str = Field(examples=["pilot"])
    mobile: bool = False
    lat: Latitude
    lon: Longitude


class DeploymentPatch(_DeploymentOptional):
    """Some fields of a record; the others keep their values."""

    name: Name | None = None
    technology: Annotated[str, Field(max_length=MAX_LENGTHS["technology"])] | None = None
    retention: Retention | None = None
    status: str | None = None
    mobile: bool | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None


class VersionOut(BaseModel):
    version: int
    changed_by: str
    fields: list[str]
    created_at: datetime


class ImportReportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: list[dict[str, Any]] = Field(description="each rejected row: line, code, reason")
