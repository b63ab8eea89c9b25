"""nginx in front of the app servers: a caching reverse proxy, written from the app's own facts.

Everything nginx needs to know about the site is read from the running app here, never copied:
the security headers (security.py), the locales (i18n.py), the areas that keep a session and must
never be cached (sessions.py), the format files' names and types (formats/), the static files'
headers (asked of the app itself), the largest request body (MAX_CONTENT_LENGTH) and the error
pages (rendered from the app's templates, one per locale). The configuration is the Jinja
template nginx.conf beside this module.
"""

from __future__ import annotations

import grp
import pwd
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, render_template, url_for
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, ServiceUnavailable

from ..assets import fingerprints
from ..errors import RETRY_AFTER_SECONDS, render_error
from ..formats.catalogue import ALL_FILES, FORMATS
from ..formats.source import source_names, source_url
from ..formats.views import download_name
from ..i18n import DEFAULT_LOCALE, LOCALES
from ..links import after_locale, folder_of, prefix_of, route_path
from ..prebuilt.copy import TYPES as COPY_TYPES
from ..prebuilt.copy import CopyReport, copy_link, write_copy
from ..prebuilt.kept import CACHE_CONTROL
from ..security import HEADERS, STRICT_TRANSPORT_SECURITY
from ..sessions import FORM_ENDPOINTS, STAFF_PATH

TEMPLATE = "nginx.conf"
ERROR_PAGES = (ServiceUnavailable, RequestEntityTooLarge)  # the statuses nginx answers itself
# The folders nginx writes to, inside the output folder.
WORK_FOLDERS = ("logs", "cache", "temp", "errors", "acme")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
# A POSIX account or group name (useradd's rule, as Debian allows it).
_ACCOUNT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")
# nginx reads `$` as a variable and `"`/`\` end or escape a quoted string: none is ever needed.
_UNQUOTABLE = re.compile(r'["\\$\x00-\x1f]')


@dataclass(frozen=True)
class Address:
    """A HOST:PORT that nginx listens on or connects to."""

    host: str
    port: int

    @classmethod
    def parse(cls, value: str) -> Address:
        """Parse `127.0.0.1:8000`, `[::1]:8000` or `*:443`."""
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not HOST:PORT")
        if not (host == "*" or _HOST_NAME.match(host) or re.fullmatch(r"\[[0-9A-Fa-f:.]+\]", host)):
            raise ValueError(f"{host!r} is not a host name or address")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class NginxSite:
    """What the operator tells `flask deploy nginx`."""

    out: Path
    server_name: str
    https: Address
    http: Address
    upstreams: tuple[Address, ...]
    cert: Path
    key: Path
    user: str | None = None
    group: str | None = None

    @property
    def public_url(self) -> str:
        """Return the site's address over HTTPS, with the port unless it is 443."""
        port = "" if self.https.port == 443 else f":{self.https.port}"
        return f"https://{self.server_name}{port}"


def quoted(value: object) -> str:
    """Return a value as an nginx double-quoted string; refuse what it cannot hold."""
    text = str(value)
    if _UNQUOTABLE.search(text):
        raise ValueError(f"cannot be written into nginx.conf: {text!r}")
    return f'"{text}"'


def header_variable(name: str) -> str:
    """Return the nginx variable that holds our value of a header (see `security_headers`)."""
    return "$gvisite_" + name.lower().replace("-", "_")


def security_headers() -> list[dict[str, str]]:
    """Return the app's security headers, with the variables nginx reads the app's copy from."""
    headers = {**HEADERS, "Strict-Transport-Security": STRICT_TRANSPORT_SECURITY}
    # The app's own value wins where it sent one (a view may choose its own, and every cached
    # page keeps what the app said); nginx adds ours only to what lacks it, so nothing doubles.
    return [
        {
            "name": name,
            "value": value,
            "variable": header_variable(name),
            "upstream": "$upstream_http_" + name.lower().replace("-", "_"),
        }
        for name, value in headers.items()
    ]


