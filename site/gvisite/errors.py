"""Error pages in the visitor's language, with links that help them on."""

from __future__ import annotations

from flask import Flask, current_app, make_response, render_template, request
from jinja2 import Template
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.wrappers import Response

from .database import discard_session
from .security import private_answers

RETRY_AFTER_SECONDS = 60  # what a 503 asks clients to wait before trying again
AREAS = "error_areas"  # app.extensions key: path prefix -> the folder of that area's error pages


def use_area_pages(app: Flask, prefix: str, folder: str) -> None:
    """Answer errors under a path prefix with that area's own pages (the staff area's layout)."""
    # Registered by the area itself: the public site knows nothing of the staff area.
    app.extensions.setdefault(AREAS, {})[prefix] = folder


def error_templates(name: str) -> list[str | Template]:  # the list render_template takes
    """Return the templates for an error page (`404`, `expired`), the generic one last."""
    folder = "errors"
    for prefix, area_folder in current_app.extensions.get(AREAS, {}).items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            folder = area_folder
    return [f"{folder}/{name}.html", f"{folder}/error.html"]


def render_error(error: HTTPException) -> tuple[str, int]:
    """Render an HTTP error with the page for its status, or the generic one."""
    code = error.code or 500
    return render_template(error_templates(str(code)), error=error), code


def error_response(error: HTTPException) -> Response:
    """Answer an HTTP error with its page and the headers the error itself carries."""
    response = make_response(render_error(error))
    code = response.status_code
    # The error's own headers say how to go on: `Allow` on a 405, `Retry-After` on a 429.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if code >= 500:
        # A failure is never worth keeping, and its address may hold a status link's secret
        # (a status page while the database is down): no cache, no Referer.
        private_answers(response)
    return response


def init_app(app: Flask) -> None:
    """Use our pages for every HTTP error and for unexpected exceptions."""
    app.register_error_handler(HTTPException, error_response)

    @app.errorhandler(SQLAlchemyError)
    def database_unavailable(error: SQLAlchemyError) -> Response:
        # The engine hides bound parameters (config.py), so the message names no resident.
        app.logger.error("database error: %s", type(error).__name__)
        discard_session()
        response = error_response(ServiceUnavailable())
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(InternalServerError())
