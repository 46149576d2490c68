"""The channel service's own texts (knowledge/channels.yml), in the conversation's language."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from common.languages import CONSOLE_LANGUAGES, LANGUAGES, language_or_default

TEXTS = Path(__file__).resolve().parents[1] / "knowledge" / "channels.yml"
CONSOLE_TEXTS = TEXTS.with_name("console.yml")


@cache
def _texts() -> dict[str, dict[str, dict[str, str]]]:
    texts: dict[str, Any] = yaml.safe_load(TEXTS.read_text(encoding="utf-8"))
    for section, entries in texts.items():
        for key, translations in entries.items():
            missing = [lang for lang in LANGUAGES if not (translations or {}).get(lang)]
            if missing:
                raise ValueError(f"{TEXTS.name}: {section}.{key} has no text in {', '.join(missing)}")
    return texts


def notice(key: str, language: str) -> str:
    return _texts()["notices"][key][language_or_default(language)]


def widget_labels(language: str) -> dict[str, str]:
    language = language_or_default(language)
    return {key: translations[language] for key, translations in _texts()["widget"].items()}


def telegram_commands(language: str) -> dict[str, str]:
    """The bot's Telegram commands (without the slash) and their descriptions."""
    language = language_or_default(language)
    return {
        command: translations[language] for command, translations in _texts()["telegram_commands"].items()
    }


@cache
def console_texts() -> dict[str, dict[str, Any]]:
    """{language: {key: text, ..., "errors": {key: text}}} for console.js."""
    sections: dict[str, Any] = yaml.safe_load(CONSOLE_TEXTS.read_text(encoding="utf-8"))
    out: dict[str, dict[str, Any]] = {language: {"errors": {}} for language in CONSOLE_LANGUAGES}
    for section, entries in sections.items():
        for key, translations in entries.items():
            for language in CONSOLE_LANGUAGES:
                if not (translations or {}).get(language):
                    raise ValueError(f"{CONSOLE_TEXTS.name}: {section}.{key} has no text in {language}")
                target = out[language]["errors"] if section == "errors" else out[language]
                target[key] = translations[language]
    return out


__all__ = [
    "LANGUAGES",
    "console_texts",
    "language_or_default",
    "notice",
    "telegram_commands",
    "widget_labels",
]