def format_locations() -> list[dict[str, Any]]:
    """Return one served-by-nginx location per format: its suffix, type and disposition."""
    return [
        {
            "key": fmt.key,
            "suffix": re.escape(fmt.suffix),
            "file_suffix": fmt.suffix,
            "content_type": fmt.content_type,
            "disposition": "attachment" if fmt.attachment else "inline",
            "download_suffix": fmt.download_suffix,
            "cache_control": CACHE_CONTROL,  # as the app sends them (formats/views.py)
        }
        for fmt in ALL_FILES.values()
    ]


def format_names(app: Flask) -> list[dict[str, str]]:
    """Return every page's format name with its download stem and canonical address."""
    any_format = next(iter(FORMATS.values()))
    base = app.config["SITE_URL"].rstrip("/")
    found = []
    with app.test_request_context("/"):
        for locale, name in source_names(app):
            stem = download_name(locale, name, any_format).removesuffix(any_format.download_suffix)
            found.append(
                {
                    "key": f"{locale}/{name}",
                    "stem": stem,
                    "canonical": base + (source_url(locale, name) or ""),
                }
            )
    return found


def static_files(app: Flask) -> dict[str, Any]:
    """Ask the app how it serves each static file, so nginx answers with the same headers."""
    folder = Path(app.static_folder or "static")
    hashes = fingerprints(folder)
    client = app.test_client()
    types: dict[str, set[str]] = {}
    files, plain_cache = [], set()
    for name, digest in sorted(hashes.items()):
        with app.test_request_context("/"):
            path = url_for("static", filename=name, v=None)
        fingerprinted = client.get(f"{path}?v={digest}")
        plain = client.get(path)
        for response in (fingerprinted, plain):
            response.close()
            if response.status_code != 200:
                raise ValueError(f"the app does not serve {path} ({response.status_code})")
        suffix = Path(name).suffix.lstrip(".")
        types.setdefault(fingerprinted.headers["Content-Type"], set()).add(suffix)
        plain_cache.add(plain.headers.get("Cache-Control", ""))
        files.append(
            {
                "uri": path,
                "versioned": f"{path}?{digest}",
                "cache_control": fingerprinted.headers.get("Cache-Control", ""),
                "disposition": fingerprinted.headers.get("Content-Disposition", ""),
            }
        )
    if len(plain_cache) > 1 or any(len(s) != 1 for s in _suffix_types(types).values()):
        raise ValueError("the app serves its static files with differing headers per type")
    return {
        "folder": folder.resolve(),
        "files": files,
        "types": {kind: sorted(suffixes) for kind, suffixes in sorted(types.items())},
        "cache_control": plain_cache.pop() if plain_cache else "no-cache",
    }


def _suffix_types(types: dict[str, set[str]]) -> dict[str, set[str]]:
    """Invert {type: suffixes} to {suffix: types}, to find a suffix served two ways."""
    found: dict[str, set[str]] = {}
    for kind, suffixes in types.items():
        for suffix in suffixes:
            found.setdefault(suffix, set()).add(kind)
    return found


def error_pages(app: Flask, folder: Path) -> list[str]:
    """Render the pages nginx shows itself (503, 413) from the app's templates, per locale."""
    written = []
    for error in ERROR_PAGES:
        for locale in LOCALES:
            with app.app_context():
                nowhere = route_path("pages.page", locale=locale, path="-")
            # A path that is no page: no canonical link, no current item in the menu. A fresh
            # app context each time: Flask-Babel keeps the locale it found on the app context.
            with app.app_context(), app.test_request_context(nowhere):
                html, _ = render_error(error())
            path = folder / f"{_code(error)}.{locale}.html"
            path.write_text(html, encoding="utf-8")
            written.append(path.name)
    for locale in LOCALES:
        # A search while no app server answers: its own page, which leads to the pages.
        with app.app_context():
            search = route_path("search.results", locale=locale)
        with app.app_context(), app.test_request_context(search):
            html = render_template("errors/search_unavailable.html")
        path = folder / f"503.search.{locale}.html"
        path.write_text(html, encoding="utf-8")
        written.append(path.name)
    return written


def _code(error: type[HTTPException]) -> int:
    """Return an HTTP error's status code."""
    return int(error.code or 500)


@dataclass(frozen=True)
class Account:
    """The user and group nginx's workers run as."""

    user: str
    group: str


