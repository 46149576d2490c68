"""What the project keeps of a conversation, deleted: after the retention period, or on a
person's request to be forgotten. Three places hold a conversation: this service's database (its
messages, user texts masked, and the analytics' summary of it: counts, no texts), Rasa's tracker
store (masked) and the backend's handoff tickets (the only raw copy of what a person wrote to the
helpdesk).

python -m channels.retention purge [--older-than-days N]   # default CONVERSATION_RETENTION_DAYS (90)
python -m channels.retention forget --conversation web-3f2a…  # or telegram-<chat id>

The console's "Forget this conversation" does the same as `forget`, as the signed-in staff member
(the backend audits it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from bot import tracker_admin
from channels import analytics_summary
from channels.config import Settings
from channels.store import Store
from common.backend_client import ApiError, BackendClient
from common.db import make_engine, make_session_factory


@dataclass(frozen=True)
class Deleted:
    messages: int = 0
    conversations: int = 0
    tracker_events: int = 0
    tickets: int = 0

    def as_json(self) -> dict[str, int]:
        return asdict(self)


async def forget(
    store: Store,
    tracker_url: str,
    backend: BackendClient,
    conversation_id: str,
    staff_token: str | None = None,
) -> Deleted:
    """Everything of one conversation. The backend goes first: it decides whether a staff member
    may do this (and audits it), and a failure there leaves everything else in place to retry."""
    tickets = await backend.forget_conversation(conversation_id, staff_token)
    existed = await asyncio.to_thread(store.conversation, conversation_id) is not None
    messages, events = await asyncio.to_thread(_forget_stored, store, tracker_url, conversation_id)
    return Deleted(messages, int(existed), events, tickets)


def _forget_stored(store: Store, tracker_url: str, conversation_id: str) -> tuple[int, int]:
    """(Messages, tracker events) deleted; the analytics' summary keeps nothing of them either."""
    with analytics_summary.forgetting(store.engine, tracker_url, conversation_id):
        return store.forget(conversation_id), tracker_admin.forget(tracker_url, conversation_id)


async def purge(store: Store, tracker_url: str, backend: BackendClient, before: datetime) -> Deleted:
    """Everything older than `before`: messages and tracker events, then conversations left
    empty, and the tickets closed before it."""
    tickets = await backend.purge_tickets(before)
    messages, conversations, events = await asyncio.to_thread(_purge_stored, store, tracker_url, before)
    return Deleted(messages, conversations, events, tickets)


def _purge_stored(store: Store, tracker_url: str, before: datetime) -> tuple[int, int, int]:
    """(Messages, conversations, tracker events) deleted, and the analytics' summary of them."""
    with analytics_summary.purging(store.engine, tracker_url, before):
        messages, conversations = store.purge(before)
        return messages, conversations, tracker_admin.purge(tracker_url, before)


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m channels.retention",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    purging = commands.add_parser("purge", help="delete conversations older than the retention period")
    purging.add_argument("--older-than-days", type=_days, default=settings.conversation_retention_days)
    forgetting = commands.add_parser("forget", help="delete one person's conversation everywhere")
    forgetting.add_argument("--conversation", required=True, help="e.g. web-3f2a… or telegram-123456")
    args = parser.parse_args(argv)
    try:
        deleted = asyncio.run(_run(settings, args))
    except ApiError as error:
        print(f"nothing deleted: the backend answered {error.status} {error.code}", file=sys.stderr)
        return 1
    print(" ".join(f"{name}={count}" for name, count in deleted.as_json().items()))
    return 0


async def _run(settings: Settings, args: argparse.Namespace) -> Deleted:
    engine = make_engine(settings.channels_database_url)
    store = Store(make_session_factory(engine))
    backend = BackendClient(settings.backend_url, settings.backend_service_token)
    try:
        if args.command == "forget":
            return await forget(store, settings.rasa_tracker_db_url, backend, args.conversation)
        before = datetime.now(UTC) - timedelta(days=args.older_than_days)
        return await purge(store, settings.rasa_tracker_db_url, backend, before)
    finally:
        await backend.close()
        engine.dispose()


def _days(value: str) -> int:
    days = int(value)
    if days < 0:
        raise argparse.ArgumentTypeError("a number of days, 0 or more")
    return days


if __name__ == "__main__":
    sys.exit(main())
