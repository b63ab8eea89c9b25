"""The pronunciation lexicon: espeak-ng says the shipped names as the lexicon writes them."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gvisite import content_cli
from gvisite.formats.lexicon import LEXICON_FILE, Lexicon, Reading, app_lexicon, load_lexicon
from gvisite.i18n import LOCALES
from gvisite.pages.load import ContentError
from tests.helpers import PROJECT_ROOT, require_tool

SHIPPED_FILE = PROJECT_ROOT / "content" / LEXICON_FILE
SHIPPED, SHIPPED_ERRORS = load_lexicon(PROJECT_ROOT / "content")
PAUSE = re.compile(r"(?:_[!:]?)+$")  # the pauses espeak-ng writes after a word (`_!`, `_:_:`)


@pytest.fixture
def espeak() -> None:
    """Require espeak-ng (failing in CI, where it must be installed)."""
    require_tool(shutil.which("espeak-ng") is not None, "espeak-ng")


def said(text: str, locale: str) -> list[str]:
    """Return espeak-ng's phonemes (`-x`) for a text in a locale's voice, word by word."""
    command = ["espeak-ng", "-q", "-x", "-v", LOCALES[locale].voice, text]
    words = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    return [PAUSE.sub("", word) for word in words]


def reading(word: str, locale: str) -> Reading:
    """Return the shipped lexicon's reading of a word in a locale."""
    return next(r for r in SHIPPED.readings if r.word == word and r.locale == locale)


def test_the_shipped_lexicon_is_valid() -> None:
    assert SHIPPED_ERRORS == []
    assert {r.locale for r in SHIPPED.readings} == set(LOCALES)


SENTENCES = [
    # (locale, word, a sentence with the word; the word after it starts with a consonant, as
    # espeak-ng marks a vowel before a vowel)
    ("sv", "Järfälla", "Jag bor i {} med min familj."),
    # In running text the Swedish voice spells GVI already; alone, or last in a page title
    # like this one, it read the word "gvi".
    ("sv", "GVI", "Om {}"),
    ("en", "Kriminalvården", "The police and {} work together."),
    ("fi", "Upplands-Bro", "Kunta {} tekee työtä."),
    ("ar", "يارفالا", "بلدية {} هي المسؤولة."),
    ("ar", "Kriminalvården", "مصلحة السجون ({}) تعمل معنا."),
]


@pytest.mark.usefixtures("espeak")
@pytest.mark.parametrize(("locale", "word", "sentence"), SENTENCES)
def test_espeak_says_the_lexicons_pronunciation(locale: str, word: str, sentence: str) -> None:
    entry = reading(word, locale)
    expected = [entry.phonemes] if entry.phonemes else said(entry.respelling, locale)
    with_lexicon = said(SHIPPED.apply(sentence.format(word), locale), locale)
    without = said(sentence.format(word), locale)
    assert contains(with_lexicon, expected), with_lexicon
    assert not contains(without, expected), without  # the entry changes what is said


def contains(words: list[str], part: list[str]) -> bool:
    """Tell whether `part` is a run of whole words in `words`."""
    return any(words[i : i + len(part)] == part for i in range(len(words)))


@pytest.mark.usefixtures("espeak")
@pytest.mark.parametrize(
    ("locale", "text", "word", "ending"),
    [
        ("sv", "Järfällas kommun", "Järfälla", "s"),
        ("sv", "Kriminalvårdens arbete", "Kriminalvården", "s"),
        ("en", "Brå's website", "Brå", "z"),
    ],
)
def test_a_genitive_adds_its_phoneme(locale: str, text: str, word: str, ending: str) -> None:
    assert reading(word, locale).phonemes + ending in said(SHIPPED.apply(text, locale), locale)


@pytest.mark.usefixtures("espeak")
def test_a_respelling_keeps_the_finnish_genitive_and_colon_endings() -> None:
    assert SHIPPED.apply("Upplands-Bron kunta ja GVI:stä", "fi") == (
        "Upplands-Bruun kunta ja gee-vee-iistä"
    )
    assert said(SHIPPED.apply("Upplands-Bron", "fi"), "fi") == said("Upplands-Bruun", "fi")


@pytest.mark.parametrize(
    "text",
    ["Järfällabor", "Storjärfälla", "järfällaskolan", "GVIs2"],
)
def test_a_word_inside_another_word_is_left_alone(text: str) -> None:
    assert SHIPPED.apply(text, "sv") == text


def test_case_hyphens_and_other_languages() -> None:
    phonemes = reading("Järfälla", "sv").phonemes
    assert SHIPPED.apply("JÄRFÄLLA.", "sv") == f"[[{phonemes}]]."
    assert SHIPPED.apply("GVI-arbetet", "sv").startswith("[[g,e:v,e:'i:]]-")  # a hyphen divides
    assert SHIPPED.apply("Jakobsberg", "en") == "Jakobsberg"  # no English entry


@pytest.mark.usefixtures("espeak")
def test_phonemes_after_a_parenthesis_are_said() -> None:
    # espeak-ng skips `[[...]]` right after a character other than a space.
    phonemes = reading("Brå", "en").phonemes
    assert SHIPPED.apply("agencies (Brå)", "en") == f"agencies ( [[{phonemes}]])"
    assert phonemes in said(SHIPPED.apply("agencies (Brå) and", "en"), "en")


