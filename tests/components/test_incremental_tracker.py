"""bot/incremental_tracker.py against Rasa's own code, on long conversations of this bot's domain:
its RulePolicy trained on bot/data/rules.yml and a MemoizationPolicy (max_history 3) on
tests/stories drive them, with forms, rewinds, reverts, rejected loops and new sessions thrown in.
At every prediction both policies predict the same with and without the replacements, and the
applied events, a copy of the tracker and the states of every kind agree with Rasa's.

The conversation runs as in the server: each turn on a copy of the tracker kept between turns,
which then gets the turn's events as a reload from the database would make them (new objects)."""

from __future__ import annotations

import json
import random

import incremental_tracker
import pytest
from incremental_tracker import clone
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.rule_policy import (
    RULES,
    RULES_FOR_LOOP_UNHAPPY_PATH,
    RULES_NOT_IN_STORIES,
    RulePolicy,
)
from rasa.core.training import load_data
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    Event,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.importers.importer import TrainingDataImporter

ORIGINAL_APPLIED = incremental_tracker.ORIGINALS["applied_events"]
ORIGINAL_COPY = incremental_tracker.ORIGINALS["copy"]
ORIGINAL_STATES = incremental_tracker.ORIGINALS["states_for_tracker_history"]
ORIGINAL_PREDICTION_STATES = incremental_tracker.ORIGINALS["prediction_states"]
FORMS = ("check_status_form", "username_reminder_form", "password_reset_form")
ACTIONS = ("utter_faq", "action_after_answer", "utter_offer_continue", "action_walkthrough", "utter_greet")
OPTIONS = [(omit, ignore) for omit in (False, True) for ignore in (False, True)]


@pytest.fixture(scope="module", autouse=True)
def installed():
    """The replacements as rasa_server.py installs them (importing rasa_server does too)."""
    incremental_tracker.install()


@pytest.fixture(scope="module")
def domain() -> Domain:
    """As training builds it (the FAQ's responses come from the data)."""
    return TrainingDataImporter.load_from_config("config.yml", "domain", ["data"]).get_domain()


def trained(policy_class, config, trackers, domain, tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp(policy_class.__name__))
    context = ExecutionContext(GraphSchema({}), "test")
    policy = policy_class.create(
        {**policy_class.get_default_config(), **config}, storage, Resource("p"), context
    )
    policy.train(trackers, domain)
    return policy


@pytest.fixture(scope="module")
def policies(domain, tmp_path_factory):
    rules = load_data("data/rules.yml", domain, augmentation_factor=0)
    stories = load_data("../tests/stories", domain, augmentation_factor=0)
    rule_config = {"core_fallback_threshold": 0.3, "core_fallback_action_name": "utter_default"}
    rule_policy = trained(RulePolicy, rule_config, rules, domain, tmp_path_factory)
    memoization = trained(MemoizationPolicy, {"max_history": 3}, stories, domain, tmp_path_factory)
    assert memoization.lookup, "the stories should give MemoizationPolicy something to recall"
    return [rule_policy, memoization]


def predictions(policies, tracker, domain):
    return [policy.predict_action_probabilities(tracker, domain) for policy in policies]


def rasa_predictions(policies, tracker, domain):
    """What the policies predict with Rasa's own code."""
    MemoizationPolicy._prediction_states = ORIGINAL_PREDICTION_STATES
    try:
        return predictions(policies, tracker, domain)
    finally:
        MemoizationPolicy._prediction_states = incremental_tracker.prediction_states


def as_rasa_copies(tracker):
    """Rasa's copy of a tracker and its applied events, with Rasa's code."""
    return ORIGINAL_COPY(tracker), ORIGINAL_APPLIED(tracker)


def state_of(tracker):
    bot = tracker.latest_bot_utterance  # before any, a placeholder made on the spot
    return (
        tracker.current_state(EventVerbosity.ALL),
        (bot.text, bot.data, bot.metadata, bot.timestamp if bot.text else None),
        tracker.is_paused(),
        tracker.model_id,
    )


def check_tracker(tracker, domain):
    rasa_copy, rasa_applied = as_rasa_copies(tracker)
    assert tracker.applied_events() == rasa_applied
    assert all(a is b for a, b in zip(tracker.applied_events(), rasa_applied, strict=True))
    assert state_of(tracker.copy()) == state_of(rasa_copy)
    rule_only = {"rule_only_slots": ["requested_slot"], "rule_only_loops": ["action_two_stage_fallback"]}
    for omit, ignore in OPTIONS:
        expected = ORIGINAL_STATES(domain, tracker, omit, ignore, rule_only)[-4:]
        token = incremental_tracker._WINDOW.set(4)
        try:
            assert domain.states_for_tracker_history(tracker, omit, ignore, rule_only) == expected
        finally:
            incremental_tracker._WINDOW.reset(token)


def user(rng: random.Random, domain: Domain) -> UserUttered:
    intent = rng.choice([*domain.intents, "nlu_fallback"])
    entities = [{"entity": "language", "value": "pl", "role": "detected"}] if rng.random() < 0.2 else []
    parse = {"text": intent, "intent": {"name": intent, "confidence": 1.0}, "entities": entities}
    return UserUttered(intent, parse["intent"], entities, parse)


def effects(rng: random.Random, action: str) -> list[Event]:
    """What the action server or Rasa would log after an action, roughly."""
    found: list[Event] = []
    if action == "action_walkthrough":
        found += [
            SlotSet("guide", rng.choice([None, "get_pesel"])),
            SlotSet("step", float(rng.randint(1, 5))),
        ]
    if action in FORMS or action == "action_two_stage_fallback":
        found.append(rng.choice([ActiveLoop(action), ActiveLoop(None), SlotSet("requested_slot", "pesel")]))
    if action.startswith("utter_") or rng.random() < 0.3:
        found.append(BotUttered(f"a reply to {action}", metadata={"utter_action": action}))
    if rng.random() < 0.05:
        found.append(FollowupAction("action_listen"))
    return found


