"""Response bodies of the account backend's API (backend/API.md) that its clients read: defined here,
where the backend (backend/schemas.py) and the shared client (common/backend_client.py) both find
them, so that the backend never has to be imported by its clients."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. attempts_left, retry_after, details

    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class VerificationStarted(BaseModel):
    verification_id: str
    expires_in: int
    code_length: int


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class TrustedProfile(BaseModel):
    state: Literal["none", "pending_confirmation", "active", "expired"]
    expires_on: date | None


class OnboardingStatus(BaseModel):
    first_name: str
    pesel_assigned_on: date | None
    ukr_status: Literal["active", "lost", "none"]
    trusted_profile: TrustedProfile
    ikp_contact_details_set: bool


class Deleted(BaseModel):
    deleted: int
