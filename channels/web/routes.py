"""The website chat widget: its script and stylesheet, the demo page, and its WebSocket.

A page embeds the widget with one tag (every data attribute is optional):

    <script src="https://chat.example.org/widget.js" data-color="#1f5fa8" data-lang="pl"
            data-position="left" defer></script>

The script finds the service from its own `src`, so it works on any site. It keeps a random
session id (crypto.randomUUID) in the page's localStorage: the conversation survives reloads and
is the same in every tab of the site. The session id is the only key to the conversation, so
sockets are accepted from any origin (no cookies are involved that another site could ride on).

Protocol: JSON text frames on /widget/ws?session=<id>&lang=<browser language, e.g. pl>
  session   [A-Za-z0-9-]{8,64}; the conversation is "web-<session>". Anything else: closed, 1008.
  lang      the language hint for the bot; anything but uk/pl/en/ru (common/languages.py) is ignored.

  client → {"type": "hello", "after": <the last message id it has, 0 for none>}
            the first frame, on every (re)connect
  server → {"type": "state", "state": "bot" | "handoff"}
            right after the hello, then whenever the helpdesk takes over or hands back
  server → {"type": "messages", "messages": [{"id", "author", "text", "buttons", "created_at"}]}
            the history after "after" (a first frame even when empty; more frames past 200
            messages), then every message as it is stored, the person's own included: the
            client shows what the server stored and skips ids it already has.
            author is "user", "bot", "staff" or "system"; buttons are [{"title", "payload"}].
  server → {"type": "notice", "text": "..."}
            what the service says when it cannot store anything (its database is unreachable):
            shown as the service's message, once; it is in no history.
  client → {"type": "message", "text": "..."}
  client → {"type": "button", "title": "<the button's title>", "payload": "<its payload>"}

  Unknown types are ignored (a newer script may talk to an older service). Closed with 1008 when
  the first frame is not a hello, a frame is not a JSON object with the fields above, or it is
  not UTF-8 text (a binary frame, or a text frame of invalid UTF-8: channels/web/protocol.py);
  1009 for a frame over MAX_FRAME characters (texts over 2000 characters get the service's "too
  long" notice instead), 1011 when the service fails. Each refusal is logged as one line of
  warning with its reason, never with what the frame held.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, StrictInt, StrictStr, TypeAdapter, ValidationError
from starlette.websockets import WebSocketDisconnected

from channels.conversations import ConversationService, Outage
from channels.deps import SettingsDep
from channels.models import MAX_ID, Message
from channels.store import Store
from channels.texts import language_or_default, widget_labels
from common.db import DatabaseUnavailable
from common.languages import DEFAULT_LANGUAGE, LANGUAGES

logger = logging.getLogger(__name__)
router = APIRouter(tags=["widget"])

STATIC = Path(__file__).resolve().parent / "static"
SESSION = re.compile(r"[A-Za-z0-9-]{8,64}")
# Characters in one frame: a 2000-character message fits many times over, even JSON-escaped.
MAX_FRAME = 16_384
MAX_PAYLOAD = 500
# Messages a person may send ahead of the bot's answers; reading waits (TCP pushes back) when full.
INBOX_SIZE = 10
PAGE = 200
# widget.js has no version in its URL (embedders paste it once), so caches keep it only briefly
# and revalidate by ETag afterwards.
ASSET_CACHE = "public, max-age=300"
LABELS_MARKER = "/*LABELS*/{}"
LANGUAGES_MARKER = "/*LANGUAGES*/[]"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def asset(name: str) -> Asset:
    """widget.js (with the widget's labels in every language from knowledge/) or widget.css."""
    text = (STATIC / name).read_text(encoding="utf-8")
    if name == "widget.js":
        for marker in (LABELS_MARKER, LANGUAGES_MARKER):
            if marker not in text:
                raise RuntimeError(f"widget.js lost its {marker} marker")
        labels = {language: widget_labels(language) for language in LANGUAGES}
        text = text.replace(LABELS_MARKER, json.dumps(labels, ensure_ascii=True, sort_keys=True))
        # The default language first: the widget falls back to it.
        languages = [DEFAULT_LANGUAGE, *(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)]
        text = text.replace(LANGUAGES_MARKER, json.dumps(languages))
    body = text.encode("utf-8")
    media_type = "text/javascript" if name.endswith(".js") else "text/css"
    return Asset(body, f"{media_type}; charset=utf-8", f'"{hashlib.sha256(body).hexdigest()[:20]}"')


def _asset_response(request: Request, name: str) -> Response:
    found = asset(name)
    headers = {"Cache-Control": ASSET_CACHE, "ETag": found.etag}
    if found.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


@router.get("/widget.js", include_in_schema=False)
async def widget_script(request: Request) -> Response:
    return _asset_response(request, "widget.js")


@router.get("/widget.css", include_in_schema=False)
async def widget_stylesheet(request: Request) -> Response:
    return _asset_response(request, "widget.css")


@cache
def _demo_page(public_url: str) -> str:
    """demo.html with the service's public address in its snippet (read and filled in once)."""
    page = (STATIC / "demo.html").read_text(encoding="utf-8")
    return page.replace("{{public_url}}", html.escape(public_url.rstrip("/")))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo_page(settings: SettingsDep) -> HTMLResponse:
    """A clinic's page with the widget, and the snippet to embed it elsewhere."""
    return HTMLResponse(_demo_page(settings.channels_public_url), headers={"Cache-Control": "no-cache"})


class Hello(BaseModel):
    """The first frame, on every (re)connect: the last message id the client has (0 for none)."""

    type: Literal["hello"]
    after: StrictInt = Field(default=0, ge=0, le=MAX_ID)  # bool is an int in Python, but no id


class TextFrame(BaseModel):
    type: Literal["message"]
    text: StrictStr


class ButtonFrame(BaseModel):
    type: Literal["button"]
    title: StrictStr
    payload: StrictStr = Field(max_length=MAX_PAYLOAD)


# What a client may send; other fields are ignored, unknown types too (see the module's docstring).
# CLIENT_FRAME.json_schema() describes the protocol.
ClientFrame = Annotated[Hello | TextFrame | ButtonFrame, Field(discriminator="type")]
CLIENT_FRAME: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
# The close reason (with 1008) of a frame of a known type that its model refuses.
PROBLEMS = {"hello": "after: a message id", "message": "message: text", "button": "button: title and payload"}


class ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Incoming:
    text: str
    payload: str | None = None


@router.websocket("/widget/ws")
async def widget_socket(websocket: WebSocket, session: str = "", lang: str = "") -> None:
    # Accepted first, so that a refusal reaches the browser as a close code and not a failed handshake.
    await websocket.accept()
    if not SESSION.fullmatch(session):
        await _close(websocket, status.WS_1008_POLICY_VIOLATION, "invalid session")
        return
    try:
        hello = await _next_frame(websocket)
        if hello is None:
            return
        after = _hello_after(hello)
    except ProtocolError as error:
        await _refuse(websocket, session, error)
        return

    service: ConversationService = websocket.app.state.service
    conversation_id = f"web-{session}"
    hint = language_or_default(lang, default="") or None
    inbox: asyncio.Queue[Incoming | None] = asyncio.Queue(maxsize=INBOX_SIZE)
    # Watching starts before the history is read, so nothing stored in between is missed.
    async with service.hub.watch(conversation_id) as hints:
        answering = asyncio.create_task(_answer(websocket, service, session, hint, inbox))
        reading = asyncio.create_task(_read(websocket, session, inbox))
        pushing = asyncio.create_task(_push(websocket, service.store, conversation_id, after, hints))
        try:
            await asyncio.wait({reading, pushing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reading.cancel()
            pushing.cancel()
            # What the person sent before leaving still reaches the bot: they see the answers
            # when they come back.
            await inbox.put(None)
            await answering


async def _read(websocket: WebSocket, session: str, inbox: asyncio.Queue[Incoming | None]) -> None:
    """Frames into the inbox until the person leaves; answering them happens elsewhere, in order."""
    try:
        while (frame := await _next_frame(websocket)) is not None:
            incoming = _incoming(frame)
            if incoming is not None:
                await inbox.put(incoming)
    except ProtocolError as error:
        await _refuse(websocket, session, error)


async def _answer(
    websocket: WebSocket,
    service: ConversationService,
    session: str,
    hint: str | None,
    inbox: asyncio.Queue[Incoming | None],
) -> None:
    """One message at a time, so the bot sees them in the order they were sent."""
    while (incoming := await inbox.get()) is not None:
        try:
            await service.receive("web", session, incoming.text, language_hint=hint, payload=incoming.payload)
        except Outage as outage:
            logger.warning("widget: a message of web-%s not handled: %s", session, outage.__cause__)
            # Not stored, so not in any history: said on this socket only, if it is still open.
            with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected):
                await websocket.send_json({"type": "notice", "text": outage.notice})
        except Exception:
            # One failed message must not end the conversation; the person can write again.
            logger.exception("widget: a message of web-%s was not handled", session)


async def _push(
    websocket: WebSocket, store: Store, conversation_id: str, after: int, hints: asyncio.Queue[dict[str, Any]]
) -> None:
    """The state and the history, then whatever the hub says is new: the messages it brings when
    they follow what was sent, else what the database has after it."""
    try:
        conversation, history = await asyncio.to_thread(store.opening, conversation_id, after, PAGE)
        await websocket.send_json({"type": "state", "state": conversation.state if conversation else "bot"})
        # Sent even when empty: the client knows then that what comes next is new.
        cursor = await _send(websocket, history, after)
        if len(history) == PAGE:
            cursor = await _send_after(websocket, store, conversation_id, cursor)
        while True:
            hint = await hints.get()
            if hint["type"] == "state":
                await websocket.send_json({"type": "state", "state": hint["state"]})
            elif hint["type"] == "messages" and hint["last_id"] > cursor:
                if hint["after"] == cursor:
                    cursor = await _send(websocket, hint["messages"], cursor)
                else:  # something came between (a hint lost, another instance's message)
                    cursor = await _send_after(websocket, store, conversation_id, cursor)
    except (WebSocketDisconnect, WebSocketDisconnected):
        return  # the person left (reading notices it too), or reading closed the socket
    except DatabaseUnavailable as error:
        # The widget connects again (backing off) and reads what it missed once the database is back.
        logger.warning("widget: pushing to %s stopped: %s", conversation_id, error)
        await _close(websocket, status.WS_1011_INTERNAL_ERROR, "server error")
    except Exception:
        logger.exception("widget: pushing to %s failed", conversation_id)
        await _close(websocket, status.WS_1011_INTERNAL_ERROR, "server error")


async def _send_after(websocket: WebSocket, store: Store, conversation_id: str, cursor: int) -> int:
    """Sends every message after `cursor`, a page at a time; returns the last id sent."""
    while True:
        batch = await asyncio.to_thread(store.messages, conversation_id, cursor, PAGE)
        if batch:
            cursor = await _send(websocket, batch, cursor)
        if len(batch) < PAGE:
            return cursor


async def _send(websocket: WebSocket, batch: list[Message], cursor: int) -> int:
    """Sends one frame of messages; returns the last id sent (`cursor` when there is none)."""
    await websocket.send_json({"type": "messages", "messages": [_public(m) for m in batch]})
    return batch[-1].id if batch else cursor


def _public(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "author": message.author,
        "text": message.text,
        "buttons": message.buttons or [],
        "created_at": message.created_at.isoformat(),
    }


async def _next_frame(websocket: WebSocket) -> dict[str, Any] | None:
    """The next frame as a JSON object; None once the person has left."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        # A binary frame, or a text frame that is not UTF-8 (channels/web/protocol.py).
        raise ProtocolError(status.WS_1008_POLICY_VIOLATION, "UTF-8 text frames only")
    if len(text) > MAX_FRAME:
        raise ProtocolError(status.WS_1009_MESSAGE_TOO_BIG, "frame too big")
    try:
        frame = json.loads(text)
    except ValueError:
        raise ProtocolError(status.WS_1008_POLICY_VIOLATION, "not JSON") from None
    if not isinstance(frame, dict):
        raise ProtocolError(status.WS_1008_POLICY_VIOLATION, "not a JSON object")
    return frame


def _client_frame(frame: dict[str, Any]) -> ClientFrame | None:
    """The frame as its model; None for a type this service does not know (a newer script's)."""
    kind = frame.get("type")
    if not isinstance(kind, str) or kind not in PROBLEMS:
        return None
    try:
        return CLIENT_FRAME.validate_python(frame)
    except ValidationError:
        raise ProtocolError(status.WS_1008_POLICY_VIOLATION, PROBLEMS[kind]) from None


def _hello_after(frame: dict[str, Any]) -> int:
    hello = _client_frame(frame) if frame.get("type") == "hello" else None
    if not isinstance(hello, Hello):
        raise ProtocolError(status.WS_1008_POLICY_VIOLATION, "hello first")
    return hello.after


def _incoming(frame: dict[str, Any]) -> Incoming | None:
    parsed = _client_frame(frame)
    if isinstance(parsed, TextFrame):
        return Incoming(parsed.text)
    if isinstance(parsed, ButtonFrame):
        return Incoming(parsed.title, parsed.payload or None)
    return None  # a hello again, or an unknown type: ignored


async def _refuse(websocket: WebSocket, session: str, error: ProtocolError) -> None:
    # One line: a broken or hostile client is no error of the service, and what it sent (which
    # may be anything, personal data too) stays out of the log.
    logger.warning("widget: web-%s closed with %d: %s", session, error.code, error.reason)
    await _close(websocket, error.code, error.reason)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # The person may have gone already; there is nobody left to tell.
    with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected):
        await websocket.close(code=code, reason=reason)
