"""The typed messages of the test stories, classified by the running server's NLU.

`rasa test core` checks the dialogue with the intents written in the stories; this checks that
the NLU gives those intents to the messages as typed. (`rasa test --e2e` cannot do it here: it
compares entities without their role, and every reliable detection adds a `language` entity with
the role `detected`.) The bar is the NLU bar of the product: 95 % of the messages in each language.
"""

import re
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
import yaml

STORIES = Path(__file__).resolve().parents[1] / "stories"
BAR = 0.95
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")  # [text](entity) or [text]{...}


def typed_messages() -> dict[str, list[tuple[str, str]]]:
    by_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in sorted(STORIES.glob("test_*.yml")):
        language = path.stem.removeprefix("test_")
        for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            for step in story["steps"]:
                text = (step.get("user") or "").strip()
                if text and not text.startswith("/"):
                    by_language[language].append((ANNOTATION.sub(r"\1", text), step["intent"]))
    return by_language


MESSAGES = typed_messages()


@pytest.mark.parametrize("language", sorted(MESSAGES))
def test_story_messages_get_their_intents(stack, language):
    wrong = []
    for text, intent in MESSAGES[language]:
        parse = httpx.post(f"{stack.ports.rasa_url}/model/parse", json={"text": text}, timeout=30).json()
        predicted = parse["intent"].get("full_retrieval_intent_name") or parse["intent"]["name"]
        if predicted != intent:
            wrong.append(f"{text!r}: expected {intent}, got {predicted}")
    accuracy = 1 - len(wrong) / len(MESSAGES[language])
    assert accuracy >= BAR, f"{language}: {accuracy:.3f}\n" + "\n".join(wrong)
