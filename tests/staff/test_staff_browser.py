"""The staff area in Chromium: axe-core on every page, and a case handled from start to end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from gvisite.extensions import db
from gvisite.models import PublishedProblem, StaffUser, utcnow
from tests.fixtures_forms import REFERENCE, form_url
from tests.fixtures_servers import SmtpServer
from tests.fixtures_staff import (
    ACCOUNTS,
    StaffLiveServer,
    StaffSite,
    add_message,
    browser_login,
    login,
    make_case,
    post_action,
)
from tests.helpers import (
    SCREENSHOTS,
    assert_no_axe_violations,
    desktop_tab,
    nu_errors,
    parse,
    translate,
    watched_context,
)

SUBMIT = "main form button[type=submit]"
SHOTS = SCREENSHOTS / "staff-errors"


@pytest.fixture(scope="module")
def tab(browser: Any, staff_live_server: StaffLiveServer) -> Iterator[Any]:
    """One desktop-sized tab on the staff live server."""
    # Console errors are not checked here: a refused action answers 400, which Chromium logs.
    with desktop_tab(browser, staff_live_server.url) as page:
        yield page


def goto(tab: Any, server: StaffLiveServer, path: str, status: int = 200) -> None:
    """Open a page on the live server and check its status."""
    response = tab.goto(server.url + path, wait_until="load")
    assert response is not None and response.status == status, path


def log_in(tab: Any, server: StaffLiveServer, who: str) -> None:
    """Log in through the form, in a fresh session."""
    tab.context.clear_cookies()
    browser_login(tab, server.url, server.app, ACCOUNTS[who][0])


def submit_form(tab: Any, action_suffix: str) -> None:
    """Press the button of the form whose action ends with `action_suffix`."""
    with tab.expect_navigation():
        tab.click(f"form[action$='{action_suffix}'] button[type=submit]")


@pytest.fixture(scope="module")
def sample_cases(staff_live_server: StaffLiveServer) -> dict[str, str]:
    """Cases that make every part of the staff pages appear: overdue, mail, problems, spam."""
    app = staff_live_server.app
    with app.app_context():
        handler = db.session.scalar(
            select(StaffUser.id).where(StaffUser.email == ACCOUNTS["handler"][0])
        )
    overdue = make_case(
        app,
        created_at=utcnow() - dt.timedelta(days=30),
        status="pagaende",
        assignee_id=handler,
        page="/sv/tillganglighet/alternativt-format?page=/sv/om-gvi/samarbetspartner",
        answers={
            "problem": "Knappen går inte att nå med tangentbordet.",
            "assistive_tech": "NVDA 2026.1 med punktdisplay",
            "browser": "Firefox 140 på Windows 11, bärbar dator",
        },
    )
    add_message(
        app,
        overdue.id,
        status="failed",
        attempts=7,
        last_error="ConnectionRefusedError",
        recipients=["tillganglighet.gvi@jarfalla.se", "sidansvarig.kommunikation@jarfalla.se"],
        subject="Nytt ärende: Rapport om bristande tillgänglighet",
    )
    add_message(app, overdue.id, status="sent", sent_at=utcnow(), attempts=1)
    with app.app_context():
        db.session.add(
            PublishedProblem(case_id=overdue.id, what={"sv": "Ett känt fel."}, criteria=["1.4.3"])
        )
        db.session.commit()
    request = make_case(
        app,
        "format",
        email=None,
        phone="070-123 45 67",
        answers={"format": "punktskrift", "delivery": "phone", "message": "Tack."},
    )
    make_case(app, spam=True)
    make_case(
        app,
        created_at=utcnow() - dt.timedelta(days=50),
        status="avslutad",
        closed_at=utcnow() - dt.timedelta(days=40),
        first_reply_at=utcnow() - dt.timedelta(days=48),
    )
    return {"report": overdue.reference, "format": request.reference, "secret": overdue.secret}


STAFF_PAGES = [
    # (name, who is logged in, path)
    ("inbox", "handler", "/staff/"),
    ("inbox filtered", "handler", "/staff/?kind=report&status=alla&overdue=1"),
    ("inbox empty", "handler", "/staff/?spam=1&kind=format"),
    ("inbox searched", "handler", "/staff/?q=TG-"),
    ("inbox search, nothing found", "handler", "/staff/?q=Nilsson"),
    ("case page (report)", "handler", "/staff/cases/REPORT"),
    ("case page (format request)", "handler", "/staff/cases/FORMAT"),
    ("statistics", "admin", "/staff/statistik"),
    ("statistics, a quarter", "handler", "/staff/statistik?period=2026-q4"),
    ("statistics, days typed wrong", "handler", "/staff/statistik?start=2026-10-01&end=2026-09"),
    ("audit log", "admin", "/staff/logg"),
    ("session list", "handler", "/staff/sessioner"),
    ("security", "handler", "/staff/konto/sakerhet"),
]
# The staff area's own error pages, as staff reach them: (name, who, path, status).
STAFF_ERROR_PAGES = [
    ("403 export", "handler", "/staff/export.csv", 403),
    ("404 case", "handler", "/staff/cases/NOPE-123", 404),
    ("404 anonymous", None, "/staff/sso/callback", 404),  # single sign-on is off here
]


@pytest.fixture(scope="module")
def narrow_tab(browser: Any, staff_live_server: StaffLiveServer) -> Iterator[Any]:
    """One 320 px wide tab (a small phone, or 400 % zoom) on the staff live server."""
    with watched_context(
        browser, staff_live_server.url, viewport={"width": 320, "height": 800}
    ) as (context, log):
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        assert not log.foreign, f"requests left the site: {log.foreign}"


# What a reader would see as broken, measured in the page: a word split over two lines, a
# date or time split, the page scrolling sideways, content sticking out of the main column
# outside a labelled and focusable scroll region, labels and values of one list out of line.
LAYOUT_PROBLEMS = r"""() => {
  const problems = [];
  const main = document.querySelector("main");
  const box = main.getBoundingClientRect();
  const hidden = (el) => {
    for (let at = el; at && at !== main; at = at.parentElement) {
      const rect = at.getBoundingClientRect();
      if (rect.width <= 1 || rect.height <= 1) return true;
    }
    return false;
  };
  const lines = (rects) =>
    new Set([...rects].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
  const range = document.createRange();
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    // A form field's text is the field's value, not laid out as the page's text.
    if (hidden(node.parentElement) || node.parentElement.closest("textarea")) continue;
    for (const match of node.data.matchAll(/[^\s\-?&\u00ad]+[\-?&\u00ad]?/g)) {
      // Split if its first letter sits on a line above its last. (Chromium gives the letter
      // after a soft-hyphen break a second box on the line before, hence the lowest box.)
      const tops = [match.index, match.index + match[0].length - 1].map((at) => {
        range.setStart(node, at);
        range.setEnd(node, at + 1);
        return [...range.getClientRects()].map((r) => Math.round(r.top));
      });
      if (Math.max(...tops[0]) < Math.min(...tops[1])) {
        problems.push(`word split: "${match[0]}" in <${node.parentElement.localName}>`);
      }
    }
  }
  for (const time of main.querySelectorAll("time")) {
    if (lines(time.getClientRects()) > 1) problems.push(`date split: ${time.textContent}`);
  }
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    problems.push(`the page scrolls sideways: ${root.scrollWidth} px`);
  }
  for (const region of main.querySelectorAll(".table-scroll")) {
    const label = document.getElementById(region.getAttribute("aria-labelledby") || "");
    const named = region.getAttribute("role") === "region" && label && label.textContent.trim();
    if (region.scrollWidth > region.clientWidth && !(named && region.tabIndex === 0)) {
      problems.push(`a table scrolls outside a labelled, focusable region: ${region.textContent}`);
    }
  }
  for (const el of main.querySelectorAll("*")) {
    if (el.closest(".table-scroll") || hidden(el)) continue;
    const rect = el.getBoundingClientRect();
    if (rect.right > box.right + 1 || rect.left < box.left - 1) {
      problems.push(`<${el.localName}> sticks out: ${el.textContent.trim().slice(0, 40)}`);
    }
  }
  for (const cell of main.querySelectorAll("th, td, dt, dd")) {
    if (!hidden(cell) && cell.scrollWidth > cell.clientWidth + 1) {
      problems.push(`text overflows its box: ${cell.textContent.trim()}`);
    }
  }
  for (const list of main.querySelectorAll("dl")) {
    const values = [...list.querySelectorAll("dd")];
    const starts = new Set(values.map((dd) => Math.round(dd.getBoundingClientRect().left)));
    if (starts.size > 1) problems.push(`the values of a list do not line up: ${[...starts]}`);
  }
  return problems;
}"""

WIDTHS = {"1280 px": "tab", "320 px": "narrow_tab"}


def open_staff_page(
    request: pytest.FixtureRequest,
    width: str,
    server: StaffLiveServer,
    sample_cases: dict[str, str],
    who: str,
    path: str,
) -> Any:
    """Log in as `who` in the tab of that width and open a staff page (REPORT/FORMAT filled in)."""
    page = request.getfixturevalue(WIDTHS[width])
    log_in(page, server, who)
    path = path.replace("REPORT", sample_cases["report"]).replace("FORMAT", sample_cases["format"])
    goto(page, server, path)
    return page


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("name", "who", "path"), STAFF_PAGES, ids=[p[0] for p in STAFF_PAGES])
def test_staff_pages_read_without_split_words(
    request: pytest.FixtureRequest,
    staff_live_server: StaffLiveServer,
    sample_cases: dict[str, str],
    width: str,
    name: str,
    who: str,
    path: str,
) -> None:
    page = open_staff_page(request, width, staff_live_server, sample_cases, who, path)
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert not problems, f"{name} at {width}:\n" + "\n".join(problems)


def test_inbox_rows_at_320_px_are_blocks_that_keep_their_table_semantics(
    narrow_tab: Any, staff_live_server: StaffLiveServer, sample_cases: dict[str, str]
) -> None:
    log_in(narrow_tab, staff_live_server, "handler")
    table = narrow_tab.locator("table.cases")
    # One block per case: the table fits the screen without a scroll bar.
    assert narrow_tab.evaluate(
        "() => { const region = document.querySelector('main .table-scroll');"
        " return region.scrollWidth <= region.clientWidth; }"
    )
    # A screen reader still meets a table with rows, headers and cells.
    tree = table.aria_snapshot()
    assert "- table" in tree and "- row" in tree, tree
    assert "- columnheader" in tree and "- rowheader" in tree and "- cell" in tree, tree


def test_login_pages_have_no_axe_violations(tab: Any, staff_live_server: StaffLiveServer) -> None:
    tab.context.clear_cookies()
    goto(tab, staff_live_server, "/staff/login")
    assert_no_axe_violations(tab)
    tab.fill("#email", "ingen.alls@jarfalla.se")
    tab.fill("#password", "fel lösenord")
    with tab.expect_navigation():
        tab.click(SUBMIT)
    assert tab.locator("main [data-error-summary]").count() == 1
    assert_no_axe_violations(tab)
    tab.fill("#email", "")
    tab.fill("#password", "")
    with tab.expect_navigation():
        tab.click(SUBMIT)  # empty fields: errors on both
    assert tab.locator("main .error-summary a").count() == 2
    assert_no_axe_violations(tab)
    goto(tab, staff_live_server, "/staff/login?timeout=1")
    assert_no_axe_violations(tab)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("name", "who", "path"), STAFF_PAGES, ids=[p[0] for p in STAFF_PAGES])
def test_staff_pages_have_no_axe_violations(
    request: pytest.FixtureRequest,
    staff_live_server: StaffLiveServer,
    sample_cases: dict[str, str],
    width: str,
    name: str,
    who: str,
    path: str,
) -> None:
    page = open_staff_page(request, width, staff_live_server, sample_cases, who, path)
    assert_no_axe_violations(page)


def test_case_page_with_errors_has_no_axe_violations(
    tab: Any, staff_live_server: StaffLiveServer, sample_cases: dict[str, str]
) -> None:
    log_in(tab, staff_live_server, "handler")
    goto(tab, staff_live_server, f"/staff/cases/{sample_cases['report']}")
    tab.check("input[name=status][value=avslutad]")
    submit_form(tab, "/status")
    assert tab.locator("main .error-summary a[href='#reason']").count() == 1
    # The summary takes focus, so a screen reader hears it first.
    assert tab.evaluate("document.activeElement.classList.contains('error-summary')")
    assert_no_axe_violations(tab)


# A problem to publish, with a resident's address left in: the preview warns of it.
PREVIEW_FORM = {
    "what_sv": "Knappen Skicka saknar synlig fokusmarkering. Anmält av asa.oberg@example.se.",
    "what_ar": "زر الإرسال لا يظهر عليه التركيز.",
    "instead_sv": "Tryck på Enter i sista fältet för att skicka formuläret.",
    "fix_by": "2099-03-31",
    "criteria": "2.4.7, 2.4.11",
    "action": "preview",
}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_publish_preview_reads_well_and_takes_focus(
    request: pytest.FixtureRequest,
    staff_live_server: StaffLiveServer,
    sample_cases: dict[str, str],
    width: str,
) -> None:
    page = open_staff_page(request, width, staff_live_server, sample_cases, "handler", "/staff/")
    goto(page, staff_live_server, f"/staff/cases/{sample_cases['report']}")
    for name, value in PREVIEW_FORM.items():
        if name != "action":
            page.fill(f"#{name}", value)
    with page.expect_navigation():
        page.click("form[action$='/publish'] button[value=preview]")
    assert page.locator("#preview section").count() == 4
    assert page.evaluate("document.activeElement.id") == "preview"  # read from the preview on
    assert page.locator("#preview .warning a[href='#what_sv']").count() == 1
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert not problems, f"publish preview at {width}:\n" + "\n".join(problems)
    assert_no_axe_violations(page)


def test_status_page_has_no_axe_violations(
    tab: Any, staff_live_server: StaffLiveServer, sample_cases: dict[str, str]
) -> None:
    for locale in ("sv", "ar"):
        path = f"/{locale}/arende/{sample_cases['report']}?nyckel={sample_cases['secret']}"
        goto(tab, staff_live_server, path)
        assert_no_axe_violations(tab)


def test_staff_pages_are_valid_html(staff_site: StaffSite) -> None:
    report = staff_site.case(created_at=utcnow() - dt.timedelta(days=30))
    add_message(staff_site.app, report.id, status="failed", attempts=7)
    request = staff_site.case("format", email=None, phone="070-123 45 67")
    admin: FlaskClient = staff_site.client("admin")
    post_action(admin, f"/staff/cases/{report.reference}/note", {"note": "En anteckning."})
    documents = {
        "login": staff_site.client().get("/staff/login").get_data(as_text=True),
        "login with error": login(staff_site.client(), "x@jarfalla.se", "fel").get_data(
            as_text=True
        ),
        "login with missing answers": login(staff_site.client(), "", "").get_data(as_text=True),
        "login after timeout": staff_site.client()
        .get("/staff/login?timeout=1")
        .get_data(as_text=True),
    }
    for path in [
        "/staff/",
        "/staff/?spam=1",
        "/staff/?q=TG-",
        f"/staff/cases/{report.reference}",
        f"/staff/cases/{request.reference}",
        "/staff/statistik",
        "/staff/logg",
    ]:
        response = admin.get(path)
        assert response.status_code == 200, path
        documents[path] = response.get_data(as_text=True)
    closing = post_action(admin, f"/staff/cases/{report.reference}/status", {"status": "avslutad"})
    documents["case page with errors"] = closing.get_data(as_text=True)
    preview = post_action(admin, f"/staff/cases/{report.reference}/publish", PREVIEW_FORM)
    assert preview.status_code == 200
    documents["publish preview with a personal-data warning"] = preview.get_data(as_text=True)
    errors = nu_errors(documents)
    assert not errors, "\n".join(errors)


# --- From arrival to closing -------------------------------------------------------------------


def test_a_report_handled_from_arrival_to_closing(
    browser: Any, staff_live_server: StaffLiveServer, smtp_server: SmtpServer
) -> None:
    server, app = staff_live_server, staff_live_server.app
    resident_email = "e2e.resident@example.se"
    reply_text = "Tack för att du hörde av dig! Knappen går nu att nå med tangentbordet."

    # A resident reports a problem through the public form.
    with watched_context(browser, server.url) as (resident_context, _):
        resident = resident_context.new_page()
        resident.set_default_timeout(15_000)
        goto(resident, server, form_url("sv", "report", "/sv/om-gvi"))
        resident.fill("[name=problem]", "Språkmenyn går inte att nå med tangentbordet.")
        resident.fill("[name=name]", "Eva Exempel")
        resident.fill("[name=email]", resident_email)
        with resident.expect_navigation(url="**/tillganglighet/kvitto"):
            resident.click(SUBMIT)
        reference = resident.inner_text("main .reference").strip()
        assert REFERENCE.match(reference)
        status_link = resident.get_attribute("main a[href*='/arende/']", "href")
        assert status_link is not None

        # A handler logs in, finds it in the inbox and opens it.
        with watched_context(browser, server.url) as (staff_context, staff_log):
            handler = staff_context.new_page()
            handler.set_default_timeout(15_000)
            log_in(handler, server, "handler")
            assert_no_axe_violations(handler)
            with handler.expect_navigation(url=f"**/staff/cases/{reference}"):
                handler.click(f"table.cases a:text-is('{reference}')")
            assert_no_axe_violations(handler)

            # Assign it to themself.
            handler.select_option("#assignee", label=ACCOUNTS["handler"][1])
            submit_form(handler, "/assign")
            assert handler.inner_text("main [role=status]").strip() == translate(
                app, "sv", "The case was assigned."
            )

            # Reply to the resident.
            handler.fill("#reply", reply_text)
            submit_form(handler, "/reply")
            assert handler.inner_text("main [role=status]").strip() == translate(
                app, "sv", "The reply is on its way to the resident."
            )
            assert_no_axe_violations(handler)

            # Close it, with a reason.
            handler.check("input[name=status][value=avslutad]")
            handler.fill("#reason", "Felet är rättat.")
            submit_form(handler, "/status")
            soup = parse(handler.content())
            status = next(
                dt_tag.find_next_sibling("dd").get_text(strip=True)
                for dt_tag in soup.select("main dt")
                if dt_tag.get_text(strip=True) == translate(app, "sv", "Status")
            )
            assert status == translate(app, "sv", "Closed")
            assert_no_axe_violations(handler)
            assert not staff_log.foreign and not staff_log.console_errors

        # The outbox delivers the reply to a real SMTP server.
        result = app.test_cli_runner().invoke(args=["outbox", "send"])
        assert result.exit_code == 0, result.output
        replies = [
            mail
            for mail in smtp_server.to(resident_email)
            if mail.message["Subject"]
            == translate(app, "sv", "Answer about your case %(reference)s", reference=reference)
        ]
        assert len(replies) == 1, [m.message["Subject"] for m in smtp_server.received]
        assert replies[0].body.startswith(reply_text)

        # The resident's status page says the case is closed.
        goto(resident, server, status_link.removeprefix(server.url))
        soup = parse(resident.content())
        shown = {
            dt_tag.get_text(strip=True): dt_tag.find_next_sibling("dd").get_text(strip=True)
            for dt_tag in soup.select("main dt")
        }
        assert shown[translate(app, "sv", "Status")] == translate(app, "sv", "Closed")
        assert "Eva Exempel" not in soup.get_text()
        assert_no_axe_violations(resident)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    ("name", "who", "path", "status"), STAFF_ERROR_PAGES, ids=[p[0] for p in STAFF_ERROR_PAGES]
)
def test_staff_error_pages_read_well_and_have_no_axe_violations(
    request: pytest.FixtureRequest,
    staff_live_server: StaffLiveServer,
    width: str,
    name: str,
    who: str | None,
    path: str,
    status: int,
) -> None:
    page = request.getfixturevalue(WIDTHS[width])
    page.context.clear_cookies()
    if who is not None:
        log_in(page, staff_live_server, who)
    goto(page, staff_live_server, path, status)
    # The staff layout (its menu is checked in test_staff_access.py): not the residents' page.
    assert page.locator("[data-quick-exit-root]").count() == 0
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert not problems, f"{name} at {width}:\n" + "\n".join(problems)
    assert_no_axe_violations(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name.replace(' ', '-')}-{width[:-3]}.png"), full_page=True)
