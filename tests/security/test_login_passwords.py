"""Passphrases made of the user's name or the site's own words are refused (#22 §4).

The review got "Bert Berg Bert Berg" (the user's own name twice), "jarfalla jarfalla" and
"Järfälla kommun 2026" accepted: zxcvbn judged them with their spaces and without the site's
words. Now a passphrase is judged as typed and with its spaces removed, against those words.
"""

from __future__ import annotations

import pytest

from gvisite.staff.passwords import password_problem
from tests.fixtures_staff import StaffSite, login
from tests.helpers import translate
from tests.staff.test_auth import account, invoke

EMAIL, NAME = "bert.berg@jarfalla.se", "Bert Berg"
TOO_EASY = (
    "This password is too easy to guess. Avoid repetitions, sequences and your own name; "
    "several words with spaces between them make a good password."
)
WEAK = {
    "own name twice": "Bert Berg Bert Berg",
    "the place twice": "jarfalla jarfalla",
    "the municipality and a year": "Järfälla kommun 2026",
    "the site's name in Finnish and a year": "GVI Järfällässä 2026",
}
GOOD = ["rätt häst batteri häftklammer", "blå cykel under gammal ek", "Zq7#pL2m!vR9wX"]


@pytest.mark.parametrize("password", list(WEAK.values()), ids=list(WEAK))
def test_passphrases_of_the_users_name_or_the_sites_words_are_refused(
    staff_site: StaffSite, password: str
) -> None:
    with staff_site.app.test_request_context("/staff/"):
        problem = password_problem(password, EMAIL, NAME)
        assert problem is not None
        assert str(problem) == translate(staff_site.app, "sv", TOO_EASY)


@pytest.mark.parametrize("password", GOOD)
def test_a_good_passphrase_still_passes(staff_site: StaffSite, password: str) -> None:
    with staff_site.app.test_request_context("/staff/"):
        assert password_problem(password, EMAIL, NAME) is None


def test_staff_create_refuses_the_users_name_twice(staff_site: StaffSite) -> None:
    args = ("staff", "create", EMAIL, "--name", NAME, "--password-stdin")
    refused = invoke(staff_site, *args, stdin=WEAK["own name twice"] + "\n")
    assert refused.exit_code == 1
    assert translate(staff_site.app, "sv", TOO_EASY) in refused.output
    assert account(staff_site, EMAIL) is None
    assert invoke(staff_site, *args, stdin=GOOD[1] + "\n").exit_code == 0
    assert login(staff_site.client(), EMAIL, GOOD[1]).status_code == 303
