"""The contact page: who runs GVI here, and how to reach a person, from `content/site.yaml`."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from .pages.load import current_site

bp = Blueprint("contact", __name__)


@bp.get("/<locale:locale>/kontakt")
def contact(locale: str) -> str:
    """Show the contact facts in the visitor's language (Swedish where a text has no other)."""
    site = current_site()
    return render_template(
        "contact.html",
        contact=site.facts["contact"],
        programme=site.text("programme", locale),
        hours=site.text("servicecenter_hours", locale),
    )


def init_app(app: Flask) -> None:
    """Serve the contact page."""
    app.register_blueprint(bp)
