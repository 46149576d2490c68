"""A message with no word the bot knows goes to the fallback, its ranking kept for "did you mean"."""

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.unreadable import UnreadableMessageClassifier

RANKING = [{"name": "get_pesel", "confidence": 0.5}, {"name": "faq", "confidence": 0.4}]


def classified(language: dict | None) -> Message:
    message = Message(data={TEXT: "…", INTENT: dict(RANKING[0]), INTENT_RANKING_KEY: list(RANKING)})
    if language is not None:
        message.set("language", language)
    [message] = UnreadableMessageClassifier.create({}, None, None, None).process([message])
    return message


def test_no_known_word_is_unreadable_and_keeps_the_guesses():
    message = classified({"code": "en", "confidence": 0.9, "reliable": False, "readable": False})
    assert message.get(INTENT)["name"] == "nlu_fallback"
    assert [r["name"] for r in message.get(INTENT_RANKING_KEY)] == ["nlu_fallback", "get_pesel", "faq"]


@pytest.mark.parametrize(
    "language", [None, {"code": "pl", "confidence": 0.9, "reliable": True, "readable": True}]
)
def test_known_words_or_no_words_are_left_to_the_classifier(language):
    assert classified(language).get(INTENT)["name"] == "get_pesel"
