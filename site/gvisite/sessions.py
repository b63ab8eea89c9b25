"""Sessions only where they are needed: the public forms and the staff area, each on its own path.

We promise no cookies while reading. A signed session cookie is set only by the form pages
(`/<locale>/tillganglighet/<form>`, for the CSRF token and the one-time receipt) and by the
staff area (`/staff`), each with a `Path` that keeps the browser from sending it anywhere else.
Every other request gets an empty session that is never saved: it can neither set nor clear a
cookie, and outside the staff area nobody is logged in.
"""

from __future__ import annotations

from flask import Flask, Request, Response, current_app, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_login import AnonymousUserMixin

from .i18n import LOCALES
from .links import folder_of

STAFF_PATH = "/staff"
# The pages that keep a session: their folders, read from their rules, are the public paths
# where a cookie may be set. A form moved to another folder takes its cookie with it.
FORM_ENDPOINTS = ("feedback.report", "feedback.alternative_format", "feedback.receipt")


def form_folders(app: Flask) -> list[str]:
    """Return the folders the form pages are in, each once: `tillganglighet`."""
    return list(dict.fromkeys(folder_of(app, endpoint) for endpoint in FORM_ENDPOINTS))


def cookie_path(path: str) -> str | None:
    """Return the cookie path that covers a request path, or None where no session is kept."""
    if path == STAFF_PATH or path.startswith(STAFF_PATH + "/"):
        return STAFF_PATH
    parts = path.split("/")  # "", locale, folder, form, ...
    if len(parts) < 4 or parts[1] not in LOCALES:
        return None
    for folder in form_folders(current_app):
        depth = 2 + folder.count("/") + 1  # where the form's own part is
        if "/".join(parts[2:depth]) == folder and len(parts) > depth and parts[depth]:
            # The trailing slash leaves the statement itself (/sv/tillganglighet) out.
            return "/".join(parts[:depth]) + "/"
    return None


class ScopedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, kept only under the paths that need one."""

    def get_cookie_path(self, app: Flask) -> str:
        """Scope the cookie to the area of the current request."""
        return cookie_path(request.path) or "/"

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Read the area's cookie; elsewhere start an empty session that is thrown away."""
        if cookie_path(request.path) is None:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the cookie only in an area that keeps one; never touch it on reading pages."""
        if cookie_path(request.path) is None:
            return
        super().save_session(app, session, response)


def _nobody_outside_staff() -> None:
    """Outside the staff area, skip Flask-Login: no session to read, nobody logged in."""
    # Flask-Login would otherwise load (and under "strong" protection clear) the session on
    # every page that renders a template, since its context processor asks for current_user.
    if cookie_path(request.path) != STAFF_PATH:
        g._login_user = AnonymousUserMixin()


def init_app(app: Flask) -> None:
    """Install the scoped sessions."""
    app.session_interface = ScopedSessionInterface()
    app.before_request(_nobody_outside_staff)
