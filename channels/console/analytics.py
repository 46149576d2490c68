"""The console's analytics: a page rendered on the server (/console/analytics), its figures as CSV
(/console/analytics.csv) and as JSON (/console/api/analytics), all for a signed-in staff member.

The page needs no script: the period is a GET form (a button per usual period, or two dates), the
charts are SVG (charts.py) with their tables. The figures come from channels/analytics.py; only
counts, rates and durations reach the page, never a text or an id.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from functools import cache
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

import yaml
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from channels import analytics
from channels.analytics import MAX_DAYS, PERIODS, Period, Report
from channels.backend_client import BackendError
from channels.console import charts
from channels.console.guard import SESSION_COOKIE, ConsoleError, ConsoleRoute, require_console_header
from channels.console.routes import PAGE_HEADERS, _authorised
from channels.deps import ServiceDep, SettingsDep
from channels.texts import CONSOLE_TEXTS, console_texts

KNOWLEDGE = CONSOLE_TEXTS.parent
DEFAULT_DAYS = 30
# ConsoleRoute: the store or the backend unavailable is a 503 in the console's error shape, not a 500.
router = APIRouter(route_class=ConsoleRoute)
api = APIRouter(
    prefix="/console/api",
    tags=["console"],
    route_class=ConsoleRoute,
    dependencies=[Depends(require_console_header)],
)


class Choice:
    """The period asked for: `days` (7, 30, 90) or `from`/`to` dates; anything else falls back to
    the last 30 days and says so."""

    def __init__(
        self,
        days: Annotated[int | None, Query()] = None,
        first: Annotated[date | None, Query(alias="from")] = None,
        last: Annotated[date | None, Query(alias="to")] = None,
        lang: Annotated[str, Query(max_length=2)] = "pl",
    ) -> None:
        self.language = lang if lang in ("pl", "en") else "pl"
        today = datetime.now(UTC).date()
        self.refused = False
        if first is not None or last is not None:
            valid = first is not None and last is not None and first <= last
            if valid and first is not None and last is not None and (last - first).days < MAX_DAYS:
                self.period = Period(first, last)
                return
            self.refused = True
        self.period = Period.last_days(days if days in PERIODS else DEFAULT_DAYS, today)

    def query(self, **changes: str) -> str:
        params = {
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "lang": self.language,
        }
        return urlencode({**params, **changes})


ChoiceDep = Annotated[Choice, Depends()]


async def _figures(service: ServiceDep, settings: SettingsDep, period: Period) -> Report:
    try:
        return await asyncio.to_thread(
            analytics.report, service.store.engine, settings.rasa_tracker_db_url, period
        )
    except SQLAlchemyError as error:
        raise ConsoleError(503, "store_unavailable", "The conversation stores cannot be read.") from error


# The page and the CSV: signed in by the console's session cookie


@router.get("/console/analytics", include_in_schema=False, response_model=None)
async def page(request: Request, choice: ChoiceDep, service: ServiceDep, settings: SettingsDep) -> Response:
    if not await _signed_in(request, service):
        return RedirectResponse("/console", status_code=303)
    report = await _figures(service, settings, choice.period)
    html = render(report, choice, console_texts()[choice.language])
    return HTMLResponse(html, headers={**PAGE_HEADERS, "Cache-Control": "no-store"})


@router.get("/console/analytics.csv", include_in_schema=False, response_model=None)
async def download(
    request: Request, choice: ChoiceDep, service: ServiceDep, settings: SettingsDep
) -> Response:
    if not await _signed_in(request, service):
        return RedirectResponse("/console", status_code=303)
    report = await _figures(service, settings, choice.period)
    name = f"analytics-{report.first}-{report.last}.csv"
    return Response(
        to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@api.get("/analytics")
async def figures(
    request: Request, choice: ChoiceDep, service: ServiceDep, settings: SettingsDep
) -> dict[str, Any]:
    """The figures of a period (`days`=7|30|90, or `from` and `to` as YYYY-MM-DD) for the
    organisation's own reporting: counts, rates and durations only."""
    await _authorised(service, request.cookies.get(SESSION_COOKIE) or "")
    return (await _figures(service, settings, choice.period)).as_json()


router.include_router(api)


async def _signed_in(request: Request, service: ServiceDep) -> bool:
    try:
        await _authorised(service, request.cookies.get(SESSION_COOKIE) or "")
    except (ConsoleError, BackendError) as error:
        if error.status == 401:
            return False
        raise
    return True


