"""Verifying a person with a one-time code, then reading their onboarding status with the person token."""

from fastapi import APIRouter

from backend import verifications
from backend.auth import PersonId, RequireService, invalid_person_token
from backend.deps import ClientIp, ClockDep, SessionDep, SettingsDep
from backend.models import Person
from backend.onboarding import onboarding_status
from backend.schemas import (
    AccessToken,
    OnboardingStatus,
    VerificationConfirm,
    VerificationStart,
    VerificationStarted,
    error_responses,
)
from backend.security import CODE_LENGTH, PERSON_TOKEN_TTL, TokenClaims, issue_token

router = APIRouter(tags=["verification"])
errors = error_responses(401, 422, 429)


@router.post("/v1/verifications", status_code=202, dependencies=[RequireService], responses=errors)
def start_verification(
    body: VerificationStart, session: SessionDep, settings: SettingsDep, clock: ClockDep, client_ip: ClientIp
) -> VerificationStarted:
    verification_id = verifications.start(session, settings, clock(), body.pesel, body.caller, client_ip)
    return VerificationStarted(
        verification_id=verification_id,
        expires_in=int(verifications.CODE_TTL.total_seconds()),
        code_length=CODE_LENGTH,
    )


@router.post(
    "/v1/verifications/{verification_id}/confirm",
    dependencies=[RequireService],
    responses=error_responses(400, 401, 404, 410, 422, 423),
)
def confirm_verification(
    body: VerificationConfirm,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    verification_id: str,
) -> AccessToken:
    now = clock()
    person_id = verifications.confirm(session, settings, now, verification_id, body.code)
    claims = TokenClaims(subject=str(person_id), kind="person")
    token = issue_token(settings.backend_secret_key, claims, now, PERSON_TOKEN_TTL)
    return AccessToken(access_token=token, expires_in=int(PERSON_TOKEN_TTL.total_seconds()))


@router.get("/v1/me/onboarding", responses=error_responses(401))
def my_onboarding(person_id: PersonId, session: SessionDep, clock: ClockDep) -> OnboardingStatus:
    person = session.get(Person, person_id)
    if person is None:  # removed since the token was issued
        raise invalid_person_token()
    return onboarding_status(person, clock().date())
