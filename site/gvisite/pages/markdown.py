"""The only place Markdown becomes HTML, and the only place HTML is sanitized."""

from __future__ import annotations

import bleach
import markdown
from markdown.extensions.toc import slugify_unicode

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "span", "strong",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
# Editors may mark a phrase in another language (`{: lang=en }`); ids come from the toc extension.
_COMMON = ["id", "lang", "dir"]
ALLOWED_ATTRIBUTES = {
    "*": _COMMON,
    "a": [*_COMMON, "href", "hreflang", "title"],
    "abbr": [*_COMMON, "title"],
    "img": [*_COMMON, "src", "alt", "width", "height"],
    "th": [*_COMMON, "scope", "colspan", "rowspan"],
    "td": [*_COMMON, "colspan", "rowspan"],
    "ol": [*_COMMON, "start"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "tel"})

_EXTENSIONS = ["toc", "tables", "attr_list", "sane_lists", "def_list"]


def _slugify(value: str, separator: str) -> str:
    """Make a heading id that keeps å, ä, ö and Arabic readable (toc's default drops them)."""
    return slugify_unicode(value, separator)


def sanitize(html: str) -> str:
    """Strip everything outside the allowlist: scripts, event handlers, iframes, bad URLs."""
    return bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    """Render an editor's Markdown to sanitized HTML."""
    configs = {"toc": {"permalink": False, "slugify": _slugify}}
    md = markdown.Markdown(extensions=_EXTENSIONS, extension_configs=configs, output_format="html")
    return sanitize(md.convert(text))
