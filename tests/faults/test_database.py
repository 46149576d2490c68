"""The channel service's PostgreSQL becomes unreachable (every connection cut, new ones refused)
while people write on the widget and in Telegram.

A few seconds: the message is answered once the database is back, stored once. Longer than the
service waits for it (common.db.OUTAGE_SECONDS): the person is told at once, in their
conversation's language, whether their message was saved (then it is answered once the database
is back) or is to be sent again; the next messages work again as soon as the database is back.
Nothing is restarted."""

import time

from sqlalchemy import text

from channels.texts import notice
from common.db import OUTAGE_SECONDS, make_engine
from tests.faults.records import transcript, user_events_of
from tests.support.stack import tracker, user_events
from tests.support.telegram_chat import Chat, response
from tests.support.waiting import wait_for

CHAT = 5200011


def test_a_message_written_while_the_database_is_away_is_answered_when_it_is_back(
    stack, widget, store, db_proxy
):
    person = widget("pl")
    person.say("Cześć", wait=False)
    greeting = response("utter_greet", "pl")["text"]
    get_pesel = response("utter_greet", "pl")["buttons"][0]["title"]  # its payload: /get_pesel
    person.wait_until(lambda: [m["text"] for m in person.shown("bot")] == [greeting])

    db_proxy.cut()
    try:
        refused = db_proxy.refused
        person.press(get_pesel, wait=False)
        wait_for(lambda: db_proxy.refused > refused + 2, 30, "the service to find the database away")
    finally:
        db_proxy.restore()

    step_1 = response("utter_get_pesel_step_1", "pl")["text"]
    person.wait_until(lambda: person.shown("bot")[-1]["text"] == step_1, 60, "the first step")
    assert [(m["author"], m["text"]) for m in person.shown()] == [
        ("user", "Cześć"),
        ("bot", greeting),
        ("user", get_pesel),
        ("bot", step_1),
    ]
    assert person.notices == []
    assert transcript(store, person.conversation_id) == [(m["author"], m["text"]) for m in person.shown()]
    assert store.waiting_for_bot(person.conversation_id) == []
    [_, pressed] = [m for m in store.messages(person.conversation_id) if m.author == "user"]
    assert len(user_events_of(tracker(stack, person.conversation_id), pressed.id)) == 1


def test_a_message_the_database_was_too_long_away_for_is_to_be_sent_again(stack, widget, store, db_proxy):
    person = widget("pl")
    greeting = response("utter_greet", "pl")["text"]
    person.say("Cześć", wait=False)
    person.wait_until(lambda: [m["text"] for m in person.shown("bot")] == [greeting])
    # The same conversation in a browser that prefers English: it stays a Polish conversation.
    same = widget("en", session=person.session)

    db_proxy.cut()
    try:
        started = time.monotonic()
        same.say("dziękuję", wait=False)
        same.wait_until(lambda: same.notices, 60, "the notice")
        assert time.monotonic() - started >= OUTAGE_SECONDS
    finally:
        db_proxy.restore()
    assert same.notices == [notice("outage_send_again", "pl")]

    # Back by itself: sent again, the message is answered as any other.
    [answer, *_] = same.say("dziękuję")
    assert answer["author"] == "bot"
    assert [text for author, text in transcript(store, person.conversation_id) if author == "user"] == [
        "Cześć",
        "dziękuję",
    ]
    assert [e["text"] for e in user_events(stack, person.conversation_id)] == ["Cześć", "dziękuję"]
    assert store.waiting_for_bot(person.conversation_id) == []


def test_a_pooled_connection_the_database_ended_is_replaced_before_it_is_used(postgres_url):
    """The channel service's engine sends no ping on checkout (common/db.py): a connection whose
    server process is gone is found by its socket and a new one is handed out, no call failing."""
    engine = make_engine(postgres_url, ping=False)
    try:
        with engine.connect() as connection:
            first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # Autocommit: in a transaction pg_stat_activity would stay as its first reading showed it.
        with make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT").connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            wait_for(
                lambda: (
                    not other.execute(
                        text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": first}
                    ).first()
                ),
                10,
                "the server process to end",
            )
        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
    finally:
        engine.dispose()


def turns_held(rasa_proxy) -> list[bytes]:
    """The held requests that are turns (the retry loop's readiness checks are held too)."""
    return [request for request in rasa_proxy.kept() if b"/webhooks/rest/webhook" in request]


def test_a_message_saved_before_a_long_outage_is_answered_once_it_is_back(
    stack, widget, store, db_proxy, rasa_proxy
):
    person = widget("uk")
    greeting = response("utter_greet", "uk")
    person.say("Привіт", wait=False)
    person.wait_until(lambda: [m["text"] for m in person.shown("bot")] == [greeting["text"]])

    # The message is stored and on its way to Rasa when the database goes: Rasa's answer cannot be.
    rasa_proxy.hold()
    try:
        person.press(greeting["buttons"][0]["title"], wait=False)  # Get a PESEL
        wait_for(lambda: turns_held(rasa_proxy), 60, "the turn on its way to Rasa")
        db_proxy.cut()
    finally:
        rasa_proxy.release()
    try:
        person.wait_until(lambda: person.notices, 60, "the notice")
    finally:
        db_proxy.restore()
    assert person.notices == [notice("outage_kept", "uk")]

    step_1 = response("utter_get_pesel_step_1", "uk")["text"]
    person.wait_until(lambda: person.shown("bot")[-1]["text"] == step_1, 60, "the answer, read back")
    assert [m["author"] for m in person.shown()] == ["user", "bot", "user", "bot"]
    assert transcript(store, person.conversation_id) == [(m["author"], m["text"]) for m in person.shown()]
    assert store.waiting_for_bot(person.conversation_id) == []
    [_, pressed] = [m for m in store.messages(person.conversation_id) if m.author == "user"]
    assert len(user_events_of(tracker(stack, person.conversation_id), pressed.id)) == 1


def test_telegram_hears_of_a_long_outage_in_the_conversations_language_and_goes_on(
    stack, telegram, store, db_proxy
):
    chat = Chat(telegram, CHAT, language_code="ru")
    chat.say("/start")
    chat.expect("utter_greet", language="ru")
    # Marked delivered only after Telegram took it: else the greeting would rightly come again.
    wait_for(lambda: not store.undelivered("telegram", conversation_id=f"telegram-{CHAT}"), 30, "delivery")
    chat.language_code = "en"  # the app's language changed since; the conversation is Russian

    get_pesel = response("utter_greet", "ru")["buttons"][0]["title"]
    db_proxy.cut()
    try:
        chat.say("привет")
        chat.expect_text(notice("outage_send_again", "ru"), timeout=60)
        # A pressed button, whose payload the database holds: answered, and told the same.
        query = chat.press(get_pesel)
        chat.expect_text(notice("outage_send_again", "ru"), timeout=60)
    finally:
        db_proxy.restore()
    [answer] = [c for c in telegram.calls_of("answerCallbackQuery") if c.params["callback_query_id"] == query]
    assert "text" not in answer.params  # not "this button no longer works"

    chat.language_code = "ru"
    chat.press(get_pesel)
    chat.expect("utter_get_pesel_step_1", language="ru")
    typed = [text for author, text in transcript(store, f"telegram-{CHAT}") if author == "user"]
    assert typed == ["/start", get_pesel]
