"""The console's analytics (channels/analytics.py) and their summary (channels/analytics_summary.py)
on the database this suite runs on: SQLite, and PostgreSQL when TEST_DATABASE_URL names one
(`make test-backend`). The known dataset, its figures and the summary's checks are the fast
loop's (tests/unit/test_analytics.py, test_analytics_summary.py); here they run in a schema of
their own, so that nothing meets the backend's tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.tracker_admin import events
from channels import analytics
from channels.analytics import Period
from channels.models import Base
from tests.support import analytics_data
from tests.unit import test_analytics_summary as summary_checks
from tests.unit.test_analytics import expect_known_figures


@pytest.fixture
def urls(database_url: str, tmp_path) -> Iterator[tuple[str, str]]:
    if make_url(database_url).get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'channels.db'}", f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    schema = f"analytics_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    # Both stores in the one schema, as a deployment sharing one database has them.
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False), url.render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def stores(urls: tuple[str, str]) -> Iterator[tuple[Engine, str]]:
    """The channel service's engine (its tables created) and the tracker store's URL (its table created)."""
    channels_url, tracker_url = urls
    channels = create_engine(channels_url)
    Base.metadata.create_all(channels)
    events.metadata.create_all(create_engine(tracker_url))
    yield channels, tracker_url
    channels.dispose()


def test_the_known_figures_on_this_database(stores):
    channels, tracker_url = stores
    analytics_data.fill(channels, create_engine(tracker_url))
    expect_known_figures(analytics.report(channels, tracker_url, Period(*analytics_data.PERIOD)))


def test_refreshing_row_by_row_gives_a_rebuilds_summary(stores):
    summary_checks.refreshed_row_by_row(*stores)


def test_refreshes_at_once_count_every_row_once(stores, monkeypatch):
    summary_checks.refreshed_at_once(*stores, monkeypatch)


def test_a_forgotten_conversation_leaves_nothing_in_the_summary(stores):
    summary_checks.forgotten_everywhere(*stores)


def test_purging_keeps_the_summary_of_what_is_left(stores):
    summary_checks.purged_before(*stores)
