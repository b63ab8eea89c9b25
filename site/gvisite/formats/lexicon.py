"""The pronunciation lexicon: how the voices say the names they read wrong (content/uttal.yaml).

espeak-ng reads Järfälla, Jakobsberg or Kriminalvården by each voice's spelling rules, and an
abbreviation such as GVI as a word. The editors' lexicon gives, per word and language, either
espeak-ng phoneme mnemonics or a respelling. `Lexicon.apply` rewrites a text for espeak-ng: each
lexicon word becomes `[[phonemes]]` (espeak-ng's phoneme input, on in its command line by
default) or its respelling. The app loads the file once, at start-up, into
`app.extensions[EXTENSION]`; `check_lexicon` is its part of `flask content check`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, current_app

from ..i18n import LOCALES
from ..pages.lint import Problem
from ..pages.load import ContentError
from . import sandbox

LEXICON_FILE = "uttal.yaml"  # in the content folder
EXTENSION = "gvisite.lexicon"
# espeak-ng's phoneme mnemonics and stress marks (docs/dictionary.md, "Phoneme names"): ASCII
# only. Not `[` or `]`, which end the phoneme input, and not `&`, `<` or `>`: the speech script
# is SSML, which escapes them, and espeak-ng reads `&amp;` inside `[[ ]]` as phonemes a, m, p.
PHONEMES = re.compile(r"[A-Za-z0-9 '\",%=_:;|@!#*\-./^?~+$`{}]+")
# What espeak-ng changes when it reads phonemes back: it moves a stress mark to just before
# its vowel and marks a vowel followed by a vowel with `;`. The comparison ignores both.
_STRESS = "',%="
_MOVED = str.maketrans("", "", _STRESS + ";")
# Square brackets of the page's text: `[[` would switch espeak-ng to phonemes.
_NO_BRACKETS = str.maketrans("[]", "()")


@dataclass(frozen=True)
class Reading:
    """One word in one language: espeak-ng phonemes or a respelling, never both."""

    word: str
    locale: str
    phonemes: str = ""
    respelling: str = ""

    def spoken(self, ending: str) -> str:
        """Return the word with its written ending (`s`, `:n`) as espeak-ng should get it."""
        if self.respelling:
            return self.respelling + ending.removeprefix(":")
        written, phoneme = LOCALES[self.locale].genitive
        if ending and written and re.fullmatch(written, ending.removeprefix(":")):
            return f"[[{self.phonemes}{phoneme}]]"
        return f"[[{self.phonemes}]]{ending}"  # an ending it has no phonemes for: as written


@dataclass(frozen=True)
class Lexicon:
    """The editors' pronunciations, with one compiled pattern per language."""

    readings: tuple[Reading, ...] = ()
    _patterns: dict[str, re.Pattern[str]] = field(init=False, repr=False, compare=False)
    _by_word: dict[str, dict[str, Reading]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_word: dict[str, dict[str, Reading]] = {}
        for reading in self.readings:
            by_word.setdefault(reading.locale, {})[reading.word.lower()] = reading
        patterns = {locale: _pattern(words, locale) for locale, words in by_word.items()}
        object.__setattr__(self, "_by_word", by_word)  # a frozen dataclass's own derived fields
        object.__setattr__(self, "_patterns", patterns)

    def apply(self, text: str, locale: str) -> str:
        """Return `text` as espeak-ng should read it: lexicon words as phonemes or respellings.

        The page's own square brackets become round ones, so only the lexicon's phonemes are
        read as phonemes. The result is plain text, for the caller to escape for SSML.
        """
        text = text.translate(_NO_BRACKETS)
        pattern = self._patterns.get(locale)
        if pattern is None:
            return text
        words = self._by_word[locale]

        def spoken(match: re.Match[str]) -> str:
            said = words[match["word"].lower()].spoken(match["ending"] or "")
            # espeak-ng skips `[[...]]` right after a character other than a space: "(Brå)"
            # lost the name. A space after the parenthesis changes nothing else it says.
            start = match.start()
            return (
                " " + said
                if said.startswith("[[") and start and not text[start - 1].isspace()
                else said
            )

        return pattern.sub(spoken, text)

    def digest_for(self, locale: str) -> str:
        """Return a hash of one language's entries: a change rebuilds its recordings."""
        return _digest([r for r in self.readings if r.locale == locale])

    @property
    def digest(self) -> str:
        """Return a hash of every entry."""
        return _digest(list(self.readings))


def _pattern(words: dict[str, Reading], locale: str) -> re.Pattern[str]:
    """Compile the words of one language: whole words only, longest first, any case."""
    alternatives = "|".join(re.escape(r.word) for r in sorted(words.values(), key=_longest))
    genitive = LOCALES[locale].genitive[0]
    ending = f"(?P<ending>{genitive}|:\\w+)?" if genitive else r"(?P<ending>:\w+)?"
    return re.compile(f"(?<!\\w)(?P<word>{alternatives}){ending}(?!\\w)", re.IGNORECASE)


def _longest(reading: Reading) -> tuple[int, str]:
    """Sort key: longer words first, so Upplands-Bro wins over a Bro of its own."""
    return -len(reading.word), reading.word


def _digest(readings: list[Reading]) -> str:
    """Hash readings in a stable order."""
    rows = sorted((r.locale, r.word, r.phonemes, r.respelling) for r in readings)
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()


# --- Loading and checking ----------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice (it would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping; raise on a repeated key."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_lexicon(content_dir: Path) -> tuple[Lexicon, list[ContentError]]:
    """Read content/uttal.yaml: the valid entries, and an error for each invalid one."""
    source = content_dir / LEXICON_FILE
    if not source.exists():
        return Lexicon(), []
    try:
        data = yaml.load(source.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506  (a safe loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return Lexicon(), [ContentError(source, f"cannot read the lexicon: {exc}")]
    if data is None:
        return Lexicon(), []
    if not isinstance(data, list):
        return Lexicon(), [ContentError(source, "the lexicon must be a list of entries (- word:)")]
    readings: list[Reading] = []
    errors: list[ContentError] = []
    first: dict[str, int] = {}
    for number, entry in enumerate(data, 1):
        found, problems = _entry(entry)
        word = entry.get("word") if isinstance(entry, dict) else None
        name = f"entry {number}" + (f" ({word})" if isinstance(word, str) and word else "")
        if found and (seen := first.setdefault(found[0].word.lower(), number)) != number:
            problems.append(f"the word is already entry {seen}: give all its languages there")
        errors += [ContentError(source, f"{name}: {problem}") for problem in problems]
        readings += found if not problems else []
    return Lexicon(tuple(readings)), errors


def _entry(entry: Any) -> tuple[list[Reading], list[str]]:
    """Return one entry's readings and what is wrong with it."""
    if not isinstance(entry, dict):
        return [], ["must be a mapping: a word, then its languages (sv:, en:, ...)"]
    word = entry.get("word")
    if not isinstance(word, str) or not word.strip():
        return [], ["has no word (word: Järfälla)"]
    if word != word.strip() or "[" in word or "]" in word:
        return [], [f"the word {word!r} has spaces around it or square brackets"]
    readings, problems = [], []
    for locale, value in entry.items():
        if locale == "word":
            continue
        if locale not in LOCALES:
            problems.append(f"unknown language {locale!r} (the site's: {', '.join(LOCALES)})")
            continue
        reading, problem = _reading(word, str(locale), value)
        if problem:
            problems.append(f"{locale}: {problem}")
        elif reading:
            readings.append(reading)
    if not readings and not problems:
        problems.append("gives no language (sv: {phonemes: ...} or en: {respelling: ...})")
    return readings, problems


def _reading(word: str, locale: str, value: Any) -> tuple[Reading | None, str]:
    """Return the reading of `word` in `locale`, or what is wrong with it."""
    keys = set(value) if isinstance(value, dict) else set()
    if not isinstance(value, dict) or keys - {"phonemes", "respelling"}:
        return None, "give either {phonemes: ...} or {respelling: ...}"
    if len(keys) != 1:
        return None, "give one of phonemes and respelling, not both or neither"
    (kind,) = keys
    text = value[kind]
    if not isinstance(text, str) or not text.strip():
        return None, f"the {kind} are empty"
    if kind == "respelling":
        if any(c in text for c in "[]\n") or not text.isprintable():
            return None, "a respelling is plain text on one line, without square brackets"
        return Reading(word, locale, respelling=text.strip()), ""
    if not PHONEMES.fullmatch(text):
        wrong = "".join(sorted({c for c in text if not PHONEMES.fullmatch(c)}))
        return None, f"phonemes {text!r} have characters espeak-ng's mnemonics cannot: {wrong!r}"
    return Reading(word, locale, phonemes=" ".join(text.split())), ""


def load_for_app(app: Flask) -> Lexicon:
    """Load the app's lexicon; a broken file stops the start, as a broken page does."""
    lexicon, errors = load_lexicon(Path(app.config["CONTENT_DIR"]))
    if errors and not app.config["CONTENT_LENIENT"]:
        raise ContentError(errors[0].source, "\n".join(e.reason for e in errors))
    return lexicon


def app_lexicon(app: Flask | None = None) -> Lexicon:
    """Return the lexicon the app loaded at start-up (empty if it has none)."""
    found = (app or current_app).extensions.get(EXTENSION)
    return found if isinstance(found, Lexicon) else Lexicon()


def check_lexicon(app: Flask) -> list[Problem]:
    """`flask content check`'s part: each invalid entry, and phonemes espeak-ng does not know."""
    content = Path(app.config["CONTENT_DIR"])
    lexicon, errors = load_lexicon(content)
    source = str(content / LEXICON_FILE)
    problems = [Problem("error", e.source, e.reason) for e in errors]
    readings = [r for r in lexicon.readings if r.phonemes]
    if not readings:
        return problems
    if shutil.which("espeak-ng") is None:
        why = "espeak-ng is not installed here"
        return [*problems, Problem("warning", source, f"phonemes not read back: {why}")]
    try:
        sandboxed = sandbox.sandboxed_for(app)
    except sandbox.SandboxUnavailable as exc:
        return [*problems, Problem("warning", source, f"phonemes not read back: {exc}")]
    for reading in readings:
        said = read_back(reading.phonemes, LOCALES[reading.locale].voice, sandboxed)
        if _compared(said) != _compared(reading.phonemes):
            problems.append(Problem("error", source, (
                f"{reading.word}, {reading.locale}: espeak-ng ({LOCALES[reading.locale].voice})"
                f" reads [[{reading.phonemes}]] back as [[{said}]]: a phoneme the voice does"
                " not have, or one it cannot say there"
            )))  # fmt: skip
    return problems


def read_back(phonemes: str, voice: str, sandboxed: bool = True) -> str:
    """Return the phonemes espeak-ng says for `[[phonemes]]` (its `-x` output)."""
    command: list[str | sandbox.In | sandbox.Out] = ["espeak-ng", "-q", "-x", "-v", voice]
    said = sandbox.run([*command, f"[[{phonemes}]]"], sandboxed=sandboxed)
    return " ".join(said.stdout.decode("utf-8", "replace").split())


def _compared(phonemes: str) -> tuple[str, str]:
    """Return phonemes as the check compares them: the sounds, and the stress marks in order."""
    return " ".join(phonemes.translate(_MOVED).split()), "".join(
        c for c in phonemes if c in _STRESS
    )
