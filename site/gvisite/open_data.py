"""Open data: how fast we answer, month by month since the site started, as CSV and JSON (CC0).

Both files are read from the handling snapshot (handling_snapshot.py), never computed for a
request, and are kept by the pre-built pages like the statement. The CSV is for Swedish Excel
(UTF-8 with a byte order mark, semicolons, decimal commas), with the same Swedish column names
in every language, so a script reads every locale's file alike; the JSON has the statement
JSON's English field names. A count from 1 to 4 is "<5" in the CSV and null in the JSON; a
median, percentile or share resting on fewer than 5 cases is left empty (null).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Blueprint, Flask, Response

from .handling_snapshot import COUNTS, FIELDS, read_handling
from .links import absolute_url
from .prebuilt.stamp import dont_keep
from .statement import current_statement

bp = Blueprint("open_data", __name__)

LICENCE = "CC0-1.0"
LICENCE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
CSV_BOM = "\ufeff"  # without it Swedish Excel reads the file as Windows-1252
CSV_DELIMITER = ";"  # Swedish Excel splits on the semicolon: the comma is its decimal sign
HIDDEN_COUNT = "<5"  # a count from 1 to 4, in the CSV
CSV_COLUMNS = {
    "month": "månad",
    "reports_received": "anmälda_brister",
    "requests_received": "begäran_om_annat_format",
    "answered": "besvarade",
    "median_working_days_to_first_answer": "median_arbetsdagar_till_första_svar",
    "p90_working_days_to_first_answer": "90_procent_besvarade_inom_arbetsdagar",
    "answered_within_target_percent": "andel_besvarade_i_tid_procent",
    "problems_published": "brister_publicerade",
    "problems_fixed": "brister_åtgärdade",
    "median_working_days_to_fix": "median_arbetsdagar_till_åtgärd",
}
FILE_NAME = "jarfalla-gvi-svarstider"  # the name a download is saved under, without ending
RETRY_AFTER_SECONDS = 60  # the figures are computed at the latest within a minute of a start


def _cell(name: str, value: Any) -> str:
    """Return a CSV cell: "<5" for a hidden count, empty for a hidden figure, a decimal comma."""
    if value is None:
        return HIDDEN_COUNT if name in COUNTS else ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def render_csv(snapshot: dict[str, Any]) -> str:
    """Write the months of a snapshot as CSV text for Swedish Excel."""
    out = io.StringIO()
    out.write(CSV_BOM)
    writer = csv.writer(out, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS.values())
    for month in snapshot["months"]:
        writer.writerow([month["month"], *(_cell(name, month[name]) for name in FIELDS)])
    return out.getvalue()


def open_data(snapshot: dict[str, Any], locale: str) -> dict[str, Any]:
    """Return the months of a snapshot as the open data JSON (README: Open data)."""
    return {
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "statement_url": absolute_url("statement.statement", locale=locale),
        "computed_on": snapshot["computed_on"],
        "fewer_than": snapshot["fewer_than"],
        "response_target_working_days": current_statement().response_target_days,
        "months": snapshot["months"],
    }


def _unavailable() -> Response:
    """Answer that the figures are not computed yet: try again in a minute."""
    dont_keep()
    response = Response("The figures are not available right now.\n", 503, mimetype="text/plain")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _download(body: str, mimetype: str, disposition: str) -> Response:
    """Return a file under its own name (Flask adds the charset a text/ type needs)."""
    response = Response(body, mimetype=mimetype)
    ending = mimetype.rsplit("/", 1)[1]  # csv, json
    response.headers["Content-Disposition"] = f'{disposition}; filename="{FILE_NAME}.{ending}"'
    return response


@bp.get("/<locale:locale>/tillganglighet/statistik.csv")
def statistics_csv(locale: str) -> Response:
    """Serve how fast we answer, month by month, as CSV for a spreadsheet."""
    snapshot = read_handling()
    if snapshot is None:
        return _unavailable()
    return _download(render_csv(snapshot), "text/csv", "attachment")


@bp.get("/<locale:locale>/tillganglighet/statistik.json")
def statistics_json(locale: str) -> Response:
    """Serve how fast we answer, month by month, as JSON."""
    snapshot = read_handling()
    if snapshot is None:
        return _unavailable()
    body = json.dumps(open_data(snapshot, locale), ensure_ascii=False, indent=2) + "\n"
    # Inline: a browser shows JSON; a spreadsheet file is saved and opened.
    return _download(body, "application/json", "inline")


def init_app(app: Flask) -> None:
    """Serve the open data (the statement part keeps the snapshot it is read from)."""
    app.register_blueprint(bp)
