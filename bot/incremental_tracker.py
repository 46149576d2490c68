"""Rasa 3.6's tracker internals whose cost grew with the length of the conversation, replaced by
versions that compute the same results from what they computed before; installed by rasa_server.py.

Profiled with py-spy (bench/turns.py: one REST conversation, turns 250 to 300, about 2 400 events
in the session; reply 380 ms against 36 ms at turn 10), after the tracker store's reading (the
store keeps conversations in memory since: masking_tracker_store.py), Rasa's CPU per message went to:

- prediction, 19 %: RulePolicy and MemoizationPolicy ask for the states of the whole history
  (`past_states`: every event replayed into a fresh tracker, a state built before each action)
  several times per action, then look at the newest few: RulePolicy at as many as its longest
  rule has, MemoizationPolicy at `max_history` (3 here). `states_for_tracker_history` now resumes
  from checkpoints (the replayed tracker and the states so far, at each of the last turn starts)
  and returns only the states these policies can look at; other policies are left alone.
- `DialogueStateTracker.copy()`, 5 % (Rasa copies the tracker before each action by replaying
  every event, a rewind replaying them all again): the copy now takes the state as it is.
- `applied_events()`, 8 %, called by all of the above and by the processor: it now goes on from
  the events it scanned last time (a new loop name among the new events: from the start).

Each returns exactly what Rasa's code returns (tests/components/test_incremental_tracker.py
compares them with Rasa's own on whole conversations, reverts and forms included).
"""

from __future__ import annotations

import contextvars
import copy
import json
import weakref
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import rasa
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.constants import ACTION_LISTEN_NAME, PREVIOUS_ACTION
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_internals import WRITTEN_FOR, check

# The instance attributes of a DialogueStateTracker in WRITTEN_FOR: clone() copies them all.
TRACKER_ATTRIBUTES = frozenset(
    {
        "_max_event_history",
        "_paused",
        "active_loop",
        "assistant_id",
        "events",
        "followup_action",
        "is_rule_tracker",
        "latest_action",
        "latest_bot_utterance",
        "latest_message",
        "model_id",
        "sender_id",
        "sender_source",
        "slots",
    }
)
# What is replaced or called below, with its parameters in WRITTEN_FOR.
RELIED_ON = {
    "DialogueStateTracker.copy": ["self"],
    "DialogueStateTracker.init_copy": ["self"],
    "DialogueStateTracker.applied_events": ["self"],
    "DialogueStateTracker.update": ["self", "event", "domain"],
    "DialogueStateTracker._undo_till_previous": ["event_type", "done_events"],
    "DialogueStateTracker._first_loop_execution_or_unhappy_path": [
        "self",
        "loop_action_name",
        "applied_events",
    ],
    "DialogueStateTracker._undo_till_previous_loop_execution": ["loop_action_name", "done_events"],
    "Domain.states_for_tracker_history": [
        "self",
        "tracker",
        "omit_unset_slots",
        "ignore_rule_only_turns",
        "rule_only_data",
    ],
    "Domain.get_active_state": ["self", "tracker", "omit_unset_slots"],
    "Domain._get_prev_action_sub_state": ["tracker"],
    "Domain._remove_rule_only_features": ["state", "rule_only_data"],
    "Domain._substitute_rule_only_user_input": ["state", "last_ml_state"],
    "Domain._clean_state": ["state"],
    "MemoizationPolicy._prediction_states": [
        "self",
        "tracker",
        "domain",
        "use_text_for_last_user_input",
        "rule_only_data",
    ],
}
OWNERS: dict[str, Any] = {
    "DialogueStateTracker": DialogueStateTracker,
    "Domain": Domain,
    "MemoizationPolicy": MemoizationPolicy,
}


def check_rasa(version: str, tracker_class: type = DialogueStateTracker) -> None:
    """Raises RasaVersionMismatch unless this is the Rasa the replacements were written for."""
    owners = {**OWNERS, "DialogueStateTracker": tracker_class}
    found = {name: getattr(owners[name.split(".")[0]], name.split(".")[1], None) for name in RELIED_ON}
    attributes = set(vars(tracker_class("guard", [])))
    extra = [] if attributes == TRACKER_ATTRIBUTES else [f"a tracker has the attributes {sorted(attributes)}"]
    check(
        version,
        f"bot/incremental_tracker.py replaces tracker internals of Rasa {WRITTEN_FOR}",
        RELIED_ON,
        found,
        extra,
    )


