"""The two forms DOS-lagen asks for: report an accessibility problem, ask for another format.

`forms` declares the fields and what each form stores, `views` receives and acknowledges only
what was stored, `mail` writes the staff mail and the resident's receipt. `status` is the
resident's private status page, `followup` its forms and what they store.
"""

from __future__ import annotations

from flask import Flask

from ..extensions import csrf
from . import status  # noqa: F401  (its views join the blueprint when it is imported)
from .views import bp


def init_app(app: Flask) -> None:
    """Register the forms, the receipt and the resident's status page."""
    # The forms check their token themselves, to show the answers again on failure.
    csrf.exempt(bp)
    app.register_blueprint(bp)
