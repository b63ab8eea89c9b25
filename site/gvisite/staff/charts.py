"""Charts for the staff statistics page: bars and lines drawn on the server as inline SVG.

No script, no style attribute and no <style> element (the CSP allows site.css only): the
geometry is in attributes, and every shape is drawn in `currentColor`, which the `.chart-*`
classes in site.css set; in forced colours they set it to CanvasText (Chromium leaves an
SVG's own colours alone there), and the series still differ by their hatching, dashes and
markers, as they do for anyone who does not tell the colours apart (WCAG 1.4.1).

The page shows the same figures in a table, so a chart is one image with a title and a
description (role="img" makes everything inside it presentational): nothing is read twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import format_decimal
from markupsafe import Markup

# The viewBox is 360 units wide. A chart fills its column, 288 px at a 320 px screen, where a
# unit is 0.8 px and FONT 12.8 px; site.css caps the column at 28 rem, where FONT is 20 px.
WIDTH = 360
FONT = 16
CHAR = 0.64  # a character's width in em, rounded up (DejaVu Sans digits are 0.636)
GAP = 0.3 * FONT  # the least room between two labels
RIGHT = 6  # room right of the plot for the last label's half
PLOT_TOP = 30  # the top gridline, below the unit written above the axis
PLOT_HEIGHT = 150
BASE = PLOT_TOP + PLOT_HEIGHT  # the axis: y of the value 0
MONTH = re.compile(r"(\d{4})-(\d{2})")  # a category "2026-01" is labelled "01" over "2026"
ID = re.compile(r"[A-Za-z][\w-]*")


@dataclass(frozen=True)
class Series:
    """One row of figures, one per category; None is no figure (a gap, never drawn as 0)."""

    label: str  # already translated: "Rapporter"
    values: Sequence[float | None]


@dataclass(frozen=True)
class _Look:
    """How one series is drawn, told apart from the others without its colour."""

    name: str  # its class in site.css, which sets its colour
    hatch: tuple[str, ...]  # a bar's fill pattern, as the stripes of a 6-unit tile (none: solid)
    dash: str  # a line's stroke-dasharray ("": solid)
    marker: str  # a point's shape: circle, square or triangle


LOOKS = (
    _Look("chart-s1", (), "", "circle"),
    _Look("chart-s2", ("0 0 3 6",), "7 4", "square"),  # diagonal stripes, dashes
    _Look("chart-s3", ("0 0 2 6", "0 0 6 2"), "2 3", "triangle"),  # a lattice, dots
)


@dataclass(frozen=True)
class _Frame:
    """Where the plot lies in the viewBox, and its gridlines."""

    left: float
    count: int
    ticks: tuple[float, ...]  # the gridlines' values, from 0 up

    @property
    def slot(self) -> float:
        """Return the width each category has."""
        return (WIDTH - RIGHT - self.left) / self.count

    def x(self, index: int) -> float:
        """Return the middle of a category's slot."""
        return self.left + (index + 0.5) * self.slot

    def y(self, value: float) -> float:
        """Return the height a value stands at."""
        return BASE - PLOT_HEIGHT * value / self.ticks[-1]


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    maximum: float | None = None,
) -> Markup:
    """Draw one group of bars per category, a bar per series; `maximum` is the least axis top."""
    frame = _frame(chart_id, categories, series, maximum)
    body = Markup("").join(
        _bars(frame, chart_id, index, one, len(series)) for index, one in enumerate(series)
    )
    legend = _legend(chart_id, series, _bar_key)
    return _chart(chart_id, title, description, categories, unit, frame, body, legend)


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
) -> Markup:
    """Draw one line per series through its figures, broken where a figure is missing."""
    frame = _frame(chart_id, categories, series, None)
    # The first series is drawn last, on top: where two lines meet, its solid line shows.
    body = Markup("").join(
        _line(frame, index, one) for index, one in reversed(list(enumerate(series)))
    )
    legend = _legend(chart_id, series, _line_key)
    return _chart(chart_id, title, description, categories, unit, frame, body, legend)


