"""The password policy, the one place a password is set, and the change-password form.

The policy follows NIST SP 800-63B: a minimum length, no composition rules, and a check
against common, repetitive and account-related passwords. Passphrases with spaces are welcome.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField
from wtforms.validators import ValidationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from ..forms import PostedForm, Required
from ..models import StaffUser
from ..pages.load import ContentError, load_facts
from . import auth

MIN_LENGTH = 12
# Argon2 takes any length; the cap keeps one request from hashing megabytes.
MAX_LENGTH = 256
COMMON_COUNT = 10_000
# zxcvbn's estimate: below 10^8 guesses (its score 3) a word, a sequence, a repetition or a
# keyboard pattern is found quickly; its estimate is slow on long input, hence the prefix.
MIN_SCORE = 3
ESTIMATE_PREFIX = 64
# A password is too easy if, once the site's and the account's words (of MIN_WORD letters or
# more) and the digits are taken out, fewer than MIN_REST letters are left.
MIN_WORD = 3
MIN_REST = 4
_SEPARATORS = re.compile(r"[\s._@+-]+")
_SPACES = re.compile(r"\s+")
# Words anyone guessing at this site's accounts tries first; the site facts add its own names.
SITE_WORDS = ("Järfälla", "kommun", "Järfälla kommun", "GVI", "Group Violence Intervention")


@cache
def common_passwords() -> frozenset[str]:
    """Return the most common passwords (zxcvbn's ranked list), in lower case."""
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"][:COMMON_COUNT])


def _squashed(text: str) -> str:
    """Lower-case a text and drop spaces and separators, to compare passwords loosely."""
    return _SEPARATORS.sub("", text.casefold())


def _folded(text: str) -> str:
    """Drop accents, as people do on a foreign keyboard: Järfälla becomes Jarfalla."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _site_names() -> list[str]:
    """Return the municipality and the site's name in every language, from the site facts."""
    if not has_app_context():
        return []
    try:
        facts = load_facts(Path(current_app.config["CONTENT_DIR"]))
    except ContentError:
        return []  # the content check reports it; the built-in words still apply
    names = facts.get("site_name")
    names = list(names.values()) if isinstance(names, dict) else [names]
    return [str(name) for name in [facts.get("municipality"), *names] if name]


def _guessable_words(email: str, name: str) -> list[str]:
    """Return what a guesser tries first: the site's words, the address, the name, their parts."""
    phrases = [*SITE_WORDS, *_site_names(), email, name, email.split("@")[0]]
    words = [*phrases, *(_squashed(p) for p in phrases)]
    words += [part for phrase in phrases for part in _SEPARATORS.split(phrase)]
    folded = {word.casefold() for word in words} | {_folded(word).casefold() for word in words}
    return sorted(word for word in folded if len(word) > 1)


def _only_guessable(squashed: str, words: list[str]) -> bool:
    """Tell whether a password is made of guessable words and digits alone ("GVI Järfälla 2026")."""
    rest = _folded(squashed)
    for word in sorted({_folded(_squashed(w)) for w in words}, key=len, reverse=True):
        if len(word) >= MIN_WORD:  # shorter ones ("in", "se") are inside too many real words
            rest = rest.replace(word, "")
    return len(re.sub(r"\d", "", rest)) < MIN_REST


def password_problem(password: str, email: str = "", name: str = "") -> LazyString | None:
    """Return why a new password is refused (a translatable message), or None if it is fine.

    The password is kept exactly as typed (inner and outer spaces too, since logging in does
    not trim), but the length is counted without outer spaces, so padding does not count.
    """
    trimmed = password.strip()
    if not trimmed:
        return _l("Enter a password that is not only spaces.")
    if len(trimmed) < MIN_LENGTH:
        return _l("Use a password of at least %(count)s characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("Use a password of %(count)s characters or fewer.", count=MAX_LENGTH)
    squashed = _squashed(trimmed)
    if squashed in {_squashed(email), _squashed(name)} or (
        email and squashed == _squashed(email.split("@")[0])
    ):
        return _l("Do not use your email address or your name as your password.")
    if trimmed.casefold() in common_passwords() or squashed in common_passwords():
        return _l("This is one of the most common passwords. Choose another.")
    # A passphrase is judged as typed and with its spaces removed: "jarfalla jarfalla" hides
    # its repetition from zxcvbn behind the space, "jarfallajarfalla" does not.
    words = _guessable_words(email, name)
    score = min(
        zxcvbn(text[:ESTIMATE_PREFIX], user_inputs=words)["score"]
        for text in {trimmed, _SPACES.sub("", trimmed)}
    )
    if score < MIN_SCORE or _only_guessable(squashed, words):
        return _l(
            "This password is too easy to guess. Avoid repetitions, sequences and your own "
            "name; several words with spaces between them make a good password."
        )
    return None


def set_password(user: StaffUser, password: str) -> None:
    """Store a new password's argon2 hash on the account (the caller commits)."""
    user.password_hash = auth.hasher.hash(password)


class ChangePasswordForm(PostedForm):
    """The current password, and the new one twice."""

    current = PasswordField(
        _l("Current password"), validators=[Required(_l("Enter your current password."))]
    )
    new = PasswordField(_l("New password"))
    again = PasswordField(_l("New password again"))

    def validate_new(self, field: Any) -> None:
        """Apply the policy to the new password, for the logged-in account."""
        if not field.data:
            raise ValidationError(_l("Enter a new password."))
        problem = password_problem(field.data, current_user.email, current_user.name)
        if problem is not None:
            raise ValidationError(problem)
        if field.data == self.current.data:
            raise ValidationError(_l("Choose a password other than your current one."))

    def validate_again(self, field: Any) -> None:
        """Require the new password typed the same way twice."""
        if not field.data:
            raise ValidationError(_l("Enter the new password again."))
        if field.data != self.new.data:
            raise ValidationError(_l("The two new passwords are not the same."))

    def clear(self) -> None:
        """Forget what was typed, so no password is ever sent back in the page."""
        for field in (self.current, self.new, self.again):
            field.data = ""
