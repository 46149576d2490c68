"""Queueing notifications: rows in the outbox, written in the caller's transaction."""

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from backend.messages import Message
from backend.models import Notification

Channel = Literal["email", "sms"]


def enqueue(session: Session, channel: Channel, recipient: str, message: Message, now: datetime) -> None:
    session.add(
        Notification(
            channel=channel,
            recipient=recipient,
            subject=message.subject,
            body=message.body,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
