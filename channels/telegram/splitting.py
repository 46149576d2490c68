"""Long replies cut into Telegram-sized messages at the most natural boundary that fits."""

from __future__ import annotations

from telegram.constants import MessageLimit

MAX_LENGTH = MessageLimit.MAX_TEXT_LENGTH  # 4096
# Coarsest first: paragraphs, then lines, then words. Only a single "word" longer than a whole
# message (a very long link, say) is ever cut in the middle.
SEPARATORS = ("\n\n", "\n", " ")


def telegram_length(text: str) -> int:
    """The length as Telegram counts it, in UTF-16 code units: an emoji like 👋 counts twice.
    Counting this way is never shorter than counting characters, so a part that fits here fits there."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_LENGTH) -> list[str]:
    """`text` as parts of at most `limit` (Telegram's) length, in order; blank parts are dropped.

    The separator at a cut is dropped (the message break replaces it); everything else is kept."""
    return [part for part in _split(text.strip(), limit, SEPARATORS) if part.strip()]


def _split(text: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if telegram_length(text) <= limit:
        return [text]
    if not separators:
        return _cut(text, limit)
    separator, finer = separators[0], separators[1:]
    parts: list[str] = []
    current = ""
    # Greedy: pieces (paragraphs, say) join the current part while it fits; a piece too long on
    # its own is split at the next finer separator, and its last bit keeps collecting pieces.
    for piece in text.split(separator):
        joined = f"{current}{separator}{piece}" if current else piece
        if telegram_length(joined) <= limit:
            current = joined
            continue
        if current:
            parts.append(current)
        if telegram_length(piece) <= limit:
            current = piece
        else:
            *whole, current = _split(piece, limit, finer)
            parts.extend(whole)
    if current:
        parts.append(current)
    return parts


def _cut(text: str, limit: int) -> list[str]:
    """Hard cuts, by characters, for a word longer than a message (never halving an emoji)."""
    parts: list[str] = []
    current, length = "", 0
    for char in text:
        size = telegram_length(char)
        if length + size > limit:
            parts.append(current)
            current, length = "", 0
        current += char
        length += size
    parts.append(current)
    return parts
