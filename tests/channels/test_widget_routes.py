"""The widget's routes in-process, without the stack: the script and its cache headers, the demo
page, and the WebSocket protocol. Rasa is not running (a closed port), so every message gets the
service's real "assistant unavailable" notice: enough to see storing, echo, history and refusals.
"""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from channels.app import create_app
from channels.config import Settings
from channels.texts import LANGUAGES, notice, widget_labels

SESSION = "0b0f6a52-3c1e-4f7a-9a51-4f1d2f3e8a11"
CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: nobody listens there


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = Settings(
        channels_database_url=f"sqlite:///{tmp_path / 'channels.db'}",
        channels_public_url="https://chat.example.org",
        rasa_url=CLOSED_PORT,
        backend_url=CLOSED_PORT,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def receive_messages(socket, count: int) -> list[dict]:
    """The next `count` messages the server pushes, whether they come in one frame or several."""
    messages: list[dict] = []
    while len(messages) < count:
        frame = socket.receive_json()
        assert frame["type"] == "messages", frame
        messages += frame["messages"]
    assert len(messages) == count, messages
    return messages


def assert_closed_with(socket, code: int) -> None:
    """The server closes the socket with `code`, maybe after the state it was sending anyway."""
    with pytest.raises(WebSocketDisconnect) as closed:
        for _ in range(3):
            assert socket.receive_json()["type"] == "state"
    assert closed.value.code == code


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


@pytest.mark.parametrize("session", ["", "short", "a" * 65, "../../etc", "abc def 123", "ab%0Acd-123"])
def test_a_socket_without_a_proper_session_id_is_refused(client, session):
    with client.websocket_connect(f"/widget/ws?session={session}") as socket:
        assert_closed_with(socket, 1008)


def test_a_message_is_echoed_answered_and_kept_for_the_next_visit(client):
    with client.websocket_connect(f"/widget/ws?session={SESSION}&lang=pl") as socket:
        socket.send_json({"type": "hello", "after": 0})
        assert socket.receive_json() == {"type": "state", "state": "bot"}
        socket.send_json({"type": "message", "text": "  Cześć  "})
        echo, answer = receive_messages(socket, 2)
    assert (echo["author"], echo["text"], echo["buttons"]) == ("user", "Cześć", [])
    # the hint made the conversation Polish; Rasa is down, so the service apologises
    assert (answer["author"], answer["text"]) == ("system", notice("rasa_unavailable", "pl"))
    assert answer["id"] > echo["id"]

    # a reload: the whole history; a reconnect: only what came after the last message it has
    with client.websocket_connect(f"/widget/ws?session={SESSION}&lang=pl") as socket:
        socket.send_json({"type": "hello", "after": 0})
        assert socket.receive_json()["type"] == "state"
        assert receive_messages(socket, 2) == [echo, answer]
    with client.websocket_connect(f"/widget/ws?session={SESSION}&lang=pl") as socket:
        socket.send_json({"type": "hello", "after": echo["id"]})
        assert socket.receive_json()["type"] == "state"
        assert receive_messages(socket, 1) == [answer]
        socket.send_json({"type": "button", "title": "Uzyskaj numer PESEL", "payload": "/get_pesel"})
        pressed, _ = receive_messages(socket, 2)
    # the transcript shows what the person pressed, not the payload
    assert (pressed["author"], pressed["text"]) == ("user", "Uzyskaj numer PESEL")


def test_another_session_sees_nothing_of_this_one(client):
    with client.websocket_connect(f"/widget/ws?session={SESSION}") as socket:
        socket.send_json({"type": "hello", "after": 0})
        socket.receive_json()
        socket.send_json({"type": "message", "text": "Привіт"})
        receive_messages(socket, 2)
    with client.websocket_connect("/widget/ws?session=another-session-1234") as socket:
        socket.send_json({"type": "hello", "after": 0})
        assert socket.receive_json() == {"type": "state", "state": "bot"}
        socket.send_json({"type": "message", "text": "Hello there"})
        echo, _ = receive_messages(socket, 2)
    assert echo["text"] == "Hello there"


def test_a_text_over_2000_characters_gets_the_notice_and_is_not_stored(client):
    with client.websocket_connect(f"/widget/ws?session={SESSION}&lang=uk") as socket:
        socket.send_json({"type": "hello", "after": 0})
        socket.receive_json()
        socket.send_json({"type": "message", "text": "я" * 2001})
        [only] = receive_messages(socket, 1)
    assert (only["author"], only["text"]) == ("system", notice("too_long", "uk"))


def test_unknown_frame_types_are_ignored(client):
    with client.websocket_connect(f"/widget/ws?session={SESSION}") as socket:
        socket.send_json({"type": "hello", "after": 0})
        socket.receive_json()
        socket.send_json({"type": "typing"})
        socket.send_json({"type": "message", "text": "ok"})
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
def test_a_malformed_frame_closes_the_socket(client, frames, code):
    with client.websocket_connect(f"/widget/ws?session={SESSION}") as socket:
        for frame in frames:
            socket.send_text(frame)
        assert_closed_with(socket, code)


def test_a_binary_frame_closes_the_socket(client):
    with client.websocket_connect(f"/widget/ws?session={SESSION}") as socket:
        socket.send_bytes(b'{"type": "hello"}')
        assert_closed_with(socket, 1003)
