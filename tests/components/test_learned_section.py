"""`make learn`'s section of the NLU files passes `rasa data validate` and Rasa reads its examples
with their intents: scripts/learn.py (the project's Python 3.11 environment, .venv) writes labels
into a temporary copy of bot/data, then Rasa's own validation runs on that copy here."""

import shutil
import subprocess
from pathlib import Path

import pytest
from rasa.cli.utils import validate_files
from rasa.shared.importers.importer import TrainingDataImporter

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
LEARNED = {
    "pl": [("get_pesel", "jak zdobyć numer pesel najszybciej w krakowie")],
    "en": [("faq/family_doctor", "is the family doctor in the patient account free for me")],
    "uk": [("ikp_login", "не можу зайти в ikp через банк вже третій день")],
}
# Written with the labels above, and one the training data has already (not written again).
WRITE = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from scripts.learn import Labelled, learn
learned = {learned!r}
labels = [
    Labelled(text, language, label, "agent", datetime(2026, 12, 7, tzinfo=UTC) + timedelta(seconds=n))
    for n, (language, items) in enumerate(learned.items())
    for label, text in items
]
labels.append(Labelled("HI", "en", "greet", "agent", datetime(2026, 12, 7, 1, tzinfo=UTC)))
report = learn(labels, Path(sys.argv[1]), Path(sys.argv[2]))
assert dict(report.added) == {{language: 1 for language in learned}}, report.lines()
assert report.duplicates == 1, report.lines()
"""


@pytest.mark.skipif(not PYTHON.exists(), reason="needs the project's environment (make setup)")
def test_the_learned_section_passes_rasa_data_validate(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "bot" / "data", data)
    subprocess.run(
        [str(PYTHON), "-c", WRITE.format(learned=LEARNED), str(data / "nlu"), str(ROOT / "tests" / "nlu")],
        cwd=ROOT,
        check=True,
    )
    assert "# Learned from the failures page (make learn)" in (data / "nlu" / "pl.yml").read_text("utf-8")

    importer = TrainingDataImporter.load_from_config(
        str(ROOT / "bot" / "config.yml"), str(ROOT / "bot" / "domain"), [str(data)]
    )
    # What `rasa data validate` runs; it exits (SystemExit) when the data is not valid.
    validate_files(fail_on_warnings=False, max_history=None, importer=importer)

    examples = importer.get_nlu_data().training_examples
    read = {
        message.get("text"): message.get("intent_response_key") or message.get("intent")
        for message in examples
    }
    for items in LEARNED.values():
        for label, text in items:
            assert read[text] == label
