"""Typed commands and language requests: what a button does, written in words, is certain."""

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from common.dev import REPO_ROOT
from components.typed_commands import TypedCommandClassifier

BOT = REPO_ROOT / "bot"


@pytest.fixture(scope="module")
def commands() -> TypedCommandClassifier:
    config = {
        "commands_file": str(BOT / "components/typed_commands.yml"),
        "names_file": str(BOT / "components/language_names.yml"),
    }
    return TypedCommandClassifier.create(config, None, None, None)


# Each of the four languages asking for each of the four (rows: the language written in).
REQUESTS = {
    "uk": {
        "uk": ["українською", "можна українською?", "пиши по-українськи"],
        "pl": ["польською", "можна польською?", "по-польськи будь ласка", "польська мова"],
        "en": ["англійською", "давай англійською", "anhliiskoiu"],
        "ru": ["російською", "можна російською?", "rosiyskoyu"],
    },
    "pl": {
        "uk": ["po ukraińsku", "proszę po ukraińsku", "po ukrainsku prosze"],
        "pl": ["po polsku", "polski", "możesz pisać po polsku?"],
        "en": ["po angielsku", "język angielski", "czy mozna po angielsku"],
        "ru": ["po rosyjsku", "rosyjski proszę", "po rusku"],
    },
    "en": {
        "uk": ["Ukrainian", "in Ukrainian please", "can we switch to Ukrainian?"],
        "pl": ["Polish", "in polish pls", "do you speak Polish?"],
        "en": ["English", "in English please", "english"],
        "ru": ["in Russian", "Russian please", "could you speak russian"],
    },
    "ru": {
        "uk": ["по-украински", "на украинском можно?", "украинский язык"],
        "pl": ["по-польски", "давай по-польски", "польский"],
        "en": ["по-английски можно?", "на английском", "пиши по английски"],
        "ru": ["по-русски", "русский", "pishi po russki"],
    },
}


@pytest.mark.parametrize(
    ("text", "language"),
    [(text, wanted) for row in REQUESTS.values() for wanted, texts in row.items() for text in texts],
)
def test_a_request_for_a_language_switches_to_it(commands, text, language):
    assert commands.intent_of(text) == "switch_language"
    assert commands._names.requested(text)[0] == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("a ukraiński jest?", "uk"),
        ("а украинский есть?", "uk"),
        ("is there english?", "en"),
        ("а польська є?", "pl"),
    ],
)
def test_asking_whether_a_language_is_there_switches_to_it(commands, text, language):
    assert commands.intent_of(text) == "switch_language"
    assert commands._names.requested(text)[0] == language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("не польською, а англійською", "en"),
        ("nie po rosyjsku, po polsku", "pl"),
        ("not Russian, English", "en"),
    ],
)
def test_the_language_asked_for_is_not_the_one_refused(commands, text, language):
    assert commands._names.requested(text)[0] == language


@pytest.mark.parametrize(
    "text",
    [
        "Czy IKP jest po ukraińsku?",  # a question about the service (faq/ikp_language), not a switch
        "Is the patient account available in Ukrainian?",
        "Я з України, як отримати PESEL?",
        "jak dostać PESEL",
    ],
)
def test_a_sentence_that_only_mentions_a_language_is_left_to_the_classifier(commands, text):
    assert commands.intent_of(text) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("далі", "affirm"),
        ("Далі ▶️", "affirm"),
        ("dali", "affirm"),
        ("dalej", "affirm"),
        ("Next", "affirm"),
        ("далее", "affirm"),
        ("готово!", "affirm"),
        ("ok dalej", "affirm"),
        ("👍", "affirm"),
        ("Готово ✅", "affirm"),
        ("не виходить", "help"),
        ("🤔 Не виходить", "help"),
        ("nie wychodzi mi to", "help"),
        ("I'm stuck", "help"),
        ("im stuck", "help"),
        ("не получается", "help"),
        ("меню", "greet"),
        ("🏠 До меню", "greet"),
        ("wroc do menu", "greet"),
        ("main menu", "greet"),
        ("назад", "step_back"),
        ("↩️ Назад до кроку", "step_back"),
        ("wstecz", "step_back"),
        ("go back", "step_back"),
        ("назад к шагу", "step_back"),
        ("nazad", "step_back"),
        ("скасувати", "cancel"),
        ("досить", "cancel"),
        ("anuluj", "cancel"),
        ("przestań", "cancel"),
        ("przestan", "cancel"),
        ("cancel", "cancel"),
        ("stop", "cancel"),
        ("STOP!!!", "cancel"),
        ("отмена", "cancel"),
        ("хватит", "cancel"),
        ("skasuvaty", "cancel"),
        ("hvatit", "cancel"),
        ("Скасуй, будь ласка", "cancel"),
        ("stop stop", "cancel"),
        ("❌", "cancel"),
        ("не получается войти", "help"),
        ("nie wychodzi mi z tym", "help"),
        ("ok już jest", "affirm"),
        ("ні, відміна", "cancel"),
        # typos in longer words
        ("скасуваты", "cancel"),
        ("anulj", "cancel"),
        ("przestańn", "cancel"),
        ("nie wychdzi", "help"),
    ],
)
def test_typed_commands(commands, text, intent):
    assert commands.intent_of(text) == intent


@pytest.mark.parametrize(
    "text",
    [
        "12345678901",
        "jan.kowalski@example.com",
        "lkjh poiu mnbv",
        "🙂",
        "",
        "/affirm",
        "ok, але як отримати PESEL?",
    ],
)
def test_anything_else_is_left_to_the_classifier(commands, text):
    assert commands.intent_of(text) is None


def test_a_phrase_of_two_intents_is_refused_at_load(tmp_path):
    from components.typed_commands import Lexicon

    path = tmp_path / "commands.yml"
    path.write_text(
        "commands: {affirm: [stop], cancel: [stop]}\nemoji: {}\ncourtesy: []\nlanguage_request_words: []\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="both"):
        Lexicon.load(str(path))


def test_a_typed_command_keeps_the_conversation_language(commands):
    detected = {"entity": "language", "role": "detected", "value": "uk"}
    [message] = commands.process([Message(data={TEXT: "в меню", ENTITIES: [detected]})])
    assert message.get(INTENT)["name"] == "greet"
    assert message.get(ENTITIES) == []  # "в меню" reads the same in Ukrainian and Russian


def test_a_language_request_keeps_its_entities(commands):
    named = {"entity": "language", "value": "pl"}
    [message] = commands.process([Message(data={TEXT: "можна польською?", ENTITIES: [named]})])
    assert message.get(INTENT)["name"] == "switch_language"
    assert message.get(ENTITIES) == [named]
