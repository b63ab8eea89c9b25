"""Staff read words, not codes: on the case page, in its history, in the audit log and mail.

And what they could not record before: an answer given by phone or by letter.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlalchemy import select

from gvisite.extensions import db
from gvisite.models import Case, OutboxMessage, utcnow
from gvisite.staff.audit import audit
from gvisite.staff.reports import statistics, today
from tests.feedback.test_followup import add
from tests.fixtures_forms import send_case
from tests.fixtures_staff import StaffSite, case_events, load_case, post_action
from tests.helpers import parse, translate

ROLE_CHANGE = "handläggare → administratör"


def words(site: StaffSite, message: str, **values: object) -> str:
    """Translate staff-area text into Swedish, as the catalog has it."""
    return translate(site.app, "sv", message, **values)


def facts(client: FlaskClient, reference: str) -> dict[str, BeautifulSoup]:
    """Return the case page's `<dt>` texts with their `<dd>` elements."""
    soup = parse(client.get(f"/staff/cases/{reference}").data)
    return {
        term.get_text(strip=True): term.find_next_sibling("dd") for term in soup.select("main dt")
    }


def text(tag: BeautifulSoup) -> str:
    """Return a tag's text, white space collapsed."""
    return " ".join(tag.get_text(" ").split())


def staff_mail_body(site: StaffSite, reference: str) -> str:
    """Return the body of the mail staff got about a new case."""
    with site.app.app_context():
        return db.session.scalars(
            select(OutboxMessage.body)
            .join(Case)
            .where(OutboxMessage.purpose == "staff", Case.reference == reference)
        ).one()


# --- The case page and the staff mail say the same words --------------------------------------


