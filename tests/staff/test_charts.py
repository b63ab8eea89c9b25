"""The statistics page's charts: what a reader sees in the SVG, and a page of them in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from bs4 import Tag
from flask import Flask, Response
from markupsafe import Markup

from gvisite.security import CONTENT_SECURITY_POLICY
from gvisite.staff.charts import Series, bar_chart, line_chart
from tests.fixtures_servers import LiveServer, serving
from tests.helpers import SCREENSHOTS, axe_violations, nu_errors, parse, watched_context

SHOTS = SCREENSHOTS / "charts"
STATIC = Path(__file__).resolve().parents[2] / "site" / "gvisite" / "static"
MONTHS = [f"2025-{m:02}" for m in (12,)] + [f"2026-{m:02}" for m in range(1, 12)]
REPORTS = Series("Rapporter", [3, 7, 0, 14, 5, 9, 2, 11, 6, 4, 8, 12])
REQUESTS = Series("Begäran om alternativt format", [1, 0, 2, 6, 0, 3, 1, 0, 4, 2, 5, 1])
MEDIAN = Series("Median", [2, 3, None, 1, 4, 2.5, None, 6, 3, 2, 5, 1.5])
P90 = Series("90:e percentilen", [5, 8, None, 2, 9, 6, None, 12, 7, 4, 10, 3])
SHARE = Series("Andel besvarade inom målet", [100, 80, None, 92, 75, 60, None, 67, 88, 100, 70, 95])


def cases_chart(**overrides: Any) -> Markup:
    """Return the chart of cases per month by kind, as the statistics page draws it."""
    arguments: dict[str, Any] = {
        "chart_id": "cases",
        "title": "Ärenden per månad",
        "description": "Rapporter och begäran om alternativt format per månad.",
        "categories": MONTHS,
        "series": [REPORTS, REQUESTS],
        "unit": "ärenden",
    }
    return bar_chart(**{**arguments, **overrides})


def days_chart(**overrides: Any) -> Markup:
    """Return the chart of working days to the first answer: median and 90th percentile."""
    arguments: dict[str, Any] = {
        "chart_id": "days",
        "title": "Arbetsdagar till första svar",
        "description": "Median och 90:e percentil per månad; tomt där inget besvarades.",
        "categories": MONTHS,
        "series": [MEDIAN, P90],
        "unit": "arbetsdagar",
    }
    return line_chart(**{**arguments, **overrides})


def share_chart() -> Markup:
    """Return the chart of the share answered within the target, in per cent."""
    return bar_chart(
        chart_id="share",
        title="Andel besvarade inom målet",
        description="Procent av de besvarade ärendena per månad.",
        categories=MONTHS,
        series=[SHARE],
        unit="%",
        maximum=100,
    )


def svg_of(chart: str) -> Tag:
    """Parse a chart and return its <svg>."""
    svg = parse(str(chart)).find("svg", class_="chart-svg")
    assert isinstance(svg, Tag)
    return svg


def number(tag: Tag, name: str) -> float:
    """Return one of a shape's numeric attributes."""
    return float(str(tag[name]))


def bars(svg: Tag, series: int) -> list[Tag]:
    """Return one series' bars (1 is the first), left to right."""
    group = svg.select_one(f"g.chart-bars.chart-s{series}")
    assert group is not None
    return group.find_all("rect", recursive=False)


def label_texts(svg: Tag) -> list[str]:
    """Return the text of every label in the chart."""
    return [text.get_text() for text in svg.select("g.chart-labels text")]


# --- The SVG --------------------------------------------------------------------------------------


def test_bars_are_as_tall_as_their_values_and_a_missing_figure_has_none() -> None:
    svg = svg_of(share_chart())
    drawn = bars(svg, 1)
    figures = [v for v in SHARE.values if v is not None]
    assert len(drawn) == len(figures)  # no bar at all, not a 0-high one, for the two gaps
    heights = [number(rect, "height") for rect in drawn]
    for height, value in zip(heights, figures, strict=True):
        assert height == pytest.approx(heights[0] * value / figures[0], abs=0.02)
    bottoms = {round(number(rect, "y") + number(rect, "height"), 1) for rect in drawn}
    assert len(bottoms) == 1  # all stand on the axis
    axis = svg.select_one("line.chart-axis")
    assert axis is not None and bottoms == {round(number(axis, "y1"), 1)}
    # Months without a figure are the gaps: nothing is drawn in their slots.
    lefts = [number(rect, "x") for rect in drawn]
    assert lefts == sorted(lefts)
    slot = (lefts[-1] - lefts[0]) / (len(MONTHS) - 1)
    assert [round((x - lefts[0]) / slot) for x in lefts] == [0, 1, 3, 4, 5, 7, 8, 9, 10, 11]


