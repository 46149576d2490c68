"""The dialogue format (tests/dialogues/README.md), read and checked with Pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Language = Literal["uk", "pl", "en", "ru"]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = None  # what the person types ...
    press: str | None = None  # ... or the title of a button of the previous reply
    bot: list[str]  # the reply's responses in order; `*` wildcards, `|` alternatives; [] silence
    lang: Language | None = None  # the reply language from this turn on
    buttons: bool | None = None

    @field_validator("bot", mode="before")
    @classmethod
    def one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def types_or_presses(self) -> Turn:
        if (self.user is None) == (self.press is None):
            raise ValueError("a turn has either `user` or `press`")
        return self


class Dialogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    language: Language  # the channel's hint, and the reply language at the start
    turns: list[Turn] = Field(min_length=1)


class DialogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversations: list[Dialogue]


def load(path: Path) -> list[Dialogue]:
    return DialogueFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).conversations
