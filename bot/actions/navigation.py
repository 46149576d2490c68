"""Where a person is in a walkthrough, and where a message takes them.

Pure logic over the structure of the guides (guides.json, generated from knowledge/guides);
the action in walkthrough.py only translates between it and Rasa's tracker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

GUIDES_FILE = Path(__file__).with_name("guides.json")
# A task started in the middle of another is a detour: the walkthroughs it interrupts are kept
# (this many at most) and offered again, the most recent first, as each detour ends.
MAX_RETURNS = 3
RETURN_SEPARATOR = "|"
# Asked once per topic at the two moments something was answered: a guide's end, an FAQ answer.
FEEDBACK_QUESTION = "utter_ask_feedback"


@dataclass(frozen=True)
class Position:
    guide: str | None = None
    step: int | None = None
    return_to: str | None = None  # the interrupted walkthroughs: "<guide>:<step>|<guide>:<step>"


@dataclass(frozen=True)
class Move:
    """What to say (response names, in order) and where the person is afterwards."""

    responses: list[str]
    position: Position
    form: str | None = None  # a form to start after the responses
    finished: str | None = None  # the guide whose last step this move completed


def guide_topic(guide: str) -> str:
    """A topic as the tracker records it (slot `topic`), for feedback and the console's analytics."""
    return f"guide:{guide}"


def faq_topic(key: str) -> str:
    return f"faq:{key}"


def feedback_due(
    topic: str, asked: list[str] | None, *, in_form: bool = False, offered: bool = False
) -> bool:
    """Whether to ask "did this help?" about `topic` now: once per topic per conversation, never in
    a form, and not when the answer already ends with a question of its own (an offer)."""
    return not in_form and not offered and topic not in (asked or [])


def feedback_after(move: Move, asked: list[str] | None) -> str | None:
    """The topic to ask about after a walkthrough move: only a guide just finished whose done is
    not followed by an offer (to resume an interrupted walkthrough, or a form)."""
    if move.finished is None:
        return None
    topic = guide_topic(move.finished)
    offered = len(move.responses) > 1 or move.form is not None
    return topic if feedback_due(topic, asked, offered=offered) else None


def shown(move: Move) -> dict[str, Any] | None:
    """What a move showed of a walkthrough, as the tracker records it (slot `walkthrough`) for the
    console's step funnel: a step, a step's stuck help, or a guide's end."""
    if move.finished is not None:
        return {"guide": move.finished, "step": None, "shown": "done"}
    guide, step = move.position.guide, move.position.step
    if guide is None or step is None:
        return None
    if step_response(guide, step) in move.responses:
        return {"guide": guide, "step": step, "shown": "step"}
    if stuck_response(guide, step) in move.responses:
        return {"guide": guide, "step": step, "shown": "stuck"}
    return None


def step_response(guide: str, step: int) -> str:
    return f"utter_{guide}_step_{step}"


def stuck_response(guide: str, step: int) -> str:
    return f"utter_{guide}_stuck_{step}"


def resume_response(guide: str) -> str:
    return f"utter_{guide}_resume"


def returns(return_to: str | None) -> list[tuple[str, int]]:
    """The interrupted walkthroughs, the most recent last: "<guide>:<step>|<guide>:<step>"."""
    found = []
    for entry in (return_to or "").split(RETURN_SEPARATOR):
        guide, _, step = entry.partition(":")
        if guide and step.isdigit():
            found.append((guide, int(step)))
    return found


def joined(interrupted: list[tuple[str, int]]) -> str | None:
    return RETURN_SEPARATOR.join(f"{guide}:{step}" for guide, step in interrupted) or None