def test_grouped_bars_stand_side_by_side_and_a_zero_is_no_height() -> None:
    svg = svg_of(cases_chart())
    reports, requests = bars(svg, 1), bars(svg, 2)
    assert len(reports) == len(requests) == len(MONTHS)
    for report, request in zip(reports, requests, strict=True):
        assert number(request, "x") >= number(report, "x") + number(report, "width")
    tallest = max(number(rect, "height") for rect in reports)
    assert number(requests[3], "height") == pytest.approx(tallest * 6 / 14, abs=0.02)
    assert number(reports[2], "height") == 0


def test_the_axis_has_round_gridlines_and_says_its_unit() -> None:
    cases = label_texts(svg_of(cases_chart()))
    assert cases[:5] == ["0", "5", "10", "15", "ärenden"]  # up to 14 reports
    share = label_texts(svg_of(share_chart()))
    assert share[:7] == ["0", "20", "40", "60", "80", "100", "%"]  # maximum=100
    days = label_texts(svg_of(days_chart(series=[MEDIAN])))
    assert days[:5] == ["0", "2", "4", "6", "arbetsdagar"]


def test_months_are_labelled_with_their_year_where_it_begins() -> None:
    texts = label_texts(svg_of(cases_chart()))
    months = texts[texts.index("ärenden") + 1 :]
    # Every month fits; December 2025's year gives way to 2026, which would overlap it.
    assert months == [*(m[-2:] for m in MONTHS), "2026"]
    texts = label_texts(svg_of(cases_chart(categories=[f"2026-{m:02}" for m in range(1, 13)])))
    assert texts[-1] == "2026" and texts.count("2026") == 1
    wide = label_texts(svg_of(cases_chart(categories=[f"Vecka {w}" for w in range(1, 13)])))
    assert wide[wide.index("ärenden") + 1 :] == ["Vecka 1", "Vecka 5", "Vecka 9"]  # room for 3


def test_a_missing_figure_breaks_the_line_and_has_no_marker() -> None:
    svg = svg_of(days_chart())
    median = svg.select_one("g.chart-line.chart-s1")
    assert median is not None
    runs = [str(line["points"]).split() for line in median.find_all("polyline")]
    assert [len(run) for run in runs] == [2, 3, 5]  # broken at the two months without answers
    assert len(median.find_all("circle")) == 10
    # The 90th percentile is drawn first, so the median's solid line lies on top.
    groups = svg.select("g.chart-line")
    assert [g["class"][1] for g in groups] == ["chart-s2", "chart-s1"]


def test_the_series_differ_in_more_than_colour() -> None:
    """Hatched bars and dashed lines with other markers, the legend's keys drawn the same."""
    cases = parse(str(cases_chart()))
    solid, striped = cases.select("svg.chart-svg g.chart-bars")
    assert solid["fill"] == "currentColor" and not solid.find("pattern")
    assert striped["fill"] == "url(#cases-s2-fill)" and striped.find("pattern", id="cases-s2-fill")
    assert striped["stroke"] == "currentColor"  # an outline at the stripes' edge
    # The stripes are the series' colour too: a pattern's shapes inherit from where it stands.
    assert {rect["fill"] for rect in striped.select("pattern rect")} == {"currentColor"}
    keys = cases.select("ul.chart-legend li")
    assert [li.get_text() for li in keys] == [REPORTS.label, REQUESTS.label]
    assert keys[0].svg.find("rect", recursive=False)["fill"] == "currentColor"
    assert keys[1].svg.find("rect", recursive=False)["fill"] == "url(#cases-key2-fill)"
    assert keys[1].find("pattern", id="cases-key2-fill")

    days = parse(str(days_chart()))
    median, p90 = (days.select_one(f"svg.chart-svg g.chart-s{n} g[stroke]") for n in (1, 2))
    assert median is not None and p90 is not None
    assert not median.get("stroke-dasharray") and p90["stroke-dasharray"]
    assert days.select("svg.chart-svg g.chart-s1 circle") and not days.select("g.chart-s1 rect")
    assert days.select("svg.chart-svg g.chart-s2 rect") and not days.select("g.chart-s2 circle")
    legend = days.select("ul.chart-legend li svg")
    assert legend[1].find("line")["stroke-dasharray"] == p90["stroke-dasharray"]
    assert legend[0].find("circle") and legend[1].find("rect")


