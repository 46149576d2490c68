"""Charts for the analytics page as SVG rendered on the server: no script and no chart library.

Each chart is one <svg role="img"> named by its <title> and described by its <desc> (what it shows
and its largest value), and comes with its figures as a table in a <details> element, which a
keyboard opens with Enter or Space. Colours go in presentation attributes: the console's Content
Security Policy refuses inline styles. Every text passed in is escaped here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Each at least 3:1 against white (WCAG 1.4.11), told apart by their order in the legend too.
COLOURS = ("#0b5cad", "#b35900", "#2e7d32", "#6a3d9a", "#a1214a", "#4d5563")
WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 44, 26, 10
ROW = 24
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _number(value: float) -> str:
    return f"{value:g}"


def _frame(title: str, desc: str, width: int, height: int, body: str) -> str:
    number = next(_ids)
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="chart-{number}-title chart-{number}-desc">'
        f'<title id="chart-{number}-title">{escape(title)}</title>'
        f'<desc id="chart-{number}-desc">{escape(desc)}</desc>{body}</svg>'
    )


def columns(title: str, desc: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """Stacked columns, one per category (a day, an hour), with the largest total on the axis."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top = max(totals, default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(categories), 1)
    parts = [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" y2="{TOP + plot_h}" stroke="#5b6475"/>',
        _axis_label(TOP + 10, _number(top)),
        _axis_label(TOP + plot_h, "0"),
    ]
    every = max(1, len(categories) // 10)  # at most about ten labels under the axis
    for i, category in enumerate(categories):
        x, base = LEFT + i * step, float(TOP + plot_h)
        for s, colour in zip(series, COLOURS, strict=False):
            height = s.values[i] / top * plot_h
            if height > 0:
                base -= height
                parts.append(
                    f'<rect x="{x + step * 0.1:.1f}" y="{base:.1f}" width="{step * 0.8:.1f}" '
                    f'height="{height:.1f}" fill="{colour}"/>'
                )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11" '
                f'fill="#1d2330">{escape(category)}</text>'
            )
    return _frame(title, desc, WIDTH, HEIGHT, "".join(parts))


def _axis_label(y: float, text: str) -> str:
    return f'<text x="{LEFT - 6}" y="{y}" text-anchor="end" font-size="11" fill="#1d2330">{text}</text>'


def rows(title: str, desc: str, labelled: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars, one per label (an FAQ answer, a step), the value written after each."""
    top = max((value for _, value in labelled), default=0) or 1
    height = TOP * 2 + ROW * max(len(labelled), 1)
    label_w, plot_w = 250, WIDTH - 250 - 60
    parts = []
    for i, (label, value) in enumerate(labelled):
        y = TOP + i * ROW
        bar = value / top * plot_w
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" fill="#1d2330">'
            f"{escape(label[:40])}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{bar:.1f}" height="{ROW - 8}" fill="{COLOURS[0]}"/>'
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 16}" font-size="12" fill="#1d2330">'
            f"{_number(value)}</text>"
        )
    return _frame(title, desc, WIDTH, height, "".join(parts))


def legend(series: Sequence[Series]) -> str:
    items = "".join(
        f'<li><svg width="12" height="12" aria-hidden="true">'
        f'<rect width="12" height="12" fill="{colour}"/></svg> {escape(s.name)}</li>'
        for s, colour in zip(series, COLOURS, strict=False)
    )
    return f'<ul class="legend">{items}</ul>'


def table(summary: str, caption: str, headers: Sequence[str], body: Sequence[Sequence[object]]) -> str:
    """The figures of a chart as a table, folded in a <details> under the chart."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    lines = "".join(
        "<tr>" + "".join(_cell(i, value) for i, value in enumerate(line)) + "</tr>" for line in body
    )
    return (
        f"<details><summary>{escape(summary)}</summary><table><caption>{escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table></details>"
    )


def _cell(index: int, value: object) -> str:
    if index == 0:
        return f'<th scope="row">{escape(str(value))}</th>'
    kind = ' class="count"' if isinstance(value, int | float) else ""
    return f"<td{kind}>{escape(str(value))}</td>"
