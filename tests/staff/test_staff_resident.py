"""What residents see of staff work: the private status page and confirmed problems."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gvisite.extensions import db
from gvisite.formats.refresh import Refresher
from gvisite.i18n import LOCALES
from gvisite.models import Case, PublishedProblem, utcnow
from gvisite.signals import public_pages_changed
from tests.fixtures_forms import (
    ALT_FORMAT_MAILBOX,
    REPORT_ANSWERS,
    STAFF_MAILBOX,
    copy_content,
    form_url,
    submit,
)
from tests.fixtures_servers import SmtpServer
from tests.fixtures_staff import (
    MadeCase,
    StaffSite,
    audit_rows,
    case_events,
    load_case,
    long_date_in,
    post_action,
    publish,
    today,
)
from tests.helpers import parse, translate

STATUS_LABELS = {
    "ny": "Received, not yet handled",
    "pagaende": "Being handled",
    "vantar": "Waiting for more information",
    "avslutad": "Closed",
}


def status_url(locale: str, case: MadeCase, secret: str | None = None) -> str:
    """Return a case's private status link, with its own secret or another."""
    return f"/{locale}/arende/{case.reference}?nyckel={case.secret if secret is None else secret}"


def definitions(soup: BeautifulSoup) -> dict[str, str]:
    """Return the page's `<dt>`/`<dd>` pairs as text."""
    return {
        dt_tag.get_text(strip=True): dt_tag.find_next_sibling("dd").get_text(" ", strip=True)
        for dt_tag in soup.select("main dt")
    }


# --- The status page ---------------------------------------------------------------------------

MIDSUMMER_DUE = dt.date(2026, 6, 25)


@pytest.mark.parametrize("locale", list(LOCALES))
@pytest.mark.parametrize("kind", ["report", "format"])
def test_status_page_in_the_residents_language(
    staff_site: StaffSite, locale: str, kind: str
) -> None:
    app = staff_site.app
    case = staff_site.case(
        kind,
        locale=locale,
        name="Åsa Öberg",
        email="asa.oberg@example.se",
        phone="070-123 45 67",
        created_at=dt.datetime(2026, 6, 17, 9, 30),
    )
    response = staff_site.client().get(status_url(locale, case))
    assert response.status_code == 200
    soup = parse(response.data)
    assert soup.html["lang"] == locale
    assert " ".join(soup.h1.get_text().split()) == translate(
        app, locale, "Your case %(reference)s", reference=case.reference
    )
    what = (
        "Report of an accessibility problem"
        if kind == "report"
        else ("Request for content in an alternative format")
    )
    assert definitions(soup) == {
        translate(app, locale, "What"): translate(app, locale, what),
        translate(app, locale, "Received"): long_date_in(app, locale, dt.date(2026, 6, 17)),
        translate(app, locale, "Status"): translate(app, locale, STATUS_LABELS["ny"]),
        # Five working days over midsommarafton.
        translate(app, locale, "We will answer by"): long_date_in(
            app, locale, dt.date(2026, 6, 25)
        ),
    }
    assert soup.select_one("meta[name=robots]")["content"].startswith("noindex")
    text = soup.get_text()
    for private in [
        "Åsa Öberg",
        "asa.oberg@example.se",
        "070-123 45 67",
        "Knappen går inte att nå.",
        "NVDA",
        "Firefox",
        "Gärna 20 punkter.",
        "/sv/om-gvi",
    ]:
        assert private not in text, private


@pytest.mark.parametrize("status", ["pagaende", "vantar", "avslutad"])
def test_status_page_follows_the_handling(
    staff_site: StaffSite, handler_client: FlaskClient, status: str
) -> None:
    case = staff_site.case(locale="fi")
    post_action(
        handler_client,
        f"/staff/cases/{case.reference}/status",
        {"status": status, "reason": "Valmis." if status == "avslutad" else ""},
    )
    soup = parse(staff_site.client().get(status_url("fi", case)).data)
    app = staff_site.app
    shown = definitions(soup)
    assert shown[translate(app, "fi", "Status")] == translate(app, "fi", STATUS_LABELS[status])
    if status == "avslutad":
        assert shown[translate(app, "fi", "Closed")] == long_date_in(app, "fi", today())
        assert translate(app, "fi", "We will answer by") not in shown
    else:
        assert translate(app, "fi", "We will answer by") in shown


def not_found_body(response_body: str, reference: str) -> str:
    """Return a 404 page with the reference asked for blanked out."""
    return response_body.replace(reference, "REFERENCE")


