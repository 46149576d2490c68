"""Intent classification and FAQ selection with linear models over character and word n-grams.

Why linear models and not DIET: the training data has about 250 examples per intent, in four
languages and many spellings (transliteration, no diacritics, typos). A linear SVM over TF-IDF
character n-grams of the folded text and word n-grams of the tokenizer's tokens scores as well as
DIET on the development set (make eval-ablation, variant `diet`: 0.991 against 0.989), trains in
seconds instead of minutes, and makes a model a quarter of the size. Its margins are calibrated
(Platt scaling on cross-validation folds) into probabilities, so that FallbackClassifier's
threshold and the "did you mean" ranking keep their meaning.

LinearIntentClassifier ranks the intents, a retrieval intent (faq) as one; LinearResponseSelector
picks the retrieval intent's response key (faq/<key>) and writes it where Rasa's ResponseSelector
would, so that the `utter_faq` retrieval action and `POST /model/parse` see the same output.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
    TOKENS_NAMES,
)
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file
from scipy import sparse
from sklearn import config_context
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from components.folding import fold

# The words and the text are joined with this separator, which no message contains, so that one
# document carries both to the two vectorizers.
_SEPARATOR = "\x1f"
MODEL_FILE = "model.skops"
RESPONSES_FILE = "responses.json"
_RETRIEVAL_PAYLOAD = re.compile(r"^/(?P<intent>\w+)/(?P<key>\w+)$")


def _default_config() -> dict[str, Any]:
    return {
        # SVM regularisation: 1.0 and 0.5 scored alike on the development set; 30 was worse.
        "C": 1.0,
        "char_ngrams": [1, 5],
        "word_ngrams": [1, 2],
        # Folds of the cross-validated calibration (Platt scaling on held-out folds).
        "calibration_folds": 5,
        "ranking_length": 10,
        "random_seed": 42,
    }


def document(message: Message) -> str:
    """The folded tokens, then the folded text: what the two vectorizers read."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    words = " ".join(fold((token.lemma or token.text).lower()) for token in tokens)
    text = fold((message.get(TEXT) or "").lower())
    return f"{words}{_SEPARATOR}{text}"


def _words(document_: str) -> str:
    return document_.split(_SEPARATOR, 1)[0]


def _text(document_: str) -> str:
    return document_.split(_SEPARATOR, 1)[-1]


def _calibration_folds(labels: list[str], wanted: int) -> int:
    """As many folds as wanted, but no more than the rarest label has examples."""
    label, fewest = Counter(labels).most_common()[-1]
    if fewest < 2:
        raise ValueError(f"'{label}' has one training example: a linear model needs two or more")
    return min(wanted, fewest)


class UntrustedModelError(Exception):
    """The model file holds types this module never writes."""


