"""Who is calling: the service (action server), a verified person, or a staff member."""

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import Clock
from backend.config import Settings
from backend.deps import ClockDep, SessionDep, SettingsDep
from backend.errors import ApiError
from backend.models import StaffUser
from backend.security import read_token

service_token_header = APIKeyHeader(name="X-Service-Token", auto_error=False)
bearer = HTTPBearer(auto_error=False)

ServiceToken = Annotated[str | None, Depends(service_token_header)]
BearerToken = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "Sign in or give a valid service token.")


def invalid_person_token() -> ApiError:
    return ApiError(401, "invalid_token", "The person token is missing, invalid or expired.")


def _is_service(settings: Settings, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(token.encode(), settings.backend_service_token.encode())


def _staff_user(
    settings: Settings, session: Session, clock: Clock, credentials: HTTPAuthorizationCredentials | None
) -> StaffUser | None:
    if credentials is None:
        return None
    claims = read_token(settings.backend_secret_key, credentials.credentials, "staff", clock())
    if claims is None:
        return None
    # Looked up each time, so a deleted staff user or a changed role takes effect at once.
    return session.scalar(select(StaffUser).where(StaffUser.username == claims.subject))


def require_service(settings: SettingsDep, token: ServiceToken) -> None:
    if not _is_service(settings, token):
        raise unauthorized()


def require_person(
    settings: SettingsDep,
    clock: ClockDep,
    credentials: BearerToken,
    _service: Annotated[None, Depends(require_service)],
) -> int:
    """The id of the person the token was issued for (after a confirmed verification)."""
    claims = None
    if credentials is not None:
        claims = read_token(settings.backend_secret_key, credentials.credentials, "person", clock())
    if claims is None or not claims.subject.isdigit():
        raise invalid_person_token()
    return int(claims.subject)


def require_staff(
    settings: SettingsDep, session: SessionDep, clock: ClockDep, credentials: BearerToken
) -> StaffUser:
    staff = _staff_user(settings, session, clock, credentials)
    if staff is None:
        raise unauthorized()
    return staff


def require_admin(staff: Annotated[StaffUser, Depends(require_staff)]) -> StaffUser:
    if staff.role != "admin":
        raise ApiError(403, "forbidden", "Only an administrator may do this.")
    return staff


@dataclass(frozen=True)
class Caller:
    """The service or a signed-in staff member (staff is None for the service)."""

    staff: StaffUser | None


def require_service_or_staff(
    settings: SettingsDep, session: SessionDep, clock: ClockDep, token: ServiceToken, credentials: BearerToken
) -> Caller:
    if _is_service(settings, token):
        return Caller(staff=None)
    staff = _staff_user(settings, session, clock, credentials)
    if staff is None:
        raise unauthorized()
    return Caller(staff=staff)


PersonId = Annotated[int, Depends(require_person)]
Staff = Annotated[StaffUser, Depends(require_staff)]
Admin = Annotated[StaffUser, Depends(require_admin)]
ServiceOrStaff = Annotated[Caller, Depends(require_service_or_staff)]
# For routes that take nothing from the caller: dependencies=[RequireService].
RequireService = Depends(require_service)
