"""Tells which responses, in which language, a reply of the bot consists of.

Every text the bot sends is a variation of a response of the domain (one per language), so a
reply is read back as a sequence of (response, languages) by matching it against all of them.
The REST channel sends a text's paragraphs as messages of their own, so the reply's texts are
joined by blank lines first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_PLACEHOLDER = re.compile(r"\\\{\w+\\\}")  # "{n}" after re.escape


@dataclass(frozen=True)
class Said:
    """One text of a reply: the responses that have it (usually one), and in which languages."""

    responses: frozenset[str]
    languages: frozenset[str]


class Replies:
    def __init__(self, variations: list[tuple[str, str, str]]) -> None:
        """`variations`: (response, language, text)."""
        responses: dict[str, set[str]] = {}
        languages: dict[str, set[str]] = {}
        for response, language, text in variations:
            responses.setdefault(text, set()).add(response)
            languages.setdefault(text, set()).add(language)
        # Longest first, so that a text that begins like another is not cut short.
        self._patterns = [
            (
                re.compile(_PLACEHOLDER.sub(".+?", re.escape(text)) + r"(?=\n\n|\Z)", re.DOTALL),
                Said(frozenset(responses[text]), frozenset(languages[text])),
            )
            for text in sorted(responses, key=len, reverse=True)
        ]

    @classmethod
    def of_domain(cls, path: Path) -> Replies:
        responses = yaml.safe_load(path.read_text(encoding="utf-8"))["responses"]
        return cls(
            [
                (name, variation["condition"][0]["value"], variation["text"])
                for name, variations in responses.items()
                for variation in variations
                if variation.get("text")
            ]
        )

    def read(self, texts: list[str]) -> list[Said] | None:
        """The responses the texts consist of, in order; None when some text is no response."""
        return self._read("\n\n".join(texts), 0)

    def _read(self, joined: str, start: int) -> list[Said] | None:
        if start >= len(joined):
            return []
        for pattern, said in self._patterns:
            match = pattern.match(joined, start)
            if not match:
                continue
            rest = self._read(joined, match.end() + 2)
            if rest is not None:
                return [said, *rest]
        return None