class TextModel:
    """A TF-IDF vectorizer and a calibrated linear SVM, trained on (document, label) pairs.

    A message's features are computed here as TfidfVectorizer.transform computes them (counts of
    the vocabulary, sublinear tf, idf, l2 norm), without the pipeline around it: its FeatureUnion
    (joblib), its fitted-checks and sklearn 1.1's `idf_`, a property that sums the idf matrix anew
    on every call, made a ranking cost 1.9 ms instead of 1.1 (the project's model, timed); the two
    rankings of a message were 17 % of Rasa's CPU under load (py-spy, make scale-test). The
    probabilities are the pipeline's, to the bit (tests/components/test_linear_classifier.py)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        union: FeatureUnion = pipeline.named_steps["features"]
        if union.transformer_weights or any(
            not (v.use_idf and v.norm == "l2") for _, v in union.transformer_list
        ):
            raise ValueError("TextModel computes the features of idf-weighted, l2-normed vectorizers")
        # The idf matrix as TfidfTransformer's idf_ setter makes it, computed once.
        self._vectorizers = [
            (v, sparse.spdiags(v.idf_, diags=0, m=len(v.idf_), n=len(v.idf_), format="csr"))
            for _, v in union.transformer_list
        ]
        self._classifier = pipeline.named_steps["classifier"]

    def features(self, document_: str) -> sparse.csr_matrix:
        """TfidfVectorizer.transform of each vectorizer, side by side, as the FeatureUnion does."""
        blocks = []
        for vectorizer, idf in self._vectorizers:
            counts = CountVectorizer.transform(vectorizer, [document_]).astype(np.float64)
            if vectorizer.sublinear_tf:
                np.log(counts.data, counts.data)
                counts.data += 1
            # The same product as TfidfTransformer's (its order of terms decides the norm's last bit).
            blocks.append(normalize(counts * idf, norm="l2", copy=False))
        return sparse.hstack(blocks).tocsr()

    @classmethod
    def train(cls, documents: list[str], labels: list[str], config: dict[str, Any]) -> TextModel:
        features = FeatureUnion(
            [
                (
                    "characters",
                    TfidfVectorizer(
                        preprocessor=_text,
                        analyzer="char_wb",
                        ngram_range=tuple(config["char_ngrams"]),
                        sublinear_tf=True,
                    ),
                ),
                (
                    "words",
                    TfidfVectorizer(
                        preprocessor=_words,
                        token_pattern=r"\S+",
                        ngram_range=tuple(config["word_ngrams"]),
                        sublinear_tf=True,
                    ),
                ),
            ]
        )
        folds = _calibration_folds(labels, config["calibration_folds"])
        splits = StratifiedKFold(folds, shuffle=True, random_state=config["random_seed"])
        svm = LinearSVC(C=config["C"], random_state=config["random_seed"])
        # ensemble=False: one SVM trained on all the data, calibrated on the folds' predictions;
        # a message costs one SVM, not one per fold.
        classifier = CalibratedClassifierCV(svm, cv=splits, method="sigmoid", ensemble=False)
        pipeline = Pipeline([("features", features), ("classifier", classifier)])
        pipeline.fit(documents, np.array(labels))
        return cls(pipeline)

    def ranking(self, document_: str, length: int) -> list[tuple[str, float]]:
        """The labels from likeliest down, with their probabilities."""
        # The features come from text: sklearn's checks for NaN and infinity are skipped.
        with config_context(assume_finite=True):
            probabilities = self._classifier.predict_proba(self.features(document_))[0]
        labels = self._pipeline.classes_
        order = np.argsort(-probabilities)[:length]
        return [(str(labels[i]), float(probabilities[i])) for i in order]

    def save(self, folder: Path) -> None:
        sio.dump(self._pipeline, folder / MODEL_FILE)

    @classmethod
    def load(cls, folder: Path) -> TextModel:
        path = folder / MODEL_FILE
        # Only the types this module writes are trusted: a model file holding anything else
        # (e.g. a tampered one) is refused, as Rasa's own sklearn classifier does.
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise UntrustedModelError(f"untrusted types in {path}: {untrusted}")
        return cls(sio.load(path, trusted=TRUSTED_TYPES))


# What a trained TextModel is made of, beyond what skops trusts by default.
TRUSTED_TYPES = [
    "components.linear_classifier._text",
    "components.linear_classifier._words",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.model_selection._split.StratifiedKFold",
]


class _LinearComponent(GraphComponent, IntentClassifier):
    """Training, persistence and loading shared by the two components."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn", "skops"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return _default_config()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: TextModel | None = None,
        responses: dict[str, list] | None = None,
    ) -> None:
        self.component_config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        self._responses = responses or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _LinearComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> _LinearComponent:
        with model_storage.read_from(resource) as folder:
            if not (folder / MODEL_FILE).exists():
                # Fewer than two labels to learn: the component ranks nothing.
                return cls(config, model_storage, resource)
            return cls(
                config,
                model_storage,
                resource,
                TextModel.load(folder),
                read_json_file(folder / RESPONSES_FILE),
            )

    def _train_on(
        self, examples: list[Message], labels: list[str], responses: dict[str, list] | None = None
    ) -> Resource:
        with self._model_storage.write_to(self._resource) as folder:
            # The folder is written even when there is nothing to learn, so that loading tells
            # "nothing trained" from a missing or broken model.
            if len(set(labels)) < 2:
                return self._resource
            self._model = TextModel.train([document(e) for e in examples], labels, self.component_config)
            self._responses = responses or {}
            self._model.save(folder)
            dump_obj_as_json_to_file(folder / RESPONSES_FILE, self._responses)
        return self._resource

    def _ranking(self, message: Message) -> list[tuple[str, float]]:
        if self._model is None:
            return []
        return self._model.ranking(document(message), self.component_config["ranking_length"])


