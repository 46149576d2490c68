"""The console's analytics (channels/analytics.py) on the database this suite runs on: SQLite, and
PostgreSQL when TEST_DATABASE_URL names one (`make test-backend`). The known dataset and its
figures are the fast loop's (tests/unit/test_analytics.py); here they are computed in a schema of
their own, so that nothing meets the backend's tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from channels import analytics
from channels.analytics import Period
from tests.support import analytics_data
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


@pytest.mark.parametrize("indexed", [False, True])
def test_the_known_figures_on_this_database(urls, indexed):
    channels_url, tracker_url = urls
    channels = create_engine(channels_url)
    analytics_data.fill(channels, create_engine(tracker_url))
    if indexed:
        assert len(analytics.create_tracker_indexes(tracker_url)) == 3
    expect_known_figures(analytics.report(channels, tracker_url, Period(*analytics_data.PERIOD)))
    channels.dispose()
