"""What the bot fails on, for the console's page: user messages in Rasa's SQL tracker store that
ended in a fallback or out-of-scope intent, or that the model was not sure about.

Rasa owns the store (SQLTrackerStore, table `events`); this module only reads it, and never
creates it: when Rasa has not written anything yet the answer is an empty list. The texts are
raw in Rasa's store, so they are masked (PESEL, e-mail, phone) before they leave this module.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    create_engine,
    inspect,
    select,
)
from sqlalchemy.engine import make_url

from channels.rasa_events import events
from channels.texts import LANGUAGES
from common.logs import mask

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
    engine = _reader(tracker_url)
    if engine is None:
        return []
    query = (
        select(events.c.timestamp, events.c.data)
        .where(events.c.type_name == "user")
        .order_by(events.c.id.desc())
        .limit(scan_limit)
    )
    with engine.connect() as connection:
        if not inspect(connection).has_table(events.name):
            return []
        rows = connection.execute(query).all()
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


def _reader(url: str) -> Engine | None:
    """A read-only engine on the tracker store; None while its SQLite file does not exist (opening
    it would create an empty file in Rasa's place)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Other databases: read-only by the grants of the configured user.
        return _engine(url)
    if not parsed.database or not Path(parsed.database).is_file():
        return None
    return _engine(f"sqlite:///file:{Path(parsed.database).resolve()}?mode=ro&uri=true")


@cache
def _engine(url: str) -> Engine:
    # Requests read from worker threads, so a pooled SQLite connection may move between threads.
    connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)
