"""Unreadable messages ("lkjh poiu", "xyzzy brrr", "ъхзщ шщз") go to the two-stage fallback.

The classifiers rank every intent for any text, and keyboard noise often comes out as a task,
"no" or out_of_scope with confidence. A message none of whose words is a word of the training
data or close to one (components.language_detector marks it not `readable`; "goodbay" is close
to "goodbye") is marked nlu_fallback instead, the ranking kept: "did you mean…?" still offers a
likely intent, and noise gets "please rephrase". Messages without words (numbers, PESELs,
e-mails, emoji) are left alone, and components.typed_commands, after this one, still reads a
typed command.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.language_detector import LANGUAGE_ATTRIBUTE


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class UnreadableMessageClassifier(GraphComponent):
    """Sets nlu_fallback on a message with no word the bot knows."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnreadableMessageClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if is_unreadable(message):
                fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
                ranking = message.get(INTENT_RANKING_KEY) or []
                message.set(INTENT, fallback, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def is_unreadable(message: Message) -> bool:
    detected = message.get(LANGUAGE_ATTRIBUTE) or {}
    return detected.get("readable") is False