def retrieval_payload(message: Message) -> tuple[str, str] | None:
    """("faq", "faq/ikp_cost") for a pressed button "/faq/ikp_cost" ("did you mean" offers FAQ
    answers so). Rasa 3.6 reads such a payload as text, which would pick an answer by its
    letters; the button's own key is taken instead."""
    found = _RETRIEVAL_PAYLOAD.match(message.get(TEXT) or "")
    return (found["intent"], f"{found['intent']}/{found['key']}") if found else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(_LinearComponent):
    """Ranks the intents; a retrieval intent's examples (faq/<key>) count as the intent (faq)."""

    def train(self, training_data: TrainingData) -> Resource:
        examples = training_data.intent_examples
        return self._train_on(examples, [e.get(INTENT) for e in examples])

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            pressed = retrieval_payload(message)
            ranking = [
                {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                for name, confidence in ([(pressed[0], 1.0)] if pressed else self._ranking(message))
            ]
            intent = ranking[0] if ranking else {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearResponseSelector(_LinearComponent):
    """Picks the response key of one retrieval intent, in the output format of ResponseSelector."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**_default_config(), "retrieval_intent": "faq"}

    def train(self, training_data: TrainingData) -> Resource:
        retrieval_intent = self.component_config["retrieval_intent"]
        examples = [e for e in training_data.intent_examples if e.get(INTENT) == retrieval_intent]
        labels = [e.get(INTENT_RESPONSE_KEY) for e in examples]
        # The responses go into the output, as ResponseSelector's do (the retrieval action
        # itself reads them from the domain).
        responses = {key: training_data.responses.get(f"utter_{key}", []) for key in sorted(set(labels))}
        return self._train_on(examples, labels, responses)

    def process(self, messages: list[Message]) -> list[Message]:
        retrieval_intent = self.component_config["retrieval_intent"]
        for message in messages:
            pressed = retrieval_payload(message)
            if pressed is not None and pressed[0] == retrieval_intent and pressed[1] in self._responses:
                ranking = [(pressed[1], 1.0)]
            else:
                ranking = self._ranking(message)
            if not ranking:
                continue
            key, confidence = ranking[0]
            prediction = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    RESPONSE_SELECTOR_RESPONSES_KEY: self._responses.get(key, []),
                    PREDICTED_CONFIDENCE_KEY: confidence,
                    INTENT_RESPONSE_KEY: key,
                    RESPONSE_SELECTOR_UTTER_ACTION_KEY: f"utter_{key}",
                },
                RESPONSE_SELECTOR_RANKING_KEY: [
                    {
                        "id": zlib.crc32(name.encode()),
                        PREDICTED_CONFIDENCE_KEY: score,
                        INTENT_RESPONSE_KEY: name,
                    }
                    for name, score in ranking
                ],
            }
            selectors = message.get(RESPONSE_SELECTOR_PROPERTY_NAME, {})
            retrieval_intents = set(selectors.get(RESPONSE_SELECTOR_RETRIEVAL_INTENTS, []))
            selectors[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = sorted(retrieval_intents | {retrieval_intent})
            selectors[retrieval_intent] = prediction
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selectors, add_to_output=True)
        return messages
