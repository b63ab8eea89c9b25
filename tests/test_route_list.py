"""The list of routes: adding or removing a URL is a decision, made by editing this list."""

from __future__ import annotations

from flask import Flask

# One line per method and rule, sorted. Change this list in the same commit as the route.
EXPECTED_ROUTES = sorted(
    [
        "GET /",
        "GET /favicon.ico",
        "GET /<locale:locale>/",
        "GET /<locale:locale>/<path:path>",
        "GET /<locale:locale>/arende/<reference>",
        "POST /<locale:locale>/arende/<reference>",
        "GET /<locale:locale>/arende/<reference>/aterkalla",
        "POST /<locale:locale>/arende/<reference>/aterkalla",
        "POST /<locale:locale>/arende/<reference>/visa",
        "GET /<locale:locale>/nyheter/feed.atom",
        "GET /<locale:locale>/tillganglighet",
        "GET /<locale:locale>/tillganglighet.json",
        "GET /<locale:locale>/kontakt",
        "GET /<locale:locale>/sok",
        "GET /<locale:locale>/tillganglighet/alternativt-format",
        "GET /<locale:locale>/tillganglighet/kvitto",
        "GET /<locale:locale>/tillganglighet/rapportera",
        "GET /<locale:locale>/tillganglighet/statistik.csv",
        "GET /<locale:locale>/tillganglighet/statistik.json",
        "GET /formats/<locale:locale>/<filename>",
        "GET /robots.txt",
        "GET /sitemap.xml",
        "GET /staff/",
        "GET /staff/cases/<reference>",
        "GET /staff/export.<fmt>",
        "GET /staff/logg",
        "GET /staff/sessioner",
        "GET /staff/losenord",
        "GET /staff/login/steg-2",
        "GET /staff/konto/sakerhet",
        "GET /staff/konto/sakerhet/ny",
        "GET /staff/konto/sakerhet/reservkoder",
        "GET /staff/login",
        "GET /staff/sso/callback",
        "POST /staff/sso/start",
        "GET /staff/statistik",
        "GET /static/<path:filename>",
        "POST /<locale:locale>/tillganglighet/alternativt-format",
        "POST /<locale:locale>/tillganglighet/kvitto",
        "POST /<locale:locale>/tillganglighet/rapportera",
        "POST /staff/cases/<reference>/answered",
        "POST /staff/cases/<reference>/assign",
        "POST /staff/cases/<reference>/messages/<int:message_id>/retry",
        "POST /staff/cases/<reference>/note",
        "POST /staff/cases/<reference>/problems/<int:problem_id>/resolve",
        "POST /staff/cases/<reference>/publish",
        "POST /staff/cases/<reference>/reply",
        "POST /staff/cases/<reference>/spam",
        "POST /staff/cases/<reference>/status",
        "POST /staff/login",
        "POST /staff/logout",
        "POST /staff/sessioner",
        "POST /staff/losenord",
        "POST /staff/login/reservkod",
        "POST /staff/login/steg-2",
        "POST /staff/konto/sakerhet/engangskod",
        "POST /staff/konto/sakerhet/engangskod/ta-bort",
        "POST /staff/konto/sakerhet/nycklar/<int:passkey_id>/ta-bort",
        "POST /staff/konto/sakerhet/reservkoder",
        "POST /staff/login/nyckel",
        "POST /staff/login/nyckel/start",
        "POST /staff/nycklar/registrering",
        "POST /staff/nycklar/registrering/start",
    ]
)


def test_routes_have_not_changed(site_app: Flask) -> None:
    routes = {
        f"{method} {rule.rule}"
        for rule in site_app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    added = sorted(routes - set(EXPECTED_ROUTES))
    removed = sorted(set(EXPECTED_ROUTES) - routes)
    assert (added, removed) == ([], []), "update EXPECTED_ROUTES if this change is intended"