# CSV: one row per figure, the same for every period, for spreadsheets


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "detail", "value"])
    writer.writerows(_csv_rows(report))
    return out.getvalue()


def _csv_rows(report: Report) -> Iterator[Sequence[object]]:
    yield "period", "first", "", report.first
    yield "period", "last", "", report.last
    yield "summary", "conversations", "", report.conversations
    yield "summary", "solved_without_person", "", report.solved
    for row in report.activity:
        yield "activity", row.day, f"{row.language}/{row.channel}", f"{row.conversations} conversations"
        yield "activity_messages", row.day, f"{row.language}/{row.channel}", row.messages
    waits = report.waits
    yield "handoffs", "count", "", waits.handoffs
    yield "handoffs", "answered", "", waits.answered
    yield "handoffs", "wait_median_seconds", "", _blank(waits.median_seconds)
    yield "handoffs", "wait_p90_seconds", "", _blank(waits.p90_seconds)
    for hour in report.hours:
        yield "handoffs_by_hour", str(hour.hour), "count", hour.handoffs
        yield "handoffs_by_hour", str(hour.hour), "wait_median_seconds", _blank(hour.median_seconds)
    for rates in report.languages:
        yield "language", rates.language, "messages", rates.messages
        yield "language", rates.language, "fallbacks", rates.fallbacks
        yield "language", rates.language, "did_you_mean", rates.did_you_mean
    yield from (("faq", key, "", count) for key, count in report.faq)
    yield from (("task", task, "", count) for task, count in report.tasks)
    for feedback in report.feedback:
        yield "feedback", feedback.topic, "yes", feedback.yes
        yield "feedback", feedback.topic, "no", feedback.no
    for funnel in report.funnels:
        yield "funnel", funnel.guide, "finished", funnel.finished
        for step in funnel.steps:
            for detail, value in (("saw", step.saw), ("stuck", step.stuck), ("left", step.left)):
                yield "funnel", funnel.guide, f"step {step.step} {detail}", value


def _blank(value: float | None) -> object:
    return "" if value is None else round(value, 1)


# The page


def render(report: Report, choice: Choice, t: dict[str, Any]) -> str:
    sections = [
        _period_form(choice, t),
        _summary(report, t),
        _activity(report, t),
        _handoffs(report, t),
        _rates(report, t),
        _ranked(t["analytics_faq_chart"], report.faq, "faq:", choice.language, t),
        _ranked(t["analytics_tasks_chart"], report.tasks, "task:", choice.language, t),
        _feedback(report, choice.language, t),
        _funnels(report, choice.language, t),
    ]
    other = "en" if choice.language == "pl" else "pl"
    return f"""<!doctype html>
<html lang="{choice.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t["analytics_title"])} – {escape(t["title"])}</title>
<link rel="stylesheet" href="/console/static/console.css">
</head>
<body>
<header class="bar">
<p class="brand">{escape(t["title"])}</p>
<nav aria-label="{escape(t["sections"])}">
<a href="/console">{escape(t["analytics_back"])}</a>
<a href="/console/analytics?{choice.query()}" aria-current="page">{escape(t["tab_analytics"])}</a>
</nav>
<div class="bar-end">{_toggle(choice, other, t)}</div>
</header>
<main class="analytics">
<h1>{escape(t["analytics_title"])}</h1>
{"".join(sections)}
</main>
</body>
</html>
"""


def _toggle(choice: Choice, other: str, t: dict[str, Any]) -> str:
    """The same page in the other language (the toggle's own text names it, as console.js does)."""
    return f'<a href="/console/analytics?{choice.query(lang=other)}" lang="{other}">{escape(t["toggle"])}</a>'


def _period_form(choice: Choice, t: dict[str, Any]) -> str:
    label = t["analytics_last_days"]
    buttons = "".join(
        f'<button type="submit" name="days" value="{days}">{escape(label.format(days=days))}</button>'
        for days in PERIODS
    )
    refused = (
        f'<p class="form-error" role="alert">{escape(t["analytics_bad_period"])}</p>'
        if choice.refused
        else ""
    )
    showing = t["analytics_showing"].format(first=choice.period.first, last=choice.period.last)
    return f"""<section class="card" aria-labelledby="period-title">
<h2 id="period-title">{escape(t["analytics_period"])}</h2>
<form method="get" action="/console/analytics" class="period">
<input type="hidden" name="lang" value="{choice.language}">
<div class="actions">{buttons}</div>
</form>
<form method="get" action="/console/analytics" class="period toolbar">
<input type="hidden" name="lang" value="{choice.language}">
<div><label for="period-from">{escape(t["analytics_from"])}</label>
<input id="period-from" name="from" type="date" value="{choice.period.first}" required></div>
<div><label for="period-to">{escape(t["analytics_to"])}</label>
<input id="period-to" name="to" type="date" value="{choice.period.last}" required></div>
<button type="submit">{escape(t["analytics_show"])}</button>
</form>
{refused}
<p id="period-shown" class="meta" role="status">{escape(showing)}</p>
<p><a href="/console/analytics.csv?{choice.query()}" download>{escape(t["analytics_download"])}</a></p>
</section>"""


