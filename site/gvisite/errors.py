"""Error pages in the visitor's language, with links that help them on."""

from __future__ import annotations

from flask import Flask, make_response, render_template
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.wrappers import Response

from .database import discard_session

RETRY_AFTER_SECONDS = 60  # what a 503 asks clients to wait before trying again


def render_error(error: HTTPException) -> tuple[str, int]:
    """Render an HTTP error with the page for its status, or the generic one."""
    code = error.code or 500
    return render_template([f"errors/{code}.html", "errors/error.html"], error=error), code


def init_app(app: Flask) -> None:
    """Use our pages for every HTTP error and for unexpected exceptions."""
    app.register_error_handler(HTTPException, render_error)

    @app.errorhandler(SQLAlchemyError)
    def database_unavailable(error: SQLAlchemyError) -> Response:
        # The engine hides bound parameters (config.py), so the message names no resident.
        app.logger.error("database error: %s", type(error).__name__)
        discard_session()
        response = make_response(render_error(ServiceUnavailable()))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error")
        return render_error(InternalServerError())
