"""Teaching the bot from its failures (channels/learning.py, scripts/learn.py): what a label may
be, the test sets a label must stay out of, storing labels, and `make learn` writing a marked,
de-duplicated section into a temporary copy of the NLU files, never into tests/nlu.

That the section passes `rasa data validate` is tested in the Rasa environment
(tests/components/test_learned_section.py); the console's flow in a browser in tests/channels."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from channels import insights
from channels.app import _MIGRATION_LOCK_ID, MIGRATIONS
from channels.learning import (
    NEW_TOPIC,
    REPO_ROOT,
    EvaluationSets,
    catalog,
    digest,
    domain_intents,
    evaluation_sets,
    fold,
    nlu_examples,
)
from channels.store import Store
from channels.texts import console_texts
from common.db import make_engine, make_session_factory, upgrade_with_alembic
from scripts.learn import LEARNED_MARKER, Labelled, learn, main, read_labels

NLU = REPO_ROOT / "bot" / "data" / "nlu"
TESTS_NLU = REPO_ROOT / "tests" / "nlu"
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def first_dev_example(language: str) -> str:
    return next(text for _intent, text in nlu_examples(TESTS_NLU / f"dev_{language}.yml"))


def fingerprint_of_tests_nlu() -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(TESTS_NLU.iterdir())}


# What a text is compared by


def test_texts_compare_case_accent_and_whitespace_insensitively_after_masking() -> None:
    assert fold("Jak  dostać\tPESEL?") == fold("jak dostac pesel?") == fold("JAKDOSTACPESEL?")
    assert fold("Що таке PESEL") == fold("що таке pesel")
    assert fold("Łódź") == fold("lodz")
    assert fold("mój pesel [85070312345](pesel)") == fold("Mój PESEL <pesel>")
    assert fold("jak dostać pesel") != fold("jak dostać pesel teraz")


def test_a_test_set_text_is_found_however_it_is_typed() -> None:
    sets = evaluation_sets()
    assert len(sets) > 1000
    sentence = first_dev_example("pl")  # "Dzień dobry, mam pytanie"
    assert sets.find(sentence) == "dev_pl.yml"
    assert sets.find("  " + sentence.upper().replace("Ń", "N") + " ") == "dev_pl.yml"
    heldout = next(text for _intent, text in nlu_examples(TESTS_NLU / "heldout_en.yml"))
    assert sets.find(heldout.lower()) == "heldout_en.yml"
    assert sets.find("a sentence no test set has, xyzzy") is None


def test_evaluation_sets_read_both_forms_of_rasa_examples(tmp_path: Path) -> None:
    (tmp_path / "dev_xx.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: a\n  examples:\n  - text: |\n      Łódź  Kaliska\n'
        "    metadata: {lang: pl}\n- intent: b\n  examples: |\n    - mój [pesel](thing) tu\n",
        encoding="utf-8",
    )
    sets = EvaluationSets(tmp_path)
    assert sets.find("lodz kaliska") == "dev_xx.yml"
    assert sets.find("MÓJ PESEL TU") == "dev_xx.yml"


# What a label may be


def test_the_labels_are_the_domains_intents_the_faq_answers_and_new_topic() -> None:
    labels = catalog()
    values = [label.value for label in labels]
    assert values[: len(domain_intents())] == domain_intents()
    assert "get_pesel" in values and "faq/what_is_pesel" in values and values[-1] == NEW_TOPIC
    assert "faq" not in values  # the retrieval intent itself is no answer
    faq = {label.value: label for label in labels if label.kind == "faq"}
    assert faq["faq/what_is_pesel"].names["en"] and faq["faq/what_is_pesel"].names["pl"]
    # Every FAQ answer of the training data is one, and nothing else.
    trained = {intent for path in NLU.glob("*.yml") for intent, _text in nlu_examples(path)}
    assert set(faq) == {intent for intent in trained if intent.startswith("faq/")}


def test_every_intent_has_a_readable_name_in_the_console() -> None:
    texts = console_texts()
    for language in ("pl", "en"):
        missing = [name for name in domain_intents() if f"intent_{name}" not in texts[language]]
        assert missing == [], f"knowledge/console.yml has no intent_<name> text in {language}"
        assert texts[language]["new_topic"] and texts[language]["errors"]["test_set_text"]


# Storing a label


@pytest.fixture
def store(tmp_path: Path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'channels.db'}")
    upgrade_with_alembic(engine, MIGRATIONS, _MIGRATION_LOCK_ID)
    return Store(make_session_factory(engine))


def test_a_label_is_stored_masked_with_who_and_when_and_replaced_when_given_again(
    store: Store, tmp_path: Path
) -> None:
    text = insights.normalise("Mój  PESEL 85070312345, mail olena@example.org — co dalej?")
    assert text == "mój pesel <pesel>, mail <email> — co dalej?"
    key = digest(text, "pl")
    saved = store.save_label(key, text, "pl", "inform", "agent", T0)
    assert (saved.text, saved.language, saved.label, saved.staff_username, saved.created_at) == (
        text,
        "pl",
        "inform",
        "agent",
        T0,
    )
    store.save_label(key, text, "pl", "check_status", "admin", T0 + timedelta(minutes=1))
    store.save_label(digest(text, "en"), text, "en", NEW_TOPIC, "agent", T0)
    labels = store.labels()
    assert [(label.language, label.label, label.staff_username) for label in labels] == [
        ("pl", "check_status", "admin"),
        ("en", NEW_TOPIC, "agent"),
    ]
    raw = (tmp_path / "channels.db").read_bytes()
    assert b"85070312345" not in raw and b"olena@example.org" not in raw
    # make learn reads them back from the same database, read only.
    read = read_labels(f"sqlite:///{tmp_path / 'channels.db'}")
    assert [(item.text, item.label, item.created_at) for item in read] == [
        (text, "check_status", T0 + timedelta(minutes=1)),
        (text, NEW_TOPIC, T0),
    ]


def test_labelled_groups_leave_the_failures_list(tmp_path: Path) -> None:
    path = tmp_path / "rasa-tracker.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), type_name VARCHAR(255),"
            " timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
        )
        for number, text in enumerate(["hmm one", "hmm two", "Hmm  TWO"]):
            event = {
                "event": "user",
                "text": text,
                "metadata": {"language": "uk"},
                "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.2}, "entities": []},
            }
            connection.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('web-1', 'user', ?, ?)",
                (1000.0 + number, json.dumps(event)),
            )
    connection.close()
    url = f"sqlite:///{path}"
    assert [f.text for f in insights.failures(url)] == ["hmm two", "hmm one"]
    assert [f.text for f in insights.failures(url, skip={("hmm two", "uk")})] == ["hmm one"]
    assert [f.text for f in insights.failures(url, skip={("hmm two", "pl")})] == ["hmm two", "hmm one"]


# make learn


@pytest.fixture
def nlu_copy(tmp_path: Path) -> Path:
    """A temporary copy of bot/data/nlu: make learn's tests never write the committed files."""
    copy = tmp_path / "nlu"
    shutil.copytree(NLU, copy)
    return copy


