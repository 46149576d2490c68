import os
import zipfile

import numpy as np
import pytest
import skops.io as sio
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME, RESPONSE_SELECTOR_RETRIEVAL_INTENTS
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn import config_context
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from components.language_detector import LanguageDetector
from components.linear_classifier import (
    MODEL_FILE,
    LinearIntentClassifier,
    LinearResponseSelector,
    UntrustedModelError,
    document,
)
from components.tokenizer import MultilingualTokenizer

EXAMPLES = {
    ("greet", None): ["hello", "hi there", "good morning", "привіт", "cześć", "добрый день"],
    ("forgot_password", None): [
        "I forgot my password",
        "reset my password please",
        "забула пароль",
        "nie pamiętam hasła",
        "забыл пароль от ИКП",
        "zapomniałam hasła do IKP",
    ],
    ("faq", "faq/what_is_pesel"): [
        "what is PESEL",
        "що таке PESEL",
        "co to jest numer PESEL",
        "что такое PESEL",
        "what does the PESEL number mean",
        "PESEL to co",
    ],
    ("faq", "faq/ikp_cost"): [
        "is IKP free",
        "скільки коштує IKP",
        "czy IKP jest płatne",
        "сколько стоит IKP",
        "do I pay for the patient account",
        "IKP za darmo?",
    ],
}


def _prepared(messages: list[Message]) -> list[Message]:
    detector = LanguageDetector.create(LanguageDetector.get_default_config(), None, None, None)
    tokenizer = MultilingualTokenizer.create(MultilingualTokenizer.get_default_config(), None, None, None)
    tokenizer.process(detector.process(messages))
    return messages


def message(text: str) -> Message:
    [prepared] = _prepared([Message(data={TEXT: text})])
    return prepared


@pytest.fixture(scope="module")
def training_data() -> TrainingData:
    examples = []
    for (intent, key), texts in EXAMPLES.items():
        for text in texts:
            data = {TEXT: text, INTENT: intent}
            if key:
                data[INTENT_RESPONSE_KEY] = key
            examples.append(Message(data=data))
    responses = {
        "utter_faq/what_is_pesel": [{"text": "PESEL is an ID number."}],
        "utter_faq/ikp_cost": [{"text": "IKP is free."}],
    }
    return TrainingData(training_examples=_prepared(examples), responses=responses)


def trained(component_class, training_data, tmp_path_factory, **config):
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource(component_class.__name__)
    component = component_class.create(
        {**component_class.get_default_config(), **config}, storage, resource, None
    )
    component.train(training_data)
    return component, storage, resource


@pytest.fixture(scope="module")
def classifier(training_data, tmp_path_factory):
    return trained(LinearIntentClassifier, training_data, tmp_path_factory)


@pytest.fixture(scope="module")
def selector(training_data, tmp_path_factory):
    return trained(LinearResponseSelector, training_data, tmp_path_factory)


def parse(component, text: str) -> Message:
    [parsed] = component.process([message(text)])
    return parsed


def test_the_document_holds_folded_words_and_folded_text():
    words, text = document(message("Zapomniałem HASŁA")).split("\x1f")
    assert words == "zapomnialem hasla"
    assert text == "zapomnialem hasla"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hello, good morning", "greet"),
        ("zapomnialam hasla", "forgot_password"),
        ("what is PESEL?", "faq"),
    ],
)
def test_the_intent_is_ranked_first_and_faq_keys_count_as_faq(classifier, text, intent):
    parsed = parse(classifier[0], text)
    assert parsed.get(INTENT)["name"] == intent
    ranking = parsed.get("intent_ranking")
    assert {r["name"] for r in ranking} == {"greet", "forgot_password", "faq"}
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert 0 < sum(confidences) <= 1.0001


def test_the_selector_writes_the_faq_key_where_response_selector_does(selector):
    output = parse(selector[0], "czy IKP jest za darmo")
    selected = output.get(RESPONSE_SELECTOR_PROPERTY_NAME)
    assert selected[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] == ["faq"]
    response = selected["faq"]["response"]
    assert response["intent_response_key"] == "faq/ikp_cost"
    assert response["utter_action"] == "utter_faq/ikp_cost"
    assert response["responses"] == [{"text": "IKP is free."}]
    assert [r["intent_response_key"] for r in selected["faq"]["ranking"]][0] == "faq/ikp_cost"