def turn(rng, tracker, domain, policies) -> None:
    """A user message and the bot's actions, each predicted by Rasa's code and checked against
    the replacements."""
    tracker.update(user(rng, domain))
    for step in range(6):
        check_tracker(tracker, domain)
        expected = rasa_predictions(policies, tracker, domain)
        assert predictions(policies, tracker, domain) == expected
        best = max(expected, key=lambda p: (p.max_confidence, p.policy_priority))
        action = domain.action_names_or_texts[best.max_confidence_index]
        if rng.random() < 0.2:  # what the rules would not do: their longer states matter
            action = rng.choice([*FORMS, *ACTIONS])
        if step == 5 or rng.random() < 0.1:
            action = "action_listen"
        if rng.random() < 0.05 and action != "action_listen":
            tracker.update(ActionExecutionRejected(action))
            action = rng.choice(FORMS)
        hide = best.hide_rule_turn if rng.random() < 0.7 else rng.random() < 0.5  # rule-only turns
        tracker.update(ActionExecuted(action, best.policy_name, best.max_confidence, hide_rule_turn=hide))
        if step == 0:
            tracker.update(DefinePrevUserUtteredFeaturization(False))
        if action == "action_listen":
            return
        for event in effects(rng, action):
            tracker.update(event)
        if rng.random() < 0.04:
            tracker.update(rng.choice([UserUtteranceReverted(), ActionReverted()]))
            if rng.random() < 0.5:
                tracker.update(ActionExecuted("action_listen"))
                return


def session_start() -> list[Event]:
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        SlotSet("language", "uk"),
        ActionExecuted("action_listen"),
    ]


def reloaded(events: list[Event]) -> list[Event]:
    """The events as the tracker store reads them back: new objects, through JSON."""
    return [Event.from_parameters(json.loads(json.dumps(event.as_dict()))) for event in events]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_conversation_predicts_and_copies_as_rasa_does(seed, domain, policies):
    rng = random.Random(seed)
    kept = DialogueStateTracker.from_events(f"c{seed}", reloaded(session_start()), domain.slots)
    for _ in range(45):
        live = clone(kept)
        stored = len(live.events)
        if rng.random() < 0.04:
            for event in rng.choice([session_start(), [Restarted(), *session_start()]]):
                live.update(event)
        turn(rng, live, domain, policies)
        check_tracker(live, domain)
        for event in reloaded(list(live.events)[stored:]):
            kept.update(event)
        kept.applied_events()
    assert len(kept.events) > 300
    # The next message: what the policies' states cost does not grow with the conversation.
    assert replayed_for_a_prediction(clone(kept), rng, domain, policies) < 30


def replayed_for_a_prediction(tracker, rng, domain, policies) -> int:
    """Events replayed into prior trackers for both policies' prediction after a new message."""
    tracker.update(user(rng, domain))
    count = 0
    update = DialogueStateTracker.update

    def counting(self, event, domain=None):
        nonlocal count
        count += self is not tracker
        update(self, event, domain)

    DialogueStateTracker.update = counting
    try:
        predictions(policies, tracker, domain)
    finally:
        DialogueStateTracker.update = update
    return count


def test_a_new_loop_name_scans_the_events_again(domain):
    tracker = DialogueStateTracker.from_events("loops", session_start(), domain.slots)
    form = FORMS[0]
    for _ in range(2):
        tracker.update(ActionExecuted(form))
        tracker.applied_events()  # remembered before the loop's name is known
    tracker.update(ActiveLoop(form))
    tracker.update(ActionExecuted(form))
    assert tracker.applied_events() == ORIGINAL_APPLIED(tracker)


def test_a_copy_carries_no_model_id_as_rasas(domain):
    tracker = DialogueStateTracker.from_events("ids", session_start(), domain.slots)
    tracker.model_id, tracker.assistant_id = "model", "assistant"
    copied = tracker.copy()
    assert (copied.model_id, copied.assistant_id) == (None, None)
    copied.update(SlotSet("guide", "get_pesel"))
    assert tracker.get_slot("guide") is None and len(tracker.events) == len(copied.events) - 1


def test_states_for_other_policies_are_rasas_own(domain):
    tracker = DialogueStateTracker.from_events("all", session_start() * 3, domain.slots)
    assert domain.states_for_tracker_history(tracker) == ORIGINAL_STATES(domain, tracker)


def test_the_rules_match_the_newest_states_alone_as_all_of_them(policies):
    """RulePolicy's window (window_of): the rules that match a conversation's states, and whether
    its prediction hides the turn, are the same from the newest states as from all of them."""
    rule_policy = policies[0]
    window = incremental_tracker.window_of(rule_policy)
    tables = [rule_policy.lookup[RULES], rule_policy.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]]
    keys = [key for table in tables for key in table]
    assert window == max(len(json.loads(key)) for key in keys) + 1
    pool = [state for key in keys for state in json.loads(key)]
    hidden = rule_policy.lookup[RULES_NOT_IN_STORIES]
    rng = random.Random(0)
    for key in keys:
        for _ in range(30):
            older = [rng.choice(pool) for _ in range(rng.randint(0, 2 * window))]
            states = older + [s if rng.random() < 0.8 else rng.choice(pool) for s in json.loads(key)]
            for table in tables:
                newest = rule_policy._get_possible_keys(table, states[-window:])
                assert newest == rule_policy._get_possible_keys(table, states)
            as_key = rule_policy._create_feature_key
            assert (as_key(states[-window:]) in hidden) == (as_key(states) in hidden)