# --- Scales -----------------------------------------------------------------------------------


def _frame(
    chart_id: str, categories: Sequence[str], series: Sequence[Series], maximum: float | None
) -> _Frame:
    """Check the figures; return where the plot lies and its gridlines."""
    _check(chart_id, categories, series)
    figures = [v for one in series for v in one.values if v is not None]
    highest = max([*figures, maximum or 0])
    whole = all(float(v).is_integer() for v in [*figures, maximum or 0])
    ticks = _ticks(highest, whole)
    left = max(_width(_number(tick)) for tick in ticks) + GAP + 2
    return _Frame(left, len(categories), tuple(ticks))


def _check(chart_id: str, categories: Sequence[str], series: Sequence[Series]) -> None:
    """Refuse what a chart cannot draw honestly, naming what is wrong."""
    if not ID.fullmatch(chart_id):
        raise ValueError(f"chart_id {chart_id!r} is not a usable id (a letter, then \\w or -)")
    if not categories:
        raise ValueError("a chart needs at least one category")
    if not 1 <= len(series) <= len(LOOKS):
        raise ValueError(f"a chart draws 1 to {len(LOOKS)} series, not {len(series)}")
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(f"{one.label!r} has {len(one.values)} values, not one per category")
        if any(v is not None and not (math.isfinite(v) and v >= 0) for v in one.values):
            raise ValueError(f"{one.label!r} has a negative or infinite value")


def _ticks(highest: float, whole: bool) -> list[float]:
    """Return round gridline values from 0 to at least `highest`: 0, 5, 10, 15 for 14."""
    highest = highest or 1  # nothing but zeros still gets an axis
    rough = highest / 5  # at most five steps: room for a label on each at 320 px
    power = 10.0 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough * (1 - 1e-9))
    if whole:
        step = max(step, 1)  # counts have no half cases
    steps = max(1, math.ceil(highest / step - 1e-9))
    return [round(i * step, 9) for i in range(steps + 1)]


def _number(value: float) -> str:
    """Write a gridline's value the current locale's way ("2,5" in Swedish)."""
    return str(format_decimal(value))


def _width(text: str) -> float:
    """Estimate how wide a label is, generously: better a label too few than two overlapping."""
    return len(text) * FONT * CHAR


def _n(value: float) -> str:
    """Write a coordinate short: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --- The chart around the figures --------------------------------------------------------------


def _chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    unit: str,
    frame: _Frame,
    body: Markup,
    legend: Markup,
) -> Markup:
    """Put the legend, the axes, their labels and the figures' shapes together."""
    rows = 2 if any(MONTH.fullmatch(c) for c in categories) else 1
    height = BASE + rows * (FONT + 4) + 6
    labels = _y_labels(frame, unit) + _x_labels(frame, categories)
    # direction="ltr": months run left to right on an Arabic page too, and the labels'
    # text-anchor keeps its meaning (start is left) whatever the page's direction. Chromium
    # still puts an image's text in the accessibility tree: aria-hidden keeps it out.
    return Markup(
        '<div class="chart">{legend}<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg"'
        ' viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title {id}-desc"'
        ' direction="ltr"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}'
        '</desc><g aria-hidden="true">{grid}<g class="chart-labels" fill="currentColor"'
        ' font-size="{font}">{labels}</g>{body}</g></svg></div>'
    ).format(
        legend=legend,
        width=WIDTH,
        height=_n(height),
        id=chart_id,
        title=title,
        desc=description,
        grid=_grid(frame),
        font=FONT,
        labels=labels,
        body=body,
    )


