"""What the bot fails on, for the console's page: user messages in Rasa's SQL tracker store that
ended in a fallback or out-of-scope intent, or that the model was not sure about.

Rasa owns the store (SQLTrackerStore, table `events`); bot/tracker_admin.py reads it, and never
creates it: when Rasa has not written anything yet the answer is an empty list. The texts are
raw in Rasa's store, so they are masked (PESEL, e-mail, phone) before they leave this module.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot import tracker_admin
from channels.texts import LANGUAGES
from common.pii import for_analytics as mask

FAILED_INTENTS = ("nlu_fallback", "out_of_scope")
LOW_CONFIDENCE = 0.6
# The newest user messages read per request: enough for weeks of traffic, and a bounded read of a
# table that Rasa never prunes.
SCAN_LIMIT = 50_000
# The page lists the most frequent groups; a long tail of one-off typos helps nobody.
MAX_GROUPS = 500


@dataclass
class Failure:
    """One failed text in one language: how often, when last, and how the model read it last."""

    text: str
    language: str | None
    count: int
    last_seen: datetime
    intent: str | None
    confidence: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "count": self.count,
            "last_seen": self.last_seen.isoformat(),
            "intent": self.intent,
            "confidence": self.confidence,
        }


def failures(
    tracker_url: str,
    threshold: float = LOW_CONFIDENCE,
    scan_limit: int = SCAN_LIMIT,
    skip: Collection[tuple[str, str | None]] = (),
) -> list[Failure]:
    """Failed user messages grouped by masked, normalised text and language; most frequent first.
    Groups in `skip` (text, language), those staff have labelled, are left out."""
    rows = tracker_admin.user_events(tracker_url, scan_limit)
    groups: dict[tuple[str, str | None], Failure] = {}
    # Newest first: the first occurrence of a group gives its last-seen time and latest reading.
    for timestamp, data in rows:
        failure = _failure(timestamp, data, threshold)
        if failure is None:
            continue
        group = groups.get((failure.text, failure.language))
        if group is None:
            groups[(failure.text, failure.language)] = failure
        else:
            group.count += 1
    for key in skip:
        groups.pop(key, None)
    ranked = sorted(groups.values(), key=lambda f: (-f.count, -f.last_seen.timestamp()))
    return ranked[:MAX_GROUPS]


def normalise(text: str) -> str:
    """Masked, lower-case, whitespace collapsed: the same question typed twice groups together."""
    return " ".join(mask(text).lower().split())


def _failure(timestamp: float | None, data: str | None, threshold: float) -> Failure | None:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return None
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    # Messages without a reading were written to a person during a handoff, not to the bot.
    if name is None:
        return None
    unsure = isinstance(confidence, int | float) and confidence < threshold
    if name not in FAILED_INTENTS and not unsure:
        return None
    # Masked only now: most messages are understood, and masking is the costly part of the scan.
    text = normalise(str(event.get("text") or ""))
    if not text:
        return None
    return Failure(
        text=text,
        language=_language(event, parse),
        count=1,
        last_seen=datetime.fromtimestamp(timestamp or event.get("timestamp") or 0, UTC),
        intent=str(name),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
    )


def _language(event: dict[str, Any], parse: dict[str, Any]) -> str | None:
    """The language the text was detected in, else the channel's hint for the conversation."""
    for entity in parse.get("entities") or []:
        detected = entity.get("entity") == "language" and entity.get("role") == "detected"
        if detected and entity.get("value") in LANGUAGES:
            return str(entity["value"])
    hint = (event.get("metadata") or parse.get("metadata") or {}).get("language")
    return str(hint) if hint in LANGUAGES else None
