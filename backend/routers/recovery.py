"""Username reminders and password resets: the answer never tells whether the account exists."""

from fastapi import APIRouter

from backend import recovery
from backend.auth import RequireService
from backend.deps import ClientIp, ClockDep, SessionDep, SettingsDep
from backend.schemas import Accepted, PasswordResetRequest, UsernameReminderRequest, error_responses

router = APIRouter(tags=["account recovery"], dependencies=[RequireService])
errors = error_responses(401, 422, 429)


@router.post("/v1/username-reminders", status_code=202, responses=errors)
def username_reminder(
    body: UsernameReminderRequest,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    client_ip: ClientIp,
) -> Accepted:
    recovery.remind_username(session, settings, clock(), body.email, body.caller, client_ip)
    return Accepted()


@router.post("/v1/password-resets", status_code=202, responses=errors)
def password_reset(
    body: PasswordResetRequest,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    client_ip: ClientIp,
) -> Accepted:
    recovery.reset_password(session, settings, clock(), body.username, body.pesel, body.caller, client_ip)
    return Accepted()