def test_wrong_secret_looks_like_an_unknown_reference(staff_site: StaffSite) -> None:
    case = staff_site.case()
    other = staff_site.case()
    spam = staff_site.case(spam=True)
    client = staff_site.client()
    unknown = "TG-2026-ZZZZZZ"
    attempts = {
        "unknown reference": (f"/sv/arende/{unknown}?nyckel={case.secret}", unknown),
        "wrong secret": (status_url("sv", case, "fel" + case.secret[3:]), case.reference),
        "another case's secret": (status_url("sv", case, other.secret), case.reference),
        "empty secret": (status_url("sv", case, ""), case.reference),
        "no secret": (f"/sv/arende/{case.reference}", case.reference),
        "the hash as secret": (
            status_url("sv", case, hashlib.sha256(case.secret.encode()).hexdigest()),
            case.reference,
        ),
        "spam": (status_url("sv", spam), spam.reference),
        "overlong reference": (f"/sv/arende/{'T' * 300}?nyckel=x", "T" * 300),
    }
    bodies = {}
    for name, (url, reference) in attempts.items():
        response = client.get(url)
        assert response.status_code == 404, name
        bodies[name] = not_found_body(response.get_data(as_text=True), reference)
    assert len(set(bodies.values())) == 1, list(bodies)
    assert client.get(status_url("sv", case)).status_code == 200


def test_only_a_hash_of_the_secret_is_stored(staff_site: StaffSite) -> None:
    resident = staff_site.client()
    response = submit(resident, form_url("en", "report"), REPORT_ANSWERS)
    receipt = parse(resident.get(response.headers["Location"]).data)
    link = receipt.select_one("main a[href*='/arende/']")
    assert link is not None
    url = link["href"].removeprefix("http://localhost")
    assert url.startswith("/en/arende/")
    secret = url.split("nyckel=", 1)[1]
    assert resident.get(url).status_code == 200
    with staff_site.app.app_context():
        case = db.session.scalar(select(Case))
        assert case.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        columns = [getattr(case, c.key) for c in Case.__table__.columns]
        assert not any(secret in str(value) for value in columns)


# --- The status page and the mail follow the case -----------------------------------------------

REASON = "Knappen går nu att nå med tangentbordet.\nTack för att du hörde av dig!"


def facts(client: FlaskClient, locale: str, case: MadeCase) -> dict[str, str]:
    """Open a case's status page and return its `<dt>`/`<dd>` pairs, white space collapsed."""
    response = client.get(status_url(locale, case))
    assert response.status_code == 200
    return {
        " ".join(term.get_text().split()): " ".join(term.find_next_sibling("dd").get_text().split())
        for term in parse(response.data).select("main dt")
    }


@pytest.mark.parametrize("locale", ["sv", "ar"])
def test_the_status_page_says_what_staff_did(
    staff_site: StaffSite, handler_client: FlaskClient, locale: str
) -> None:
    """Received, answered (when and how), waiting for you, closed with the reason."""
    app, resident = staff_site.app, staff_site.client()
    case = staff_site.case(locale=locale, email="resident@example.se")

    def words(message: str, **variables: object) -> str:
        return translate(app, locale, message, **variables)

    received = facts(resident, locale, case)
    assert received[words("Status")] == words("Received, not yet handled")
    assert words("We will answer by") in received

    action = f"/staff/cases/{case.reference}"
    post_action(handler_client, f"{action}/reply", {"reply": "Vi tittar på knappen."})
    answered = facts(resident, locale, case)
    assert answered[words("Status")] == words("Answered")
    on = long_date_in(app, locale, today())
    assert answered[words("Answered")] == words("%(date)s, by email", date=on)
    assert words("We will answer by") not in answered  # the promise was kept

    post_action(handler_client, f"{action}/status", {"status": "vantar", "reason": ""})
    page = parse(resident.get(status_url(locale, case)).data)
    assert definitions(page)[words("Status")] == words("Waiting for more information")
    notice = page.select_one("main .notice")
    assert notice is not None and notice.select_one("a[href^='tel:']") is not None
    assert page.select_one("main textarea#information") is not None  # where to give it

    post_action(handler_client, f"{action}/status", {"status": "avslutad", "reason": REASON})
    closed = facts(resident, locale, case)
    assert closed[words("Status")] == words("Closed")
    assert closed[words("Closed")] == on
    assert closed[words("Why we closed it")] == " ".join(REASON.split())
    assert closed[words("Answered")] == words("%(date)s, by email", date=on)


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("email", "%(date)s, by email"),
        ("phone", "%(date)s, by phone"),
        ("letter", "%(date)s, in a letter"),
    ],
)
def test_the_status_page_says_how_the_first_answer_came(
    staff_site: StaffSite, how: str, words: str
) -> None:
    """An answer by phone or letter, recorded on the case, shows as one (staff record it)."""
    app = staff_site.app
    first = dt.datetime(2026, 6, 18, 10, 0)
    case = staff_site.case(
        "format", locale="fi", phone="070-123 45 67", first_reply_at=first, answered_by=how
    )
    shown = facts(staff_site.client(), "fi", case)
    assert shown[translate(app, "fi", "Status")] == translate(app, "fi", "Answered")
    on = long_date_in(app, "fi", dt.date(2026, 6, 18))
    assert shown[translate(app, "fi", "Answered")] == translate(app, "fi", words, date=on)


