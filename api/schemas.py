"""Response shapes of the public register."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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


class NearbyOut(DeploymentOut):
    distance_m: float = Field(description="great-circle distance from the query point, metres")


class NearbyPage(BaseModel):
    items: list[NearbyOut]
