"""The contact page: who runs GVI here, and how to reach a person, from `content/site.yaml`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template

from .pages.load import current_site

bp = Blueprint("contact", __name__)
ARTICLE = "_contact.html"  # the page's text, which its other formats are made from too


def contact_context(locale: str) -> dict[str, Any]:
    """Return what the contact page's text is made of, in a language (Swedish where none)."""
    site = current_site()
    return {
        "contact": site.facts["contact"],
        "programme": site.text("programme", locale),
        "hours": site.text("servicecenter_hours", locale),
    }


@bp.get("/<locale:locale>/kontakt")
def contact(locale: str) -> str:
    """Show the contact facts in the visitor's language, with the page's date and owner."""
    site = current_site()
    return render_template(
        "contact.html",
        **contact_context(locale),
        updated=site.facts["contact_updated"],  # the page's "Last updated", a date from the data
        owner=site.facts["default_owner"],
    )


def init_app(app: Flask) -> None:
    """Serve the contact page."""
    app.register_blueprint(bp)