def _grid(frame: _Frame) -> Markup:
    """Draw a gridline at each tick above 0, and the axis at 0 darker."""
    lines = [
        Markup('<line x1="{}" x2="{}" y1="{}" y2="{}"/>').format(
            _n(frame.left), WIDTH - RIGHT, _n(frame.y(t)), _n(frame.y(t))
        )
        for t in frame.ticks[1:]
    ]
    return Markup(
        '<g class="chart-grid" stroke="currentColor" stroke-width="1">{}</g>'
        '<line class="chart-axis" x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor"'
        ' stroke-width="1.5"/>'
    ).format(Markup("").join(lines), _n(frame.left), WIDTH - RIGHT, BASE, BASE)


def _y_labels(frame: _Frame, unit: str) -> Markup:
    """Write each gridline's value left of it, and the unit above them all."""
    texts = [
        _text(frame.left - GAP, frame.y(t) + FONT * 0.35, _number(t), "end") for t in frame.ticks
    ]
    if unit:
        texts.append(_text(0, FONT, unit, "start"))
    return Markup("").join(texts)


def _x_labels(frame: _Frame, categories: Sequence[str]) -> Markup:
    """Label every category there is room for; "2026-01" as its month over its year.

    A year is written under the first labelled month of that year; the first one gives way
    if the next would overlap it (a chart that starts in December).
    """
    parts = [_month_and_year(c) for c in categories]
    widest = max(_width(label) for label, _year in parts)
    step = next((s for s in range(1, len(parts)) if s * frame.slot >= widest + GAP), len(parts))
    texts: list[Markup] = []
    years: list[tuple[float, Markup]] = []  # (middle, label)
    previous = ""
    for index in range(0, len(parts), step):
        label, year = parts[index]
        x = _inside(frame.x(index), _width(label))
        texts.append(_text(x, BASE + FONT + 4, label, "middle"))
        if year and year != previous:
            if years and x - years[-1][0] < _width(year) + GAP:
                years.pop()
            years.append((x, _text(_inside(x, _width(year)), BASE + 2 * FONT + 8, year, "middle")))
            previous = year
    return Markup("").join([*texts, *(text for _x, text in years)])


def _month_and_year(category: str) -> tuple[str, str]:
    """Split "2026-01" into ("01", "2026"); anything else is its own label, with no year."""
    found = MONTH.fullmatch(category)
    return (found[2], found[1]) if found else (category, "")


def _inside(x: float, width: float) -> float:
    """Move a centred label's middle so the whole label stays inside the viewBox."""
    return min(max(x, width / 2), WIDTH - width / 2)


def _text(x: float, y: float, text: str, anchor: str) -> Markup:
    """Return one label; its text is escaped."""
    return Markup('<text x="{}" y="{}" text-anchor="{}">{}</text>').format(
        _n(x), _n(y), anchor, text
    )


# --- The figures --------------------------------------------------------------------------------


def _bars(frame: _Frame, chart_id: str, index: int, series: Series, count: int) -> Markup:
    """Draw one series' bars, each in its place in its category's group; None draws none."""
    look = LOOKS[index]
    group = frame.slot * (0.76 if count > 1 else 0.6)
    width = group / count
    paint, pattern = _fill(look, f"{chart_id}-s{index + 1}-fill")
    rects = [
        Markup('<rect x="{}" y="{}" width="{}" height="{}"/>').format(
            _n(frame.x(i) - group / 2 + index * width + 0.5),
            _n(frame.y(value)),
            _n(width - 1),  # a hair of air between neighbouring bars
            _n(BASE - frame.y(value)),
        )
        for i, value in enumerate(series.values)
        if value is not None
    ]
    return Markup('<g class="chart-bars {}"{}>{}{}</g>').format(
        look.name, paint, pattern, Markup("").join(rects)
    )


