"""Links from the routes: every address of the site is built from its rule, never written out.

Renaming a route changes its rule and nothing else. Templates call `url_for`; code that needs a
full address (a mail, the statement's data, a canonical link) calls `absolute_url`; code that
has no request to build in (the nginx configuration, the session's cookie paths) reads the
rules themselves from `app.url_map`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_request_context, url_for

# The public pages that are not Markdown but exist in every locale, in the sitemap's order: the
# language links lead to the same page in another language, and the sitemap lists each.
LOCALIZED_ENDPOINTS = (
    "statement.statement",
    "feedback.report",
    "feedback.alternative_format",
    "contact.contact",
)
# What the language menu keeps of a page's query, by endpoint: the page a form is about, the
# words searched. The search results are in no sitemap, so they are not localized endpoints.
KEPT_QUERY = {
    "feedback.report": "page",
    "feedback.alternative_format": "page",
    "search.results": "q",
}
LOCALE_PART = "/<locale:locale>/"  # how a localized rule begins (pages/__init__.py's converter)


@dataclass(frozen=True)
class PostedSwitch:
    """A language menu that posts, for a page its address alone cannot show: a case, a receipt.

    Each language is a small form: `endpoint` in that locale with `values` in its rule, and
    `fields` in the body, where a secret stays out of addresses, histories and Referers.
    """

    endpoint: str
    values: Mapping[str, str]  # the rule's variables besides the locale: the reference
    fields: Mapping[str, str]  # posted, never in an address: the status key, a receipt ticket


def route_path(endpoint: str, **values: Any) -> str:
    """Return the path of a route, as `url_for` writes it, with or without a request."""
    if has_request_context():
        return url_for(endpoint, **values)
    # Outside a request (a CLI command, the outbox worker) Flask builds URLs only with
    # SERVER_NAME set, which we leave unset: SITE_URL is the one public address, and
    # SERVER_NAME would also change how Flask reads every request's host. A made-up
    # request gives url_for its adapter; only the path is used, so its host does not matter.
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def absolute_url(endpoint: str, **values: Any) -> str:
    """Return a route's full address on SITE_URL, for mails, data and canonical links."""
    # Never `_external=True`: in a request it takes the Host header, which the sender chooses.
    return str(current_app.config["SITE_URL"]) + route_path(endpoint, **values)


def rule_of(app: Flask, endpoint: str) -> str:
    """Return the rule an endpoint answers at, as registered: `/<locale:locale>/kontakt`."""
    rules = list(app.url_map.iter_rules(endpoint))
    if len(rules) != 1:
        raise LookupError(f"{endpoint} has {len(rules)} rules, not one")
    return rules[0].rule


def after_locale(app: Flask, endpoint: str) -> str:
    """Return a localized rule after its locale: `tillganglighet/rapportera`."""
    rule = rule_of(app, endpoint)
    if not rule.startswith(LOCALE_PART):
        raise LookupError(f"{endpoint} is not under a locale: {rule}")
    return rule.removeprefix(LOCALE_PART)


def folder_of(app: Flask, endpoint: str) -> str:
    """Return the folder a localized route is in, between the locale and its last part."""
    return after_locale(app, endpoint).rpartition("/")[0]


def prefix_of(app: Flask, endpoint: str) -> str:
    """Return what a rule says before its first variable: `/formats/`, `/static/`."""
    return rule_of(app, endpoint).partition("<")[0]
