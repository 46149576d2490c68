"""The analytics' summary (channels/analytics_summary.py) on SQLite: kept row by row it is what a
rebuild from scratch gives, with ids that arrive out of order, refreshes at once, a forgotten
conversation and a purge; tests/backend/test_analytics_postgres.py runs the shared ones on
PostgreSQL. The known dataset and its figures: tests/support/analytics_data.py."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, insert, select

from bot.tracker_admin import events
from channels import analytics, analytics_summary, retention
from channels.analytics import Period
from channels.models import (
    AnalyticsSource,
    Base,
    Conversation,
    Message,
)
from channels.store import Store
from common.db import make_session_factory
from tests.support import analytics_data
from tests.support.analytics_data import at, user
from tests.unit.test_analytics import expect_known_figures

KNOWN = Period(*analytics_data.PERIOD)


class Backend:
    """The backend's side of forgetting and purging: no tickets."""

    async def forget_conversation(self, conversation_id: str, staff_token: str | None = None) -> int:
        return 0

    async def purge_tickets(self, closed_before: datetime) -> int:
        return 0


def summary(channels: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with channels.connect() as connection:
        return {
            table.__tablename__: sorted(tuple(row) for row in connection.execute(select(table.__table__)))
            for table in analytics_summary.SUMMARY
        }


def summarised(channels: Engine) -> set[str]:
    """The conversations the summary has rows of."""
    with channels.connect() as connection:
        return {
            c
            for table in analytics_summary.SUMMARY
            for c in connection.execute(select(table.conversation_id)).scalars()
        }


def store_on(channels: Engine) -> Store:
    return Store(make_session_factory(channels))


def same_as_a_rebuild(channels: Engine, tracker_url: str) -> None:
    kept = summary(channels)
    analytics_summary.rebuild(channels, tracker_url)
    assert summary(channels) == kept


def write(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(table), rows)


# Shared with the PostgreSQL suite: the channel service's engine (its tables created) and the
# tracker store's URL (its table created).


def refreshed_row_by_row(channels: Engine, tracker_url: str) -> None:
    """The known dataset written in time order, one row at a time, each followed by a refresh:
    the summary is a rebuild's, and the figures are the known ones."""
    conversations, messages = analytics_data.channel_rows()
    write(channels, Conversation, conversations)
    tracker = create_engine(tracker_url)
    written = [(m["created_at"].timestamp(), channels, Message, m) for m in messages]
    written += [(e["timestamp"], tracker, events, e) for e in analytics_data.tracker_rows()]
    for _, engine, table, row in sorted(written, key=lambda item: item[0]):
        write(engine, table, [row])
        analytics_summary.refresh(channels, tracker_url)
    tracker.dispose()
    expect_known_figures(analytics.report(channels, tracker_url, KNOWN))
    same_as_a_rebuild(channels, tracker_url)


def refreshed_at_once(channels: Engine, tracker_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four refreshes at once, a transaction per conversation: each row is counted once."""
    monkeypatch.setattr(analytics_summary, "CHUNK", 1)
    analytics_data.fill(channels, create_engine(tracker_url))
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def refreshing() -> None:
        start.wait()
        try:
            analytics_summary.refresh(channels, tracker_url)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=refreshing) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    expect_known_figures(analytics.report(channels, tracker_url, KNOWN))
    same_as_a_rebuild(channels, tracker_url)


def forgotten_everywhere(channels: Engine, tracker_url: str) -> None:
    """A forgotten conversation (retention.forget, as the console and the command do) leaves no
    row in the summary; the others' rows stay as they were."""
    analytics_data.fill(channels, create_engine(tracker_url))
    analytics_summary.refresh(channels, tracker_url)
    assert "web-b" in summarised(channels)
    asyncio.run(retention.forget(store_on(channels), tracker_url, Backend(), "web-b"))
    assert summarised(channels) == {"web-a", "telegram-c", "web-d", "web-e"}
    same_as_a_rebuild(channels, tracker_url)


def purged_before(channels: Engine, tracker_url: str) -> None:
    """A purge mid-day: the summary's earlier days go, that day keeps what the stores kept."""
    analytics_data.fill(channels, create_engine(tracker_url))
    analytics_summary.refresh(channels, tracker_url)
    asyncio.run(retention.purge(store_on(channels), tracker_url, Backend(), at(3, 13)))
    days = {(row[0], row[1]) for row in summary(channels)["analytics_days"]}
    # web-b wrote on 3 November before 13:00, telegram-c after it.
    assert days == {
        (date(2026, 11, 3), "telegram-c"),
        (date(2026, 11, 4), "telegram-c"),
        (date(2026, 11, 5), "web-d"),
    }
    same_as_a_rebuild(channels, tracker_url)


# On SQLite


@pytest.fixture
def stores(store: Store, tmp_path: Path) -> tuple[Engine, str]:
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    events.metadata.create_all(create_engine(tracker_url))
    return store.engine, tracker_url


def test_refreshing_row_by_row_gives_a_rebuilds_summary(stores):
    refreshed_row_by_row(*stores)


def test_refreshes_at_once_count_every_row_once(stores, monkeypatch):
    refreshed_at_once(*stores, monkeypatch)


def test_a_forgotten_conversation_leaves_nothing_in_the_summary(stores):
    forgotten_everywhere(*stores)


def test_purging_keeps_the_summary_of_what_is_left(stores):
    purged_before(*stores)


def test_a_row_committed_after_a_newer_one_is_counted(stores):
    """PostgreSQL gives ids before commit: a transaction that commits last may hold the smaller id."""
    channels, tracker_url = stores
    tracker = create_engine(tracker_url)
    now = datetime.now(UTC)
    write(tracker, events, [{"id": 2, **user("web-x", now, "get_pesel")}])
    assert tasks_today(channels, tracker_url) == [("get_pesel", 1)]
    assert holes(channels) == [1]
    write(tracker, events, [{"id": 1, **user("web-x", now - timedelta(seconds=1), "ikp_login")}])
    assert tasks_today(channels, tracker_url) == [("get_pesel", 1), ("ikp_login", 1)]
    assert holes(channels) == []


def test_a_gap_before_an_old_row_is_not_waited_for(stores):
    """Old rows missing below a row are deleted rows (purged, forgotten), not open transactions."""
    channels, tracker_url = stores
    old = datetime.now(UTC) - timedelta(hours=1)
    write(create_engine(tracker_url), events, [{"id": 5, **user("web-x", old, "get_pesel")}])
    analytics_summary.refresh(channels, tracker_url)
    assert holes(channels) == []


def test_an_id_given_again_after_forgetting_is_counted(stores):
    """SQLite gives a new row the largest id + 1: once the newest conversation is forgotten, the
    next row has an id the summary has read before."""
    channels, tracker_url = stores
    tracker = create_engine(tracker_url)
    now = datetime.now(UTC)
    write(tracker, events, [user("web-old", now, "get_pesel"), user("web-new", now, "ikp_login")])
    assert tasks_today(channels, tracker_url) == [("get_pesel", 1), ("ikp_login", 1)]
    asyncio.run(retention.forget(store_on(channels), tracker_url, Backend(), "web-new"))
    write(tracker, events, [user("web-old", now, "check_status")])
    with tracker.connect() as connection:
        assert (
            connection.execute(select(events.c.id).where(events.c.intent_name == "check_status")).scalar()
            == 2
        )
    assert tasks_today(channels, tracker_url) == [("check_status", 1), ("get_pesel", 1)]


def test_a_forget_during_a_refresh_leaves_the_marks_to_the_next_refresh(stores):
    """The same, with the refresh under way when the forgetting happens: it must not move the
    mark past an id given again meanwhile."""
    channels, tracker_url = stores
    tracker = create_engine(tracker_url)
    now = datetime.now(UTC)
    write(tracker, events, [user("web-old", now, "get_pesel"), user("web-new", now, "ikp_login")])

    class ForgettingMeanwhile(threading.Event):
        """Asked between the refresh's transactions whether to stop: forgets then, once."""

        done = False

        def is_set(self) -> bool:
            if not self.done:
                self.done = True
                asyncio.run(retention.forget(store_on(channels), tracker_url, Backend(), "web-new"))
                write(tracker, events, [user("web-other", now, "check_status")])
            return False

    analytics_summary.refresh(channels, tracker_url, ForgettingMeanwhile())
    assert tasks_today(channels, tracker_url) == [("check_status", 1), ("get_pesel", 1)]


def test_the_summary_holds_no_text(stores):
    channels, tracker_url = stores
    analytics_data.fill(channels, create_engine(tracker_url))
    analytics_summary.refresh(channels, tracker_url)
    assert "private words" not in str(summary(channels))


def test_the_migration_creates_the_summarys_tables_as_the_models_define_them(store):
    def summary_only(item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        table = name if kind == "table" else item.table.name
        return (table or "").startswith("analytics_")

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": summary_only})
        assert compare_metadata(context, Base.metadata) == []


def tasks_today(channels: Engine, tracker_url: str) -> list[tuple[str, int]]:
    return analytics.report(channels, tracker_url, Period.last_days(1, datetime.now(UTC).date())).tasks


def holes(channels: Engine) -> list[int]:
    with channels.connect() as connection:
        query = select(AnalyticsSource.holes).where(AnalyticsSource.name == "events")
        return [int(hole[0]) for hole in connection.execute(query).scalar_one()]
