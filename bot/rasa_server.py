"""Rasa's command line, as `rasa …`, with fixes to Rasa 3.6's internals: run from bot/ as
`python -m rasa_server run …` wherever the project starts a Rasa server.

The first fix: Rasa checks every answer of the action server against a JSON schema with
`jsonschema.validate`, which first validates the schema itself against the draft 2020-12
meta-schema, on every call. Profiled under load (py-spy, 20 users), that was 37 % of the Rasa
server's CPU time, about 25 ms per custom action against 1 ms for the answer's own check. Here the
validator is built once and the schema checked once; answers are checked exactly as before and a
bad answer raises the same ValidationError with Rasa's message.

The second: Rasa 3.6 sends the whole domain (476 kB of JSON here, nearly all of it the responses
in four languages) with every call of a custom action; encoding it was 12 % of the Rasa server's
CPU under load, and the action server decoded it each time. The action server (rasa-sdk 3.21)
speaks the protocol later Rasa versions use: each call carries the domain's digest, the domain
only when the action server asks for it (HTTP 449: it has no domain, or another one, e.g. after a
restart or behind a load balancer); it keeps the last domain it was sent. Here calls go without
the domain and are sent again with it on a 449.

The third: Rasa sends the action server every event of the session (`current_state` with all
events), so each call of a custom action cost more as a conversation went on: at turn 300 (about
2 400 events) encoding them was 7 % of the Rasa server's CPU per message, and the action server's
CPU per message had grown from 2.5 to 22 ms decoding them (bench/turns.py, py-spy). Here a call
carries the events of the last ACTION_TURNS user messages (the actions look back to the one
before the latest: actions/walkthrough.py), the tracker's state (slots, latest message, active
loop, paused) as before; action_session_start, which looks for a language chosen in the session
before, gets them all.

The schema check itself is shortened once more: a valid answer's events are checked once per
distinct event (validate_action_result says how).

The fourth: Rasa opens an aiohttp session, so a new connection, for every call of a custom action
and closes it after (EndpointConfig.request): 6 % of the Rasa server's CPU in `make scale-test`
(py-spy). Here each endpoint keeps its session and the connections in it (aiohttp closes an idle
one after 15 s, before the action server's 120 s or nginx's 75 s would).

The fifth: Rasa finds an event's class by its name (`Event.resolve_by_type`) by listing every
subclass of Event anew, with `inspect.isabstract` on each, for each event it reads: about 40 µs an
event, 6 % of the CPU where it reads a conversation back. Here the class found for a name is kept.

And the tracker internals of incremental_tracker.py (its docstring says which and why).

These replace private methods of Rasa 3.6.21, so importing this module first checks that it runs
on that very version and that the methods still take the same parameters; on any other Rasa the
server refuses to start (RasaVersionMismatch) rather than misbehave quietly.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import json
from collections import OrderedDict, deque
from typing import Any

import incremental_tracker
import rasa
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.schemas.events import EVENTS_SCHEMA
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_internals import WRITTEN_FOR, RasaVersionMismatch, check

__all__ = ["WRITTEN_FOR", "RasaVersionMismatch", "check_rasa"]

DOMAIN_MISSING = 449  # rasa-sdk's answer to a call whose domain digest it does not know
# The user messages whose events a call of a custom action carries: the actions look back to the
# one before the latest (actions/walkthrough.py, last_bot_response), one more for safety.
ACTION_TURNS = 3
REQUEST = ["self", "method", "subpath", "content_type", "compress", "kwargs"]
# The RemoteAction methods replaced below, with their parameters in WRITTEN_FOR.
REPLACED = {
    "_validate_action_result": ["self", "result"],
    "_action_call_format": ["self", "tracker", "domain"],
    "run": ["self", "output_channel", "nlg", "tracker", "domain"],
}


def check_rasa(version: str, remote_action: type) -> None:
    """Raises RasaVersionMismatch unless `version` is WRITTEN_FOR and every replaced method is there
    with the parameters it had."""
    check(
        version,
        f"bot/rasa_server.py replaces private methods of Rasa {WRITTEN_FOR}'s RemoteAction",
        {f"RemoteAction.{name}": params for name, params in REPLACED.items()},
        {f"RemoteAction.{name}": getattr(remote_action, name, None) for name in REPLACED},
    )


check_rasa(rasa.__version__, RemoteAction)
check(
    rasa.__version__,
    f"bot/rasa_server.py replaces EndpointConfig.session of Rasa {WRITTEN_FOR} (request uses it)",
    {"EndpointConfig.session": ["self"], "EndpointConfig.request": REQUEST},
    {"EndpointConfig.session": EndpointConfig.session, "EndpointConfig.request": EndpointConfig.request},
)
check(
    rasa.__version__,
    f"bot/rasa_server.py replaces Event.resolve_by_type of Rasa {WRITTEN_FOR}",
    {"Event.resolve_by_type": ["type_name", "default"]},
    {"Event.resolve_by_type": Event.resolve_by_type},
)

_SCHEMA = RemoteAction.action_response_format_spec()
_VALIDATOR_CLASS = validators.validator_for(_SCHEMA)
_VALIDATOR_CLASS.check_schema(_SCHEMA)
_VALIDATOR = _VALIDATOR_CLASS(_SCHEMA)


# The answer's schema is an object of `events` (EVENTS_SCHEMA: an array of events, each one of 23
# kinds, which jsonschema tries all) and `responses` (an array of objects). Valid then means: each
# event valid, and the arrays and objects what they say. An event's validity is remembered by its
# JSON (slot events and the like repeat); the schema checking 23 kinds per event was 7 % of
# Rasa's CPU in `make scale-test` (py-spy). Any other schema: no shortcut.
_SHORTCUT = _SCHEMA == {
    "type": "object",
    "properties": {"events": EVENTS_SCHEMA, "responses": {"type": "array", "items": {"type": "object"}}},
}
_EVENT_VALIDATOR = _VALIDATOR_CLASS(EVENTS_SCHEMA["items"])
_valid_events: OrderedDict[str, bool] = OrderedDict()


def _valid_event(event: Any) -> bool:
    key = json.dumps(event, sort_keys=True)
    if key not in _valid_events:
        _valid_events[key] = _EVENT_VALIDATOR.is_valid(event)
        if len(_valid_events) > 10_000:
            _valid_events.popitem(last=False)
    return _valid_events[key]


def _plainly_valid(result: Any) -> bool:
    """The answer is valid, as far as the shortcut tells (False: let the validator say)."""
    if not (_SHORTCUT and isinstance(result, dict)):
        return False
    events, responses = result.get("events", []), result.get("responses", [])
    return (
        isinstance(events, list)
        and isinstance(responses, list)
        and all(isinstance(response, dict) for response in responses)
        and all(_valid_event(event) for event in events)
    )


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the validator built once; a valid answer's
    events checked once per distinct event."""
    if _plainly_valid(result):
        return True
    error = best_match(_VALIDATOR.iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the "
        f"Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


_with_domain = contextvars.ContextVar("with_domain", default=False)
_last_digest: tuple[Domain | None, str] = (None, "")
_call_format = RemoteAction._action_call_format
_run = RemoteAction.run


def domain_digest(domain: Domain) -> str:
    """The domain's fingerprint, computed once per loaded domain."""
    global _last_digest
    if _last_digest[0] is not domain:
        _last_digest = (domain, domain.fingerprint())
    return _last_digest[1]


def action_call_format(self: RemoteAction, tracker: Any, domain: Domain) -> dict[str, Any]:
    """Rasa's request to the action server, with the events of the last ACTION_TURNS user messages,
    with the domain's digest and without the domain unless this call is the repeat of one the
    action server answered with 449."""
    if self.name() != ACTION_SESSION_START_NAME:
        tracker = recent(tracker)
    call = _call_format(self, tracker, domain)
    call["domain_digest"] = domain_digest(domain)
    if not _with_domain.get():
        call.pop("domain", None)
    return call


def recent(tracker: Any) -> Any:
    """The tracker as it is, for reading, with the events of its last ACTION_TURNS user messages."""
    view = copy.copy(tracker)
    view.events = deque(incremental_tracker.events_since(tracker, ACTION_TURNS))
    return view


async def run_remote_action(self: RemoteAction, *args: Any, **kwargs: Any) -> list:
    """RemoteAction.run, once more with the domain when the action server asks for it."""
    try:
        return await _run(self, *args, **kwargs)
    except RasaException as error:
        cause = error.__cause__
        if not (isinstance(cause, ClientResponseError) and cause.status == DOMAIN_MISSING):
            raise
    token = _with_domain.set(True)
    try:
        return await _run(self, *args, **kwargs)
    finally:
        _with_domain.reset(token)


_new_session = EndpointConfig.session


class KeptSession:
    """What EndpointConfig.session() returns for `async with`: the endpoint's session, made once
    per event loop and left open, in place of a new one per request."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> Any:
        loop = asyncio.get_running_loop()
        kept = self.endpoint.__dict__.get("_kept_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            kept = self.endpoint.__dict__["_kept_session"] = (loop, _new_session(self.endpoint))
        return kept[1]

    async def __aexit__(self, *exc: object) -> None:
        return None


def kept_session(self: EndpointConfig) -> KeptSession:
    return KeptSession(self)


_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}


def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Event.resolve_by_type, remembering the class found for each name (a name Rasa finds no
    class for is looked up again every time, as before)."""
    found = _event_classes.get(type_name)
    if found is None:
        found = _resolve_by_type(type_name, default)
        if found is not None and found is not default:
            _event_classes[type_name] = found
    return found


# Replaced on the class, for every RemoteAction Rasa makes (mypy sees Rasa as untyped: no ignore needed).
RemoteAction._validate_action_result = validate_action_result
RemoteAction._action_call_format = action_call_format
RemoteAction.run = run_remote_action
EndpointConfig.session = kept_session
Event.resolve_by_type = staticmethod(resolve_by_type)
incremental_tracker.install()


if __name__ == "__main__":
    from rasa.__main__ import main

    main()