def test_an_anonymous_report_is_promised_no_answer(staff_site: StaffSite) -> None:
    """The receipt said we cannot answer: the status page does not promise a date."""
    app = staff_site.app
    case = staff_site.case(name=None, email=None)
    response = staff_site.client().get(status_url("sv", case))
    shown = definitions(parse(response.data))
    assert translate(app, "sv", "We will answer by") not in shown
    assert shown[translate(app, "sv", "Status")] == translate(
        app, "sv", "Received, not yet handled"
    )
    cannot = "You did not leave any contact details, so we cannot reply to you."
    assert translate(app, "sv", cannot + " We will still look at what you reported.") in (
        " ".join(parse(response.data).select_one("main").get_text(" ").split())
    )


def link_in(body: str) -> str:
    """Return the one status link in a mail's text, as a path on the site."""
    [line] = [line for line in body.splitlines() if "/arende/" in line]
    return "/" + line.strip().split("/", 3)[3]


@pytest.mark.parametrize(
    ("kind", "mailbox"), [("report", STAFF_MAILBOX), ("format", ALT_FORMAT_MAILBOX)]
)
def test_closing_mails_the_resident_the_reason_and_the_link(
    staff_site: StaffSite,
    handler_client: FlaskClient,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    mailbox: str,
) -> None:
    app = staff_site.app
    for key, value in smtp_server.config().items():
        monkeypatch.setitem(app.config, key, value)
    case = staff_site.case(kind, locale="fi", email="resident@example.se")
    url = f"/staff/cases/{case.reference}/status"
    assert (
        post_action(handler_client, url, {"status": "avslutad", "reason": REASON}).status_code
        == 303
    )
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    [mail] = smtp_server.to("resident@example.se")
    assert mail.message["Subject"] == translate(
        app, "fi", "Your case %(reference)s is closed", reference=case.reference
    )
    # A reply by mail reaches the people who handle the case, the reference in its subject.
    assert mail.message["Reply-To"] == mailbox
    assert REASON in mail.body
    assert (
        translate(app, "fi", "We have closed your case %(reference)s.", reference=case.reference)
        in mail.body
    )
    link = link_in(mail.body)
    assert link == status_url("fi", case)
    page = parse(staff_site.client().get(link).data)
    assert definitions(page)[translate(app, "fi", "Status")] == translate(app, "fi", "Closed")
    # Setting "closed" on a closed case again mails nothing more.
    post_action(handler_client, url, {"status": "avslutad", "reason": "Samma sak."})
    assert [m.purpose for m in load_case(app, case.reference).messages] == ["closed"]
    staff_page = parse(handler_client.get(f"/staff/cases/{case.reference}").data)
    purposes = [row.find("td").get_text(strip=True) for row in staff_page.select("table tbody tr")]
    assert purposes == [translate(app, "sv", "Closing notice")]


@pytest.mark.parametrize(
    "fields",
    [{"email": None, "name": None}, {"email": None, "phone": "070-123 45 67"}, {"spam": True}],
    ids=["anonymous", "by phone", "spam"],
)
def test_closing_mails_no_one_without_an_address_or_as_spam(
    staff_site: StaffSite, handler_client: FlaskClient, fields: dict[str, object]
) -> None:
    case = staff_site.case(**fields)
    url = f"/staff/cases/{case.reference}/status"
    assert (
        post_action(handler_client, url, {"status": "avslutad", "reason": REASON}).status_code
        == 303
    )
    assert load_case(staff_site.app, case.reference).messages == []


