"""Staff sign-in (argon2, limited failures) and audited person lookups."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend import ratelimit
from backend.config import Settings
from backend.errors import ApiError
from backend.models import AuditEntry, Person, StaffUser
from backend.ratelimit import Limit, limit_key
from backend.security import hash_password, password_hasher, verify_password
from common.pii import pesel_for_staff

FAILURES_PER_USERNAME = 5
FAILURES_PER_IP = 20


def sign_in(
    session: Session, settings: Settings, now: datetime, username: str, password: str, client_ip: str
) -> StaffUser:
    """The staff user whose password this is; failures are counted and limited per username and address."""
    secret = settings.backend_secret_key
    failure_limits = [
        Limit(limit_key(secret, "staff-failure", username.lower()), FAILURES_PER_USERNAME),
        Limit(limit_key(secret, "staff-failure-ip", client_ip), FAILURES_PER_IP),
    ]
    ratelimit.check(session, failure_limits, now)
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username))
    # Checked before looking at `staff`: an unknown username costs the same argon2 work as a wrong password.
    password_ok = verify_password(staff.password_hash if staff else None, password)
    if staff is None or not password_ok:
        ratelimit.record(session, failure_limits, now)
        session.commit()
        raise ApiError(401, "invalid_credentials", "The username or password is not right.")
    if password_hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
        session.commit()
    return staff


def lookup(session: Session, staff: StaffUser, pesel: str, now: datetime) -> Person:
    """The person with this PESEL; every lookup, found or not, is written to the audit log first."""
    person = session.scalar(
        select(Person).where(Person.pesel == pesel).options(selectinload(Person.onboarding))
    )
    session.add(
        AuditEntry(
            staff_username=staff.username,
            action="person_lookup",
            subject=pesel_for_staff(pesel),
            result="found" if person else "not_found",
            created_at=now,
        )
    )
    session.commit()
    if person is None:
        raise ApiError(404, "person_not_found", "No person has this PESEL.")
    return person


def audit_failure_label(
    session: Session, staff: StaffUser, label: str, language: str | None, digest: str, now: datetime
) -> AuditEntry:
    """The audit row of a label given on the console's failures page: the label, and the message
    group by language and fingerprint (the text stays in the channel service, masked)."""
    entry = AuditEntry(
        staff_username=staff.username,
        action="label_failure",
        subject=label,
        result=f"{language or '--'}:{digest[:12]}",
        created_at=now,
    )
    session.add(entry)
    session.commit()
    return entry


def audit_entries(session: Session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())))
