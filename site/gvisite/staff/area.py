"""The staff area is everything under /staff: one guard, one set of private headers, own errors.

The guard runs before every request under the prefix, whichever view (or none) answers it, so
a page added under /staff is guarded without asking; only the login and logout pages are open.
Its checks run in order, and the first refusal is the answer: a later check (a second factor
done) is one more entry in CHECKS.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request, url_for
from flask import Response as FlaskResponse  # what after_request hooks are given
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from ..database import discard_session
from ..errors import use_area_pages
from ..security import private
from .auth import login_manager
from .mfa import second_step_check
from .sessions import enforce_idle_timeout

PREFIX = "/staff"
OPEN_ENDPOINTS = frozenset({"auth.login", "auth.logout", "sso.start", "sso.callback"})  # no login


def in_area(path: str) -> bool:
    """Tell whether a request path is in the staff area (`/staff` and below, not `/staffer`)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def signed_in() -> Response | None:
    """Send a visitor who is not logged in to the login page, remembering where they went."""
    return None if current_user.is_authenticated else login_manager.unauthorized()


# Every staff page needs each of these, in this order: a login, then a session that is neither
# idle nor past its lifetime (sessions.py ends it and says why on the login page), then its second
# factor shown (mfa.py: until then, only the second step, or enrolment for an account without
# a factor while STAFF_REQUIRE_MFA is on).
CHECKS: tuple[Callable[[], Response | None], ...] = (
    signed_in,
    enforce_idle_timeout,
    second_step_check,
)


def is_open() -> bool:
    """Tell whether a request is for the login or logout page, whatever its method."""
    # A method a page does not take has no endpoint (routing failed): at an open page's address
    # it gets its 405 with Allow, not the login redirect.
    if request.endpoint in OPEN_ENDPOINTS:
        return True
    return request.path in {url_for(endpoint) for endpoint in OPEN_ENDPOINTS}


def guard() -> Response | None:
    """Refuse a request under /staff that fails a check (the login and logout pages excepted)."""
    if not in_area(request.path) or is_open():
        return None
    for check in CHECKS:
        refusal = check()
        if refusal is not None:
            return refusal
    return None


def private_area(response: FlaskResponse) -> FlaskResponse:
    """Keep every staff response, error pages and redirects included, out of caches and indexes."""
    return private(response) if in_area(request.path) else response


def staff_signed_in() -> bool:
    """Tell the staff layout whether to show the menu; False if the account cannot be read."""
    # An error page while the database is down must not fail again reading the account: what
    # the menu shows (name, role) is read here, so the layout reads nothing more after this.
    try:
        return bool(current_user.is_authenticated and current_user.name and current_user.role)
    except SQLAlchemyError:
        discard_session()
        return False


def init_app(app: Flask) -> None:
    """Guard the area, mark its responses private, and give it its own error pages."""
    app.before_request(guard)
    app.after_request(private_area)
    app.add_template_global(staff_signed_in)
    use_area_pages(app, PREFIX, "staff/errors")