def test_the_reply_mail_carries_the_status_link(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    app = staff_site.app
    case = staff_site.case(locale="en", email="resident@example.se")
    post_action(handler_client, f"/staff/cases/{case.reference}/reply", {"reply": "Fixed."})
    [message] = load_case(app, case.reference).messages
    link = link_in(message.body)
    assert link == status_url("en", case)
    assert staff_site.client().get(link).status_code == 200


def test_a_case_whose_link_cannot_be_made_again_gets_mail_without_one(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    """Stored before links were derived (or under another SECRET_KEY): no wrong link is mailed."""
    app = staff_site.app
    case = staff_site.case(email="resident@example.se")
    with app.app_context():
        db.session.get(Case, case.id).secret_hash = hashlib.sha256(b"an older secret").hexdigest()
        db.session.commit()
    post_action(handler_client, f"/staff/cases/{case.reference}/reply", {"reply": "Klart."})
    post_action(
        handler_client,
        f"/staff/cases/{case.reference}/status",
        {"status": "avslutad", "reason": "Klart."},
    )
    messages = load_case(app, case.reference).messages
    assert [m.purpose for m in messages] == ["reply", "closed"]
    assert all("/arende/" not in m.body and "Klart." in m.body for m in messages)


# --- Confirmed problems on the statement -------------------------------------------------------

EARLIER = dt.date(2026, 1, 15)
SV_TEXT = "Sökrutan saknar en synlig etikett."
EN_TEXT = "The search box has no visible label."


@pytest.fixture
def statement_site(make_staff_app: Callable[..., StaffSite], tmp_path: Path) -> StaffSite:
    """A staff site whose statement data was last updated on an earlier day than today."""
    content = copy_content(tmp_path, lambda data: data.update(updated_on=EARLIER))
    return make_staff_app(CONTENT_DIR=str(content))


def statement(client: FlaskClient, locale: str) -> BeautifulSoup:
    """GET the statement in a locale and parse it."""
    response = client.get(f"/{locale}/tillganglighet")
    assert response.status_code == 200
    return parse(response.data)


def problem_item(soup: BeautifulSoup, text: str) -> Tag | None:
    """Return the known-problems list item that holds a text."""
    for item in soup.select("main li"):
        if text in item.get_text():
            return item
    return None


def last_updated(soup: BeautifulSoup) -> str:
    """Return the statement's "last updated" sentence."""
    return " ".join(soup.select_one("main strong").get_text().split())


def updated_sentence(app: Flask, locale: str, day: dt.date) -> str:
    """Return the "last updated" sentence as the catalog writes it for a day."""
    return translate(
        app,
        locale,
        "The statement was last updated on %(date)s.",
        date=long_date_in(app, locale, day),
    )


def test_a_confirmed_problem_reaches_the_statement_and_leaves_it(
    statement_site: StaffSite,
) -> None:
    app = statement_site.app
    case = statement_site.case()
    public = statement_site.client()
    for locale in LOCALES:
        soup = statement(public, locale)
        assert last_updated(soup) == updated_sentence(app, locale, EARLIER)
        assert problem_item(soup, SV_TEXT) is None

    handler = statement_site.client("handler")
    form = {"what_sv": SV_TEXT, "what_en": EN_TEXT, "criteria": "1.3.1,  2.4.6"}
    response = publish(handler, case.reference, form)
    assert response.status_code == 303
    for locale in LOCALES:
        soup = statement(public, locale)
        assert last_updated(soup) == updated_sentence(app, locale, today()), locale
        text = EN_TEXT if locale == "en" else SV_TEXT
        item = problem_item(soup, text)
        assert item is not None, locale
        assert "1.3.1, 2.4.6" in item.get_text()
        marked = item.find(lang="sv")
        if locale in {"fi", "ar"}:
            # No translation: the Swedish text, marked as Swedish for screen readers.
            assert marked is not None and marked.get_text(strip=True) == SV_TEXT, locale
        else:
            assert marked is None, locale
        if locale == "en":
            assert SV_TEXT not in soup.get_text()
    assert case_events(app, case.reference) == [("publish", SV_TEXT)]
    assert ("publish", case.reference, statement_site.ids["handler"]) in audit_rows(app)

    page = parse(handler.get(f"/staff/cases/{case.reference}").data)
    resolve = page.select_one("form[action*='/resolve']")
    assert resolve is not None
    assert post_action(handler, resolve["action"]).status_code == 303
    for locale in LOCALES:
        soup = statement(public, locale)
        assert problem_item(soup, SV_TEXT) is None and problem_item(soup, EN_TEXT) is None
        assert last_updated(soup) == updated_sentence(app, locale, today())
    assert [action for action, _ in case_events(app, case.reference)] == ["publish", "resolve"]
    with app.app_context():
        [problem] = db.session.scalars(select(PublishedProblem)).all()
        assert problem.resolved_at is not None and problem.resolved_at <= utcnow()


def test_publishing_and_resolving_wake_the_kept_pages_and_the_formats_through_one_signal(
    make_staff_app: Callable[..., StaffSite], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refresher that builds nothing here (a real build is tests/formats/test_formats_refresh),
    # but is subscribed as the real one is, and says when it is woken.
    woken: list[Flask] = []
    monkeypatch.setattr(Refresher, "ensure_running", lambda _self: None)
    monkeypatch.setattr(Refresher, "wake", lambda self, _app=None: woken.append(self.app))
    site = make_staff_app(FORMATS_REFRESH_SECONDS=3600)
    app, case, public = site.app, site.case(), site.client()
    # The first case changed a published figure (reports received: from 0 to "fewer than 5"),
    # which woke the refresher too; what follows counts the publishing alone.
    woken.clear()
    sent: list[Flask] = []

    def record(sender: Flask) -> None:
        sent.append(sender)

    public_pages_changed.connect(record, app)  # held weakly: let go of with the test
    kept = public.get("/sv/tillganglighet").headers["ETag"]
    assert public.get("/sv/tillganglighet").headers["ETag"] == kept  # answered from memory
    handler = site.client("handler")
    response = publish(handler, case.reference, {"what_sv": SV_TEXT, "criteria": "1.3.1"})
    assert response.status_code == 303
    assert sent == [app] and woken == [app]  # one signal, both listeners
    published = public.get("/sv/tillganglighet")
    assert published.headers["ETag"] != kept and problem_item(parse(published.data), SV_TEXT)
    resolve = parse(handler.get(f"/staff/cases/{case.reference}").data).select_one(
        "form[action*='/resolve']"
    )
    assert post_action(handler, resolve["action"]).status_code == 303
    assert sent == [app, app] and woken == [app, app]
    resolved = public.get("/sv/tillganglighet")
    assert resolved.headers["ETag"] != published.headers["ETag"]
    assert problem_item(parse(resolved.data), SV_TEXT) is None


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"what_sv": "", "criteria": "1.4.3"}, "#what_sv"),
        ({"what_sv": SV_TEXT, "criteria": ""}, "#criteria"),
        ({"what_sv": SV_TEXT, "criteria": "1.4"}, "#criteria"),
        ({"what_sv": SV_TEXT, "criteria": "WCAG 1.4.3"}, "#criteria"),
        ({"what_sv": SV_TEXT, "criteria": "1.4.3; 2.1.1"}, "#criteria"),
        # Numbers shaped like criteria that WCAG 2.2 does not have (4.1.1 was removed in 2.2).
        ({"what_sv": SV_TEXT, "criteria": "9.9.9"}, "#criteria"),
        ({"what_sv": SV_TEXT, "criteria": "1.4.3, 1.4.99"}, "#criteria"),
        ({"what_sv": SV_TEXT, "criteria": "4.1.1"}, "#criteria"),
        # Every description has the Swedish one's limit, and the criteria a list's.
        ({"what_sv": SV_TEXT, "what_ar": "ب" * 2001, "criteria": "1.4.3"}, "#what_ar"),
        ({"what_sv": SV_TEXT, "criteria": ", ".join(["1.4.3"] * 50)}, "#criteria"),
    ],
)
def test_publishing_needs_swedish_text_and_criteria(
    staff_site: StaffSite, handler_client: FlaskClient, form: dict[str, str], error: str
) -> None:
    case = staff_site.case()
    response = post_action(handler_client, f"/staff/cases/{case.reference}/publish", form)
    assert response.status_code == 400
    links = [a["href"] for a in parse(response.data).select(".error-summary a")]
    assert links == [error]
    with staff_site.app.app_context():
        assert db.session.scalars(select(PublishedProblem)).all() == []


def test_format_requests_cannot_be_published(
    staff_site: StaffSite, handler_client: FlaskClient
) -> None:
    case = staff_site.case("format")
    soup = parse(handler_client.get(f"/staff/cases/{case.reference}").data)
    assert soup.select_one("form[action$='/publish']") is None
    response = post_action(
        handler_client,
        f"/staff/cases/{case.reference}/publish",
        {"what_sv": SV_TEXT, "criteria": "1.4.3"},
    )
    assert response.status_code == 400
    with staff_site.app.app_context():
        assert db.session.scalars(select(PublishedProblem)).all() == []
