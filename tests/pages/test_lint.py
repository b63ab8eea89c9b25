"""`flask content check`: the editors' linter catches each rule and passes the real content."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gvisite import content_cli
from gvisite.i18n import LOCALES
from gvisite.pages.cli import readability_lines
from gvisite.pages.load import load_site
from tests.conftest import markdown_page
from tests.helpers import force_terminal


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


def clean_sample(make_content) -> Path:
    """Make a content folder with nothing to warn about: every page in every language."""
    page = markdown_page(
        "## Mer om GVI\n\nLäs [om GVI i Järfälla](/sv/om).\n\n### Partner\n\nText."
    )
    translated = markdown_page("Text.")
    return make_content({f"{code}/om.md": page if code == "sv" else translated for code in LOCALES})


def test_clean_sample_passes(check, make_content) -> None:
    result = check(clean_sample(make_content))
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
    ("image-no-alt", "sv/om.md", "![](/static/img/favicon.svg)", "without alt text"),
    (
        "image-blank-alt",
        "sv/om.md",
        '<img src="/static/img/favicon.svg" alt=" ">',
        "without alt text",
    ),
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


def test_off_a_terminal_the_check_prints_its_findings_and_nothing_more(check, make_content) -> None:
    content = clean_sample(make_content)
    result = check(content)
    site, _errors = load_site(content)
    lines = [*readability_lines(site), f"{len(site.pages)} pages checked, 0 error(s)"]
    assert result.output == "\n".join(lines) + "\n"  # no bar, no label: logs stay as they were


def test_on_a_terminal_the_check_shows_its_progress_on_standard_error(
    check, make_content, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = make_content({"sv/om.md": markdown_page(HARD)})  # a page to warn about
    plain = check(content)
    force_terminal(monkeypatch)
    shown = check(content)
    assert shown.exit_code == plain.exit_code == 0
    assert shown.stderr == "Checking the pages\n"
    assert shown.stdout == plain.output
    assert len(page_warnings(shown)) == 1


# --- Readability --------------------------------------------------------------------------------

# LIX 67.5: 30 words in 4 sentences (the title one of them), 18 of them over six letters.
HARD = (
    "Kommunstyrelsen ansvarar för personuppgiftsbehandlingen enligt dataskyddsförordningen och"
    " kompletterande nationell lagstiftning som gäller för kommunala verksamheter."
    " Överenskommelsen mellan myndigheterna reglerar informationsutbyte, sekretessprövning och"
    " gemensamma prioriteringar. Sedan länge samarbetar förvaltningarna."
)
# LIX 32.0 (31 words, 5 sentences, 8 long): easy for an ordinary page, not for a lättläst one.
EASY_ENOUGH = (
    "Kommunen arbetar med Polisen mot våldet i Järfälla. Vi vill att alla ska känna sig trygga."
    " Ring kommunens Servicecenter om du behöver hjälp eller stöd. Polisen svarar på 112."
)


def page_warnings(result: Result) -> list[str]:
    """Return the warnings about one page (a readability warning), not about a whole locale."""
    return [line for line in findings(result, "warning") if ".md: " in line]


def test_a_page_over_its_line_is_a_warning_naming_the_file_score_and_longest_sentences(
    check, make_content
) -> None:
    content = make_content({"sv/om.md": markdown_page(HARD)})
    result = check(content)
    assert result.exit_code == 0, result.output  # a warning: the page still publishes
    warnings = page_warnings(result)
    assert len(warnings) == 1, result.output
    assert warnings[0].startswith(f"warning: {content / 'sv/om.md'}: LIX 67.5 is over 40,")
    # The three longest sentences, longest first, each on a line of its own under the warning.
    quoted = result.output.split(warnings[0], 1)[1].splitlines()[1:4]
    assert [line.split(") ", 1)[1] for line in quoted] == [
        HARD.split(". ")[0] + ".",
        HARD.split(". ")[1] + ".",
        "Sedan länge samarbetar förvaltningarna.",
    ]
    assert quoted[0].strip().startswith("(15 words)")


def test_a_lattlast_page_is_held_to_the_lower_line(check, make_content) -> None:
    content = make_content(
        {"sv/om.md": markdown_page(EASY_ENOUGH), "sv/lattlast/om.md": markdown_page(EASY_ENOUGH)}
    )
    warnings = page_warnings(check(content))
    assert [line.split(": ", 2)[1] for line in warnings] == [str(content / "sv/lattlast/om.md")]
    assert "LIX 32.0 is over 25, the line for an easy-to-read page" in warnings[0]


def test_every_pages_score_is_printed_and_languages_without_a_measure_say_so(
    check, make_content
) -> None:
    files = {"sv/om.md": "Text.", "en/om.md": "Text.", "fi/om.md": "Teksti.", "ar/om.md": "نص."}
    content = make_content({name: markdown_page(body) for name, body in files.items()})
    lines = check(content).output.splitlines()
    scores = [line for line in lines if line.startswith("readability: ")]
    named = {line.split(": ", 2)[1]: line.split(": ", 2)[2] for line in scores}
    measured = [str(content / f"{name}.md") for name in ("en/index", "en/om", "sv/index", "sv/om")]
    assert list(named) == [*measured, "content/ar", "content/fi"]
    assert named[str(content / "sv/om.md")].startswith("LIX 1.5 (line 40; 3 words, 2 sentences")
    assert named[str(content / "en/om.md")].startswith("ARI ")
    assert all("no established measure" in named[f"content/{code}"] for code in ("ar", "fi"))
