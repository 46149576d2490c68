"""Handoff tickets: a conversation handed to a person, with its messages."""

from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, selectinload

from backend.auth import Caller
from backend.errors import ApiError
from backend.models import AuditEntry, Ticket, TicketMessage
from backend.schemas import MessageCreate, TicketCreate

OPEN_STATUSES = ("open", "assigned")


def find_open(session: Session, conversation_id: str) -> Ticket | None:
    query = (
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id)
        .options(selectinload(Ticket.messages))
    )
    return session.scalars(query).first()


def open_ticket(session: Session, request: TicketCreate, now: datetime) -> tuple[Ticket, bool]:
    """The conversation's open ticket, or a new one; the flag says whether it was created."""
    existing = find_open(session, request.conversation_id)
    if existing is not None:
        return existing, False
    ticket = Ticket(**request.model_dump(), status="open", created_at=now, messages=[])
    session.add(ticket)
    session.commit()
    return ticket, True


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id, options=[selectinload(Ticket.messages)])
    if ticket is None:
        raise ApiError(404, "ticket_not_found", "There is no such ticket.")
    return ticket


def list_tickets(session: Session, status: str | None) -> list[Ticket]:
    query = select(Ticket).order_by(Ticket.id)
    if status is not None:
        query = query.where(Ticket.status == status)
    return list(session.scalars(query))


def add_message(
    session: Session, ticket_id: int, request: MessageCreate, caller: Caller, now: datetime
) -> TicketMessage:
    ticket = get_ticket(session, ticket_id)
    if ticket.status == "closed":
        raise ApiError(409, "ticket_closed", "The ticket is closed.")
    author, staff_username = _author(request, caller)
    message = TicketMessage(author=author, text=request.text, staff_username=staff_username, created_at=now)
    ticket.messages.append(message)
    # The first staff member to answer takes the ticket.
    if staff_username is not None and ticket.status == "open":
        ticket.status, ticket.assigned_to = "assigned", staff_username
    session.commit()
    return message


def _author(request: MessageCreate, caller: Caller) -> tuple[str, str | None]:
    if caller.staff is not None:
        return "staff", caller.staff.username
    if request.author == "staff":
        raise ApiError(422, "validation_error", 'The service posts as "user" or "bot"; staff sign in.')
    return request.author or "user", None


def close_ticket(session: Session, ticket_id: int, now: datetime) -> Ticket:
    ticket = get_ticket(session, ticket_id)
    if ticket.status != "closed":
        ticket.status, ticket.closed_at = "closed", now
        session.commit()
    return ticket


def forget_conversation(session: Session, conversation_id: str, caller: Caller, now: datetime) -> int:
    """Delete every ticket of a conversation with its messages (a person's request to be
    forgotten); a staff member's request is audited. Returns how many tickets were deleted."""
    _zero_deleted_rows(session)
    found = list(session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)))
    for ticket in found:
        session.delete(ticket)
    if caller.staff is not None:
        session.add(
            AuditEntry(
                staff_username=caller.staff.username,
                action="forget_conversation",
                subject=conversation_id[:32],
                result=f"{len(found)} tickets",
                created_at=now,
            )
        )
    session.commit()
    return len(found)


def purge_closed(session: Session, closed_before: datetime) -> int:
    """Delete the tickets closed before `closed_before` with their messages (the retention period)."""
    _zero_deleted_rows(session)
    old = select(Ticket.id).where(Ticket.status == "closed", Ticket.closed_at < closed_before)
    ids = list(session.scalars(old))
    if ids:
        session.execute(delete(TicketMessage).where(TicketMessage.ticket_id.in_(ids)))
        session.execute(delete(Ticket).where(Ticket.id.in_(ids)))
    session.commit()
    return len(ids)


def _zero_deleted_rows(session: Session) -> None:
    # SQLite keeps deleted rows' bytes in free pages unless told to overwrite them.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))
