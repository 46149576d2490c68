"""The delivery worker, one round at a time: development mailbox, SMTP failures, backoff, leases."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api_helpers import OLENA, start_verification
from backend import worker
from backend.config import Settings
from backend.models import Notification, RateLimitEvent, Verification
from conftest import FakeClock, make_settings
from devstack import free_port

pytestmark = pytest.mark.usefixtures("demo")


def notifications(db: Session) -> list[Notification]:
    db.expire_all()
    return list(db.scalars(select(Notification).order_by(Notification.id)))


def test_without_smtp_every_message_is_delivered_to_the_development_mailbox(
    client: TestClient,
    db: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: FakeClock,
) -> None:
    start_verification(client, OLENA["pesel"])
    assert [n.status for n in notifications(db)] == ["pending", "pending"]
    assert worker.deliver_due(session_factory, settings, clock) == 2
    assert [(n.status, n.attempts, n.sent_at) for n in notifications(db)] == [("sent", 1, clock.now)] * 2
    assert worker.deliver_due(session_factory, settings, clock) == 0


def test_smtp_failures_are_retried_with_backoff_then_marked_failed(
    client: TestClient,
    db: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    clock: FakeClock,
) -> None:
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False,
        outbox_max_attempts=3, outbox_retry_seconds=10,
    )  # fmt: skip
    start_verification(client, OLENA["pesel"])
    assert worker.deliver_due(session_factory, settings, clock) == 2
    email, sms = notifications(db)
    assert (sms.status, email.status) == ("sent", "pending")  # SMS never goes through SMTP
    assert (email.attempts, email.last_error) == (1, "ConnectionRefusedError")
    for wait, attempts in ((10, 2), (20, 3)):
        clock.advance(seconds=wait - 1)
        assert worker.deliver_due(session_factory, settings, clock) == 0  # not due yet
        clock.advance(seconds=1)
        assert worker.deliver_due(session_factory, settings, clock) == 1
        assert notifications(db)[0].attempts == attempts
    assert notifications(db)[0].status == "failed"
    clock.advance(hours=1)
    assert worker.deliver_due(session_factory, settings, clock) == 0


def test_a_claimed_message_is_not_claimed_again_while_its_lease_runs(
    client: TestClient, session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    start_verification(client, OLENA["pesel"])
    assert len(worker.claim_due(session_factory, clock())) == 2
    assert worker.claim_due(session_factory, clock()) == []
    clock.advance(seconds=worker.LEASE.total_seconds())
    assert len(worker.claim_due(session_factory, clock())) == 2  # the first worker died: taken over


def test_housekeeping_forgets_old_rate_limit_events_and_verifications(
    client: TestClient, db: Session, session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    start_verification(client, OLENA["pesel"])
    clock.advance(hours=23)
    start_verification(client, OLENA["pesel"])
    clock.advance(hours=2)
    worker.housekeeping(session_factory, clock())
    db.expire_all()
    assert len(db.scalars(select(Verification)).all()) == 1
    assert len(db.scalars(select(RateLimitEvent)).all()) == 3
