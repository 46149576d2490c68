"""Staff sign-in, person lookup (audited), labels of failed messages (audited) and the audit log
(administrators only)."""

from fastapi import APIRouter

from backend import staff as staff_service
from backend.auth import Admin, Staff
from backend.deps import ClientIp, ClockDep, SessionDep, SettingsDep
from backend.onboarding import onboarding_status
from backend.schemas import (
    AuditEntryOut,
    AuditLog,
    FailureLabelAudit,
    LookupResult,
    PersonRecord,
    StaffLookup,
    StaffSession,
    StaffSignIn,
    error_responses,
)
from backend.security import STAFF_TOKEN_TTL, TokenClaims, issue_token

router = APIRouter(tags=["staff"])


@router.post("/v1/staff/sessions", responses=error_responses(401, 422, 429))
def sign_in(
    body: StaffSignIn, session: SessionDep, settings: SettingsDep, clock: ClockDep, client_ip: ClientIp
) -> StaffSession:
    now = clock()
    staff = staff_service.sign_in(session, settings, now, body.username, body.password, client_ip)
    claims = TokenClaims(subject=staff.username, kind="staff", role=staff.role)
    token = issue_token(settings.backend_secret_key, claims, now, STAFF_TOKEN_TTL)
    return StaffSession(
        access_token=token,
        expires_in=int(STAFF_TOKEN_TTL.total_seconds()),
        role=staff.role,
        username=staff.username,
    )


@router.post("/v1/staff/lookups", responses=error_responses(401, 422, 404))
def lookup(body: StaffLookup, staff: Staff, session: SessionDep, clock: ClockDep) -> LookupResult:
    now = clock()
    person = staff_service.lookup(session, staff, body.pesel, now)
    return LookupResult(
        person=PersonRecord.model_validate(person), onboarding=onboarding_status(person, now.date())
    )


@router.post("/v1/staff/failure-labels", status_code=201, responses=error_responses(401, 422))
def label_failure(
    body: FailureLabelAudit, staff: Staff, session: SessionDep, clock: ClockDep
) -> AuditEntryOut:
    """Audits a label given on the console's failures page; the answer says who and when."""
    entry = staff_service.audit_failure_label(session, staff, body.label, body.language, body.digest, clock())
    return AuditEntryOut.model_validate(entry)


@router.get("/v1/staff/audit", responses=error_responses(401, 422, 403))
def audit(_admin: Admin, session: SessionDep) -> AuditLog:
    return AuditLog(
        entries=[AuditEntryOut.model_validate(entry) for entry in staff_service.audit_entries(session)]
    )
