"""Whole conversations as people type them, played against the real stack over Rasa's REST channel.

Each reply must be the expected responses (the walkthrough's position, the answer), in the
conversation's language, never silence, with buttons where expected (tests/dialogues/README.md).
"""

from __future__ import annotations

import fnmatch
import uuid
from pathlib import Path
from typing import get_args

import httpx
import pytest

from tests.dialogues.replies import Replies, Said
from tests.dialogues.script import Dialogue, Language, Turn, load

HERE = Path(__file__).parent
REPLIES = Replies.of_domain(HERE.parents[1] / "bot" / "domain" / "generated_responses.yml")
DIALOGUES = [(path.stem, dialogue) for path in sorted(HERE.glob("*.yml")) for dialogue in load(path)]


def fits(expected: str, said: Said) -> bool:
    return any(fnmatch.fnmatchcase(r, option) for option in expected.split("|") for r in said.responses)


def described(messages: list[dict]) -> str:
    return "\n".join(
        f"  {(m.get('text') or '')[:160]!r} buttons={[b['title'] for b in m.get('buttons') or []]}"
        for m in messages
    )


class Player:
    """One person talking to the bot over the REST channel, as the dialogue's turns say."""

    def __init__(self, rasa: httpx.Client, dialogue: Dialogue) -> None:
        self.rasa, self.dialogue = rasa, dialogue
        self.sender = f"dialogue-{uuid.uuid4().hex[:12]}"
        self.language = dialogue.language
        self.last: list[dict] = []

    def play(self, number: int, turn: Turn) -> None:
        text = turn.user if turn.user is not None else self.payload_of(turn.press)
        self.language = turn.lang or self.language
        reply = self.rasa.post(
            "/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text, "metadata": {"language": self.dialogue.language}},
        )
        reply.raise_for_status()
        messages = [m for m in reply.json() if m.get("text")]
        where = f"turn {number} ({text!r}): expected {turn.bot} in {self.language}; the bot said:\n"
        said = REPLIES.read([m["text"] for m in messages])
        if said is None:
            pytest.fail(where + described(messages) + "\n(not a response of the domain)", pytrace=False)
        names = [sorted(s.responses) for s in said]
        if len(said) != len(turn.bot) or not all(map(fits, turn.bot, said)):
            pytest.fail(where + f"{names}\n" + described(messages), pytrace=False)
        wrong = [sorted(s.responses) for s in said if self.language not in s.languages]
        if wrong:
            pytest.fail(where + f"{wrong} not in {self.language}\n" + described(messages), pytrace=False)
        if turn.buttons is not None and any(m.get("buttons") for m in messages) != turn.buttons:
            pytest.fail(where + f"buttons expected: {turn.buttons}\n" + described(messages), pytrace=False)
        self.last = messages

    def payload_of(self, title: str | None) -> str:
        buttons = [b for m in self.last for b in m.get("buttons") or []]
        for button in buttons:
            if button["title"] == title:
                return button["payload"]
        pytest.fail(f"no button {title!r} in the last reply: {[b['title'] for b in buttons]}", pytrace=False)


@pytest.mark.parametrize(("file", "dialogue"), DIALOGUES, ids=[f"{file}: {d.name}" for file, d in DIALOGUES])
def test_dialogue(rasa, file, dialogue):
    player = Player(rasa, dialogue)
    for number, turn in enumerate(dialogue.turns, 1):
        player.play(number, turn)


def test_every_language_has_its_dialogues():
    counts = {lang: sum(1 for _, d in DIALOGUES if d.language == lang) for lang in get_args(Language)}
    assert min(counts.values()) >= 25, counts
