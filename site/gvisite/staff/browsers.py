"""Which browser on which system a staff session was started in, named for the session list.

Only the names are kept ("Firefox/Windows"), never the full User-Agent header or the address.
"""

from __future__ import annotations

from flask_babel import gettext as _

# Names looked for in the User-Agent, first match wins (Edge and Opera also say "Chrome").
_BROWSERS = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
]


def browser_of(user_agent: str) -> str:
    """Name the browser and system in a User-Agent ("Firefox/Windows"), for the session list."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    return f"{browser}/{system}" if browser or system else ""


def describe(browser: str) -> str:
    """Say which browser on which system a stored "Firefox/Windows" means."""
    name, _slash, system = browser.partition("/")
    if name and system:
        return _("%(browser)s on %(system)s", browser=name, system=system)
    return name or system or _("Unknown browser")
