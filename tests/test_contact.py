"""The contact page: every way to reach a person, from content/site.yaml, in every language."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from gvisite.i18n import LOCALES
from tests.conftest import make_app
from tests.fixtures_forms import copy_content
from tests.helpers import build_without_tools, parse, sitemap_paths, translate


def main_text(client: FlaskClient, path: str) -> str:
    """GET a page and return its main text, white space collapsed."""
    response = client.get(path)
    assert response.status_code == 200, path
    return " ".join(parse(response.data).select_one("main").get_text(" ").split())


@pytest.mark.parametrize("locale", LOCALES)
def test_the_contact_page_gives_every_way_to_reach_a_person(
    site_app: Flask, site_client: FlaskClient, locale: str
) -> None:
    """Emergency and police numbers first, then who runs GVI, Servicecenter, mail, address."""
    page = parse(site_client.get(f"/{locale}/kontakt").data)
    text = " ".join(page.select_one("main").get_text(" ").split())
    facts = yaml.safe_load(Path("content/site.yaml").read_text(encoding="utf-8"))
    contact = facts["contact"]
    for shown in (contact["servicecenter"], contact["email"], contact["visiting_address"]):
        assert shown in text
    assert facts["servicecenter_hours"][locale] in text
    assert " ".join(facts["programme"][locale].split()) in text
    dialled = [a["href"] for a in page.select("main a[href^='tel:']")]
    assert dialled[:2] == ["tel:112", "tel:11414"]  # danger first, before anything else
    assert f"tel:{contact['servicecenter_tel']}" in dialled
    assert page.select_one(f"main a[href='mailto:{contact['email']}']") is not None
    assert page.h1.get_text(strip=True) == translate(site_app, locale, "Contact")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_footer_links_to_the_contact_page(site_client: FlaskClient, locale: str) -> None:
    """From any page, the footer leads to the contact page in the page's language."""
    for path in (f"/{locale}/", f"/{locale}/tillganglighet", f"/{locale}/finns-inte"):
        footer = parse(site_client.get(path).data).select_one("footer")
        assert footer.select_one(f"a[href='/{locale}/kontakt']") is not None, path


def test_editors_change_the_contact_facts_in_one_place(tmp_path: Path) -> None:
    """A new number or address in site.yaml is what the page shows, with no template change."""
    content = copy_content(tmp_path)
    facts_file = content / "site.yaml"
    facts = yaml.safe_load(facts_file.read_text(encoding="utf-8"))
    facts["contact"]["visiting_address"] = "Nya gatan 1, Jakobsberg"
    facts["servicecenter_hours"] = {"sv": "Vardagar kl. 9–15"}  # only Swedish: the fallback
    facts_file.write_text(yaml.safe_dump(facts, allow_unicode=True), encoding="utf-8")
    client = make_app(tmp_path / "instance", CONTENT_DIR=str(content)).test_client()
    assert "Nya gatan 1, Jakobsberg" in main_text(client, "/sv/kontakt")
    assert "Vardagar kl. 9–15" in main_text(client, "/en/kontakt")


def test_the_contact_page_is_in_the_sitemap_and_has_language_alternates(
    site_client: FlaskClient,
) -> None:
    """Each language version points to the others, like every public page."""
    assert "/sv/kontakt" in sitemap_paths(site_client.get("/sitemap.xml").data)
    page = parse(site_client.get("/fi/kontakt").data)
    links = {a.get("lang"): a["href"] for a in page.select("header .languages a")}
    assert links["sv"] == "/sv/kontakt"
    assert links["ar"] == "/ar/kontakt"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_contact_page_says_when_it_was_updated_and_who_answers_for_it(
    site_app: Flask, site_client: FlaskClient, locale: str
) -> None:
    """Its date from the data (never today's) and its owner, as on every page."""
    facts = yaml.safe_load(Path("content/site.yaml").read_text(encoding="utf-8"))
    page = parse(site_client.get(f"/{locale}/kontakt").data)
    found = page.select_one("main .page-facts")
    assert found is not None
    assert found.select_one("time")["datetime"] == facts["contact_updated"].isoformat()
    owner = facts["default_owner"]
    assert found.select_one("a[href^='mailto:']")["href"] == f"mailto:{owner['email']}"
    assert owner["name"] in found.get_text(" ")
    labels = [dt.get_text(strip=True) for dt in found.select("dt")]
    assert labels == [translate(site_app, locale, t) for t in ("Last updated", "Page owner")]


def test_the_contact_page_offers_its_other_formats(tmp_path: Path) -> None:
    """Like every page, it ends with "Other formats": its own built files, and the request form."""
    app = make_app(tmp_path / "instance", FORMATS_DIR=str(tmp_path / "formats"))
    build_without_tools(app, [("sv", "contact"), ("ar", "contact")])
    client = app.test_client()
    for locale in ("sv", "ar"):
        block = parse(client.get(f"/{locale}/kontakt").data).select_one("main .other-formats")
        assert block is not None, locale
        links = {a["href"] for a in block.select(".other-formats-list a")}
        assert f"/formats/{locale}/contact.storstil.html" in links
        request = block.select_one("a[href*='alternativt-format']")["href"]
        assert request.endswith(f"page=/{locale}/kontakt")
    large_print = client.get("/formats/sv/contact.storstil.html")
    assert large_print.status_code == 200
    text = " ".join(parse(large_print.data).get_text(" ").split())
    facts = yaml.safe_load(Path("content/site.yaml").read_text(encoding="utf-8"))
    assert facts["contact"]["servicecenter"] in text  # what the page says
    assert facts["contact_updated"].strftime("%Y") in text
