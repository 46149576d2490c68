"""The helpdesk console under /console: its page, its JSON API (/console/api) and its live socket
(/console/ws).

The backend keeps tickets, staff and lookups and authorises every call by the staff member's own
token (see guard.py); this service adds what only it has: the conversations with their messages,
replies and hand-backs through the conversation service, and the page of what the bot fails on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import fastapi
from fastapi import (
    APIRouter,
    Depends,
    HTTPException,
    Query,
    Request,
    Response,
    WebSocket,
)
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from channels import insights, learning, retention
from channels.console.guard import (
    SESSION_COOKIE,
    ConsoleError,
    ConsoleRoute,
    StaffToken,
    forget_session,
    remember_session,
    require_console_header,
    signed_out,
)
from channels.conversations import MAX_TEXT, ConversationService
from channels.deps import ServiceDep, SettingsDep
from channels.intake import clean
from channels.models import MAX_ID, Conversation, Message, utc_now
from channels.texts import console_texts
from common.backend_client import ApiError
from common.languages import CONSOLE_LANGUAGES, LANGUAGES
from common.pii import pesel_for_staff

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}
# The page loads only its own script and style, talks only to its own origin, and is never framed.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# WebSocket close codes: the client signs in again on 4401, reconnects later on 1013.
CLOSE_SIGNED_OUT = 4401
CLOSE_TRY_LATER = 1013

# The page and its assets stay out of the OpenAPI document; the JSON API is in it (the fuzz
# tests read it from there).
router = APIRouter()
# Ids no row can have are refused (422) before a query would fail on them.
TicketId = Annotated[int, fastapi.Path(ge=1, le=MAX_ID)]
After = Annotated[int, Query(ge=0, le=MAX_ID)]
api = APIRouter(
    prefix="/console/api",
    tags=["console"],
    route_class=ConsoleRoute,
    dependencies=[Depends(require_console_header)],
)


# The page


TEXTS_MARKER = "/*TEXTS*/{}"
LANGUAGES_MARKER = "/*LANGUAGES*/[]"


@cache
def _console_script() -> bytes:
    """console.js with its texts from knowledge/console.yml and the staff's languages."""
    script = (STATIC / "console.js").read_text(encoding="utf-8")
    for marker in (TEXTS_MARKER, LANGUAGES_MARKER):
        if marker not in script:
            raise RuntimeError(f"console.js lost its {marker} marker")
    texts = json.dumps(console_texts(), ensure_ascii=True, sort_keys=True)
    script = script.replace(TEXTS_MARKER, texts)
    return script.replace(LANGUAGES_MARKER, json.dumps(list(CONSOLE_LANGUAGES))).encode("utf-8")


@router.get("/console", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/console/static/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name == "console.js":
        return Response(_console_script(), media_type=ASSETS[name], headers=PAGE_HEADERS)
    if name not in ASSETS:
        raise HTTPException(404)
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers=PAGE_HEADERS)


# Session


class SignIn(BaseModel):
    username: str
    password: str


@api.post("/session")
async def sign_in(body: SignIn, request: Request, response: Response, service: ServiceDep) -> dict[str, str]:
    client_ip = request.client.host if request.client else "unknown"
    session = await service.backend.sign_in(body.username, body.password, client_ip)
    remember_session(response, request, session["access_token"], int(session["expires_in"]))
    return {"username": session["username"], "role": session["role"]}


@api.delete("/session", status_code=204)
async def sign_out(response: Response) -> None:
    # The backend's tokens cannot be revoked; forgetting the cookie ends the session in this browser.
    forget_session(response)


# Queue and transcript


@api.get("/queue")
async def queue(token: StaffToken, service: ServiceDep) -> dict[str, Any]:
    """Tickets waiting for or being handled by staff, the longest waiting first."""
    waiting, taken = await asyncio.gather(
        service.backend.tickets(token, "open"), service.backend.tickets(token, "assigned")
    )
    now = utc_now()
    tickets = sorted([*waiting, *taken], key=lambda ticket: ticket["id"])
    return {"tickets": [_ticket_summary(ticket, now) for ticket in tickets]}


