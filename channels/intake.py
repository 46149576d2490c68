"""What a person's text must pass before the bot reads it: characters no database or parser takes,
and typed commands.

Rasa reads a message that starts with "/" (after stripping whitespace) as an intent with entities,
past the NLU: '/inform{"pesel": "…"}' sets the entities it names and '/human_handoff' opens a
ticket, whatever the person's words. Buttons need that (their payloads are such commands), so only
a payload the bot itself offered in the conversation, or a channel's own menu command, reaches Rasa
as a command. A person who types one gets a notice instead (no guessing what they meant), while
the conversation is with the bot.
"""

from __future__ import annotations

import re

# Rasa's INTENT_MESSAGE_PREFIX (rasa.shared.constants).
COMMAND_PREFIX = "/"
# Intents without entities that a channel sends for its own menu commands (Telegram's /start,
# /help, /language): the same as typing "hello" or "help", so any channel may send them.
MENU_PAYLOADS = frozenset({"/greet", "/help", "/switch_language"})

# Lone surrogates (a JSON "\ud800" decodes to one) cannot be encoded as UTF-8, so neither database
# nor Rasa would take them; they become U+FFFD, the replacement character.
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# Control characters but tab and line breaks: PostgreSQL refuses NUL in text, the rest is noise.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """The text as it may be stored and sent on: valid Unicode, no control characters, stripped."""
    return _CONTROLS.sub("", _SURROGATES.sub("\ufffd", text)).strip()


def is_command(text: str) -> bool:
    """Whether Rasa would read the text as an intent rather than run its NLU on it."""
    return text.strip().startswith(COMMAND_PREFIX)