def labelled(text: str, language: str | None, label: str, seconds: int = 0) -> Labelled:
    return Labelled(text, language, label, "agent", T0 + timedelta(seconds=seconds))


def learned(path: Path) -> dict[str, list[str]]:
    content = path.read_text(encoding="utf-8")
    data = yaml.safe_load("nlu:\n" + content[content.index(LEARNED_MARKER) :])["nlu"] or []
    return {block["intent"]: [line[2:] for line in block["examples"].splitlines()] for block in data}


def test_learn_writes_a_marked_deduplicated_section_and_nothing_into_tests_nlu(nlu_copy: Path) -> None:
    before = {path.name: path.read_text(encoding="utf-8") for path in nlu_copy.iterdir()}
    tests_before = fingerprint_of_tests_nlu()
    hand_written_en = next(text for _intent, text in nlu_examples(NLU / "en.yml"))  # "hi"
    labels = [
        labelled("jak zdobyć numer pesel najszybciej w krakowie", "pl", "get_pesel", 1),
        labelled("czy lekarz rodzinny jest w ikp za darmo dla mnie", "pl", "faq/family_doctor", 2),
        # Already in the training data, typed otherwise.
        labelled(f"  {hand_written_en.upper()} ", "en", "greet", 3),
        labelled(first_dev_example("pl").lower(), "pl", "greet", 4),  # in the development set
        labelled("gdzie kupić pizzę", "pl", NEW_TOPIC, 5),
        labelled("mój pesel <pesel> i co dalej", "pl", "inform", 6),
        labelled("something nobody knows the language of", None, "help", 7),
        labelled("de otrymaty pesel shvydko u lvovi", "uk", "get_pesel", 8),
    ]

    report = learn(labels, nlu_copy, TESTS_NLU)

    assert dict(report.added) == {"pl": 2, "uk": 1}
    assert report.duplicates == 1
    assert [(item.text, where) for item, where in report.refused] == [
        (first_dev_example("pl").lower(), "dev_pl.yml")
    ]
    assert [item.text for item in report.new_topics] == ["gdzie kupić pizzę"]
    assert [item.text for item, _why in report.by_hand] == [
        "mój pesel <pesel> i co dalej",
        "something nobody knows the language of",
    ]
    printed = "\n".join(report.lines())
    assert "gdzie kupić pizzę" in printed and "dev_pl.yml" in printed and "make eval-dev" in printed

    pl = nlu_copy / "pl.yml"
    content = pl.read_text(encoding="utf-8")
    # The hand-written data is kept as it was; the section follows its marker at the end.
    assert content.startswith(before["pl.yml"].rstrip("\n") + "\n" + LEARNED_MARKER)
    assert learned(pl) == {
        "get_pesel": ["jak zdobyć numer pesel najszybciej w krakowie"],
        "faq/family_doctor": ["czy lekarz rodzinny jest w ikp za darmo dla mnie"],
    }
    assert learned(nlu_copy / "uk.yml") == {"get_pesel": ["de otrymaty pesel shvydko u lvovi"]}
    # Nothing learned for English or Russian: those files are untouched.
    assert (nlu_copy / "en.yml").read_text(encoding="utf-8") == before["en.yml"]
    assert (nlu_copy / "ru.yml").read_text(encoding="utf-8") == before["ru.yml"]
    # Still one NLU file whose examples include the learned ones.
    examples = list(nlu_examples(pl))
    assert ("get_pesel", "jak zdobyć numer pesel najszybciej w krakowie") in examples
    assert yaml.safe_load(content)["version"] == "3.1"
    assert fingerprint_of_tests_nlu() == tests_before


