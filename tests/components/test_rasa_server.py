"""bot/rasa_server.py: the action server's answers are checked as Rasa checks them, without
validating the schema itself on every call; the domain goes to the action server only when it
asks for it, with the events of the last turns; one connection serves an endpoint's calls; event
classes are found as Rasa finds them."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import rasa
import rasa_server
from aiohttp import web
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    FollowupAction,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

ANSWER = {
    "events": [{"event": "slot", "name": "guide", "value": "get_pesel"}],
    "responses": [{"response": "utter_get_pesel_step_1", "buttons": [], "custom": {}}],
}


@pytest.fixture
def action() -> RemoteAction:
    return RemoteAction("action_walkthrough", None)


def test_a_valid_answer_passes(action):
    assert action._validate_action_result(ANSWER) is True
    assert action._validate_action_result({}) is True  # both keys are optional


@pytest.mark.parametrize(
    "answer",
    [
        {"events": "not a list"},
        {"events": [{"name": "guide"}]},  # an event without its type
        {"events": [{"event": "slot", "name": "guide", "timestamp": "yesterday"}]},
        {"responses": "not a list"},
    ],
)
def test_a_bad_answer_raises_rasas_error(action, answer):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(answer)


def test_the_schema_is_not_checked_again_per_answer(action, monkeypatch):
    checks = []
    validator_class = validators.validator_for(RemoteAction.action_response_format_spec())
    counted = classmethod(lambda cls, schema: checks.append(schema))
    monkeypatch.setattr(validator_class, "check_schema", counted)
    for _ in range(3):
        action._validate_action_result(ANSWER)
    assert checks == []
    assert RemoteAction._validate_action_result is rasa_server.validate_action_result


def answers() -> list:
    """Answers of every kind of event Rasa knows, valid and not."""
    kinds = [
        cls(**args).as_dict()
        for cls, args in [
            (SlotSet, {"key": "guide", "value": {"a": [1, None]}}),
            (ActionExecuted, {"action_name": "action_listen"}),
            (UserUttered, {"text": "hi", "intent": {"name": "greet"}}),
            (FollowupAction, {"name": "action_walkthrough"}),
            (ActiveLoop, {"name": None}),
            (SessionStarted, {}),
            (UserUtteranceReverted, {}),
        ]
    ]
    broken = [
        {"name": "guide"},
        {"event": "slot", "timestamp": "yesterday"},
        {"event": "no such event"},
        {"event": "slot", "metadata": []},
        "slot",
        None,
    ]
    found = [ANSWER, {}, {"events": kinds}, {"responses": [{}, {"text": "hi"}]}]
    found += [{"events": [*kinds, bad]} for bad in broken]
    found += [{"events": None}, {"events": {}}, {"responses": [1]}, {"responses": None}, [], "answer"]
    return found


def test_the_shortcut_finds_valid_exactly_what_the_schema_finds_valid():
    assert rasa_server._SHORTCUT
    for answer in answers() * 2:  # checked, then remembered
        schema_says = best_match(rasa_server._VALIDATOR.iter_errors(answer)) is None
        assert rasa_server._plainly_valid(answer) == schema_says, answer


def test_an_event_is_checked_against_the_schema_once(monkeypatch):
    checked = []
    is_valid = rasa_server._EVENT_VALIDATOR.is_valid
    monkeypatch.setattr(rasa_server._EVENT_VALIDATOR, "is_valid", lambda e: checked.append(e) or is_valid(e))
    event = {"event": "slot", "name": "step", "value": 12345.0, "timestamp": None}
    for _ in range(3):
        assert RemoteAction("action_walkthrough", None)._validate_action_result({"events": [event]})
    assert checked == [event]


class ActionServer:
    """The domain-digest protocol of rasa-sdk 3.21's webhook: a call without the domain is
    answered 449 unless its digest is the one of the domain the server was last sent."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.peers: list[tuple] = []  # the client's address of each call: its connection
        self.digest: str | None = None
        self.fail_with: int | None = None

    async def webhook(self, request: web.Request) -> web.Response:
        call = await request.json()
        self.calls.append(call)
        self.peers.append(request.transport.get_extra_info("peername"))
        if self.fail_with:
            return web.json_response({"error": "boom"}, status=self.fail_with)
        if "domain" in call:
            self.digest = call["domain_digest"]
        elif call.get("domain_digest") != self.digest:
            return web.json_response({"error": "no domain", "action_name": call["next_action"]}, status=449)
        return web.json_response({"events": [{"event": "slot", "name": "guide", "value": "x"}]})


DOMAIN = Domain.from_dict(
    {"slots": {"guide": {"type": "any", "mappings": [{"type": "custom"}]}}, "actions": ["action_walkthrough"]}
)


