"""Personal data in a whole conversation through the website widget: a PESEL (status check), an
e-mail address (username reminder) and a phone number (to the helpdesk) are found afterwards only
in the backend's database, not in Rasa's tracker store, the channel service's database or any
service's log (all at debug level); the console's failure view shows them masked; a person's
conversation can be forgotten everywhere (the analytics' summary too), and old ones purged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from channels.backend_client import BackendClient
from channels.retention import Deleted, purge
from channels.store import Store
from common.db import make_engine, make_session_factory
from common.dev import REPO_ROOT as ROOT
from scripts import mailbox
from tests.support.stack import user_events
from tests.support.waiting import wait_for
from tests.support.widget import WidgetClient

PESEL, EMAIL, PHONE = "85070312345", "olena.kovalenko@example.org", "+48 600 100 001"
# The raw values and the digit runs they could leave behind in another shape.
NEEDLES = [PESEL, PESEL[2:], EMAIL, "olena.kovalenko", "600 100 001", "600100001"]
CONSOLE_HEADER = {"X-Requested-With": "console"}
AGENT = {"username": "agent", "password": "agent-demo-pass"}
SERVICE = {"X-Service-Token": "dev-service-token"}
NEXT = ("Далі", "/affirm")
# What Rasa's tracker store logs when it does not save a turn (bot/masking_tracker_store.py).
NOT_SAVED = "A turn that began before its conversation was forgotten was not saved."


def turns_ended(stack, conversation_id: str) -> int:
    """Turns of the conversation Rasa has finished (its debug log: the lock goes after the save)."""
    return stack.log_of("rasa").read_text().count(f"Deleted lock for conversation '{conversation_id}'")


def files_with(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    """Every file under `folder` (databases, their journals, logs) that holds one of the needles."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            continue  # a journal that SQLite removed meanwhile
        hits = [needle for needle in needles if needle.encode() in content]
        if hits:
            found[str(path.relative_to(folder))] = hits
    return found


@contextlib.contextmanager
def console(stack) -> Iterator[httpx.Client]:
    """The console's API, signed in as an agent."""
    with httpx.Client(base_url=stack.ports.channels_url, headers=CONSOLE_HEADER, timeout=30) as client:
        client.post("/console/api/session", json=AGENT).raise_for_status()
        yield client


def seen_mail(stack) -> set[int]:
    return {m["id"] for m in mailbox.messages(stack.ports.backend_url, EMAIL)}


def tracker_senders(stack) -> set[str]:
    with sqlite3.connect(stack.databases.rasa_tracker) as db:
        return {sender for (sender,) in db.execute("SELECT DISTINCT sender_id FROM events")}


def channel_rows(stack, conversation_id: str) -> int:
    with sqlite3.connect(stack.databases.folder / "channels.db") as db:
        query = "SELECT count(*) FROM messages WHERE conversation_id = ?"
        return db.execute(query, (conversation_id,)).fetchone()[0]


