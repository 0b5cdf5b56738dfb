"""Bar charts drawn on the server as SVG: no JavaScript, readable by everyone.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and summed up in words by its
``<desc>`` (the highest bar, the total), and the page puts the same numbers in a table
beside it; so a screen reader, a printout and a narrow phone all get the figures. The SVG
scales to its box (``viewBox``), never wider than the page; colours come from
``static/charts.css`` (the console's CSP allows no inline style), each series also told
apart by its legend text.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 260
LEFT = 40  # room for the value axis
BOTTOM = 40  # room for the labels
TOP = 16
RIGHT = 8
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str  # "Nuovi iscritti"
    values: Sequence[float]
    css: str  # "serie-1": its colour in charts.css


def nice_top(value: float) -> float:
    """A round top for the axis, at or above ``value``: 7 -> 8, 23 -> 25, 0 -> 1."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 4, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def tick_count(top: float) -> int:
    """How many steps up to ``top``, each a whole number when it can be: 8 -> 4, 25 -> 5."""
    for count in (5, 4, 2, 1):
        if top < 1 or float(top / count).is_integer():
            return count
    return 4


def _number(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    summary: str,
    every: int | None = None,
    top: float | None = None,
) -> Markup:
    """Grouped bars, one group per label; ``summary`` is the chart in one sentence.

    ``every`` shows one label in so many (long ranges of days), the table has them all;
    ``top`` fixes the axis (5 for a rating), else it is rounded up from the highest bar.
    """
    number = next(_ids)
    title_id, desc_id = f"grafico-{number}-titolo", f"grafico-{number}-desc"
    count = max(len(labels), 1)
    top = top or nice_top(max((v for s in series for v in s.values), default=0))
    ticks = tick_count(top)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    group = plot_width / count
    bar = max(group * 0.8 / max(len(series), 1), 1)
    step = every or max(1, math.ceil(count / 12))
    parts = [
        f'<svg class="grafico" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(summary)}</desc>',
    ]
    for tick in range(ticks + 1):
        value = top * tick / ticks
        y = TOP + plot_height - plot_height * tick / ticks
        parts.append(
            f'<line class="griglia" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="asse" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(value)}</text>"
        )
    for index, label in enumerate(labels):
        x0 = LEFT + group * index + group * 0.1
        for position, serie in enumerate(series):
            value = serie.values[index]
            height = plot_height * value / top
            x = x0 + bar * position
            y = TOP + plot_height - height
            parts.append(
                f'<rect class="{escape(serie.css)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}"/>'
            )
        if index % step == 0:
            x = LEFT + group * index + group / 2
            parts.append(
                f'<text class="etichetta" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(
        f'<line class="asse-x" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{TOP + plot_height}" y2="{TOP + plot_height}"/>'
    )
    parts.append("</svg>")
    legend = ""
    if len(series) > 1:
        items = "".join(
            f'<li><span class="campione {escape(s.css)}" aria-hidden="true"></span>'
            f"{escape(s.name)}</li>"
            for s in series
        )
        legend = f'<ul class="legenda" aria-hidden="true">{items}</ul>'
    return Markup(f'<figure class="figura-grafico">{"".join(parts)}{legend}</figure>')


def peak_sentence(labels: Sequence[str], values: Sequence[float], what: str) -> str:
    """«Il valore più alto: 12 conversazioni, il 03/12.» for a chart's description."""
    if not values or max(values) == 0:
        return f"Nessun dato: {what} zero in tutto il periodo."
    highest = max(values)
    where = labels[list(values).index(highest)]
    return f"Il valore più alto: {_number(highest)} {what}, {where}. Totale {_number(sum(values))}."