def test_a_third_series_has_a_look_of_its_own() -> None:
    days = svg_of(days_chart(series=[MEDIAN, P90, Series("Max", P90.values)]))
    lines = [days.select_one(f"g.chart-s{n} g[stroke]") for n in (1, 2, 3)]
    assert len({line.get("stroke-dasharray") for line in lines if line}) == 3
    assert days.select("g.chart-s3 path") and not days.select("g.chart-s3 circle, g.chart-s3 rect")
    cases = svg_of(cases_chart(series=[REPORTS, REQUESTS, Series("Övrigt", REPORTS.values)]))
    assert len(cases.select("#cases-s3-fill rect")) == 2  # a lattice, not the 2nd's stripes


def test_one_series_has_no_legend() -> None:
    assert parse(str(share_chart())).find("ul") is None


def test_the_image_is_named_by_its_title_and_description() -> None:
    svg = svg_of(cases_chart())
    assert svg["role"] == "img" and svg["direction"] == "ltr"
    assert str(svg["viewbox"]).startswith("0 0 360 ")  # html.parser lowers attribute names
    title, desc, drawing = svg.find_all(recursive=False)
    assert [title.name, desc.name] == ["title", "desc"]
    assert [title["id"], desc["id"]] == str(svg["aria-labelledby"]).split()
    assert title.get_text() == "Ärenden per månad"
    # The figures are in the table under the chart: a screen reader hears none of them here.
    assert drawing.name == "g" and drawing["aria-hidden"] == "true"


