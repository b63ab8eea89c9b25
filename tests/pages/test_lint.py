"""`flask content check`: the editors' linter catches each rule and passes the real content."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gvisite import content_cli
from tests.conftest import markdown_page


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run `flask content check` (the plugin command) on a content folder; None = the real one."""

    def run(content: Path | None) -> Result:
        monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
        monkeypatch.setenv("SECRET_KEY", "test-secret-key")
        if content is None:
            monkeypatch.delenv("CONTENT_DIR", raising=False)
        else:
            monkeypatch.setenv("CONTENT_DIR", str(content))
        return CliRunner().invoke(content_cli, ["check"])

    return run


def findings(result: Result, level: str) -> list[str]:
    """Return the output lines of one level (`error` or `warning`)."""
    return [line for line in result.output.splitlines() if line.startswith(f"{level}: ")]


def test_real_content_has_no_errors(check) -> None:
    result = check(None)
    assert findings(result, "error") == []
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("0 error(s)")


def test_clean_sample_passes(check, make_content) -> None:
    page = markdown_page(
        "## Mer om GVI\n\nLäs [om GVI i Järfälla](/sv/om).\n\n### Partner\n\nText."
    )
    translated = markdown_page("Text.")
    content = make_content(
        {"sv/om.md": page, "fi/om.md": translated, "en/om.md": translated, "ar/om.md": translated}
    )
    result = check(content)
    assert result.exit_code == 0, result.output
    assert findings(result, "error") == findings(result, "warning") == []


RULES = [
    # (id, page file, Markdown body, words the error must contain)
    ("h1-in-body", "sv/om.md", "# En andra rubrik\n\nText.", "level-1 heading"),
    ("h1-setext", "sv/om.md", "En andra rubrik\n===============\n\nText.", "level-1 heading"),
    ("skipped-level-h3", "sv/om.md", "### Underrubrik\n\nText.", "h1 followed by h3"),
    (
        "skipped-level-h4",
        "sv/om.md",
        "## Del\n\nText.\n\n#### Detalj\n\nText.",
        "h2 followed by h4",
    ),
    ("image-no-alt", "sv/om.md", "![](/static/karta.png)", "without alt text"),
    ("image-blank-alt", "sv/om.md", '<img src="/static/karta.png" alt=" ">', "without alt text"),
    ("vague-sv-har", "sv/om.md", "Läs om GVI [här](/sv/).", "does not say where"),
    ("vague-sv-klicka", "sv/om.md", "[Klicka här](/sv/) för mer.", "does not say where"),
    (
        "vague-sv-las-mer",
        "sv/om.md",
        "GVI är ett arbetssätt. [Läs mer](/sv/)",
        "does not say where",
    ),
    ("vague-en-here", "en/about.md", "Read about GVI [here](/en/).", "does not say where"),
    ("vague-en-click", "en/about.md", "[Click here](/en/) to read.", "does not say where"),
    ("vague-en-read-more", "en/about.md", "[Read more](/en/)", "does not say where"),
    ("vague-fi-tasta", "fi/tietoa.md", "Lue GVI:stä [tästä](/fi/).", "does not say where"),
    ("vague-fi-lue-lisaa", "fi/tietoa.md", "[Lue lisää](/fi/)", "does not say where"),
    ("vague-ar-huna", "ar/hawl.md", "اقرأ عن GVI [هنا](/ar/).", "does not say where"),
    ("vague-ar-read-more", "ar/hawl.md", "[اقرأ المزيد](/ar/)", "does not say where"),
    ("empty-link", "sv/om.md", "[](/sv/)", "does not say where"),
    ("broken-page", "sv/om.md", "Se [stöd för anhöriga](/sv/finns-inte).", "broken internal link"),
    ("broken-locale", "sv/om.md", "Se [sidan på tyska](/de/).", "broken internal link"),
    ("broken-other-locale", "sv/om.md", "Se [sidan på finska](/fi/om).", "broken internal link"),
    ("relative-link", "sv/om.md", "Se [stöd för anhöriga](anhoriga).", "relative link"),
]


@pytest.mark.parametrize(
    ("name", "body", "reason"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_each_rule_is_an_error_naming_the_file(
    check, make_content, name: str, body: str, reason: str
) -> None:
    content = make_content({name: markdown_page(body)})
    result = check(content)
    errors = findings(result, "error")
    assert result.exit_code == 1, result.output
    assert len(errors) == 1, result.output
    assert errors[0].startswith(f"error: {content / name}: ")
    assert reason.lower() in errors[0].lower()


def test_front_matter_errors_are_listed_for_every_file(check, make_content) -> None:
    content = make_content(
        {
            "sv/om.md": "---\ntitle: Om\n---\nText.\n",
            "en/about.md": markdown_page(updated="soon"),
            "fi/tietoa.md": markdown_page(),
        }
    )
    result = check(content)
    assert result.exit_code == 1
    named = sorted(line.split(": ")[1] for line in findings(result, "error"))
    assert named == sorted([str(content / "sv/om.md"), str(content / "en/about.md")])


def test_missing_translations_are_a_warning_not_an_error(check, make_content) -> None:
    content = make_content(
        {
            "sv/om.md": markdown_page(),
            "sv/stod.md": markdown_page(),
            "fi/om.md": markdown_page(),
            "en/om.md": markdown_page(),
            "en/stod.md": markdown_page(),
            "sv/lattlast/index.md": markdown_page(),
        }
    )
    result = check(content)
    assert result.exit_code == 0, result.output
    assert findings(result, "error") == []
    # Easy-to-read Swedish is Swedish only by design, so it is never reported missing.
    assert sorted(findings(result, "warning")) == [
        "warning: content/ar: pages missing: om, stod",
        "warning: content/fi: pages missing: stod",
    ]