class Guides:
    def __init__(self, structure: dict[str, Any], offers: bool = True) -> None:
        """`offers`: whether the forms of the organisation's own portal are offered after their
        guides (only when it has a portal)."""
        self._guides: dict[str, Any] = structure["guides"]
        self._start: dict[str, str] = structure["start"]
        self._with_offers = offers
        # "yes" to one of these responses starts its form
        self._offers = {
            f"utter_offer_{g['offer']}": g["offer"] for g in self._guides.values() if g.get("offer")
        }

    @classmethod
    def load(cls, path: Path = GUIDES_FILE, offers: bool = True) -> Guides:
        return cls(json.loads(path.read_text(encoding="utf-8")), offers)

    def steps(self, guide: str) -> list[dict[str, Any]]:
        return self._guides[guide]["steps"]

    def intent(self, guide: str) -> str:
        return self._guides[guide]["intent"]

    def offer(self, guide: str) -> str | None:
        """The form offered at the end of the guide (e.g. username_reminder_form), if any."""
        return self._guides[guide].get("offer") if self._with_offers else None

    def move(self, intent: str, position: Position, last_utterance: str | None) -> Move:
        """The answer to `intent`, given the position and the bot's last response."""
        if intent in self._start:
            return self._on_task(intent, position)
        if intent == "cancel":
            if position.guide:
                return Move(["utter_walkthrough_cancelled"], Position())
            return Move(["utter_anything_else"], Position())
        if position.guide is None or position.step is None:
            return self._outside_walkthrough(intent, position, last_utterance)
        on_step = last_utterance == step_response(position.guide, position.step)
        step = self.steps(position.guide)[position.step - 1]
        if intent == "step_back":
            # On the step: the one before it; after a detour (stuck help, an FAQ): the step again.
            previous = position.step - 1 if on_step and position.step > 1 else position.step
            return self._show(replace(position, step=previous))
        if intent == "affirm":
            if not on_step:
                return self._show(position)  # "continue" after a detour: show the step again
            if step["question"]:
                return self._show(Position(step["yes"], 1, position.return_to))
            return self._advance(position)
        if intent == "deny" and on_step and step["question"]:
            return self._advance(position)
        return Move([stuck_response(position.guide, position.step)], position)

    def _on_task(self, intent: str, position: Position) -> Move:
        """A task asked for: its current step if it is in progress or interrupted, else its first
        step, remembering the walkthrough it interrupts (offered again when the task ends)."""
        if position.guide and self.intent(position.guide) == intent:
            return self._show(position)
        interrupted = returns(position.return_to)
        for depth, (guide, step) in enumerate(interrupted):
            if self.intent(guide) == intent:
                return self._show(Position(guide, step, joined(interrupted[:depth])))
        if position.guide and position.step:
            interrupted = [*interrupted, (position.guide, position.step)][-MAX_RETURNS:]
        return self._show(Position(self._start[intent], 1, joined(interrupted)))

    def _outside_walkthrough(self, intent: str, position: Position, last_utterance: str | None) -> Move:
        interrupted = returns(position.return_to)
        if interrupted:
            guide, step = interrupted[-1]
            if last_utterance == resume_response(guide):
                if intent in ("affirm", "step_back"):  # "yes, take me back"
                    return self._show(Position(guide, step, joined(interrupted[:-1])))
                if intent == "deny":  # "no": that walkthrough is not offered again
                    return Move(["utter_anything_else"], Position(None, None, joined(interrupted[:-1])))
        if intent == "affirm" and last_utterance in self._offers:
            return Move([], position, form=self._offers[last_utterance])
        if intent == "deny":
            return Move(["utter_anything_else"], position)
        return Move(["utter_menu"], position)

    def _show(self, position: Position) -> Move:
        return Move([step_response(*_in_guide(position))], position)

    def _advance(self, position: Position) -> Move:
        guide, step = _in_guide(position)
        if step < len(self.steps(guide)):
            return self._show(replace(position, step=step + 1))
        responses = [f"utter_{guide}_done"]
        interrupted = returns(position.return_to)
        offer = self.offer(guide)
        if interrupted:
            responses.append(resume_response(interrupted[-1][0]))
        elif offer:
            responses.append(f"utter_offer_{offer}")
        return Move(responses, Position(None, None, position.return_to), finished=guide)


def _in_guide(position: Position) -> tuple[str, int]:
    """The guide and step of a position inside a walkthrough: the only kind shown or advanced."""
    if position.guide is None or position.step is None:
        raise ValueError(f"not inside a walkthrough: {position}")
    return position.guide, position.step