@api.get("/tickets/{ticket_id}")
async def transcript(
    ticket_id: TicketId, token: StaffToken, service: ServiceDep, after: After = 0
) -> dict[str, Any]:
    """The ticket and its conversation's messages after `after` (the page asks again on every
    live update, with the last id it has).

    Why the messages come from this service's database and not from the ticket's messages in the
    backend: only this record is complete and in one order (the bot's part before the handoff,
    the handoff itself, notices, and user messages the backend failed to record), and it is masked
    the same way throughout. The ticket's messages repeat the handoff part and stay the backend's
    record of who wrote what. The ticket itself is fetched with the staff token, so the backend
    decides who may read the transcript; it gives the status, assignee and reason."""
    ticket = await service.backend.ticket(ticket_id, token)
    conversation = await asyncio.to_thread(service.store.conversation, ticket["conversation_id"])
    messages: list[Message] = []
    if conversation is not None:
        messages = await asyncio.to_thread(service.store.messages, conversation.id, after, 500, True)
    return {
        "ticket": _ticket_summary(ticket, utc_now()),
        "conversation": _conversation(conversation, ticket_id),
        "messages": [_message(message) for message in messages],
    }


class Reply(BaseModel):
    text: str


@api.post("/tickets/{ticket_id}/replies", status_code=201)
async def reply(ticket_id: TicketId, body: Reply, token: StaffToken, service: ServiceDep) -> dict[str, Any]:
    text = body.text.strip()
    if not text:
        raise ConsoleError(422, "empty_reply", "Write a reply first.")
    if len(text) > MAX_TEXT:
        raise ConsoleError(422, "reply_too_long", f"A reply can be at most {MAX_TEXT} characters long.")
    return _message(await service.staff_reply(ticket_id, text, token))


@api.post("/tickets/{ticket_id}/hand-back")
async def hand_back(ticket_id: TicketId, token: StaffToken, service: ServiceDep) -> dict[str, str]:
    await service.hand_back(ticket_id, token)
    return {"state": "bot"}


@api.post("/conversations/{conversation_id}/forget")
async def forget(
    conversation_id: str, token: StaffToken, service: ServiceDep, settings: SettingsDep
) -> dict[str, int]:
    """A person's request to be forgotten: their conversation here, in Rasa's tracker store and
    the backend's tickets. The backend authorises the staff member and audits the request."""
    deleted = await retention.forget(
        service.store, settings.rasa_tracker_db_url, service.backend, conversation_id, token
    )
    service.hub.publish(conversation_id, {"type": "state", "state": "bot"})
    return deleted.as_json()


# Lookup and failures


class Lookup(BaseModel):
    pesel: str


@api.post("/lookups")
async def lookup(body: Lookup, token: StaffToken, service: ServiceDep) -> dict[str, Any]:
    """A person's onboarding record; the backend writes an audit row for every lookup."""
    # Staff may type the number in groups ("850703 12345"); the backend checks the rest.
    found = await service.backend.lookup("".join(body.pesel.split()), token)
    # What the console shows until the staff member reveals the number (common/pii.py).
    found["person"]["pesel_masked"] = pesel_for_staff(found["person"]["pesel"])
    return found


@api.get("/failures")
async def failures(token: StaffToken, service: ServiceDep, settings: SettingsDep) -> dict[str, Any]:
    """Messages the bot failed on (masked), for improving the training data: the groups nobody
    has labelled yet, and the labels staff may give them (channels/learning.py)."""
    await _authorised(service, token)
    labelled = await asyncio.to_thread(service.store.labels)
    skip = {(label.text, label.language) for label in labelled}
    try:
        found = await asyncio.to_thread(insights.failures, settings.rasa_tracker_db_url, skip=skip)
    except SQLAlchemyError as error:
        raise ConsoleError(503, "tracker_unavailable", "Rasa's conversation store cannot be read.") from error
    return {
        "threshold": insights.LOW_CONFIDENCE,
        "failures": [failure.as_json() for failure in found],
        "labels": [label.as_json() for label in learning.catalog()],
        "labelled": len(labelled),
    }


class FailureLabelIn(BaseModel):
    text: str
    language: str | None = None
    label: str


