"""The widget's routes without the stack: the script and its cache headers, the demo page, and
the WebSocket protocol, on a real server in this process. Rasa is not running (a closed port), so
every message gets the service's real "assistant unavailable" notice: enough to see storing,
echo, history and refusals.
"""

import json
import logging
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from channels.app import create_app
from channels.config import Settings
from channels.texts import LANGUAGES, notice, widget_labels
from channels.web.protocol import UVICORN_OPTIONS
from tests.support.asgi_server import ServerThread

CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: nobody listens there
WAIT = 15  # seconds for any one frame: a missing push fails the test instead of hanging it


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> FastAPI:
    settings = Settings(
        channels_database_url=f"sqlite:///{tmp_path_factory.mktemp('widget') / 'channels.db'}",
        channels_public_url="https://chat.example.org",
        rasa_url=CLOSED_PORT,
        backend_url=CLOSED_PORT,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def server(app) -> Iterator[str]:
    """The channel service on a free port, with a database of its own."""
    server = ServerThread(app, **UVICORN_OPTIONS)  # as channels/serve.py runs it
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server) as client:
        yield client


@pytest.fixture
def widget(server) -> Iterator[Callable[..., ClientConnection]]:
    """Opens the widget's socket: widget(session=…, lang=…); closed after the test."""
    sockets: list[ClientConnection] = []

    def open_socket(session: str | None = None, lang: str = "") -> ClientConnection:
        query = f"session={uuid.uuid4() if session is None else session}&lang={lang}"
        sockets.append(connect(f"{server.replace('http', 'ws')}/widget/ws?{query}", open_timeout=WAIT))
        return sockets[-1]

    yield open_socket
    for opened in sockets:
        opened.close()


def send(socket: ClientConnection, frame: dict) -> None:
    socket.send(json.dumps(frame))


def receive(socket: ClientConnection) -> dict:
    return json.loads(socket.recv(timeout=WAIT))


def hello(socket: ClientConnection, after: int = 0) -> list[dict]:
    """Says hello; returns the history the server answers with (after the state)."""
    send(socket, {"type": "hello", "after": after})
    assert receive(socket)["type"] == "state"
    history = receive(socket)
    assert history["type"] == "messages", history
    return history["messages"]


def receive_messages(socket: ClientConnection, count: int) -> list[dict]:
    """The next `count` messages the server pushes, whether they come in one frame or several."""
    messages: list[dict] = []
    while len(messages) < count:
        frame = receive(socket)
        assert frame["type"] == "messages", frame
        messages += frame["messages"]
    assert len(messages) == count, messages
    return messages


