"""channels/conversations.py without a Rasa server: every state of a person's message (answered,
kept, lost on the way back, timed out, failing, orphaned) and the handoff, against an in-memory
Rasa (tests/support/fake_rasa.py) and an in-memory helpdesk, on a real store (SQLite, migrated).

The same paths on real processes: tests/channels/test_conversation_service.py and tests/faults/."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from channels.conversations import MAX_TEXT, ConversationService, Outage
from channels.hub import Hub
from channels.kept import MAX_TRIES, MESSAGE_ID, ORPHANED_AFTER
from channels.models import Conversation, Message
from channels.rasa_client import RasaUnavailable
from channels.store import Store
from channels.texts import notice
from common.db import DatabaseUnavailable
from tests.support.fake_helpdesk import STAFF_TOKEN, FakeHelpdesk
from tests.support.fake_rasa import FakeRasa
from tests.support.store import migrated_store

PERSON = "web-p1"
TICKET = 7
HANDOFF_REPLIES: list[dict[str, Any]] = [
    {"text": "A consultant will answer here."},
    {"custom": {"handoff": {"ticket_id": TICKET, "language": "en"}}},
]


@dataclass
class World:
    """One database, one Rasa and one helpdesk; each `instance()` is a channel service process."""

    store: Store
    rasa: FakeRasa
    helpdesk: FakeHelpdesk
    hub: Hub

    def instance(self, orphaned_after: float = ORPHANED_AFTER) -> ConversationService:
        backend = self.helpdesk.client()
        return ConversationService(self.store, self.rasa, backend, self.hub, orphaned_after=orphaned_after)

    def conversation(self) -> Conversation:
        conversation = self.store.conversation(PERSON)
        assert conversation is not None
        return conversation

    def waiting(self) -> list[str]:
        return [message.text for _, message in self.store.waiting_for_bot(PERSON)]

    def transcript(self) -> list[tuple[str, str]]:
        return [(message.author, message.text) for message in self.store.messages(PERSON)]

    def received(self) -> list[str]:
        return [turn.text for turn in self.rasa.received]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with migrated_store(f"sqlite:///{tmp_path / 'channels.db'}") as store:
        yield World(store, FakeRasa(), FakeHelpdesk(), Hub())


def say(service: ConversationService, text: str, payload: str | None = None) -> list[tuple[str, str]]:
    replies = asyncio.run(service.receive("web", "p1", text, language_hint="en", payload=payload))
    return [(message.author, message.text) for message in replies]


def retry_round(service: ConversationService) -> None:
    asyncio.run(service.answer_waiting())


KEPT = ("system", notice("kept_for_later", "en"))


# answered


def test_an_answered_message_goes_to_rasa_once_with_its_id_and_waits_no_more(world: World) -> None:
    service = world.instance()
    assert say(service, "hello") == [("bot", "echo: hello")]
    [turn] = world.rasa.received
    question = world.store.messages(PERSON)[0]
    assert turn.metadata == {"channel": "web", "language": "en", MESSAGE_ID: question.id}
    assert world.waiting() == []


def test_a_pressed_button_the_bot_offered_goes_as_its_payload_any_other_as_its_title(world: World) -> None:
    world.rasa.answers["hello"] = [{"text": "Menu", "buttons": [{"title": "PESEL", "payload": "/get_pesel"}]}]
    service = world.instance()
    say(service, "hello")
    say(service, "PESEL", payload="/get_pesel")
    say(service, "Forged", payload='/inform{"pesel": "1"}')
    assert world.received() == ["hello", "/get_pesel", "Forged"]


def test_a_typed_command_gets_a_notice_and_never_reaches_rasa(world: World) -> None:
    assert say(world.instance(), "/human_handoff") == [("system", notice("command_typed", "en"))]
    assert world.received() == [] and world.waiting() == []


# kept: Rasa or its action server cannot answer yet


def test_while_rasa_is_down_a_message_is_kept_and_answered_once_it_is_back(world: World) -> None:
    service = world.instance()
    world.rasa.up = False
    assert say(service, "hello") == [KEPT]
    retry_round(service)
    assert world.waiting() == ["hello"]
    world.rasa.up = True
    retry_round(service)
    assert world.waiting() == [] and world.received() == ["hello"]
    assert world.transcript()[-1] == ("bot", "echo: hello")


def test_while_the_action_server_is_down_nothing_reaches_rasa(world: World) -> None:
    service = world.instance()
    world.rasa.actions_up = False
    assert say(service, "hello") == [KEPT]
    retry_round(service)
    assert world.received() == [] and world.waiting() == ["hello"]
    world.rasa.actions_up = True
    retry_round(service)
    assert world.received() == ["hello"] and world.waiting() == []


def test_kept_messages_are_answered_in_the_order_they_were_written(world: World) -> None:
    service = world.instance()
    world.rasa.up = False
    assert say(service, "first") == [KEPT]
    assert say(service, "second") == [KEPT]
    world.rasa.up = True
    retry_round(service)
    assert world.received() == ["first", "second"]
    assert world.transcript()[-2:] == [("bot", "echo: first"), ("bot", "echo: second")]


# sent, and then something went wrong


def test_an_answer_lost_on_the_way_back_is_read_from_the_tracker_not_asked_again(world: World) -> None:
    service = world.instance()
    world.rasa.answers["hello"] = [{"text": "Hi!", "buttons": [{"title": "Menu", "payload": "/greet"}]}]
    world.rasa.outcomes = ["lost"]
    assert say(service, "hello") == [KEPT]
    retry_round(service)
    assert world.received() == ["hello"] and world.waiting() == []
    answer = world.store.messages(PERSON)[-1]
    assert (answer.author, answer.text, answer.buttons) == (
        "bot",
        "Hi!",
        [{"title": "Menu", "payload": "/greet"}],
    )


def test_a_message_refused_with_an_error_is_sent_again(world: World) -> None:
    service = world.instance()
    world.rasa.outcomes = ["error"]
    assert say(service, "hello") == [KEPT]
    retry_round(service)
    assert world.received() == ["hello"] and world.waiting() == []


def test_a_timed_out_message_is_not_sent_again_while_rasa_may_still_work_on_it(world: World) -> None:
    service = world.instance()
    world.rasa.outcomes = ["late"]
    assert say(service, "hello") == [KEPT]
    retry_round(service)
    assert world.waiting() == ["hello"]
    world.rasa.finish_late()
    retry_round(service)
    assert world.received() == ["hello"] and world.waiting() == []
    assert world.transcript()[-1] == ("bot", "echo: hello")


def test_a_timed_out_message_that_never_lands_is_given_up_after_max_tries(world: World) -> None:
    service = world.instance()
    world.rasa.outcomes = ["late"]
    say(service, "hello")
    for _ in range(MAX_TRIES - 1):
        retry_round(service)
    assert world.waiting() == ["hello"]
    retry_round(service)
    assert world.waiting() == [] and world.received() == ["hello"]
    assert world.transcript()[-1] == ("system", notice("rasa_unavailable", "en"))


def test_a_message_rasa_fails_on_every_time_stops_holding_up_the_next_ones(world: World) -> None:
    service = world.instance()
    world.rasa.poison = {"breaks an action"}
    assert say(service, "breaks an action") == [KEPT]
    assert say(service, "next") == [KEPT]  # waits behind the first one
    for _ in range(MAX_TRIES):
        retry_round(service)
    assert world.waiting() == [] and world.received() == ["next"]
    assert world.transcript()[-2:] == [("system", notice("rasa_unavailable", "en")), ("bot", "echo: next")]


# orphaned: the instance that took the message is gone


def test_an_orphan_rasa_answered_gets_that_answer_from_the_tracker(world: World) -> None:
    world.rasa.outcomes = ["lost"]
    say(world.instance(), "hello")
    retry_round(world.instance(orphaned_after=0))
    assert world.received() == ["hello"] and world.waiting() == []
    assert world.transcript()[-1] == ("bot", "echo: hello")


def test_an_orphan_rasa_never_got_asks_the_person_to_send_it_again(world: World) -> None:
    world.rasa.up = False
    say(world.instance(), "hello")
    world.rasa.up = True
    retry_round(world.instance(orphaned_after=0))
    assert world.received() == [] and world.waiting() == []
    assert world.transcript()[-1] == ("system", notice("send_again", "en"))


def test_a_recent_message_of_another_instance_is_left_to_it(world: World) -> None:
    world.rasa.up = False
    first = world.instance()
    say(first, "hello")
    world.rasa.up = True
    retry_round(world.instance())
    assert world.received() == [] and world.waiting() == ["hello"]
    retry_round(first)
    assert world.received() == ["hello"] and world.waiting() == []


# the database stays away (longer than common.db.OUTAGE_SECONDS, 0 here)


@pytest.fixture
def outage(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], None]]:
    """outage(True): every database call fails as when the database refuses connections, and is
    given up at once."""
    monkeypatch.setattr("common.db.OUTAGE_SECONDS", 0.0)
    pool = world.store.engine.pool
    connect = pool.connect

    def unreachable() -> None:
        raise OperationalError("connect", {}, ConnectionRefusedError("connection refused"))

    def switch(away: bool) -> None:
        monkeypatch.setattr(pool, "connect", unreachable if away else connect)

    yield switch


def test_a_message_that_cannot_be_stored_is_to_be_sent_again_in_the_conversations_language(
    world: World, outage: Callable[[bool], None]
) -> None:
    service = world.instance()
    say(service, "hello")  # an English conversation
    outage(True)
    with pytest.raises(Outage) as told:
        asyncio.run(service.receive("web", "p1", "are you there?", language_hint="pl"))
    assert told.value.notice == notice("outage_send_again", "en")
    assert isinstance(told.value.__cause__, DatabaseUnavailable)
    outage(False)
    assert say(service, "are you there?") == [("bot", "echo: are you there?")]
    assert world.received() == ["hello", "are you there?"] and world.waiting() == []


def test_a_person_the_service_never_saw_hears_it_in_the_channels_language(
    world: World, outage: Callable[[bool], None]
) -> None:
    outage(True)
    with pytest.raises(Outage) as told:
        asyncio.run(world.instance().receive("web", "p1", "привіт", language_hint="uk-UA"))
    assert told.value.notice == notice("outage_send_again", "uk")


def test_a_notice_that_cannot_be_stored_is_said_directly(
    world: World, outage: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = world.instance()
    say(service, "hello")  # an English conversation
    open_conversation = world.store.open_conversation

    def open_then_lose_the_database(*args: Any) -> Conversation:
        found = open_conversation(*args)
        outage(True)
        return found

    monkeypatch.setattr(world.store, "open_conversation", open_then_lose_the_database)
    with pytest.raises(Outage) as told:
        asyncio.run(service.receive("web", "p1", "x" * (MAX_TEXT + 1)))
    assert told.value.notice == notice("too_long", "en")


def test_a_message_stored_before_the_outage_is_kept_and_answered_once_when_it_is_back(
    world: World, outage: Callable[[bool], None]
) -> None:
    service = world.instance()
    answer = world.rasa.send

    async def answer_then_lose_the_database(sender: str, text: str, metadata: dict[str, Any]) -> list[Any]:
        replies = await answer(sender, text, metadata)
        outage(True)  # the replies cannot be stored
        return replies

    world.rasa.send = answer_then_lose_the_database  # type: ignore[method-assign]
    with pytest.raises(Outage) as told:
        say(service, "hello")
    assert told.value.notice == notice("outage_kept", "en")
    world.rasa.send = answer  # type: ignore[method-assign]
    outage(False)
    retry_round(world.instance())  # another instance leaves it to this one
    assert world.waiting() == ["hello"]
    retry_round(service)
    assert world.received() == ["hello"] and world.waiting() == []  # read back from the tracker
    assert world.transcript() == [("user", "hello"), ("bot", "echo: hello")]


# handoff


def handed_off(world: World) -> ConversationService:
    world.rasa.answers["a person please"] = HANDOFF_REPLIES
    service = world.instance()
    assert say(service, "a person please") == [("bot", "A consultant will answer here.")]
    return service


def test_a_handoff_reply_gives_the_conversation_to_the_ticket_and_tells_the_watchers(world: World) -> None:
    world.rasa.answers["a person please"] = HANDOFF_REPLIES
    service = world.instance()

    async def watched() -> list[dict[str, Any]]:
        async with world.hub.watch(PERSON) as updates:
            await service.receive("web", "p1", "a person please", language_hint="en")
            return [update for update in _drain(updates) if update["type"] == "state"]

    states = asyncio.run(watched())
    assert states == [{"conversation_id": PERSON, "type": "state", "state": "handoff", "ticket_id": TICKET}]
    conversation = world.conversation()
    assert (conversation.state, conversation.ticket_id, conversation.language) == ("handoff", TICKET, "en")


def test_while_handed_off_messages_go_to_the_ticket_and_the_tracker_never_to_the_bot(world: World) -> None:
    service = handed_off(world)
    assert say(service, "my PESEL is 85070312345") == []
    assert world.helpdesk.messages[TICKET] == [("user", "my PESEL is 85070312345")]
    last = world.rasa.user_events(PERSON)[-1]
    assert (last["text"], last["metadata"]) == ("my PESEL is <pesel>", {"channel": "web", "handoff": True})
    assert world.received() == ["a person please"] and world.waiting() == []


def test_while_handed_off_a_message_reaches_the_ticket_even_with_rasa_down(world: World) -> None:
    service = handed_off(world)
    world.rasa.up = False
    assert say(service, "still there?") == []
    assert world.helpdesk.messages[TICKET] == [("user", "still there?")]
    assert world.transcript()[-1] == ("user", "still there?")


def test_a_staff_reply_reaches_the_person_the_ticket_and_the_tracker(world: World) -> None:
    service = handed_off(world)
    sent = asyncio.run(service.staff_reply(TICKET, "Hello, checking now.", STAFF_TOKEN))
    assert (sent.author, sent.text) == ("staff", "Hello, checking now.")
    assert world.helpdesk.messages[TICKET] == [("staff", "Hello, checking now.")]
    last = world.rasa.trackers[PERSON][-1]
    assert (last["event"], last["metadata"]) == ("bot", {"author": "staff", "staff_username": "agent"})


def test_a_staff_reply_is_stored_masked_and_shown_as_written_in_the_live_chat(world: World) -> None:
    service = handed_off(world)
    text = "Your account is olena@example.org, PESEL 85070312345, phone +48 600 700 800."
    sent = asyncio.run(service.staff_reply(TICKET, text, STAFF_TOKEN))
    assert sent.text == text  # delivered as written (Telegram; the widget and console read below)
    assert world.helpdesk.messages[TICKET] == [("staff", text)]  # the backend keeps it raw
    assert world.transcript()[-1] == ("staff", text)  # this process still has it: the live chat
    masked = "Your account is <email>, PESEL <pesel>, phone <phone>."
    with world.store._sessions() as session:  # what the database holds: the stored analytics
        stored = session.scalars(select(Message.text).where(Message.id == sent.id)).one()
    assert stored == masked
    assert Store(world.store._sessions).messages(PERSON)[-1].text == masked  # another process, a restart
    assert world.rasa.trackers[PERSON][-1]["text"] == masked
    world.store.forget(PERSON)
    assert sent.id not in world.store._live


def test_handing_back_resumes_the_bot_closes_the_ticket_and_the_bot_answers_again(world: World) -> None:
    service = handed_off(world)
    asyncio.run(service.hand_back(TICKET, STAFF_TOKEN))
    assert world.conversation().state == "bot" and PERSON not in world.rasa.paused
    assert world.helpdesk.closed == {TICKET}
    assert world.transcript()[-1] == ("system", notice("handed_back", "en"))
    assert say(service, "hello again") == [("bot", "echo: hello again")]


def test_when_rasa_cannot_resume_the_conversation_stays_with_the_helpdesk(world: World) -> None:
    service = handed_off(world)
    world.rasa.up = False
    with pytest.raises(RasaUnavailable):
        asyncio.run(service.hand_back(TICKET, STAFF_TOKEN))
    assert world.conversation().state == "handoff"
    assert world.helpdesk.closed == set()


def _drain(queue: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    updates: list[dict[str, Any]] = []
    while not queue.empty():
        updates.append(queue.get_nowait())
    return updates
