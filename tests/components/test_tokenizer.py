import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from components.language_detector import LanguageDetector
from components.tokenizer import MultilingualTokenizer, fold


@pytest.fixture(scope="module")
def tokenizer() -> MultilingualTokenizer:
    return MultilingualTokenizer.create(MultilingualTokenizer.get_default_config(), None, None, None)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector.create(LanguageDetector.get_default_config(), None, None, None)


def tokens(tokenizer, detector, text):
    [message] = detector.process([Message(data={TEXT: text})])
    tokenizer.process([message])
    return message.get(TOKENS_NAMES[TEXT])


@pytest.mark.parametrize("apostrophe", ["'", "’", "ʼ"])
def test_ukrainian_words_with_apostrophes_stay_whole(tokenizer, detector, apostrophe):
    words = [t.text for t in tokens(tokenizer, detector, f"я не пам{apostrophe}ятаю свій пароль")]
    assert words == ["я", "не", f"пам{apostrophe}ятаю", "свій", "пароль"]


def test_ukrainian_and_russian_words_get_lemmas(tokenizer, detector):
    uk = {t.text: t.lemma for t in tokens(tokenizer, detector, "забула пароля від профілю")}
    assert uk["пароля"] == "пароль" and uk["профілю"] == "профіль"
    ru = {t.text: t.lemma for t in tokens(tokenizer, detector, "забыла пароль от профиля")}
    assert ru["забыла"] == "забыть" and ru["профиля"] == "профиль"


def test_apostrophe_variants_share_one_lemma(tokenizer, detector):
    lemmas = {
        t.lemma
        for a in "'’ʼ"
        for t in tokens(tokenizer, detector, f"не пам{a}ятаю логін")
        if t.text.startswith("пам")
    }
    assert len(lemmas) == 1


def test_polish_typed_without_diacritics_shares_the_features(tokenizer, detector):
    typed = [t.lemma for t in tokens(tokenizer, detector, "Zapomniałem hasła do Profilu Zaufanego")]
    plain = [t.lemma for t in tokens(tokenizer, detector, "zapomnialem hasla do profilu zaufanego")]
    assert typed == plain == ["zapomnialem", "hasla", "do", "profilu", "zaufanego"]


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("żółć", "zolc"),
        ("łódź", "lodz"),
        ("ещё", "еще"),
        ("пам’ять", "пам'ять"),
        ("мій", "мій"),
        ("їжак", "їжак"),
    ],
)
def test_folding_drops_marks_on_latin_letters_only(word, folded):
    # й and ї are letters of their own, not и and і with a mark.
    assert fold(word) == folded


def test_folding_can_be_turned_off():
    config = {**MultilingualTokenizer.get_default_config(), "lemmas": False, "fold_diacritics": False}
    plain = MultilingualTokenizer.create(config, None, None, None)
    [message] = plain.process([Message(data={TEXT: "hasło", "language": {"code": "pl"}})])
    assert [t.lemma for t in message.get(TOKENS_NAMES[TEXT])] == ["hasło"]


def test_emails_urls_and_pesel_are_single_tokens(tokenizer, detector):
    words = [
        t.text
        for t in tokens(tokenizer, detector, "mój mail olena.k@wp.pl, pesel 85070312345, strona pz.gov.pl")
    ]
    assert "olena.k@wp.pl" in words and "85070312345" in words and "pz.gov.pl" in words


def test_offsets_point_into_the_text(tokenizer, detector):
    text = "Jak zalogować się do IKP?"
    for token in tokens(tokenizer, detector, text):
        assert text[token.start : token.end] == token.text


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01", "🙂", "?!", "a" * 100_000])
def test_odd_input_gives_tokens_without_crashing(tokenizer, detector, text):
    tokens(tokenizer, detector, text)
