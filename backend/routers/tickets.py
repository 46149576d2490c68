"""Handoff tickets, for the service (the bot) and for staff (the helpdesk console)."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from backend import tickets
from backend.auth import RequireService, ServiceOrStaff
from backend.deps import ClockDep, SessionDep
from backend.errors import ApiError
from backend.schemas import (
    Deleted,
    MessageCreate,
    MessageOut,
    TicketCreate,
    TicketList,
    TicketOut,
    TicketSummary,
    error_responses,
)

router = APIRouter(tags=["tickets"])
TicketId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # the range of the database's integer column


@router.post(
    "/v1/tickets", status_code=201, responses={200: {"model": TicketOut}, **error_responses(401, 422)}
)
def open_ticket(
    body: TicketCreate, response: Response, _caller: ServiceOrStaff, session: SessionDep, clock: ClockDep
) -> TicketOut:
    ticket, created = tickets.open_ticket(session, body, clock())
    if not created:
        response.status_code = 200
    return TicketOut.model_validate(ticket)


@router.get("/v1/tickets", responses=error_responses(401, 422))
def list_tickets(
    _caller: ServiceOrStaff,
    session: SessionDep,
    status: Annotated[Literal["open", "assigned", "closed"] | None, Query()] = None,
) -> TicketList:
    found = tickets.list_tickets(session, status)
    return TicketList(tickets=[TicketSummary.model_validate(ticket) for ticket in found])


@router.get("/v1/tickets/{ticket_id}", responses=error_responses(401, 422, 404))
def get_ticket(ticket_id: TicketId, _caller: ServiceOrStaff, session: SessionDep) -> TicketOut:
    return TicketOut.model_validate(tickets.get_ticket(session, ticket_id))


@router.post(
    "/v1/tickets/{ticket_id}/messages", status_code=201, responses=error_responses(401, 422, 404, 409)
)
def add_message(
    ticket_id: TicketId, body: MessageCreate, caller: ServiceOrStaff, session: SessionDep, clock: ClockDep
) -> MessageOut:
    return MessageOut.model_validate(tickets.add_message(session, ticket_id, body, caller, clock()))


@router.post("/v1/tickets/{ticket_id}/close", responses=error_responses(401, 422, 404))
def close_ticket(
    ticket_id: TicketId, _caller: ServiceOrStaff, session: SessionDep, clock: ClockDep
) -> TicketOut:
    return TicketOut.model_validate(tickets.close_ticket(session, ticket_id, clock()))


@router.delete("/v1/conversations/{conversation_id}/tickets", responses=error_responses(401, 422))
def forget_conversation(
    conversation_id: Annotated[str, Path(min_length=1, max_length=200)],
    caller: ServiceOrStaff,
    session: SessionDep,
    clock: ClockDep,
) -> Deleted:
    """A person's request to be forgotten: every ticket of the conversation, with its messages."""
    return Deleted(deleted=tickets.forget_conversation(session, conversation_id, caller, clock()))


@router.delete("/v1/tickets", dependencies=[RequireService], responses=error_responses(401, 422))
def purge_tickets(closed_before: Annotated[datetime, Query()], session: SessionDep) -> Deleted:
    """The retention period: tickets closed before `closed_before` (UTC unless it says so)."""
    if closed_before.tzinfo is None:
        closed_before = closed_before.replace(tzinfo=UTC)
    try:
        closed_before = closed_before.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+00:01 is before the first representable UTC time
        raise ApiError(422, "validation_error", "closed_before is out of range.") from None
    return Deleted(deleted=tickets.purge_closed(session, closed_before))
