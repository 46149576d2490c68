"""bot/rasa_server.py: the action server's answers are checked as Rasa checks them, without
validating the schema itself on every call."""

import pytest
import rasa_server
from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction

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