def test_the_pages_square_brackets_cannot_start_phonemes() -> None:
    spoken = SHIPPED.apply("[[x]] [Järfälla] & <b>", "sv")
    assert spoken.count("[[") == 1 and spoken.startswith("((x)) (")
    assert spoken.endswith(") & <b>")  # plain text: the caller escapes it for SSML


def test_the_digest_follows_the_entries() -> None:
    entry = reading("Järfälla", "sv")
    changed = Lexicon(
        tuple(replace(r, phonemes="j'E:Rf,Ela:") if r == entry else r for r in SHIPPED.readings)
    )
    assert changed.digest != SHIPPED.digest
    assert changed.digest_for("sv") != SHIPPED.digest_for("sv")
    assert changed.digest_for("en") == SHIPPED.digest_for("en")
    assert Lexicon(tuple(reversed(SHIPPED.readings))).digest == SHIPPED.digest


def test_the_app_loads_the_lexicon_once(app) -> None:
    assert app_lexicon(app) == SHIPPED


def test_a_missing_file_is_an_empty_lexicon(tmp_path: Path) -> None:
    assert load_lexicon(tmp_path) == (Lexicon(), [])
    assert Lexicon().apply("Järfälla", "sv") == "Järfälla"


# --- flask content check ------------------------------------------------------------------


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_content):
    """Run `flask content check` on a small content folder with this lexicon file."""

    def run(lexicon: str) -> Result:
        content = make_content({LEXICON_FILE: lexicon})
        monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
        monkeypatch.setenv("SECRET_KEY", "test-secret-key")
        monkeypatch.setenv("CONTENT_DIR", str(content))
        return CliRunner().invoke(content_cli, ["check"])

    return run


def errors(result: Result) -> list[str]:
    """Return the check's error lines."""
    return [line for line in result.output.splitlines() if line.startswith("error: ")]


BAD = [
    # (id, the file, what the error must say)
    ("unknown-language", "- word: Järfälla\n  se: {phonemes: \"j'E:Rf,Ela\"}\n",
     "entry 1 (Järfälla): unknown language 'se'"),
    ("empty-word", "- word: ''\n  sv: {respelling: Järfella}\n", "entry 1: has no word"),
    ("no-word", "- sv: {respelling: Järfella}\n", "entry 1: has no word"),
    ("no-language", "- word: Järfälla\n", "entry 1 (Järfälla)"),
    ("duplicate-word", "- word: Järfälla\n  sv: {respelling: Järfella}\n"
     "- word: järfälla\n  en: {respelling: Yairfella}\n", "entry 2 (järfälla): the word is"),
    ("duplicate-language", "- word: Järfälla\n  sv: {respelling: a}\n  sv: {respelling: b}\n",
     "'sv' is given twice"),
    ("both", "- word: Järfälla\n  sv: {phonemes: \"j'E:Rf,Ela\", respelling: Järfella}\n",
     "entry 1 (Järfälla): sv: give one of phonemes and respelling, not both"),
    ("neither", "- word: Järfälla\n  sv: {}\n", "sv: give one of phonemes and respelling"),
    ("empty-phonemes", "- word: Järfälla\n  sv: {phonemes: ' '}\n", "sv: the phonemes are empty"),
    ("ampersand", "- word: Järfälla\n  sv: {phonemes: \"j'&:Rf,Ela\"}\n", "characters"),
    ("non-ascii", "- word: Järfälla\n  sv: {phonemes: \"jˈæːrfɛla\"}\n", "characters"),
    ("bracket", "- word: Järfälla\n  sv: {phonemes: \"j]]'E:Rf\"}\n", "characters"),
    ("not-a-list", "Järfälla: {sv: {respelling: Järfella}}\n", "must be a list"),
    ("not-yaml", "- word: [Järfälla\n", "cannot read the lexicon"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_the_check_fails_on_a_bad_entry(check, name: str, text: str, message: str) -> None:
    result = check(text)
    assert result.exit_code == 1, result.output
    assert any(LEXICON_FILE in line and message in line for line in errors(result)), result.output


@pytest.mark.usefixtures("espeak")
def test_the_check_fails_on_phonemes_espeak_does_not_read_back(check) -> None:
    # `a#` is no Swedish phoneme: espeak-ng stops reading there and says j'a only.
    result = check('- word: Järfälla\n  sv: {phonemes: "j\'a#Rf,Ela"}\n')
    assert result.exit_code == 1, result.output
    assert any(
        "Järfälla, sv: espeak-ng (sv) reads [[j'a#Rf,Ela]] back as [[j'a]]" in line
        for line in errors(result)
    ), result.output


@pytest.mark.usefixtures("espeak")
def test_the_check_passes_the_shipped_lexicon(check) -> None:
    result = check(SHIPPED_FILE.read_text(encoding="utf-8"))
    assert errors(result) == [], result.output
    assert "not read back" not in result.output  # espeak-ng read every entry
    assert result.exit_code == 0, result.output


def test_a_broken_lexicon_stops_the_app_from_starting(make_content, tmp_path: Path) -> None:
    from gvisite import create_app

    content = make_content({LEXICON_FILE: "- word: Järfälla\n  xx: {respelling: a}\n"})
    config = {"CONTENT_DIR": str(content), "INSTANCE_PATH": str(tmp_path / "instance"),
              "SECRET_KEY": "test-secret-key", "TESTING": True}  # fmt: skip
    with pytest.raises(ContentError, match="unknown language 'xx'"):
        create_app(config)
