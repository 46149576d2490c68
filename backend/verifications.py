"""One-time codes: start a verification for a PESEL, confirm it with the code, get a person token.

An unknown PESEL (or a person with no contact on file) gets a decoy: the same rows, the same answer,
a code nobody receives, so a caller cannot tell whether anyone has that PESEL.
"""

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import messages, ratelimit, security
from backend.config import Settings
from backend.errors import ApiError
from backend.models import Person, Verification
from backend.outbox import enqueue
from backend.ratelimit import Limit, limit_key

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 3
STARTS_PER_PESEL = 3
STARTS_PER_CALLER = 10
_ISSUED_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def start(
    session: Session, settings: Settings, now: datetime, pesel: str, caller: str, client_ip: str
) -> str:
    """Create a verification (sending the code if the person can be reached); returns its id."""
    secret = settings.backend_secret_key
    limits = [
        Limit(limit_key(secret, "verify-pesel", pesel), STARTS_PER_PESEL),
        Limit(limit_key(secret, "verify-caller", caller), STARTS_PER_CALLER),
        ratelimit.per_ip(settings, client_ip),
    ]
    ratelimit.check_and_record(session, limits, now)
    person = session.scalar(select(Person).where(Person.pesel == pesel))
    reachable = person if person is not None and (person.email or person.phone) else None
    verification_id, code = security.new_verification_id(), security.new_code()
    session.add(
        Verification(
            id=verification_id,
            person_id=reachable.id if reachable else None,
            code_hmac=security.code_hmac(secret, verification_id, code),
            created_at=now,
            expires_at=now + CODE_TTL,
            attempts=0,
            locked=False,
        )
    )
    if reachable is not None:
        _send_code(session, reachable, code, now)
    session.commit()
    return verification_id


def _send_code(session: Session, person: Person, code: str, now: datetime) -> None:
    message = messages.verification_code(code, int(CODE_TTL.total_seconds() // 60))
    if person.email:
        enqueue(session, "email", person.email, message, now)
    if person.phone:
        enqueue(session, "sms", person.phone, message, now)


def confirm(session: Session, settings: Settings, now: datetime, verification_id: str, code: str) -> int:
    """Check the code; returns the verified person's id or raises the contract's error."""
    verification = None
    if _ISSUED_ID.fullmatch(verification_id):
        query = select(Verification).where(Verification.id == verification_id).with_for_update()
        verification = session.scalar(query)
    if verification is None:
        raise ApiError(404, "verification_not_found", "There is no such verification.")
    if verification.locked:
        raise ApiError(423, "verification_locked", "Too many wrong codes. Please start again.")
    if verification.confirmed_at is not None or now >= verification.expires_at:
        raise ApiError(410, "verification_expired", "The code has expired. Please start again.")
    matches = security.code_matches(
        settings.backend_secret_key, verification.id, code, verification.code_hmac
    )
    if not matches or verification.person_id is None:
        verification.attempts += 1
        verification.locked = verification.attempts >= MAX_ATTEMPTS
        session.commit()
        attempts_left = MAX_ATTEMPTS - verification.attempts
        raise ApiError(400, "invalid_code", "The code is not right.", attempts_left=attempts_left)
    verification.confirmed_at = now
    session.commit()
    return verification.person_id
