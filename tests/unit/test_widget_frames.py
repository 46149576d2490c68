"""The widget's client frames as Pydantic models (channels/web/routes.py): what each bad frame is
closed with, what is ignored, and the protocol's JSON Schema. The same on a real socket:
tests/channels/test_widget_routes.py."""

import pytest

from channels.models import MAX_ID
from channels.web.routes import CLIENT_FRAME, Incoming, ProtocolError, _hello_after, _incoming


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ({"type": "message", "text": "hi"}, "hello first"),
        ({"type": "future"}, "hello first"),
        ({"type": "hello", "after": True}, "after: a message id"),
        ({"type": "hello", "after": 1.0}, "after: a message id"),
        ({"type": "hello", "after": MAX_ID + 1}, "after: a message id"),
    ],
)
def test_a_bad_hello_is_closed_with_1008_and_its_reason(frame, reason):
    with pytest.raises(ProtocolError) as raised:
        _hello_after(frame)
    assert (raised.value.code, raised.value.reason) == (1008, reason)


def test_a_hello_gives_the_last_id_zero_when_absent():
    assert _hello_after({"type": "hello"}) == 0
    assert _hello_after({"type": "hello", "after": 41, "extra": "ignored"}) == 41


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ({"type": "message", "text": 42}, "message: text"),
        ({"type": "message"}, "message: text"),
        ({"type": "button", "title": "x"}, "button: title and payload"),
        ({"type": "button", "title": "x", "payload": "/" * 501}, "button: title and payload"),
    ],
)
def test_a_bad_frame_is_closed_with_1008_and_its_reason(frame, reason):
    with pytest.raises(ProtocolError) as raised:
        _incoming(frame)
    assert (raised.value.code, raised.value.reason) == (1008, reason)


def test_messages_and_buttons_come_in_unknown_types_and_hellos_are_ignored():
    assert _incoming({"type": "message", "text": "hi"}) == Incoming("hi")
    assert _incoming({"type": "button", "title": "Yes", "payload": "/affirm"}) == Incoming("Yes", "/affirm")
    assert _incoming({"type": "button", "title": "Yes", "payload": ""}) == Incoming("Yes", None)
    assert _incoming({"type": "hello"}) is None
    assert _incoming({"type": "typing"}) is None
    assert _incoming({"type": ["not", "a", "name"]}) is None


def test_the_frames_have_a_json_schema():
    schema = CLIENT_FRAME.json_schema()
    assert set(schema["discriminator"]["mapping"]) == {"hello", "message", "button"}
