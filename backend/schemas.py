"""Request and response bodies of the API (see backend/API.md)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from backend.kinds import Author, Language, NotificationChannel, NotificationStatus, Role, TicketStatus
from backend.validation import Email, LongText, Pesel, ReasonText, ShortText, Username

# The bodies the backend's clients read are defined with the shared client (common/api_models.py).
from common.api_models import AccessToken as AccessToken
from common.api_models import Deleted as Deleted
from common.api_models import ErrorBody as ErrorBody
from common.api_models import ErrorDetail as ErrorDetail
from common.api_models import OnboardingStatus as OnboardingStatus
from common.api_models import TrustedProfile as TrustedProfile
from common.api_models import VerificationStarted as VerificationStarted


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route: these statuses answer with the error shape."""
    return {status: {"model": ErrorBody} for status in statuses}


class Status(BaseModel):
    status: str


# Verifications and the person's own record


class VerificationStart(BaseModel):
    pesel: Pesel
    caller: ShortText


class VerificationConfirm(BaseModel):
    code: Annotated[str, StringConstraints(max_length=32)]


# Account recovery


class UsernameReminderRequest(BaseModel):
    email: Email
    caller: ShortText


class PasswordResetRequest(BaseModel):
    username: Username
    pesel: Pesel
    caller: ShortText


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"


# Handoff tickets


class TicketCreate(BaseModel):
    conversation_id: ShortText
    channel: ShortText
    language: Language
    reason: ReasonText


class MessageCreate(BaseModel):
    text: LongText
    author: Author | None = None


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author: Author
    text: str
    staff_username: str | None
    created_at: datetime


class TicketSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: str
    channel: str
    language: Language
    reason: str
    status: TicketStatus
    created_at: datetime
    closed_at: datetime | None
    assigned_to: str | None


class TicketOut(TicketSummary):
    messages: list[MessageOut]


class TicketList(BaseModel):
    tickets: list[TicketSummary]


# Staff


class StaffSignIn(BaseModel):
    username: ShortText
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class StaffSession(AccessToken):
    role: Role
    username: str


class StaffLookup(BaseModel):
    pesel: Pesel


class FailureLabelAudit(BaseModel):
    """A label a staff member gave a message the bot failed on (the console's failures page):
    the label, and the message group's language and fingerprint, never its text."""

    label: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9_/]+$")]
    language: Language | None = None
    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class PersonRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    first_name: str
    last_name: str
    pesel: str
    email: str | None
    phone: str | None


class LookupResult(BaseModel):
    person: PersonRecord
    onboarding: OnboardingStatus


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    staff_username: str
    action: str
    subject: str
    result: str
    created_at: datetime


class AuditLog(BaseModel):
    entries: list[AuditEntryOut]


# Development mailbox


class MailboxMessage(BaseModel):
    id: int
    channel: NotificationChannel
    to: str
    subject: str
    body: str
    created_at: datetime
    status: NotificationStatus


class Mailbox(BaseModel):
    messages: list[MailboxMessage]