def test_learn_again_adds_only_newer_labels_keeps_deletions_and_moves_a_relabelled_text(
    nlu_copy: Path,
) -> None:
    first = [
        labelled("jak zdobyć numer pesel najszybciej w krakowie", "pl", "get_pesel", 1),
        labelled("zgubiłem kartkę z numerem i co teraz", "pl", "get_pesel", 2),
    ]
    learn(first, nlu_copy, TESTS_NLU)
    pl = nlu_copy / "pl.yml"
    once = pl.read_text(encoding="utf-8")

    # The same labels again: nothing changes.
    report = learn(first, nlu_copy, TESTS_NLU)
    assert (dict(report.added), report.earlier) == ({}, 2)
    assert pl.read_text(encoding="utf-8") == once

    # A reviewer deletes a line; a later run does not bring it back.
    pl.write_text(once.replace("    - zgubiłem kartkę z numerem i co teraz\n", ""), encoding="utf-8")
    # Relabelled later: the text moves to its new intent, and appears once.
    relabelled = labelled("jak zdobyć numer pesel najszybciej w krakowie", "pl", "faq/find_my_pesel", 9)
    learn([*first, relabelled], nlu_copy, TESTS_NLU)
    assert learned(pl) == {"faq/find_my_pesel": ["jak zdobyć numer pesel najszybciej w krakowie"]}
    assert pl.read_text(encoding="utf-8").count(LEARNED_MARKER) == 1


def test_a_learned_example_written_by_hand_later_leaves_the_section(nlu_copy: Path) -> None:
    text = "jak zdobyć numer pesel najszybciej w krakowie"
    learn([labelled(text, "pl", "get_pesel", 1)], nlu_copy, TESTS_NLU)
    pl = nlu_copy / "pl.yml"
    hand, section = pl.read_text(encoding="utf-8").split(LEARNED_MARKER)
    hand = hand.replace("- intent: greet\n  examples: |\n", f"- intent: greet\n  examples: |\n    - {text}\n")
    pl.write_text(hand + LEARNED_MARKER + section, encoding="utf-8")
    learn([], nlu_copy, TESTS_NLU)
    assert learned(pl) == {}


def test_learn_never_writes_into_the_tests(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="never writes into the tests"):
        learn([], TESTS_NLU, TESTS_NLU, write=False)
    tests_copy = tmp_path / "tests" / "nlu"
    shutil.copytree(TESTS_NLU, tests_copy)
    with pytest.raises(ValueError, match="never writes into the tests"):
        learn([], tests_copy, tests_copy, write=False)


def test_make_learn_reads_the_channel_service_database_and_reports(
    store: Store, tmp_path: Path, nlu_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "jak zdobyć numer pesel najszybciej w krakowie"
    store.save_label(digest(text, "pl"), text, "pl", "get_pesel", "agent", T0)
    store.save_label(digest("pizza", "pl"), "pizza", "pl", NEW_TOPIC, "agent", T0)
    database = f"sqlite:///{tmp_path / 'channels.db'}"

    assert main(["--database-url", database, "--nlu", str(nlu_copy), "--dry-run"]) == 0
    assert LEARNED_MARKER not in (nlu_copy / "pl.yml").read_text(encoding="utf-8")
    assert main(["--database-url", database, "--nlu", str(nlu_copy)]) == 0
    assert learned(nlu_copy / "pl.yml") == {"get_pesel": [text]}
    out = capsys.readouterr().out
    assert "pl +1" in out and "pizza (by agent" in out
    with pytest.raises(SystemExit, match="no channel service database"):
        main(["--database-url", f"sqlite:///{tmp_path / 'none.db'}", "--nlu", str(nlu_copy)])