def assert_closed_with(socket: ClientConnection, code: int) -> None:
    """The server closes the socket with `code`, maybe after the state and history it was sending."""
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(3):
            assert receive(socket)["type"] in ("state", "messages")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def test_the_script_carries_the_labels_of_every_language_and_a_cache_header(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "public, max-age=300"
    assert "/*LABELS*/" not in response.text
    for language in LANGUAGES:
        for text in widget_labels(language).values():
            assert json.dumps(text) in response.text  # JSON, ASCII-escaped as the service writes it


def test_the_script_is_not_sent_again_when_the_cached_copy_is_current(client):
    etag = client.get("/widget.js").headers["etag"]
    again = client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    changed = client.get("/widget.js", headers={"If-None-Match": '"something-older"'})
    assert changed.status_code == 200


def test_the_stylesheet(client):
    response = client.get("/widget.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "etag" in response.headers


def test_the_demo_page_embeds_the_widget_and_shows_the_snippet_with_the_public_address(client):
    response = client.get("/")
    assert response.status_code == 200
    assert '<script src="/widget.js"' in response.text
    assert "&lt;script src=&quot;https://chat.example.org/widget.js&quot;" not in response.text
    assert '&lt;script src="https://chat.example.org/widget.js"' in response.text


@pytest.mark.parametrize(
    "session", ["", "short", "a" * 65, "..%2F..%2Fetc", "abc%20def%20123", "ab%0Acd-123"]
)
def test_a_socket_without_a_proper_session_id_is_refused(widget, session):
    assert_closed_with(widget(session=session), 1008)


def test_a_message_is_echoed_answered_and_kept_for_the_next_visit(widget):
    session = str(uuid.uuid4())
    socket = widget(session, lang="pl-PL")
    send(socket, {"type": "hello", "after": 0})
    assert receive(socket) == {"type": "state", "state": "bot"}
    assert receive(socket) == {"type": "messages", "messages": []}  # nothing yet
    send(socket, {"type": "message", "text": "  Cześć  "})
    echo, answer = receive_messages(socket, 2)
    assert (echo["author"], echo["text"], echo["buttons"]) == ("user", "Cześć", [])
    # the hint made the conversation Polish; Rasa is down, so the message is kept for later
    assert (answer["author"], answer["text"]) == ("system", notice("kept_for_later", "pl"))
    assert answer["id"] > echo["id"]
    socket.close()

    # a reload: the whole history; a reconnect: only what came after the last message it has
    reloaded = widget(session, lang="pl")
    assert hello(reloaded) == [echo, answer]
    reconnected = widget(session, lang="pl")
    assert hello(reconnected, after=echo["id"]) == [answer]

    send(reconnected, {"type": "button", "title": "Uzyskaj numer PESEL", "payload": "/get_pesel"})
    pressed, _ = receive_messages(reconnected, 2)
    # the transcript shows what the person pressed, not the payload
    assert (pressed["author"], pressed["text"]) == ("user", "Uzyskaj numer PESEL")
    # and every socket of the conversation gets it at once
    assert receive_messages(reloaded, 2)[0] == pressed


def test_a_message_stored_without_the_hub_knowing_comes_before_the_next_one(app, widget):
    """A socket takes stored messages from the hub only when they follow what it has sent; one
    stored meanwhile by another instance of the service (here: the store itself) is read first."""
    session = str(uuid.uuid4())
    socket = widget(session)
    hello(socket)
    send(socket, {"type": "message", "text": "first"})
    receive_messages(socket, 2)
    [elsewhere] = app.state.service.store.append(f"web-{session}", "staff", [("from elsewhere", [])]).messages
    send(socket, {"type": "message", "text": "second"})
    shown = receive_messages(socket, 3)
    assert [(m["author"], m["text"]) for m in shown][:2] == [("staff", "from elsewhere"), ("user", "second")]
    assert shown[0]["id"] == elsewhere.id and [m["id"] for m in shown] == sorted(m["id"] for m in shown)


def test_another_session_sees_nothing_of_this_one(widget):
    first = widget()
    hello(first)
    send(first, {"type": "message", "text": "Привіт"})
    receive_messages(first, 2)
    other = widget()
    assert hello(other) == []
    send(other, {"type": "message", "text": "Hello there"})
    echo, _ = receive_messages(other, 2)
    assert echo["text"] == "Hello there"


def test_a_text_over_2000_characters_gets_the_notice_and_is_not_stored(widget):
    socket = widget(lang="uk")
    hello(socket)
    send(socket, {"type": "message", "text": "я" * 2001})
    [only] = receive_messages(socket, 1)
    assert (only["author"], only["text"]) == ("system", notice("too_long", "uk"))


def test_unknown_frame_types_are_ignored(widget):
    socket = widget()
    hello(socket)
    send(socket, {"type": "typing"})
    send(socket, {"type": "message", "text": "ok"})
    echo, _ = receive_messages(socket, 2)
    assert echo["text"] == "ok"


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        (["not json"], 1008),
        (["[1, 2]"], 1008),
        (['{"type": "message", "text": "hello before hello"}'], 1008),
        (['{"type": "hello", "after": -1}'], 1008),
        (['{"type": "hello", "after": true}'], 1008),
        (['{"type": "hello"}', '{"type": "message", "text": 42}'], 1008),
        (['{"type": "hello"}', '{"type": "button", "title": "x"}'], 1008),
        (['{"type": "hello"}', '{"type": "button", "title": "x", "payload": "' + "/" * 501 + '"}'], 1008),
        (['{"type": "hello"}', '{"type": "message", "text": "' + "x" * 16_400 + '"}'], 1009),
    ],
)
def test_a_malformed_frame_closes_the_socket(widget, frames, code):
    socket = widget()
    for frame in frames:
        socket.send(frame)
    assert_closed_with(socket, code)


@pytest.mark.parametrize("after_hello", [False, True])
@pytest.mark.parametrize(
    ("frame", "as_text"),
    [
        (b'{"type": "message", "text": "PESEL \xff\xfe\xc3\x28"}', True),  # invalid UTF-8
        (b'{"type": "message", "text": "PESEL"}', False),  # a binary frame (of valid UTF-8 even)
    ],
    ids=["invalid UTF-8", "binary"],
)
def test_a_frame_that_is_not_utf8_text_closes_the_socket_with_one_line_of_warning(
    widget, caplog, frame, as_text, after_hello
):
    session = str(uuid.uuid4())
    socket = widget(session)
    other = widget()
    hello(other)
    if after_hello:
        hello(socket)
    caplog.clear()
    socket.send(frame, text=as_text)  # websockets sends the bytes as they are
    assert_closed_with(socket, 1008)
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert record.getMessage() == f"widget: web-{session} closed with 1008: UTF-8 text frames only"
    send(other, {"type": "message", "text": "still here"})
    assert receive_messages(other, 2)[0]["text"] == "still here"


def test_a_long_history_comes_whole_a_page_at_a_time(app, widget):
    session = str(uuid.uuid4())
    socket = widget(session)
    hello(socket)
    send(socket, {"type": "message", "text": "first"})
    receive_messages(socket, 2)
    # a long conversation, stored directly: 201 messages in all
    app.state.service.store.append(f"web-{session}", "bot", [(f"answer {n}", []) for n in range(199)])

    again = widget(session)
    first_page = hello(again)
    assert len(first_page) == 200
    [last] = receive_messages(again, 1)
    assert last["text"] == "answer 198"
    ids = [m["id"] for m in first_page] + [last["id"]]
    assert ids == sorted(set(ids))  # in order, nothing twice
