"""Username reminders and password resets: always "accepted", an e-mail only when the account matches.

Both paths do the same rate-limit bookkeeping and the same query, so the answer and its timing
do not tell whether an account exists.
"""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import messages, ratelimit
from backend.config import Settings
from backend.models import Account, Person
from backend.outbox import enqueue
from backend.ratelimit import Limit, limit_key

REQUESTS_PER_SUBJECT = 3  # per e-mail address or PESEL, per 15 minutes
REQUESTS_PER_CALLER = 10


def _limits(settings: Settings, kind: str, subject: str, caller: str, client_ip: str) -> list[Limit]:
    secret = settings.backend_secret_key
    return [
        Limit(limit_key(secret, f"{kind}-subject", subject), REQUESTS_PER_SUBJECT),
        Limit(limit_key(secret, f"{kind}-caller", caller), REQUESTS_PER_CALLER),
        ratelimit.per_ip(settings, client_ip),
    ]


def remind_username(
    session: Session, settings: Settings, now: datetime, email: str, caller: str, client_ip: str
) -> None:
    limits = _limits(settings, "reminder", email.lower(), caller, client_ip)
    ratelimit.check_and_record(session, limits, now)
    accounts = session.scalars(
        select(Account).where(func.lower(Account.email) == email.lower()).order_by(Account.username)
    ).all()
    if accounts:
        message = messages.username_reminder([account.username for account in accounts])
        enqueue(session, "email", accounts[0].email, message, now)
    session.commit()


def reset_password(
    session: Session,
    settings: Settings,
    now: datetime,
    username: str,
    pesel: str,
    caller: str,
    client_ip: str,
) -> None:
    limits = _limits(settings, "reset", pesel, caller, client_ip)
    ratelimit.check_and_record(session, limits, now)
    account = session.scalar(
        select(Account)
        .join(Account.person)
        .where(func.lower(Account.username) == username.lower(), Person.pesel == pesel)
    )
    if account is not None:
        enqueue(session, "email", account.email, messages.password_reset(account.username), now)
    session.commit()
