"""The console's analytics on a small dataset whose figures are known (tests/support/analytics_data.py),
on SQLite; tests/backend/test_analytics_postgres.py runs the same on PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from channels import analytics
from channels.analytics import Period, Report
from tests.support import analytics_data


def expect_known_figures(found: Report) -> None:
    """The figures of analytics_data's dataset for its period: shared with the PostgreSQL test."""
    assert (found.first, found.last) == ("2026-11-01", "2026-11-07")
    assert found.conversations == 4  # web-e wrote before the period
    assert found.solved == 2 and found.solved_share == 0.5  # a (guide done), d (FAQ after the handoff)
    assert [(a.day, a.language, a.channel, a.conversations, a.messages) for a in found.activity] == [
        ("2026-11-02", "uk", "web", 1, 2),
        ("2026-11-03", "en", "telegram", 1, 1),
        ("2026-11-03", "pl", "web", 1, 3),
        ("2026-11-04", "en", "telegram", 1, 1),
        ("2026-11-05", "uk", "web", 1, 1),
    ]
    assert (found.waits.handoffs, found.waits.answered) == (2, 2)
    assert (found.waits.median_seconds, found.waits.p90_seconds) == (180.0, 300.0)
    hours = {row.hour: (row.handoffs, row.median_seconds) for row in found.hours if row.handoffs}
    assert hours == {9: (1, 60.0), 11: (1, 300.0)}  # Warsaw time, UTC+1 in November
    rates = {r.language: (r.messages, r.fallbacks, r.did_you_mean) for r in found.languages}
    assert rates == {"en": (2, 0, 0), "pl": (3, 1, 1), "uk": (3, 1, 0)}
    assert found.faq == [("ikp_cost", 2)]
    assert found.tasks == [("get_pesel", 2)]
    assert [(f.topic, f.yes, f.no) for f in found.feedback] == [
        ("faq:ikp_cost", 0, 1),
        ("guide:get_pesel", 1, 0),
    ]
    [funnel] = found.funnels
    assert (funnel.guide, funnel.finished) == ("get_pesel", 1)
    steps = [(s.step, s.saw, s.stuck, s.left) for s in funnel.steps]
    assert steps == [(1, 2, 0, 0), (2, 2, 1, 1), (3, 1, 0, 0)]  # c left on step 2


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Engine, str]:
    channels = create_engine(f"sqlite:///{tmp_path / 'channels.db'}")
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    analytics_data.fill(channels, create_engine(tracker_url))
    return channels, tracker_url


def test_the_figures_of_a_known_dataset(stores):
    channels, tracker_url = stores
    expect_known_figures(analytics.report(channels, tracker_url, Period(*analytics_data.PERIOD)))


def test_without_a_tracker_store_its_figures_are_zero(stores, tmp_path):
    channels, _ = stores
    found = analytics.report(channels, f"sqlite:///{tmp_path / 'none.db'}", Period(*analytics_data.PERIOD))
    assert found.conversations == 4 and found.solved == 0 and found.funnels == [] and found.faq == []
    assert not (tmp_path / "none.db").exists()


def test_a_period_is_whole_days_with_both_ends():
    period = Period.last_days(7, date(2026, 11, 7))
    assert (period.first, period.last, period.days) == (date(2026, 11, 1), date(2026, 11, 7), 7)
    assert period.end.isoformat() == "2026-11-08T00:00:00+00:00"


def test_nothing_personal_in_the_figures(stores):
    channels, tracker_url = stores
    text = str(analytics.report(channels, tracker_url, Period(*analytics_data.PERIOD)).as_json())
    for conversation in ("web-a", "web-b", "telegram-c", "web-d", "private words"):
        assert conversation not in text
