"""The actions of the case history and the audit log, in words staff read (not stored codes).

An action is stored as a code, sometimes with a value after a colon (`status:avslutad`,
`mfa:totp`): the code stays stable for the log and the export; staff read the words here.
An action no entry knows (a new one) is shown as its code rather than hidden.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from ..models import Role, SecondFactor
from .forms import ANSWERED_BY_WORDS, STATUS_LABELS
from .sso import REFUSALS

ACTIONS: dict[str, Any] = {
    "view": _l("opened the case"),
    "assign": _l("assigned the case"),
    "note": _l("wrote a note"),
    "reply": _l("replied to the resident"),
    "retry": _l("queued a message again"),
    "spam": _l("marked as spam"),
    "not-spam": _l("marked as not spam"),
    "publish": _l("published a confirmed problem"),
    "resolve": _l("removed the problem from the statement"),
    "resident:added": _l("added information on the status page"),
    "resident:withdrawn": _l(
        "withdrew the request on the status page: the case was closed and its personal data removed"
    ),
    "export": _l("downloaded every case"),
    "purge": _l("removed personal data kept long enough, and old spam"),
    "login": _l("logged in"),
    "login-failed": _l("a login failed"),
    "login-throttled": _l("a login was refused after too many failed attempts"),
    "login-uncounted": _l("a login was refused: the attempts could not be counted"),
    "logout": _l("logged out"),
    "forbidden": _l("tried to open a page their role does not allow"),
    "password": _l("changed the password"),
    "password-throttled": _l("a password change was refused after too many attempts"),
    "password-uncounted": _l("a password change was refused: the attempts could not be counted"),
    "deactivate": _l("deactivated an account"),
    "activate": _l("activated an account"),
    "reset-mfa": _l("removed an account's second steps"),
    "mfa-throttled": _l("a second step was refused after too many attempts"),
    "mfa-uncounted": _l("a second step was refused: the attempts could not be counted"),
    "recovery-used": _l("used a recovery code"),
    "recovery-codes": _l("made new recovery codes"),
    "recovery-codes-removed": _l("removed the recovery codes"),
    "sso-linked": _l("linked the account to the municipality's login"),
    "end-other-sessions": _l("ended their other sessions"),
    "end-session": _l("ended a session"),
}
# Actions with a value after the colon: the words, with the value's own words put in.
WITH_VALUE: dict[str, Any] = {
    "status": _l("changed the status to %(value)s"),
    "answered": _l("recorded an answer %(value)s"),
    "create": _l("created an account (%(value)s)"),
    "mfa": _l("showed the second step: %(value)s"),
    "mfa-failed": _l("a second step failed: %(value)s"),
    "mfa-enrol": _l("added a second step: %(value)s"),
    "mfa-remove": _l("removed a second step: %(value)s"),
    "role": _l("changed an account's role: %(value)s"),
    "sso-role": _l("the municipality's login changed the role: %(value)s"),
    "sso-refused": _l("the municipality's login was refused: %(value)s"),
}
VALUES: dict[str, Any] = {
    **STATUS_LABELS,
    **ANSWERED_BY_WORDS,
    Role.HANDLER: _l("case handler"),
    Role.ADMIN: _l("administrator"),
    SecondFactor.PASSKEY: _l("passkey"),
    SecondFactor.TOTP: _l("one-time code"),
    SecondFactor.RECOVERY: _l("recovery code"),
    SecondFactor.SSO: _l("the municipality's login"),
    **{reason: title for reason, (_status, title, _text) in REFUSALS.items()},
}


def _value(value: str) -> str:
    """Return a value in words: a role change `handler-to-admin` as two words and an arrow."""
    if value in VALUES:
        return str(VALUES[value])
    old, separator, new = value.partition("-to-")
    if separator and old in VALUES and new in VALUES:
        return f"{VALUES[old]} → {VALUES[new]}"
    return value


def action_words(action: str) -> str:
    """Return what an action did, in words; its code if no entry knows it."""
    if action in ACTIONS:
        return str(ACTIONS[action])
    name, separator, value = action.partition(":")
    if separator and name in WITH_VALUE:
        return str(WITH_VALUE[name] % {"value": _value(value)})
    return action