def _card(title: str, body: str) -> str:
    number = next(_sections)
    return (
        f'<section class="card" aria-labelledby="section-{number}">'
        f'<h2 id="section-{number}">{escape(title)}</h2>{body}</section>'
    )


_sections = iter(range(1, 10**9))


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _summary(report: Report, t: dict[str, Any]) -> str:
    messages = sum(row.messages for row in report.activity)
    facts = [
        (t["analytics_conversations"], str(report.conversations)),
        (t["analytics_messages"], str(messages)),
        (t["analytics_solved"], f"{_share(report.solved, report.conversations)} ({report.solved})"),
    ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    hint = f'<p class="meta">{escape(t["analytics_solved"])}: {escape(t["analytics_solved_hint"])}</p>'
    return _card(t["analytics_summary"], f'<dl class="record">{items}</dl>{hint}')


def _activity(report: Report, t: dict[str, Any]) -> str:
    """Two charts, each with its table: conversations by language, messages by channel."""
    days = [d.isoformat() for d in _days(report)]
    body = _by(report, days, "language", "conversations", t["analytics_conversations_chart"], t)
    body += _by(report, days, "channel", "messages", t["analytics_messages_chart"], t)
    return _card(t["analytics_conversations"], body)


def _by(report: Report, days: list[str], attribute: str, figure: str, title: str, t: dict[str, Any]) -> str:
    prefix = "lang" if attribute == "language" else "channel"
    values = sorted({getattr(row, attribute) for row in report.activity})
    series = [
        charts.Series(t.get(f"{prefix}_{v}", v), [_sum(report, day, attribute, v, figure) for day in days])
        for v in values
    ]
    lines = [
        (day, *(int(s.values[i]) for s in series))
        for i, day in enumerate(days)
        if any(s.values[i] for s in series)
    ]
    table = charts.table(t["analytics_table"], title, [t["analytics_day"], *(s.name for s in series)], lines)
    return _columns(title, days, series, t) + table


def _days(report: Report) -> list[date]:
    first, last = date.fromisoformat(report.first), date.fromisoformat(report.last)
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]


def _sum(report: Report, day: str, attribute: str, value: str, figure: str) -> float:
    return float(
        sum(getattr(r, figure) for r in report.activity if r.day == day and getattr(r, attribute) == value)
    )


def _columns(title: str, categories: list[str], series: list[charts.Series], t: dict[str, Any]) -> str:
    if not series:
        return f'<p class="meta">{escape(t["analytics_nothing"])}</p>'
    largest = max((sum(s.values[i] for s in series) for i in range(len(categories))), default=0)
    desc = t["analytics_bars_desc"].format(series=", ".join(s.name for s in series), max=f"{largest:g}")
    return (
        f"<h3>{escape(title)}</h3>" + charts.columns(title, desc, categories, series) + charts.legend(series)
    )


