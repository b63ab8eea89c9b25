"""page holds only a site path: a resident's description moves to the answers; sent mail
keeps no body

Revision ID: e3a8c5d1f092
Revises: b7d2e4f6a810
Create Date: 2026-12-06 03:40:00

A case's `page` was kept after its personal data was removed, and it could hold up to 500
characters of what a resident wrote ("a letter about my son ..."). Now it holds only a path of
a page of the site; anything else moves to the answer `page_description`, erased with the other
answers. A case whose data was removed already loses that text here.

A delivered message keeps no body from now on (it held the status link's secret): the bodies
of messages delivered before go too.
"""
import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e3a8c5d1f092'
down_revision = 'b7d2e4f6a810'
branch_labels = None
depends_on = None

# A site path as the forms store one: no spaces, no query, no second slash at the start.
_PATH = re.compile(r"^/(?!/)[A-Za-z0-9._~/-]{0,499}$")
_cases = sa.table(
    'cases',
    sa.column('id', sa.Integer),
    sa.column('page', sa.String),
    sa.column('answers', sa.JSON),
    sa.column('purged_at', sa.DateTime),
)


def _is_site_path(value: str) -> bool:
    """Tell whether a stored page is a path of a page the site has (or looks like one)."""
    if not _PATH.match(value):
        return False
    try:  # `flask db upgrade` runs in the app: ask its routes and pages, as the forms did
        from gvisite.pages.views import route_exists

        return route_exists(value)
    except (ImportError, RuntimeError, KeyError):
        return True  # no app at hand: the strict form above is the test


def _answers(value: Any) -> dict:
    """Return a case's answers as a dict, however the driver hands the JSON back."""
    if isinstance(value, str):
        value = json.loads(value)
    return dict(value or {})


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_cases.c.id, _cases.c.page, _cases.c.answers, _cases.c.purged_at).where(
            _cases.c.page != ''
        )
    ).all()
    for case_id, page, answers, purged_at in rows:
        if _is_site_path(page):
            continue
        answers = _answers(answers)
        if purged_at is None:
            answers['page_description'] = page
        connection.execute(
            sa.update(_cases).where(_cases.c.id == case_id).values(page='', answers=answers)
        )


    op.execute("UPDATE outbox SET body = '' WHERE status = 'sent'")


def downgrade():
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_cases.c.id, _cases.c.answers).where(_cases.c.page == '')
    ).all()
    for case_id, answers in rows:
        answers = _answers(answers)
        description = answers.pop('page_description', None)
        if description is not None:
            connection.execute(
                sa.update(_cases)
                .where(_cases.c.id == case_id)
                .values(page=description[:500], answers=answers)
            )