async def run_action(
    server: ActionServer, times: int, tracker=None, name: str = "action_walkthrough"
) -> list:
    app = web.Application()
    app.router.add_post("/webhook", server.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    action = RemoteAction(name, EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
    try:
        results = []
        for _ in range(times):
            state = tracker or DialogueStateTracker("someone", DOMAIN.slots)
            nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
            results.append(await action.run(CollectingOutputChannel(), nlg, state, DOMAIN))
        return results
    finally:
        await runner.cleanup()


def test_the_domain_goes_once_then_only_its_digest():
    server = ActionServer()
    results = asyncio.run(run_action(server, times=3))
    assert all(events == [SlotSet("guide", "x")] for events in results)
    with_domain = ["domain" in call for call in server.calls]
    assert with_domain == [False, True, False, False]  # 449, the repeat, then digests only
    assert {call["domain_digest"] for call in server.calls} == {DOMAIN.fingerprint()}


def test_one_connection_serves_the_calls_of_an_endpoint():
    server = ActionServer()
    asyncio.run(run_action(server, times=3))
    assert len(server.peers) == 4 and len(set(server.peers)) == 1


def a_long_conversation() -> DialogueStateTracker:
    tracker = DialogueStateTracker("someone", DOMAIN.slots)
    for number in range(15):
        tracker.update(UserUttered(f"message {number}", {"name": "greet", "confidence": 1.0}))
        tracker.update(ActionExecuted("action_listen"))
    return tracker


def test_the_action_server_gets_the_events_of_the_last_turns():
    server = ActionServer()
    asyncio.run(run_action(server, times=1, tracker=a_long_conversation()))
    events = server.calls[-1]["tracker"]["events"]
    texts = [e["text"] for e in events if e["event"] == "user"]
    assert texts == [f"message {n}" for n in range(15 - rasa_server.ACTION_TURNS, 15)]
    assert (
        events[0]["event"] == "user" and server.calls[-1]["tracker"]["latest_message"]["text"] == "message 14"
    )


def test_the_session_start_gets_every_event_of_the_session():
    server = ActionServer()
    asyncio.run(run_action(server, times=1, tracker=a_long_conversation(), name="action_session_start"))
    assert len(server.calls[-1]["tracker"]["events"]) == 30


def test_event_classes_are_found_as_rasa_finds_them():
    names = {cls.type_name for cls in all_subclasses(Event)}
    for name in sorted(names) * 2:  # found, then remembered
        assert Event.resolve_by_type(name) is rasa_server._resolve_by_type(name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no such event", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no such event")


def test_a_restarted_action_server_is_sent_the_domain_again():
    server = ActionServer()
    asyncio.run(run_action(server, times=1))
    server.digest = None  # what a restart forgets
    asyncio.run(run_action(server, times=1))
    assert ["domain" in call for call in server.calls] == [False, True, False, True]


def test_other_errors_of_the_action_server_are_not_repeated():
    server = ActionServer()
    server.fail_with = 500
    with pytest.raises(RasaException, match="Failed to execute custom action"):
        asyncio.run(run_action(server, times=1))
    assert len(server.calls) == 1


class RemoteActionOf3621:
    """The replaced methods' parameters as Rasa 3.6.21 has them (RemoteAction itself is patched now)."""

    def _validate_action_result(self, result): ...

    def _action_call_format(self, tracker, domain): ...

    async def run(self, output_channel, nlg, tracker, domain): ...


def test_the_installed_rasa_is_the_one_the_replacements_were_written_for():
    assert rasa.__version__ == rasa_server.WRITTEN_FOR
    rasa_server.check_rasa(rasa.__version__, RemoteActionOf3621)


def test_another_rasa_version_is_refused_with_what_to_check():
    with pytest.raises(
        rasa_server.RasaVersionMismatch, match=r"Rasa 3\.6\.21's RemoteAction, but this is Rasa 3\.7\.0\."
    ):
        rasa_server.check_rasa("3.7.0", RemoteActionOf3621)


def test_a_replaced_method_that_changed_or_went_is_refused():
    class Changed(RemoteActionOf3621):
        async def run(self, output_channel, nlg, tracker, domain, metadata): ...

    class Gone:
        def _action_call_format(self, tracker, domain): ...

        async def run(self, output_channel, nlg, tracker, domain): ...

    with pytest.raises(rasa_server.RasaVersionMismatch, match=r"RemoteAction\.run takes \[.*'metadata'\]"):
        rasa_server.check_rasa("3.6.21", Changed)
    with pytest.raises(
        rasa_server.RasaVersionMismatch, match=r"RemoteAction\._validate_action_result takes None"
    ):
        rasa_server.check_rasa("3.6.21", Gone)


def test_the_server_does_not_start_on_another_rasa():
    # As `python -m rasa_server run` would import it, with Rasa reporting another version.
    code = "import rasa; rasa.__version__ = '3.6.22'; import rasa_server"
    bot = Path(rasa_server.__file__).parent
    done = subprocess.run([sys.executable, "-c", code], cwd=bot, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "RasaVersionMismatch" in done.stderr and "this is Rasa 3.6.22" in done.stderr