def _handoffs(report: Report, t: dict[str, Any]) -> str:
    waits = report.waits
    facts = [
        (t["analytics_handoffs"], str(waits.handoffs)),
        (t["analytics_answered"], str(waits.answered)),
        (t["analytics_wait_median"], _duration(waits.median_seconds)),
        (t["analytics_wait_p90"], _duration(waits.p90_seconds)),
    ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    hours = [f"{row.hour:02d}" for row in report.hours]
    series = [charts.Series(t["analytics_handoffs"], [float(row.handoffs) for row in report.hours])]
    table = charts.table(
        t["analytics_table"],
        t["analytics_hours_chart"],
        [t["analytics_hour"], t["analytics_handoffs"], t["analytics_wait_median"]],
        [(f"{row.hour:02d}:00", row.handoffs, _duration(row.median_seconds)) for row in report.hours],
    )
    chart = _columns(t["analytics_hours_chart"], hours, series, t) if waits.handoffs else ""
    return _card(t["analytics_handoffs"], f'<dl class="record">{items}</dl>{chart}{table}')


def _rates(report: Report, t: dict[str, Any]) -> str:
    labelled = []
    body = []
    for r in report.languages:
        name = t.get(f"lang_{r.language}", t["lang_unknown"])
        labelled += [
            (f"{name}: {t['analytics_fallbacks']}", _percent(r.fallbacks, r.messages)),
            (f"{name}: {t['analytics_did_you_mean']}", _percent(r.did_you_mean, r.messages)),
        ]
        body.append(
            (
                name,
                r.messages,
                r.fallbacks,
                _share(r.fallbacks, r.messages),
                r.did_you_mean,
                _share(r.did_you_mean, r.messages),
            )
        )
    headers = [
        t["analytics_language"],
        t["analytics_messages"],
        t["analytics_fallbacks"],
        "%",
        t["analytics_did_you_mean"],
        "%",
    ]
    title = t["analytics_rates_chart"]
    return _card(
        title, _rows(title, labelled, t, "%") + charts.table(t["analytics_table"], title, headers, body)
    )


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _rows(title: str, labelled: list[tuple[str, float]], t: dict[str, Any], unit: str = "") -> str:
    if not labelled:
        return f'<p class="meta">{escape(t["analytics_nothing"])}</p>'
    largest = max(value for _, value in labelled)
    desc = t["analytics_bars_desc"].format(
        series=", ".join(label for label, _ in labelled[:12]), max=f"{largest:g}{unit}"
    )
    return charts.rows(title, desc, labelled)


def _ranked(title: str, ranked: list[tuple[str, int]], prefix: str, language: str, t: dict[str, Any]) -> str:
    top = [(topic_title(prefix + key, language), float(count)) for key, count in ranked[:15]]
    table = charts.table(
        t["analytics_table"],
        title,
        [t["analytics_topic"], t["analytics_count"]],
        [(k, int(v)) for k, v in top],
    )
    return _card(title, _rows(title, top, t) + table)


def _feedback(report: Report, language: str, t: dict[str, Any]) -> str:
    title = t["analytics_feedback_chart"]
    labelled = []
    for row in report.feedback:
        name = topic_title(row.topic, language)
        labelled += [
            (f"{name}: {t['analytics_yes']}", float(row.yes)),
            (f"{name}: {t['analytics_no']}", float(row.no)),
        ]
    body = [(topic_title(row.topic, language), row.yes, row.no) for row in report.feedback]
    table = charts.table(
        t["analytics_table"], title, [t["analytics_topic"], t["analytics_yes"], t["analytics_no"]], body
    )
    return _card(title, _rows(title, labelled, t) + table)


def _funnels(report: Report, language: str, t: dict[str, Any]) -> str:
    if not report.funnels:
        return _card(t["analytics_funnels"], f'<p class="meta">{escape(t["analytics_nothing"])}</p>')
    parts = []
    for funnel in report.funnels:
        title = t["analytics_funnel_chart"].format(
            guide=topic_title(f"guide:{funnel.guide}", language), finished=funnel.finished
        )
        labelled = [(f"{t['analytics_step']} {s.step}", float(s.saw)) for s in funnel.steps]
        table = charts.table(
            t["analytics_table"],
            title,
            [t["analytics_step"], t["analytics_saw"], t["analytics_stuck"], t["analytics_left"]],
            [(s.step, s.saw, s.stuck, s.left) for s in funnel.steps],
        )
        parts.append(f"<h3>{escape(title)}</h3>" + _rows(title, labelled, t) + table)
    return _card(t["analytics_funnels"], "".join(parts))


@cache
def _titles() -> dict[str, dict[str, str]]:
    """The staff's names of guides, FAQ answers and tasks, from knowledge/ (their `title`)."""
    titles: dict[str, dict[str, str]] = {}
    for kind, folder, key in (("guide", "guides", "guide"), ("faq", "faq", "key")):
        for path in sorted((KNOWLEDGE / folder).glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            titles[f"{kind}:{data[key]}"] = data["title"]
            if kind == "guide" and data["guide"] == data["intent"]:  # the guide a task starts
                titles[f"task:{data['intent']}"] = data["title"]
    labels = yaml.safe_load((KNOWLEDGE / "conversation.yml").read_text(encoding="utf-8"))["labels"]
    titles["task:check_status"] = labels["intent_check_status"]
    return titles


def topic_title(topic: str, language: str) -> str:
    return (_titles().get(topic) or {}).get(language) or topic.split(":", 1)[-1]