def summarised(stack, conversation_id: str) -> int:
    """Rows of the conversation in the analytics' summary (channels/analytics_summary.py)."""
    with sqlite3.connect(stack.databases.folder / "channels.db") as db:
        return sum(
            db.execute(
                f"SELECT count(*) FROM {table} WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()[0]
            for table in ("analytics_days", "analytics_values", "analytics_handoffs")
        )


def tickets_of(stack, conversation_id: str) -> list[dict]:
    tickets = httpx.get(f"{stack.ports.backend_url}/v1/tickets", headers=SERVICE).json()["tickets"]
    return [t for t in tickets if t["conversation_id"] == conversation_id]


def have_a_full_conversation(stack, user) -> None:
    user.say("qwzx vbnm grrk ploo, +48 600 100 001")  # gibberish: the bot does not understand it
    user.say("перевірте, будь ласка, мій статус")
    seen = seen_mail(stack)
    user.say(PESEL)
    [report] = user.say(mailbox.new_code(stack.ports.backend_url, EMAIL, seen))
    assert "PESEL" in report["text"] and PESEL not in report["text"]
    user.say("я забула ім'я користувача")
    user.press(*NEXT)
    user.press(*NEXT)
    user.press(*NEXT)
    user.say("так")
    [answer, *_] = user.say(EMAIL)
    assert EMAIL not in answer["text"]
    user.hand_off("хочу поговорити з людиною")
    write_to_helpdesk(user, f"мій телефон {PHONE}, пошта {EMAIL}, PESEL {PESEL}")


def test_after_a_whole_conversation_personal_data_is_only_in_the_backend(stack, widget_user):
    user = widget_user("uk")
    have_a_full_conversation(stack, user)

    # What the person sees of their own messages is what is kept: masked.
    mine = [m["text"] for m in user.messages if m["author"] == "user"]
    assert mine[-1] == "мій телефон <phone>, пошта <email>, PESEL <pesel>"
    # The raw values reached the backend (the search would find them), and nothing else.
    [ticket] = tickets_of(stack, user.conversation_id)
    detail = httpx.get(f"{stack.ports.backend_url}/v1/tickets/{ticket['id']}", headers=SERVICE).json()
    assert PESEL in detail["messages"][-1]["text"]
    found = files_with(stack.databases.folder, NEEDLES)
    backend = {name: found.pop(name) for name in list(found) if name.startswith("backend.db")}
    assert {PESEL, EMAIL} <= {needle for hits in backend.values() for needle in hits}
    assert found == {}
    assert {"rasa-tracker.db", "channels.db", "logs/rasa.log", "logs/actions.log"} <= {
        str(p.relative_to(stack.databases.folder)) for p in stack.databases.folder.rglob("*")
    }
    assert os.path.getsize(stack.log_of("rasa")) > 10_000  # debug level: Rasa logged the turns


# Questions the bot cannot answer (out of scope), with personal data in them.
OFF_TOPIC = [
    f"яка погода завтра в Кракові? мій номер {PHONE}",
    f"what's the weather like in Krakow tomorrow? write to {EMAIL}",
]


def test_the_failure_view_shows_personal_data_masked(stack, widget_user):
    user = widget_user("uk")
    for text in OFF_TOPIC:
        user.say(text)
    with console(stack) as client:
        response = client.get("/console/api/failures")
    assert response.status_code == 200
    texts = [failure["text"] for failure in response.json()["failures"]]
    assert [text for text in texts if "<phone>" in text or "<email>" in text], texts
    assert not [needle for needle in NEEDLES if needle in response.text]


def test_the_console_forgets_one_persons_conversation_everywhere_and_nothing_else(stack, widget_user):
    forgotten, kept = widget_user("uk"), widget_user("uk")
    for user in (forgotten, kept):
        user.say("привіт")
        user.hand_off("хочу поговорити з людиною")
        write_to_helpdesk(user, f"мій телефон {PHONE}")
    with console(stack) as client:
        client.get("/console/api/analytics", params={"days": 7}).raise_for_status()  # the summary caught up
        assert summarised(stack, forgotten.conversation_id) > 0
        response = client.post(f"/console/api/conversations/{forgotten.conversation_id}/forget")
    assert response.status_code == 200
    deleted = response.json()
    assert deleted["conversations"] == 1 and deleted["tickets"] == 1
    assert deleted["messages"] >= 4 and deleted["tracker_events"] > 0

    assert channel_rows(stack, forgotten.conversation_id) == 0
    assert forgotten.conversation_id not in tracker_senders(stack)
    assert tickets_of(stack, forgotten.conversation_id) == []
    assert summarised(stack, forgotten.conversation_id) == 0
    assert channel_rows(stack, kept.conversation_id) >= 4
    assert kept.conversation_id in tracker_senders(stack)
    assert summarised(stack, kept.conversation_id) > 0
    assert len(tickets_of(stack, kept.conversation_id)) == 1
    admin = httpx.post(
        f"{stack.ports.backend_url}/v1/staff/sessions",
        json={"username": "admin", "password": "admin-demo-pass"},
    ).json()["access_token"]
    audit = httpx.get(
        f"{stack.ports.backend_url}/v1/staff/audit", headers={"Authorization": f"Bearer {admin}"}
    )
    newest = audit.json()["entries"][0]
    assert (newest["staff_username"], newest["action"]) == ("agent", "forget_conversation")


def test_the_console_refuses_to_forget_without_a_signed_in_staff_member(stack, widget_user):
    user = widget_user("uk")
    user.say("привіт")
    with httpx.Client(base_url=stack.ports.channels_url, headers=CONSOLE_HEADER, timeout=30) as client:
        response = client.post(f"/console/api/conversations/{user.conversation_id}/forget")
    assert response.status_code == 401
    assert channel_rows(stack, user.conversation_id) == 2
    assert user.conversation_id in tracker_senders(stack)


def retention(stack, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CHANNELS_DATABASE_URL": f"sqlite:///{stack.databases.folder / 'channels.db'}",
        "RASA_TRACKER_DB_URL": f"sqlite:///{stack.databases.rasa_tracker}",
        "BACKEND_URL": stack.ports.backend_url,
    }
    command = [sys.executable, "-m", "channels.retention", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def counts(output: str) -> dict[str, int]:
    return {name: int(count) for name, count in (item.split("=") for item in output.split())}


def test_the_command_forgets_a_conversation_by_its_id(stack, widget_user):
    user = widget_user("uk")
    user.say("привіт")
    done = retention(stack, "forget", "--conversation", user.conversation_id)
    assert done.returncode == 0, done.stderr
    deleted = counts(done.stdout)
    assert (deleted["messages"], deleted["conversations"], deleted["tickets"]) == (2, 1, 0)
    assert deleted["tracker_events"] > 0
    assert channel_rows(stack, user.conversation_id) == 0
    assert user.conversation_id not in tracker_senders(stack)


def test_purging_keeps_what_is_younger_than_the_retention_period(stack):
    done = retention(stack, "purge", "--older-than-days", "90")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["messages=0", "conversations=0", "tracker_events=0", "tickets=0"]
    assert retention(stack, "purge", "--older-than-days", "-1").returncode == 2


def test_purging_deletes_what_is_older_than_the_cutoff_and_nothing_younger(stack, widget_user):
    old = widget_user("uk")
    old.say("привіт")
    cutoff = datetime.now(UTC)
    young = widget_user("uk")
    young.say("привіт")
    with console(stack) as client:
        client.get("/console/api/analytics", params={"days": 7}).raise_for_status()  # the summary caught up
    assert summarised(stack, old.conversation_id) > 0

    deleted = asyncio.run(purge_before(stack, cutoff))

    assert deleted.messages >= 2 and deleted.conversations >= 1 and deleted.tracker_events > 0
    assert channel_rows(stack, old.conversation_id) == 0
    assert old.conversation_id not in tracker_senders(stack)
    assert summarised(stack, old.conversation_id) == 0
    assert channel_rows(stack, young.conversation_id) == 2
    assert young.conversation_id in tracker_senders(stack)
    assert summarised(stack, young.conversation_id) > 0


async def purge_before(stack, cutoff: datetime) -> Deleted:
    """What `purge` does, with a cutoff finer than whole days."""
    engine = make_engine(f"sqlite:///{stack.databases.folder / 'channels.db'}")
    backend = BackendClient(stack.ports.backend_url, SERVICE["X-Service-Token"])
    try:
        store = Store(make_session_factory(engine))
        return await purge(store, f"sqlite:///{stack.databases.rasa_tracker}", backend, cutoff)
    finally:
        await backend.close()
        engine.dispose()


def write_to_helpdesk(user: WidgetClient, text: str) -> None:
    """A message to the helpdesk while handed off: nobody answers, it is only stored and shown."""
    after = user.last_id()
    user.say(text, wait=False)
    user.wait_for_message("user", after)


def test_a_turn_running_while_the_conversation_is_forgotten_leaves_nothing_of_it(
    stack, widget_user, action_proxy
):
    """Rasa is inside a turn (its call of the action server held) when staff forget the
    conversation: once the turn ends, nothing of the person is in Rasa's tracker store, and the
    person starts afresh."""
    user = widget_user("uk")
    user.say("привіт")
    ended = turns_ended(stack, user.conversation_id)
    action_proxy.hold()
    try:
        user.press("PESEL", "/get_pesel", wait=False)  # the walkthrough: a custom action
        wait_for(action_proxy.kept, 60, "Rasa's call of the action server")
        with console(stack) as client:
            response = client.post(f"/console/api/conversations/{user.conversation_id}/forget")
        assert response.status_code == 200
    finally:
        action_proxy.release()
    wait_for(lambda: turns_ended(stack, user.conversation_id) > ended, 60, "the end of Rasa's turn")
    assert user.conversation_id not in tracker_senders(stack)
    assert NOT_SAVED in stack.log_of("rasa").read_text()

    # Rasa starts the conversation afresh (straight to Rasa: the channel service forgot it too).
    message = {"sender": user.conversation_id, "message": "привіт", "metadata": {"language": "uk"}}
    httpx.post(f"{stack.ports.rasa_url}/webhooks/rest/webhook", json=message, timeout=60).raise_for_status()
    assert [e["text"] for e in user_events(stack, user.conversation_id)] == ["привіт"]
