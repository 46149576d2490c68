import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.dev import REPO_ROOT
from components.language_detector import LanguageDetector, _load_translit_words

BOT = REPO_ROOT / "bot"


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    config = {
        **LanguageDetector.get_default_config(),
        "translit_words_file": str(BOT / "components/translit_words.txt"),
    }
    return LanguageDetector.create(config, None, None, None)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("як отримати номер песель для дитини", "uk"),
        ("как получить песель для ребенка", "ru"),
        ("jak założyć profil zaufany przez bank", "pl"),
        ("jak zalozyc profil zaufany przez bank", "pl"),
        ("how do I log in to the patient account", "en"),
        # Polish terms mixed into Cyrillic text do not make it Polish
        ("шо робить з profil zaufany якщо забула hasło", "uk"),
        ("где находится urząd gminy в моем районе", "ru"),
        # domain words and values are neutral
        ("where can i get my pesel number", "en"),
        # lingua alone reads these short Ukrainian phrases as Russian
        ("що таке PESEL?", "uk"),
        ("що таке песель", "uk"),
        ("а де це знайти", "uk"),
        ("что такое песель", "ru"),
        ("где это найти", "ru"),
    ],
)
def test_reliable_detection(detector, text, language):
    detection = detector.detect(text)
    assert detection.code == language
    assert detection.reliable


@pytest.mark.parametrize(
    "text", ["ok", "так", "tak", "да", "👍", "85070312345", "olena@wp.pl", "pesel", "що", "это"]
)
def test_short_or_neutral_messages_are_not_reliable(detector, text):
    detection = detector.detect(text)
    assert detection is None or not detection.reliable


@pytest.mark.parametrize(
    "text",
    ["ya ne pamyatayu parol vid profilu", "zabula parol shcho robyty", "kak poluchit pesel", "diakuju"],
)
def test_transliterated_ukrainian_and_russian_do_not_switch_to_polish_or_english(detector, text):
    assert not detector.detect(text).reliable


def test_a_reliable_detection_becomes_a_language_entity_with_the_detected_role(detector):
    [message] = detector.process([Message(data={TEXT: "jak zresetować hasło do profilu"})])
    assert message.get("language")["code"] == "pl"
    [entity] = message.get(ENTITIES)
    assert (entity["entity"], entity["role"], entity["value"]) == ("language", "detected", "pl")


def test_an_unreliable_detection_adds_no_entity(detector):
    [message] = detector.process([Message(data={TEXT: "ok"})])
    assert not message.get(ENTITIES)


def test_button_payloads_are_left_alone(detector):
    [message] = detector.process([Message(data={TEXT: '/switch_language{"language":"pl"}'})])
    assert message.get("language") is None and not message.get(ENTITIES)


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01\x02", "🙂🙂🙂", "a" * 100_000, "\udcff broken"])
def test_odd_input_does_not_crash(detector, text):
    detector.process([Message(data={TEXT: text})])


def test_translit_word_list_has_no_common_polish_words():
    words = _load_translit_words(str(BOT / "components/translit_words.txt"))
    assert not words & {"tak", "nie", "jak", "co", "to", "bo", "aby", "moi", "tam", "dobre", "ja"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> LanguageDetector:
    """A detector trained on a few examples, loaded back from Rasa's model storage."""
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("language_detector")
    config = {**LanguageDetector.get_default_config(), "translit_words_file": None}
    examples = [
        "jak zresetować hasło do profilu",
        "how do I log in to the patient account",
        "як отримати номер песель",
        "что такое песель",
        "dziękuję bardzo za pomoc",
    ]
    noise = Message(data={TEXT: "sdfsdf sdfsdf", INTENT: "out_of_scope"})  # kept out of the vocabulary
    LanguageDetector.create(config, storage, resource, None).train(
        TrainingData([Message(data={TEXT: text, INTENT: "greet"}) for text in examples] + [noise])
    )
    return LanguageDetector.load(config, storage, resource, None)


@pytest.mark.parametrize(
    ("text", "language"),
    [("jak zresetowac haslo", "pl"), ("how do I log in to my account", "en"), ("як отримати песель", "uk")],
)
def test_real_words_are_detected_after_training(trained, text, language):
    detection = trained.detect(text)
    assert (detection.code, detection.reliable) == (language, True)


@pytest.mark.parametrize(
    "text",
    ["lkjh poiu mnbv", "xyzzy qwerty", "kjhkjh jhgjhg", "фывап олдж", "ываыва ааа", "sdfsdf sdfsdf"],
)
def test_keyboard_noise_never_switches(trained, text):
    # lingua alone reads these as English, Polish or Russian with confidence 0.79 to 1.0
    detection = trained.detect(text)
    assert detection is None or not detection.reliable


@pytest.mark.parametrize("text", ["dziękuję", "tak tak", "bardzo", "Dobranoc", "dmytro_k"])
def test_one_word_never_switches(trained, text):
    detection = trained.detect(text)
    assert detection is None or not detection.reliable


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        ("jak zresetowac haslo", True),
        ("jak zrestowac", True),  # a typo is close to a word of the training data
        ("dziekuje", True),
        ("lkjh poiu", False),  # "poiu" is one letter off "pomu", but short words must be exact
        ("фывап олдж", False),
        ("sdfsdf sdfsdf", False),  # noise of the out_of_scope examples is not vocabulary
        ("{% how(7*7) %}", False),  # code: as many symbols as letters, though "how" is a word
        ("<b>how</b> do I log in", True),  # markup around words is still words
        ("how do I log in? :)", True),
    ],
)
def test_noise_is_unreadable_and_typos_are_not(trained, text, readable):
    assert trained.detect(text).readable is readable
