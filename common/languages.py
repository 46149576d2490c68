"""The bot's languages, defined once: their codes, their names, the default and the staff's.

Every Python place that lists the languages reads them here (the knowledge build, the channel
service, the action server, the NLU components in the Rasa environment, the backend's schemas,
bench and the NLU evaluation); the widget gets them injected by the channel service
(channels/web/routes.py). Adding a language starts here, then knowledge/ gets its texts.
"""

from __future__ import annotations

from typing import Final, Literal, TypeGuard, get_args

Language = Literal["uk", "pl", "en", "ru"]

# In the order the bot's texts and reports list them.
LANGUAGES: Final[tuple[Language, ...]] = ("uk", "pl", "en", "ru")
# What the bot speaks when nothing tells it the person's language.
DEFAULT_LANGUAGE: Final[Language] = "uk"
# The names in English (also the names of lingua's Language members, upper-cased).
NAMES: Final[dict[Language, str]] = {"uk": "Ukrainian", "pl": "Polish", "en": "English", "ru": "Russian"}

ConsoleLanguage = Literal["pl", "en"]
# The staff's languages: the console is in Polish, with English.
CONSOLE_LANGUAGES: Final[tuple[ConsoleLanguage, ...]] = ("pl", "en")

if get_args(Language) != LANGUAGES or set(NAMES) != set(LANGUAGES):  # pragma: no cover
    raise RuntimeError("common/languages.py: LANGUAGES, Language and NAMES disagree")


def is_language(value: object) -> TypeGuard[Language]:
    return value in LANGUAGES


def language_or_default(language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The language of a code or a locale ("pl", "PL-pl", "en_GB"), else `default`."""
    code = (language or "").strip().lower()[:2]
    return code if is_language(code) else default