def test_every_text_is_escaped() -> None:
    html = str(
        cases_chart(
            title="Rapporter < format & <script>",
            description='Säger "allt"',
            categories=["<b>", *MONTHS[1:]],
            series=[Series("A&B", REPORTS.values), Series("<i>", REQUESTS.values)],
            unit="<u>",
        )
    )
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    soup = parse(html)
    assert soup.find("title").get_text() == "Rapporter < format & <script>"
    assert [li.get_text() for li in soup.select("li")] == ["A&B", "<i>"]
    assert "<u>" in label_texts(svg_of(html))


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"chart_id": "two words"}, "usable id"),
        ({"categories": MONTHS[:-1]}, "one per category"),
        ({"series": [Series("Minus", [-1.0] * 12)]}, "negative"),
        ({"series": [REPORTS] * 4}, "1 to 3 series"),
        ({"categories": [], "series": [Series("Inga", [])]}, "at least one category"),
    ],
)
def test_what_cannot_be_drawn_honestly_is_refused(change: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        cases_chart(**change)


def test_nothing_but_zeros_and_gaps_still_has_an_axis() -> None:
    svg = svg_of(cases_chart(series=[Series("Inga", [0] * 11 + [None])]))
    assert label_texts(svg)[:2] == ["0", "1"]
    assert all(number(rect, "height") == 0 for rect in bars(svg, 1))


# --- A page of charts in Chromium ---------------------------------------------------------------


def table(caption: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """Return the figures as the table under a chart (the page's own is the template's)."""
    head = "".join(f'<th scope="col">{one.label}</th>' for one in series)
    rows = "".join(
        f'<tr><th scope="row">{month}</th>'
        + "".join(f"<td>{'–' if one.values[i] is None else one.values[i]}</td>" for one in series)
        + "</tr>"
        for i, month in enumerate(categories)
    )
    return (
        f'<div class="table-scroll" role="region" aria-label="{caption}" tabindex="0">'
        f'<table class="data-table"><caption>{caption}</caption><thead><tr>'
        f'<th scope="col">Månad</th>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
    )


def sample_page(direction: str) -> str:
    """Return a page with the statistics page's three charts, each with its table."""
    sections = [
        ("Ärenden per månad", cases_chart(), [REPORTS, REQUESTS]),
        ("Svar inom målet", share_chart(), [SHARE]),
        ("Arbetsdagar till första svar", days_chart(), [MEDIAN, P90]),
    ]
    body = "".join(
        f"<h2>{heading}</h2>{chart}{table(heading, MONTHS, series)}"
        for heading, chart, series in sections
    )
    return (
        f'<!DOCTYPE html><html lang="sv" dir="{direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Statistik</title><link rel="stylesheet" href="/static/css/site.css"></head>'
        f'<body><div class="wrap"><main id="main"><h1>Statistik</h1>{body}</main></div>'
        "</body></html>"
    )


@pytest.fixture(scope="module")
def chart_server() -> Iterator[LiveServer]:
    """Serve the sample page, ltr and rtl, and the real site.css, under the site's CSP."""

    def make(_url: str) -> Flask:
        app = Flask(__name__, static_folder=STATIC, static_url_path="/static")
        pages = {direction: sample_page(direction) for direction in ("ltr", "rtl")}
        app.add_url_rule("/<direction>", "page", lambda direction: pages[direction])
        app.after_request(csp)
        return app

    with serving(make, "chart-server") as live:
        yield live


def csp(response: Response) -> Response:
    """Send the site's Content-Security-Policy, so a style attribute would be refused."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def test_the_page_of_charts_is_valid_html() -> None:
    errors = nu_errors({direction: sample_page(direction) for direction in ("ltr", "rtl")})
    assert not errors, "\n".join(errors)


def contrast(a: str, b: str) -> float:
    """Return the contrast ratio of two CSS rgb() colours (WCAG's formula)."""

    def luminance(colour: str) -> float:
        channels = [float(c) / 255 for c in re.findall(r"[\d.]+", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


COLOURS = "(s) => [...document.querySelectorAll(s)].map((e) => getComputedStyle(e).color)"
SERIES = ".chart-svg [class~=chart-s1], .chart-svg [class~=chart-s2], .chart-key"
# Every label's rendered box, and its font size in CSS pixels as the viewBox scales it.
LABELS = """() => [...document.querySelectorAll('.chart-svg')].map((svg) => {
  const scale = svg.getScreenCTM().a;
  return [...svg.querySelectorAll('text')].map((t) => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, px: scale * 16, left: r.left, right: r.right,
            top: r.top, bottom: r.bottom};
  });
})"""


def overlapping(labels: list[dict[str, Any]]) -> list[str]:
    """Return the pairs of labels whose rendered boxes overlap."""
    found = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            apart = (
                a["right"] <= b["left"]
                or b["right"] <= a["left"]
                or a["bottom"] <= b["top"]
                or b["bottom"] <= a["top"]
            )
            if not apart:
                found.append(f"{a['text']!r} and {b['text']!r}")
    return found


@pytest.mark.parametrize(
    ("name", "direction", "width", "forced"),
    [
        ("1280", "ltr", 1280, ""),
        ("320", "ltr", 320, ""),
        ("forced-colours-320", "ltr", 320, "light"),
        ("forced-colours-dark-320", "ltr", 320, "dark"),  # dark shapes on its black would vanish
        ("rtl-1280", "rtl", 1280, ""),
        ("rtl-320", "rtl", 320, ""),
    ],
)
def test_the_charts_in_chromium(
    browser: Any, chart_server: LiveServer, name: str, direction: str, width: int, forced: str
) -> None:
    """Readable text that never overlaps, no CSP refusal, and nothing for axe-core to report."""
    options: dict[str, Any] = {"viewport": {"width": width, "height": 900}}
    if forced:
        options.update(forced_colors="active", color_scheme=forced)
    with watched_context(browser, chart_server.url, **options) as (context, log):
        tab = context.new_page()
        tab.goto(f"{chart_server.url}/{direction}")
        assert tab.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
        for labels in tab.evaluate(LABELS):
            assert min(label["px"] for label in labels) >= 12
            assert overlapping(labels) == []
        # Each chart is an image named by its title and description, nothing read inside it.
        images = re.findall(r"- img .*", tab.locator("main").aria_snapshot())
        assert len(images) == 3 and all(re.fullmatch(r'- img "[^"]+"', i) for i in images)
        colours = set(tab.evaluate(COLOURS, SERIES))
        if forced:  # every series in the system's text colour
            assert colours == {tab.evaluate("getComputedStyle(document.body).color")}
        else:
            assert min(contrast(colour, "rgb(255, 255, 255)") for colour in colours) >= 3
        # axe-core measures a dark forced theme's text by the author's colours on its black
        # canvas, and fails every heading and cell of the page: the light theme is checked.
        if forced != "dark":
            assert axe_violations(tab) == []
        assert log.console_errors == [] and log.foreign == []  # the CSP refused nothing
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS / f"charts-{name}.png"), full_page=True)
