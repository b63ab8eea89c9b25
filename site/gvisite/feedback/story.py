"""What the status page tells a resident about their case: what has happened, in their words.

Only what staff did and when, never what anyone wrote, except the reason staff give for closing
(their form says the resident sees it; it goes out in the closing mail too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..models import Answer, Case, Status
from ..workdays import local_date
from .followup import was_withdrawn

CLOSED = f"status:{Status.CLOSED}"  # the history's action when staff close (staff/handling.py)

# Each status as the resident's status page words it (staff have their own, shorter labels).
RESIDENT_STATUSES = {
    Status.NEW: _l("Received, not yet handled"),
    Status.IN_PROGRESS: _l("Being handled"),
    Status.WAITING: _l("Waiting for more information"),
    Status.CLOSED: _l("Closed"),
}
ANSWERED = _l("Answered")
# When and how we first answered, by the stored Answer value (staff have their own words).
ANSWERED_HOW = {
    Answer.EMAIL: _l("%(date)s, by email"),
    Answer.PHONE: _l("%(date)s, by phone"),
    Answer.LETTER: _l("%(date)s, in a letter"),
}
WITHDRAWN_BY_YOU = _l("Withdrawn by you")


@dataclass(frozen=True)
class Story:
    """What the status page says about a case."""

    status: LazyString
    answered_on: dt.date | None  # the first answer, in Stockholm
    answered_by: str | None  # how (an Answer value); None for a reply before it was recorded
    due_on: dt.date | None  # only while an answer is still owed to someone we can answer
    reason: str | None  # why staff closed it (gone with the personal data)
    contact: bool  # whether we can answer the resident at all
    withdrawn: bool

    def answered(self, on: Markup) -> Markup:
        """Say when we answered (`on`, the date as shown) and how, if staff recorded how."""
        how = ANSWERED_HOW.get(self.answered_by or "")
        return escape(how) % {"date": on} if how else on


def closing_reason(case: Case) -> str | None:
    """Return the reason staff gave when they last closed the case, if it still has one."""
    if case.status != Status.CLOSED:
        return None
    closings = [event for event in case.events if event.action == CLOSED]
    return closings[-1].detail if closings else None


def story_of(case: Case) -> Story:
    """Tell what has happened to a case, as its status page says it."""
    withdrawn = was_withdrawn(case)
    answered = case.first_reply_at is not None
    contact = bool(case.email or case.phone or case.address)
    if withdrawn:
        status = WITHDRAWN_BY_YOU
    elif answered and case.status in (Status.NEW, Status.IN_PROGRESS):
        status = ANSWERED
    else:
        status = RESIDENT_STATUSES.get(case.status, RESIDENT_STATUSES[Status.NEW])
    owed = case.is_open and not answered and contact
    return Story(
        status=status,
        answered_on=local_date(case.first_reply_at) if case.first_reply_at else None,
        answered_by=case.answered_by,
        due_on=case.due_on if owed else None,
        reason=None if withdrawn else closing_reason(case),
        contact=contact,
        withdrawn=withdrawn,
    )
