"""The statistics page's three charts, each drawn from the same months as the table below it."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from markupsafe import Markup

from ..handling_figures import HandlingFigures
from .charts import Series, bar_chart, line_chart


def month_charts(months: Sequence[HandlingFigures]) -> dict[str, Markup]:
    """Return the charts by the id of the table that holds their figures."""
    categories = [f"{month.start:%Y-%m}" for month in months]
    below = " " + _("The table below has the figures.")
    return {
        "received": bar_chart(
            chart_id="received-chart",
            title=_("Cases received per month"),
            description=_("Reports and format requests, month by month.") + below,
            categories=categories,
            series=[
                Series(_("Reports"), [m.received["report"] for m in months]),
                Series(_("Format requests"), [m.received["format"] for m in months]),
            ],
            unit=_("cases"),
        ),
        "days": line_chart(
            chart_id="days-chart",
            title=_("Working days to the first answer"),
            description=_(
                "The median, and the time within which 9 in 10 were answered, by the month "
                "cases were received. A month without answers has no point."
            )
            + below,
            categories=categories,
            series=[
                Series(_("Median"), [m.median_days for m in months]),
                Series(_("9 in 10 within"), [m.p90_days for m in months]),
            ],
            unit=_("working days"),
        ),
        "target": bar_chart(
            chart_id="target-chart",
            title=_("Answered within the target"),
            description=_(
                "The share answered within the target, by the month cases were received. A "
                "month with no case to judge has no bar."
            )
            + below,
            categories=categories,
            series=[Series(_("Within the target"), [m.share_within_target for m in months])],
            unit="%",
            maximum=100,
        ),
    }
