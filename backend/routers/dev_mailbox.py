"""The development mailbox: what the outbox holds, for people and tests without a mail server."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator
from sqlalchemy import func, select

from backend.auth import ServiceOrStaff
from backend.deps import SessionDep, SettingsDep
from backend.errors import ApiError
from backend.models import Notification
from backend.schemas import Mailbox, MailboxMessage, error_responses
from backend.validation import check_no_nul

router = APIRouter(tags=["development"])


@router.get("/v1/dev/mailbox", responses=error_responses(401, 404, 422))
def mailbox(
    _caller: ServiceOrStaff,
    session: SessionDep,
    settings: SettingsDep,
    to: Annotated[str | None, Query(max_length=254), AfterValidator(check_no_nul)] = None,
) -> Mailbox:
    """Messages for one address or phone number (all messages without `to`), newest first."""
    if settings.smtp_enabled:
        raise ApiError(404, "not_found", "The development mailbox is off: SMTP is configured.")
    query = select(Notification).order_by(Notification.id.desc())
    if to is not None:
        query = query.where(func.lower(Notification.recipient) == to.lower())
    return Mailbox(messages=[_message(row) for row in session.scalars(query)])


def _message(row: Notification) -> MailboxMessage:
    return MailboxMessage.model_validate(
        {
            "id": row.id,
            "channel": row.channel,
            "to": row.recipient,
            "subject": row.subject,
            "body": row.body,
            "created_at": row.created_at,
            "status": row.status,
        }
    )
