"""Error pages in the visitor's language, with links that help them on."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException, InternalServerError


def render_error(error: HTTPException) -> tuple[str, int]:
    """Render an HTTP error with the page for its status, or the generic one."""
    code = error.code or 500
    return render_template([f"errors/{code}.html", "errors/error.html"], error=error), code


def init_app(app: Flask) -> None:
    """Use our pages for every HTTP error and for unexpected exceptions."""
    app.register_error_handler(HTTPException, render_error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error")
        return render_error(InternalServerError())