def _fill(look: _Look, pattern_id: str) -> tuple[Markup, Markup]:
    """Return a bar's paint attributes and the pattern they need: solid, or outlined stripes."""
    if not look.hatch:
        return Markup(' fill="currentColor"'), Markup()
    stripes = Markup("").join(
        Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="currentColor"/>').format(
            *stripe.split()
        )
        for stripe in look.hatch
    )
    # The pattern sits inside the series' group: its currentColor is the series' colour, and
    # the page shows between the stripes (white, or the forced colours' background).
    pattern = Markup(
        '<pattern id="{}" patternUnits="userSpaceOnUse" width="6" height="6"'
        ' patternTransform="rotate(45)">{}</pattern>'
    ).format(pattern_id, stripes)
    # The outline shows a striped bar's edge as clearly as a solid bar's.
    paint = Markup(' fill="url(#{})" stroke="currentColor" stroke-width="1.5"').format(pattern_id)
    return paint, pattern


def _line(frame: _Frame, index: int, series: Series) -> Markup:
    """Draw one series' line, broken at each missing figure, and a marker at each figure."""
    look = LOOKS[index]
    runs: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(series.values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((frame.x(i), frame.y(value)))
    lines = [
        Markup('<polyline points="{}"/>').format(" ".join(f"{_n(x)},{_n(y)}" for x, y in run))
        for run in runs
        if len(run) > 1
    ]
    markers = [_marker(look.marker, x, y) for run in runs for x, y in run]
    dash = Markup(' stroke-dasharray="{}"').format(look.dash) if look.dash else Markup()
    return Markup(
        '<g class="chart-line {}"><g fill="none" stroke="currentColor" stroke-width="2.5"'
        ' stroke-linejoin="round"{}>{}</g><g fill="currentColor">{}</g></g>'
    ).format(look.name, dash, Markup("").join(lines), Markup("").join(markers))


def _marker(shape: str, x: float, y: float) -> Markup:
    """Return a point's marker: a circle, a square or a triangle around (x, y)."""
    if shape == "circle":
        return Markup('<circle cx="{}" cy="{}" r="4.5"/>').format(_n(x), _n(y))
    if shape == "square":
        return Markup('<rect x="{}" y="{}" width="9" height="9"/>').format(_n(x - 4.5), _n(y - 4.5))
    corners = ((x, y - 6), (x + 5.5, y + 4), (x - 5.5, y + 4))
    return Markup('<path d="M{}Z"/>').format(" L".join(f"{_n(a)},{_n(b)}" for a, b in corners))


# --- The legend ---------------------------------------------------------------------------------


def _legend(chart_id: str, series: Sequence[Series], key: Callable[[str, int], Markup]) -> Markup:
    """List the series above the chart, each beside a key drawn as its bars or line are.

    In HTML rather than in the SVG: it wraps at 320 px and follows the page's direction; each
    label is isolated (<bdi>), so "90:e percentilen" keeps its order on a right-to-left page.
    With one series there is nothing to tell apart, and the page's heading names it.
    """
    if len(series) < 2:
        return Markup()
    items = [
        Markup(
            '<li><svg class="chart-key {}" viewBox="0 0 32 16" width="32" height="16"'
            ' aria-hidden="true">{}</svg><bdi>{}</bdi></li>'
        ).format(LOOKS[index].name, key(chart_id, index), one.label)
        for index, one in enumerate(series)
    ]
    return Markup('<ul class="chart-legend">{}</ul>').format(Markup("").join(items))


def _bar_key(chart_id: str, index: int) -> Markup:
    """Draw a small bar filled as the series' bars are (its own pattern: ids are unique)."""
    paint, pattern = _fill(LOOKS[index], f"{chart_id}-key{index + 1}-fill")
    return Markup('{}<rect x="6" y="1" width="20" height="14"{}/>').format(pattern, paint)


def _line_key(chart_id: str, index: int) -> Markup:
    """Draw a stretch of the series' line, dashed as it is, with its marker in the middle."""
    look = LOOKS[index]
    dash = Markup(' stroke-dasharray="{}"').format(look.dash) if look.dash else Markup()
    return Markup(
        '<line x1="0" x2="32" y1="8" y2="8" stroke="currentColor" stroke-width="2.5"{}/>'
        '<g fill="currentColor">{}</g>'
    ).format(dash, _marker(look.marker, 16, 8))