def worker_account(user: str | None, group: str | None) -> Account | None:
    """Return the workers' account: the group named, else the user's own primary group.

    nginx's default group is one named like the user, and Debian has no `nobody` group: `user
    nobody;` alone is a configuration nginx refuses to start with.
    """
    if user is None:
        if group is not None:
            raise ValueError("--group needs --user")
        return None
    for name in (user, group):
        if name is not None and not _ACCOUNT_NAME.match(name):
            raise ValueError(f"{name!r} is not a user or group name")
    if group is None:
        try:
            group = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
        except KeyError:
            raise ValueError(
                f"no user {user!r} or no group of it on this machine: name its --group"
            ) from None
    return Account(user, group)


def context(app: Flask, site: NginxSite) -> dict[str, Any]:
    """Return everything the template needs."""
    config = app.config
    if not _HOST_NAME.match(site.server_name):
        raise ValueError(f"{site.server_name!r} is not a host name")
    if not site.upstreams:
        raise ValueError("name at least one --upstream")
    names = format_names(app)
    static = static_files(app)
    return {
        "site": site,
        "account": worker_account(site.user, site.group),
        "out": site.out,
        "locales": "|".join(re.escape(code) for code in LOCALES),
        "default_locale": DEFAULT_LOCALE,
        **route_paths(app),
        "staff_path": STAFF_PATH,
        "headers": security_headers(),
        "max_body": int(config["MAX_CONTENT_LENGTH"] or 0),  # 0: no limit, in both
        "cache_seconds": int(config["NGINX_CACHE_SECONDS"]),
        "retry_after": RETRY_AFTER_SECONDS,
        "formats_dir": Path(config["FORMATS_DIR"]).resolve(),
        "copy_dir": copy_link(app).absolute(),  # the link, not its target: a new copy replaces it
        "copy_types": COPY_TYPES,
        "copy_cache_control": CACHE_CONTROL,  # as the app sends a kept page
        "formats": format_locations(),
        "format_names": names,
        "static": static,
        # nginx builds one hash table per map; it must hold the longest key and every entry.
        "map_bucket_size": _power_of_two(max([64] + [len(n["key"]) + 32 for n in names])),
        "map_max_size": _power_of_two(max(2048, 2 * (len(names) + len(static["files"])))),
    }


def route_paths(app: Flask) -> dict[str, str]:
    """Return the paths nginx treats apart, read from the app's routes (escaped for regexes)."""
    with app.app_context():
        root, home = route_path("pages.root"), route_path("pages.home", locale=DEFAULT_LOCALE)
    return {
        "root": root,
        "default_home": home,
        # The forms and their receipts themselves, not their folder: the statement's open data
        # shares it (tillganglighet/statistik.csv) and is a public page like any other.
        "form_paths": "|".join(re.escape(after_locale(app, e)) for e in FORM_ENDPOINTS),
        # The residents' status pages, /<locale>/arende/<reference>: a secret in every address.
        "status_folder": re.escape(folder_of(app, "feedback.case_status")),
        "search_path": re.escape(after_locale(app, "search.results")),
        "formats_prefix": re.escape(prefix_of(app, "formats.download")),
        "static_prefix": prefix_of(app, "static"),
    }


def _power_of_two(at_least: int) -> int:
    """Return the smallest power of two not below a number (nginx's hash sizes)."""
    size = 1
    while size < at_least:
        size *= 2
    return size


def environment() -> Environment:
    """Return the Jinja environment for the template: plain text, every name required."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701  (nginx configuration, not HTML: values go through `q`)
    )
    env.filters["q"] = quoted
    env.filters["checked"] = lambda value: quoted(value)[1:-1]  # to quote with more
    return env


def write_nginx(app: Flask, site: NginxSite) -> tuple[Path, CopyReport]:
    """Write `nginx.conf`, the error pages, the working folders and the copy of every page."""
    values = context(app, site)
    copied = write_copy(app)  # before nginx can read the configuration that serves it
    text = environment().get_template(TEMPLATE).render(**values)
    site.out.mkdir(parents=True, exist_ok=True)
    for name in WORK_FOLDERS:
        (site.out / name).mkdir(exist_ok=True)
    error_pages(app, site.out / "errors")
    config = site.out / "nginx.conf"
    temporary = config.with_name(".nginx.conf.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(config)  # a reload never reads half a file
    return config, copied
