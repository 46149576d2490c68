"""The guard of every replacement of Rasa's private internals in bot/ (rasa_server.py,
incremental_tracker.py, masking_tracker_store.py): each was written against the source of one
Rasa version and checks, when imported, that it runs on that very version and that the methods it
replaces or relies on still take the same parameters. On any other Rasa the server refuses to
start (RasaVersionMismatch) rather than misbehave quietly.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence

WRITTEN_FOR = "3.6.21"


class RasaVersionMismatch(RuntimeError):
    """The Rasa installed is not the one whose internals a module of bot/ replaces."""


def parameters(method: object) -> list[str] | None:
    """The parameter names of a callable; None for anything else (a method that went)."""
    return list(inspect.signature(method).parameters) if callable(method) else None


def check(
    version: str,
    what: str,
    expected: Mapping[str, Sequence[str]],
    found: Mapping[str, object],
    other_problems: Sequence[str] = (),
) -> None:
    """Raises RasaVersionMismatch unless `version` is WRITTEN_FOR, each method of `expected`
    ("Class.method": its parameters in WRITTEN_FOR) is in `found` with those parameters and the
    module found no `other_problems`. `what` says who replaces what, for the message."""
    problems = [] if version == WRITTEN_FOR else [f"this is Rasa {version}"]
    problems += other_problems
    for name, params in expected.items():
        taken = parameters(found.get(name))
        if taken != list(params):
            problems.append(f"{name} takes {taken}, not {list(params)}")
    if problems:
        raise RasaVersionMismatch(
            f"{what}, but "
            + "; ".join(problems)
            + ". Check each replacement against this Rasa's source, then update WRITTEN_FOR "
            "(bot/rasa_internals.py) and the module's list of what it relies on."
        )