@api.post("/failures/labels", status_code=201)
async def label_failure(body: FailureLabelIn, token: StaffToken, service: ServiceDep) -> dict[str, Any]:
    """Labels a group of the failures page with what it should have been (an intent, faq/<key>
    or new_topic). The text is masked and normalised as the page groups it; a text of the
    development or held-out set is refused, so that `make learn` never trains on a test sentence.
    The backend audits the label (by the group's fingerprint) and says who and when."""
    text = insights.normalise(clean(body.text))
    if not text:
        raise ConsoleError(422, "empty_text", "The message has no text to label.")
    if len(text) > MAX_TEXT:
        raise ConsoleError(422, "text_too_long", f"A message can be at most {MAX_TEXT} characters long.")
    if body.language is not None and body.language not in LANGUAGES:
        raise ConsoleError(422, "unknown_language", "The language must be uk, pl, en or ru.")
    if body.label not in learning.label_values(learning.catalog()):
        raise ConsoleError(422, "unknown_label", "Choose one of the bot's intents, FAQ answers or new topic.")
    test_set = learning.evaluation_sets().find(text)
    if test_set is not None:
        raise ConsoleError(
            422,
            "test_set_text",
            f"This message is in the test set tests/nlu/{test_set}: a test sentence must not become "
            "a training example, or the evaluation would flatter the bot.",
        )
    digest = learning.digest(text, body.language)
    audited = await service.backend.audit_failure_label(body.label, body.language, digest, token)
    saved = await asyncio.to_thread(
        service.store.save_label,
        digest,
        text,
        body.language,
        body.label,
        str(audited["staff_username"]),
        _utc(datetime.fromisoformat(str(audited["created_at"]))),
    )
    return {
        "text": saved.text,
        "language": saved.language,
        "label": saved.label,
        "staff_username": saved.staff_username,
        "created_at": saved.created_at.isoformat(),
    }


router.include_router(api)


# Live updates


@router.websocket("/console/ws")
async def live(websocket: WebSocket) -> None:
    """Hints {"type": "messages"|"state", "conversation_id"} for every conversation: the page then
    asks the API again, so nothing but conversation ids travels on this socket."""
    if not _same_origin(websocket):
        # Cross-site WebSocket hijacking: a browser sends the cookie along, so the origin decides.
        await websocket.close(code=1008)
        return
    service: ConversationService = websocket.app.state.service
    await websocket.accept()
    try:
        await _authorised(service, websocket.cookies.get(SESSION_COOKIE) or "")
    except (ConsoleError, ApiError) as error:
        await websocket.close(code=CLOSE_SIGNED_OUT if error.status == 401 else CLOSE_TRY_LATER)
        return
    async with service.hub.watch() as updates:
        forwarding = asyncio.create_task(_forward(websocket, updates))
        try:
            # The page sends nothing; reading only notices that it went away (and ignores whatever
            # else comes, binary or not UTF-8 as well: channels/web/protocol.py).
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            forwarding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forwarding


async def _forward(websocket: WebSocket, updates: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        update = await updates.get()
        await websocket.send_json({"type": update["type"], "conversation_id": update["conversation_id"]})


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    # Clients other than browsers send no Origin; they still need the session cookie.
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


# Helpers


async def _authorised(service: ConversationService, token: str) -> None:
    """Raises (ConsoleError or ApiError, which ConsoleRoute answers) unless the backend accepts
    the staff token. It has no "who am I" call; listing the open tickets is the cheapest call
    every staff member may make."""
    if not token:
        raise signed_out()
    await service.backend.tickets(token, "open")


def _utc(moment: datetime) -> datetime:
    """The backend's times are UTC, with or without the offset written."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ticket_summary(ticket: dict[str, Any], now: datetime) -> dict[str, Any]:
    created = datetime.fromisoformat(ticket["created_at"])
    return {
        "id": ticket["id"],
        "conversation_id": ticket["conversation_id"],
        "channel": ticket["channel"],
        "language": ticket["language"],
        "reason": ticket["reason"],
        "status": ticket["status"],
        "assigned_to": ticket["assigned_to"],
        "created_at": ticket["created_at"],
        # From the server's clock, so that a staff computer's wrong clock does not skew it.
        "waiting_seconds": max(0, int((now - created).total_seconds())),
    }


def _conversation(conversation: Conversation | None, ticket_id: int) -> dict[str, Any] | None:
    if conversation is None:
        return None
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "language": conversation.language,
        "state": conversation.state,
        # Staff may answer only while this ticket holds the conversation.
        "with_helpdesk": conversation.state == "handoff" and conversation.ticket_id == ticket_id,
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "author": message.author,
        "text": message.text,
        "buttons": [button.get("title", "") for button in message.buttons or []],
        "created_at": message.created_at.isoformat(),
    }