@pytest.mark.parametrize("key", ["faq/ikp_cost", "faq/what_is_pesel"])
def test_a_pressed_faq_button_selects_its_own_answer(classifier, selector, key):
    # Rasa 3.6 reads "/faq/<key>" as text: the letters of the payload must not choose the answer.
    assert parse(classifier[0], f"/{key}").get(INTENT) == {"name": "faq", "confidence": 1.0}
    response = parse(selector[0], f"/{key}").get(RESPONSE_SELECTOR_PROPERTY_NAME)["faq"]["response"]
    assert (response["intent_response_key"], response["confidence"]) == (key, 1.0)


def test_a_payload_of_an_unknown_answer_is_read_as_text(selector):
    response = parse(selector[0], "/faq/no_such_answer").get(RESPONSE_SELECTOR_PROPERTY_NAME)["faq"][
        "response"
    ]
    assert response["intent_response_key"] in {"faq/ikp_cost", "faq/what_is_pesel"}


def test_a_loaded_model_ranks_as_the_trained_one(classifier):
    component, storage, resource = classifier
    config = LinearIntentClassifier.get_default_config()
    loaded = LinearIntentClassifier.load(config, storage, resource, None)
    text = "nie pamiętam hasła do konta"
    assert parse(loaded, text).get("intent_ranking") == parse(component, text).get("intent_ranking")


def test_a_model_file_with_foreign_types_is_refused(training_data, tmp_path_factory):
    _, storage, resource = trained(LinearIntentClassifier, training_data, tmp_path_factory)
    with storage.write_to(resource) as folder:
        sio.dump(Pipeline([("run", FunctionTransformer(os.system))]), folder / MODEL_FILE)
    with pytest.raises(UntrustedModelError):
        LinearIntentClassifier.load(LinearIntentClassifier.get_default_config(), storage, resource, None)


@pytest.mark.parametrize("text", ["", "x" * 50_000, "\x00\x01\ufffd", "🙂" * 300])
def test_odd_messages_get_a_ranking_without_crashing(classifier, selector, text):
    assert parse(classifier[0], text).get(INTENT)["name"] in {"greet", "forgot_password", "faq"}
    assert parse(selector[0], text).get(RESPONSE_SELECTOR_PROPERTY_NAME)["faq"]["response"]


def test_an_intent_with_one_example_is_a_clear_training_error(tmp_path_factory):
    examples = [
        Message(data={TEXT: t, INTENT: i})
        for t, i in [("hi", "greet"), ("hello", "greet"), ("bye", "goodbye")]
    ]
    with pytest.raises(ValueError, match="'goodbye' has one training example"):
        trained(LinearIntentClassifier, TrainingData(_prepared(examples)), tmp_path_factory)


def test_with_one_intent_nothing_is_trained_and_nothing_ranked(tmp_path_factory):
    examples = [Message(data={TEXT: t, INTENT: "greet"}) for t in ("hi", "hello", "hey")]
    component, storage, resource = trained(
        LinearIntentClassifier, TrainingData(_prepared(examples)), tmp_path_factory
    )
    loaded = LinearIntentClassifier.load(LinearIntentClassifier.get_default_config(), storage, resource, None)
    assert parse(loaded, "hi").get(INTENT) == {"name": None, "confidence": 0.0}


def test_a_broken_model_file_is_an_error_not_an_empty_classifier(training_data, tmp_path_factory):
    _, storage, resource = trained(LinearIntentClassifier, training_data, tmp_path_factory)
    with storage.write_to(resource) as folder:
        (folder / MODEL_FILE).write_bytes(b"not a model")
    with pytest.raises(zipfile.BadZipFile):  # a skops file is a zip archive
        LinearIntentClassifier.load(LinearIntentClassifier.get_default_config(), storage, resource, None)


def test_the_probabilities_are_the_pipelines_to_the_bit(classifier, selector, training_data):
    """TextModel computes the features itself (its docstring says why): exactly as the trained
    pipeline does, for every training example and for text it never saw."""
    unseen = ("zzz qqq", "", "PESEL PESEL PESEL", "як отримати песель?")
    texts = [document(message(t)) for t in [*(e.get(TEXT) for e in training_data.intent_examples), *unseen]]
    for component, _, _ in (classifier, selector):
        model = component._model
        for text in texts:
            with config_context(assume_finite=True):
                expected = model._pipeline.predict_proba([text])[0]
            actual = model._classifier.predict_proba(model.features(text))[0]
            assert np.array_equal(actual, expected), text
