"""Reading a turn's replies back from Rasa's tracker (channels/kept.py) as its REST channel sent
them: what a person gets after a crash of the channel service must be what they would have got."""

from channels.kept import MESSAGE_ID, replies_in_tracker


def user(text: str, message_id: int | None) -> dict:
    metadata = {MESSAGE_ID: message_id} if message_id is not None else {}
    return {"event": "user", "text": text, "metadata": metadata}


def bot(text: str, **data: object) -> dict:
    return {"event": "bot", "text": text, "data": data, "metadata": {}}


EVENTS = [
    user("hello", 1),
    bot("Hi!\n\nHow can I help?"),
    {"event": "action", "name": "action_listen"},
    user("I want a person", 2),
    {"event": "slot", "name": "language", "value": "en"},
    bot("A consultant will answer here.", buttons=[{"title": "Menu", "payload": "/greet"}]),
    bot("", custom={"handoff": {"ticket_id": 7, "language": "en"}}),
    user("typed to the helpdesk", None),
    bot("A reply of staff"),
]


def test_a_text_without_buttons_comes_a_paragraph_a_message_and_stops_at_the_next_user_event():
    assert replies_in_tracker(EVENTS, 1) == [{"text": "Hi!"}, {"text": "How can I help?"}]


def test_buttons_stay_with_their_text_and_a_custom_payload_comes_on_its_own():
    assert replies_in_tracker(EVENTS, 2) == [
        {"text": "A consultant will answer here.", "buttons": [{"title": "Menu", "payload": "/greet"}]},
        {"custom": {"handoff": {"ticket_id": 7, "language": "en"}}},
    ]


def test_a_message_rasa_never_got_has_no_replies_at_all():
    assert replies_in_tracker(EVENTS, 3) is None
    assert replies_in_tracker([user("hello", 4)], 4) == []  # got it, said nothing
