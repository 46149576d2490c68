"""Rate limits counted in the database, so that every instance of the service sees the same counts.

Keys are "<purpose>:<HMAC of the value>": the table never holds a PESEL, an e-mail or an address.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import ApiError
from backend.models import RateLimitEvent
from backend.security import keyed_hash
from common.db import affected_rows

WINDOW = timedelta(minutes=15)
# Events older than this are of no use to any limit.
RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    key: str
    max_events: int
    window: timedelta = WINDOW


def limit_key(secret: str, purpose: str, value: str) -> str:
    return f"{purpose}:{keyed_hash(secret, f'ratelimit:{purpose}:{value}')}"


def per_ip(settings: Settings, client_ip: str) -> Limit:
    """The limit every rate-limited request also counts against: its client address."""
    return Limit(limit_key(settings.backend_secret_key, "ip", client_ip), settings.rate_limit_per_ip)


def retry_after(session: Session, limit: Limit, now: datetime) -> int | None:
    """Seconds until the limit allows one more event, or None if it allows one now."""
    recent = (
        select(RateLimitEvent.created_at)
        .where(RateLimitEvent.key == limit.key, RateLimitEvent.created_at > now - limit.window)
        .order_by(RateLimitEvent.created_at.desc())
        .limit(limit.max_events)
    )
    times = session.scalars(recent).all()
    if len(times) < limit.max_events:
        return None
    # The oldest of the last max_events must leave the window before another event fits.
    return max(1, math.ceil((times[-1] + limit.window - now).total_seconds()))


def check(session: Session, limits: list[Limit], now: datetime) -> None:
    """Raise 429 rate_limited if any limit is used up (all are checked, the longest wait is reported)."""
    waits = [wait for limit in limits if (wait := retry_after(session, limit, now)) is not None]
    if waits:
        wait = max(waits)
        raise ApiError(
            429,
            "rate_limited",
            "Too many requests. Please try again later.",
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )


def record(session: Session, limits: list[Limit], now: datetime) -> None:
    session.add_all(RateLimitEvent(key=limit.key, created_at=now) for limit in limits)


def check_and_record(session: Session, limits: list[Limit], now: datetime) -> None:
    check(session, limits, now)
    record(session, limits, now)


def prune(session: Session, now: datetime) -> int:
    result = session.execute(delete(RateLimitEvent).where(RateLimitEvent.created_at < now - RETENTION))
    return affected_rows(result)