def test_delivery_and_language_are_words_on_the_page_and_in_the_mail(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    reference = send_case(
        staff_site.client(), "ar", "format", delivery="phone", phone="070-123 45 67", email=""
    )
    shown = facts(handler_client, reference)
    phone_word = words(staff_site, "Phone")
    assert text(shown[words(staff_site, "Delivery")]) == phone_word  # not `phone`
    language = shown[words(staff_site, "Language")]
    assert text(language) == "arabiska ( العربية )"
    native = language.select_one("span[lang=ar]")
    assert native is not None and native["dir"] == "rtl"  # the name in its own script
    body = staff_mail_body(staff_site, reference)
    assert f"{words(staff_site, 'Delivery')}: {phone_word}\n" in body
    assert "Språk: arabiska (العربية)\n" in body


def test_a_phone_number_is_a_link_that_dials_it(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case("format", email=None, phone="070-123 45 67")
    link = facts(handler_client, case.reference)[words(staff_site, "Phone")].select_one("a")
    assert link is not None and link["href"] == "tel:+46701234567"
    assert link.get_text(strip=True) == "070-123 45 67"
    soup = parse(handler_client.get(f"/staff/cases/{case.reference}").data)
    reply = soup.select_one("section[aria-labelledby=reply-heading] a[href^='tel:']")
    assert reply is not None and reply["href"] == "tel:+46701234567"  # "Ring personen på …"


@pytest.mark.parametrize(
    ("typed", "dialled"),
    [("08-580 285 00", "+46858028500"), ("+46 70 123 45 67", "+46701234567"),
     ("0046 (0)70 123", "+4670123")],
)  # fmt: skip
def test_numbers_are_dialled_in_international_form(
    staff_site: StaffSite, handler_client: FlaskClient, typed: str, dialled: str
) -> None:
    case = staff_site.case("format", email=None, phone=typed)
    link = facts(handler_client, case.reference)[words(staff_site, "Phone")].select_one("a")
    assert link["href"] == f"tel:{dialled}"


# --- An answer by phone or letter --------------------------------------------------------------


@pytest.mark.parametrize(("how", "said"), [("phone", "by phone"), ("letter", "by letter")])
def test_an_answer_by_phone_or_letter_counts_as_the_first_answer(
    staff_site: StaffSite, handler_client: FlaskClient, how: str, said: str
) -> None:
    case = staff_site.case(email=None, phone="070-123 45 67")
    url = f"/staff/cases/{case.reference}/answered"
    before = utcnow()
    response = post_action(handler_client, url, {"how": how, "summary": "Förklarade felet."})
    assert response.status_code == 303
    stored = load_case(staff_site.app, case.reference)
    assert stored.answered_by == how
    assert stored.first_reply_at is not None and stored.first_reply_at >= before
    assert case_events(staff_site.app, case.reference) == [(f"answered:{how}", "Förklarade felet.")]
    answered = text(facts(handler_client, case.reference)[words(staff_site, "Answered")])
    assert answered.endswith(words(staff_site, said))
    soup = parse(handler_client.get(f"/staff/cases/{case.reference}").data)
    history = text(soup.select("ol.history > li")[-1])
    recorded = words(staff_site, "recorded an answer %(value)s", value=words(staff_site, said))
    assert recorded in history
    # The statistics count it as answered, on time.
    with staff_site.app.app_context():
        day = today()
        period = statistics(day.replace(day=1), day, day)["period"]
    assert (period.answered, period.median_days, period.share_within_target) == (1, 0, 100)


def test_the_first_answer_stays_the_first(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case()
    base = f"/staff/cases/{case.reference}"
    assert post_action(handler_client, f"{base}/answered", {"how": "phone"}).status_code == 303
    first = load_case(staff_site.app, case.reference)
    assert post_action(handler_client, f"{base}/reply", {"reply": "Som sagt."}).status_code == 303
    later = load_case(staff_site.app, case.reference)
    assert (later.first_reply_at, later.answered_by) == (first.first_reply_at, "phone")


def test_a_reply_by_email_is_recorded_as_such(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case()
    post_action(handler_client, f"/staff/cases/{case.reference}/reply", {"reply": "Hej!"})
    assert load_case(staff_site.app, case.reference).answered_by == "email"
    answered = text(facts(handler_client, case.reference)[words(staff_site, "Answered")])
    assert answered.endswith(words(staff_site, "by email"))


@pytest.mark.parametrize("how", ["", "email", "brevduva"])
def test_an_answer_needs_phone_or_letter(
    staff_site: StaffSite, handler_client: FlaskClient, how: str
) -> None:
    case = staff_site.case()
    response = post_action(handler_client, f"/staff/cases/{case.reference}/answered", {"how": how})
    assert response.status_code == 400
    assert [a["href"] for a in parse(response.data).select(".error-summary a")] == ["#how-0"]
    assert load_case(staff_site.app, case.reference).first_reply_at is None


def test_an_erased_case_takes_no_answer(staff_site: StaffSite, handler_client: FlaskClient) -> None:
    case = staff_site.case(status="avslutad", closed_at=utcnow(), purged_at=utcnow())
    url = f"/staff/cases/{case.reference}/answered"
    response = post_action(handler_client, url, {"how": "phone", "summary": "Ringde."})
    assert response.status_code == 303
    assert load_case(staff_site.app, case.reference).first_reply_at is None


# --- The audit log and the history in words ----------------------------------------------------


def test_the_audit_log_names_every_action_in_words(
    staff_site: StaffSite, admin_client: FlaskClient
) -> None:
    case = staff_site.case()
    with staff_site.app.app_context():
        for action in ("resident:added", "status:avslutad", "mfa:totp", "role:handler-to-admin"):
            audit(action, case.reference)
        db.session.commit()
    soup = parse(admin_client.get("/staff/logg").data)
    shown = [text(row.select("td")[2]) for row in soup.select("main tbody tr")]
    expected = [
        words(staff_site, "added information on the status page"),
        words(staff_site, "changed the status to %(value)s", value=words(staff_site, "Closed")),
        words(staff_site, "showed the second step: %(value)s", value="engångskod"),
        words(staff_site, "changed an account's role: %(value)s", value=ROLE_CHANGE),
    ]
    for line in expected:
        assert line in shown, (line, shown)
    assert not {"resident:added", "status:avslutad", "mfa:totp"} & set(shown)
    who = {
        text(row.select("td")[2]): text(row.select("td")[1]) for row in soup.select("main tbody tr")
    }
    assert who[expected[0]] == words(staff_site, "The resident")  # not "System"


def test_an_action_no_one_named_yet_shows_its_code(
    staff_site: StaffSite, admin_client: FlaskClient
) -> None:
    with staff_site.app.app_context():
        audit("something-new:x")
        db.session.commit()
    soup = parse(admin_client.get("/staff/logg").data)
    assert "something-new:x" in soup.select_one("main tbody").get_text()


# --- Staff mail names the person neutrally -----------------------------------------------------


def test_staff_mail_about_an_addition_says_the_person_who_wrote(staff_site: StaffSite) -> None:
    case = staff_site.case(status="vantar")
    assert add(staff_site.client(), "sv", case, "Det gäller mörkt läge.").status_code == 303
    with staff_site.app.app_context():
        mail = db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.case_id == case.id, OutboxMessage.purpose == "staff"
            )
        ).one()
        said = f"{mail.subject}\n{mail.body}"
    # Not everyone who writes lives in Järfälla: "invånaren" and "den boende" say they do.
    assert "Personen som skrev har lagt till information" in said
    assert "invånare" not in said.lower() and "boende" not in said.lower()
