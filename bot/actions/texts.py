"""Reading the domain's responses in the conversation's language.

Every text the actions send is a response of the domain (generated from knowledge/); this
module picks the variation of a response for a language when an action needs the text
itself, e.g. as a button title.
"""

from typing import Any

from common.languages import DEFAULT_LANGUAGE, LANGUAGES

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "language_of", "localized_text"]


def language_of(tracker: Any) -> str:
    language = tracker.get_slot("language")
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def localized_text(domain: dict[str, Any], response: str, language: str) -> str | None:
    """The text of `response` for `language`, or None when the domain has no such response."""
    variations = domain.get("responses", {}).get(response) or []
    fallback = None
    for variation in variations:
        conditions = variation.get("condition") or []
        if not conditions:
            fallback = fallback or variation.get("text")
        if any(c.get("name") == "language" and c.get("value") == language for c in conditions):
            return variation.get("text")
    return fallback
