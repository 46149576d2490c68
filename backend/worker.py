"""The delivery worker: sends what the outbox holds, retrying with backoff; also prunes old rows.

E-mail goes over SMTP when SMTP_HOST is set. Otherwise, and for every SMS (there is no SMS gateway),
delivery means the message is marked sent and stays readable in the development mailbox.
Runs inside the API process, or on its own: python -m backend.worker
"""

import asyncio
import contextlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend import ratelimit
from backend.clock import Clock, utc_now
from backend.config import Settings
from backend.mailer import send_email
from backend.migrate import upgrade_to_head
from backend.models import Notification, Verification
from common.db import affected_rows, make_engine, make_session_factory
from common.environment import or_exit
from common.logs import configure_logging

logger = logging.getLogger(__name__)

BATCH_SIZE = 20
# A claimed message is not retried by another worker before this; long enough for a slow SMTP server.
LEASE = timedelta(minutes=2)
HOUSEKEEPING_EVERY = timedelta(minutes=10)
KEEP_VERIFICATIONS = timedelta(days=1)


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int


def claim_due(session_factory: sessionmaker[Session], now: datetime) -> list[Claimed]:
    """Lease the due messages to this worker: a conditional update wins each one for one worker only."""
    with session_factory() as session:
        due = session.scalars(
            select(Notification)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.id)
            .limit(BATCH_SIZE)
        ).all()
        claimed = []
        for row in due:
            message = Claimed(row.id, row.channel, row.recipient, row.subject, row.body, row.attempts + 1)
            won = session.execute(
                update(Notification)
                .where(
                    Notification.id == row.id,
                    Notification.status == "pending",
                    Notification.attempts == row.attempts,
                    Notification.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + LEASE, attempts=message.attempts)
            )
            if affected_rows(won) == 1:
                claimed.append(message)
        session.commit()
    return claimed


def deliver(settings: Settings, message: Claimed) -> None:
    """Raises OSError or SMTPException when the SMTP server does not take the message."""
    if message.channel == "email" and settings.smtp_enabled:
        send_email(settings, message.recipient, message.subject, message.body)


def record_result(
    session_factory: sessionmaker[Session],
    settings: Settings,
    message: Claimed,
    now: datetime,
    error: Exception | None,
) -> None:
    with session_factory() as session:
        row = session.get_one(Notification, message.id)
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
        elif message.attempts >= settings.outbox_max_attempts:
            row.status, row.last_error = "failed", type(error).__name__
        else:
            delay = settings.outbox_retry_seconds * 2 ** (message.attempts - 1)
            row.next_attempt_at, row.last_error = now + timedelta(seconds=delay), type(error).__name__
        session.commit()
    # The error's kind only: SMTP error texts can quote the recipient's address.
    if error is not None:
        logger.warning(
            "Notification %s: attempt %s failed (%s)", message.id, message.attempts, type(error).__name__
        )


def deliver_due(session_factory: sessionmaker[Session], settings: Settings, clock: Clock) -> int:
    """One round: deliver every due message; returns how many were tried."""
    claimed = claim_due(session_factory, clock())
    for message in claimed:
        error: Exception | None = None
        try:
            deliver(settings, message)
        except (OSError, smtplib.SMTPException) as exc:
            error = exc
        record_result(session_factory, settings, message, clock(), error)
    return len(claimed)


def housekeeping(session_factory: sessionmaker[Session], now: datetime) -> None:
    """Forget what no longer matters: old rate-limit events and long-expired verifications."""
    with session_factory() as session:
        ratelimit.prune(session, now)
        session.execute(delete(Verification).where(Verification.expires_at < now - KEEP_VERIFICATIONS))
        session.commit()


async def run(session_factory: sessionmaker[Session], settings: Settings, clock: Clock) -> None:
    """Poll the outbox until cancelled; a failed round (e.g. the database is down) is logged and retried."""
    last_housekeeping: datetime | None = None
    while True:
        try:
            await asyncio.to_thread(deliver_due, session_factory, settings, clock)
            now = clock()
            if last_housekeeping is None or now - last_housekeeping >= HOUSEKEEPING_EVERY:
                await asyncio.to_thread(housekeeping, session_factory, now)
                last_housekeeping = now
        except Exception:
            logger.exception("Delivery round failed")
        await asyncio.sleep(settings.outbox_poll_seconds)


def main() -> None:
    settings = or_exit(Settings)
    configure_logging(settings.backend_log_level)
    engine = make_engine(settings.database_url)
    upgrade_to_head(engine)
    logger.info("Delivery worker started (%s)", "SMTP" if settings.smtp_enabled else "development mailbox")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C is the way to stop it
        asyncio.run(run(make_session_factory(engine), settings, utc_now))


if __name__ == "__main__":
    main()