check_rasa(rasa.__version__)

# Rasa's own, as they were before install() (tests compare with them).
ORIGINALS = {
    "copy": DialogueStateTracker.copy,
    "applied_events": DialogueStateTracker.applied_events,
    "states_for_tracker_history": Domain.states_for_tracker_history,
    "prediction_states": MemoizationPolicy._prediction_states,
}
# A dialogue state as Rasa makes it: {"user": {...}, "slots": {...}, "prev_action": {...}, …}.
State = dict[str, Any]
# The attributes this module keeps on a tracker (copied with it).
_APPLIED = "_incremental_applied"
_STATES = "_incremental_states"
# Checkpoints kept per conversation and kind of states: a turn's start, the two before it (a
# rewind takes back the user's message and the listen before it), one more.
CHECKPOINTS = 4


def clone(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A new tracker in the state `tracker` is in, sharing its events (never changed once logged)
    and what this module remembered about them: O(slots) where a replay is O(events)."""
    tracker.__dict__.setdefault(_STATES, {})  # shared by every copy from now on
    copied = copy.copy(tracker)
    copied.events = deque(tracker.events, tracker.events.maxlen)
    copied.slots = type(tracker.slots)((name, _copy(slot)) for name, slot in tracker.slots.items())
    copied.active_loop = copy.copy(tracker.active_loop)
    copied.latest_action = None if tracker.latest_action is None else dict(tracker.latest_action)
    return copied


def _copy(slot: Any) -> Any:
    """copy.copy(slot), four times faster for a class that does not customise copying (Rasa's
    slots): a new instance with the same attribute values."""
    if not _plainly_copied(type(slot)):
        return copy.copy(slot)
    copied = object.__new__(type(slot))
    copied.__dict__.update(slot.__dict__)
    return copied


_plain: dict[type, bool] = {}


def _plainly_copied(cls: type) -> bool:
    """Whether copy.copy of an instance is its attributes in a new instance: no copy hooks, no
    attributes in slots (abc.ABC's empty __slots__ holds none)."""
    if cls not in _plain:
        hooks = ("__copy__", "__reduce_ex__", "__reduce__", "__getstate__", "__setstate__")
        slotted = any(klass.__dict__.get("__slots__") for klass in cls.__mro__)
        _plain[cls] = not slotted and all(getattr(cls, h, None) is getattr(object, h, None) for h in hooks)
    return _plain[cls]


def copy_tracker(self: DialogueStateTracker) -> DialogueStateTracker:
    """DialogueStateTracker.copy(). Rasa replays every event into init_copy(); the state they make
    is the one this tracker holds (a tracker's state "MUST be re-creatable by processing all the
    events"), so it is copied. Like init_copy(), the copy has no model id, assistant id or source."""
    copied = clone(self)
    copied.sender_id = self.sender_id or DEFAULT_SENDER_ID
    copied.model_id = copied.assistant_id = copied.sender_source = None
    return copied


@dataclass(frozen=True)
class _Applied:
    """applied_events() of a tracker's first `scanned` events."""

    scanned: int
    last: Event | None  # events[scanned - 1]
    loop_names: frozenset[str]  # of every ActiveLoop event scanned
    applied: tuple[Event, ...]


def applied_events(self: DialogueStateTracker) -> list[Event]:
    """DialogueStateTracker.applied_events(), going on from the events scanned last time. Rasa's
    scan is left to right and depends on the events before and on the names of the loops the whole
    tracker activates: while no new loop name comes, scanning the new events is enough."""
    events = self.events
    memo: _Applied | None = self.__dict__.get(_APPLIED)
    new = None if memo is None else _continued(memo, events)
    if memo is None or new is None:
        memo = _Applied(0, None, frozenset(_loop_names(events)), ())
        new = list(events)
    applied = list(memo.applied)
    for event in new:
        _apply(self, event, applied, memo.loop_names)
    self.__dict__[_APPLIED] = _Applied(
        len(events), events[-1] if events else None, memo.loop_names, tuple(applied)
    )
    return applied


def _continued(memo: _Applied, events: deque[Event]) -> list[Event] | None:
    """The events after those of `memo`; None when the memo is of other events or a new loop
    name came (the scan of the events before would change)."""
    if memo.scanned > len(events) or (memo.scanned and events[memo.scanned - 1] is not memo.last):
        return None
    new = list(islice(events, memo.scanned, None))
    return new if _loop_names(new) <= memo.loop_names else None


def _loop_names(events: Any) -> set[str]:
    return {event.name for event in events if isinstance(event, ActiveLoop) and event.name}


def _apply(
    tracker: DialogueStateTracker, event: Event, applied: list[Event], loop_names: frozenset[str]
) -> None:
    """One step of Rasa's applied_events() scan."""
    if isinstance(event, (Restarted, SessionStarted)):
        applied.clear()
    elif isinstance(event, ActionReverted):
        tracker._undo_till_previous(ActionExecuted, applied)
    elif isinstance(event, UserUtteranceReverted):
        tracker._undo_till_previous(UserUttered, applied)
        tracker._undo_till_previous(ActionExecuted, applied)
    elif (
        isinstance(event, ActionExecuted)
        and event.action_name in loop_names
        and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
    ):
        tracker._undo_till_previous_loop_execution(event.action_name, applied)
    else:
        applied.append(event)


# The number of newest states the policy asking for them can look at; None: all of them.
_WINDOW: contextvars.ContextVar[int | None] = contextvars.ContextVar("states_window", default=None)
_windows: weakref.WeakKeyDictionary[Policy, int | None] = weakref.WeakKeyDictionary()


def window_of(policy: MemoizationPolicy) -> int | None:
    """One more state than the policy compares: RulePolicy the newest states with its rules, the
    longest of which decides (a conversation's states beyond a rule's length match any rule, and
    a feature key one state longer than every rule is none of them); MemoizationPolicy the last
    `max_history` states (its featurizer cuts them so); without a max_history, all."""
    if policy not in _windows:
        if isinstance(policy, RulePolicy):
            rules = [*policy.lookup.get(RULES, {}), *policy.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {})]
            _windows[policy] = max([1, *(len(json.loads(key)) for key in rules)]) + 1
        else:
            max_history = getattr(policy.featurizer, "max_history", None)
            _windows[policy] = max_history + 1 if max_history else None
    return _windows[policy]


def prediction_states(self: MemoizationPolicy, *args: Any, **kwargs: Any) -> list[State]:
    """MemoizationPolicy._prediction_states (and RulePolicy's, which inherits it), asking for only
    the states this policy can look at."""
    token = _WINDOW.set(window_of(self))
    try:
        states: list[State] = ORIGINALS["prediction_states"](self, *args, **kwargs)
        return states
    finally:
        _WINDOW.reset(token)


@dataclass(frozen=True)
class _Checkpoint:
    """states_for_tracker_history() part way: after `replayed` applied events."""

    replayed: int
    last: Event | None  # applied[replayed - 1]
    loop_names: frozenset[str]  # the applied events depend on them
    tracker: DialogueStateTracker  # the prior tracker after them (cloned before going on)
    states: tuple[State, ...]  # the newest states so far
    window: int
    last_ml_action: dict[str, Any] | None
    turn_was_hidden: bool


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Domain.states_for_tracker_history: the newest states only when a policy of prediction_states()
    asks, from the latest checkpoint of this conversation that its applied events still begin with."""
    window = _WINDOW.get()
    if window is None:
        rasa_own = ORIGINALS["states_for_tracker_history"]
        states: list[State] = rasa_own(
            self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data
        )
        return states
    options = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    key = (id(self), omit_unset_slots, ignore_rule_only_turns, json.dumps(rule_only_data, sort_keys=True))
    applied = tracker.applied_events()
    loop_names = tracker.__dict__[_APPLIED].loop_names
    memory: dict[tuple[Any, ...], Any] = tracker.__dict__.setdefault(_STATES, {})
    # RulePolicy asks twice per prediction (text, then intent) for the same states: the same
    # applied events (as _resumes tells), the same states.
    seen, newest = (len(applied), loop_names, window), applied[-1] if applied else None
    result_key = ("result", *key)
    result = memory.get(result_key)
    if result is not None and result[0] == seen and result[1] is newest:
        return [_copied(state) for state in result[2]]
    checkpoints: list[_Checkpoint] = memory.get(key, [])
    usable = [c for c in checkpoints if _resumes(c, applied, loop_names, window)]
    start = max(usable, key=lambda c: c.replayed, default=None)
    run = _Run(self, tracker, window, options, start)
    for index in range(run.replayed, len(applied)):
        event = applied[index]
        if isinstance(event, ActionExecuted):
            if event.action_name == ACTION_LISTEN_NAME and index > run.replayed:
                checkpoints = [*checkpoints, run.checkpoint(index, applied[index - 1], loop_names)]
            run.state(event.hide_rule_turn)
        run.tracker.update(event)
    run.state(False)
    memory[key] = checkpoints[-CHECKPOINTS:]  # the newest: a new session's come after the old ones
    memory[result_key] = (seen, newest, tuple(run.states[-window:]))
    return [_copied(state) for state in run.states[-window:]]


def _resumes(checkpoint: _Checkpoint, applied: list[Event], loop_names: frozenset[str], window: int) -> bool:
    """The applied events begin with the checkpoint's: the same object at its last position
    (applied events are the tracker's events in order, less some taken back near the end)."""
    return (
        checkpoint.replayed <= len(applied)
        and checkpoint.loop_names == loop_names
        and checkpoint.window >= window
        and (checkpoint.replayed == 0 or applied[checkpoint.replayed - 1] is checkpoint.last)
    )


class _Run:
    """The loop body of Rasa's states_for_tracker_history, from a checkpoint or from the start."""

    def __init__(
        self,
        domain: Domain,
        tracker: DialogueStateTracker,
        window: int,
        options: tuple[bool, bool, dict[str, Any] | None],
        start: _Checkpoint | None,
    ) -> None:
        self.domain, self.window = domain, window
        self.omit_unset_slots, self.ignore_rule_only_turns, self.rule_only_data = options
        if start is None:
            self.tracker, self.replayed, self.states = tracker.init_copy(), 0, []
            self.last_ml_action, self.turn_was_hidden = None, False
        else:
            self.tracker, self.replayed, self.states = (
                clone(start.tracker),
                start.replayed,
                list(start.states),
            )
            self.last_ml_action, self.turn_was_hidden = start.last_ml_action, start.turn_was_hidden

    def checkpoint(self, replayed: int, last: Event, loop_names: frozenset[str]) -> _Checkpoint:
        return _Checkpoint(
            replayed,
            last,
            loop_names,
            clone(self.tracker),
            tuple(self.states[-self.window :]),
            self.window,
            self.last_ml_action,
            self.turn_was_hidden,
        )

    def state(self, hide_rule_turn: bool) -> None:
        """The state before an action (or after the last event), as Rasa computes it."""
        domain, tracker = self.domain, self.tracker
        if self.ignore_rule_only_turns:
            if not self.turn_was_hidden:
                self.last_ml_action = domain._get_prev_action_sub_state(tracker)
            if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
                self.turn_was_hidden = hide_rule_turn
            if self.turn_was_hidden:
                return
        state = domain.get_active_state(tracker, omit_unset_slots=self.omit_unset_slots)
        if self.ignore_rule_only_turns:
            domain._remove_rule_only_features(state, self.rule_only_data)
            if self.states:
                domain._substitute_rule_only_user_input(state, self.states[-1])
            if self.last_ml_action:
                state[PREVIOUS_ACTION] = self.last_ml_action
        self.states.append(domain._clean_state(state))
        if len(self.states) > 2 * self.window:
            del self.states[: -self.window]


def _copied(state: State) -> State:
    """A state the caller may change (Rasa's featurizer edits the last one) without changing a
    checkpoint's: its sub-states are dicts of strings and tuples."""
    return {kind: dict(sub) if isinstance(sub, dict) else sub for kind, sub in state.items()}


def install() -> None:
    DialogueStateTracker.copy = copy_tracker
    DialogueStateTracker.applied_events = applied_events
    Domain.states_for_tracker_history = states_for_tracker_history
    MemoizationPolicy._prediction_states = prediction_states


def events_since(tracker: DialogueStateTracker, turns: int) -> Iterator[Event]:
    """The tracker's events from its `turns`-th newest user message on (all when it has fewer)."""
    found, start = 0, 0
    for index, event in enumerate(reversed(tracker.events)):
        if isinstance(event, UserUttered):
            found += 1
            if found == turns:
                start = len(tracker.events) - 1 - index
                break
    return islice(tracker.events, start, None)
