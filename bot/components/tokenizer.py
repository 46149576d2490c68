"""Language-aware tokenisation (spaCy's rules per language), with a folded form for the featurizers.

Rasa's whitespace tokenizer splits Ukrainian words at apostrophes ("п'ять" -> "п", "ять");
spaCy's Ukrainian rules keep them whole. Each token's lemma, which the count vectorizers read, is
its folded form: lower case, one apostrophe, Latin letters without diacritics (people type Polish
without them: "hasło" and "haslo" share one feature) and ё as е. With `lemmas`, Ukrainian and
Russian words get pymorphy3's dictionary lemmas instead ("пароля" -> "пароль").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pymorphy3
import spacy
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from common.languages import LANGUAGES
from components.folding import APOSTROPHES, fold
from components.language_detector import LANGUAGE_ATTRIBUTE

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_PUNCTUATION_ONLY = re.compile(r"^[^\w]+$")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class MultilingualTokenizer(Tokenizer):
    """Tokenizes with the spaCy rules of the message's detected language."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "lemmas": True,
            "fold_diacritics": True,
        }

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._tokenizers: dict[str, Any] = {code: spacy.blank(code).tokenizer for code in LANGUAGES}
        self._lemmatize_uk = _lemmatizer("uk") if config["lemmas"] else None
        self._lemmatize_ru = _lemmatizer("ru") if config["lemmas"] else None
        self._fold = fold if config["fold_diacritics"] else _identity

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultilingualTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        language = _language_of(message, text)
        tokens = []
        for word in self._tokenizers[language](text):
            if word.is_space or _PUNCTUATION_ONLY.match(word.text):
                continue
            tokens.append(Token(word.text, word.idx, lemma=self._lemma(word.text.lower(), language)))
        return self._apply_token_pattern(tokens)

    def _lemma(self, word: str, language: str) -> str:
        if _CYRILLIC.search(word):
            lemmatize = self._lemmatize_ru if language == "ru" else self._lemmatize_uk
            if lemmatize:
                return lemmatize(word.translate(APOSTROPHES))
        return self._fold(word)


def _identity(word: str) -> str:
    return word


def _language_of(message: Message, text: str) -> str:
    detected: dict[str, Any] | None = message.get(LANGUAGE_ATTRIBUTE)
    if detected and detected.get("code") in LANGUAGES:
        return detected["code"]
    return "uk" if _CYRILLIC.search(text) else "pl"


def _lemmatizer(language: str) -> Callable[[str], str]:
    analyzer = pymorphy3.MorphAnalyzer(lang=language)

    @lru_cache(maxsize=50_000)
    def lemmatize(word: str) -> str:
        parses = analyzer.parse(word)
        # Unknown words get guessed parses; keep them as typed rather than trust a guess.
        if not parses or not parses[0].is_known:
            return word
        return parses[0].normal_form

    return lemmatize
