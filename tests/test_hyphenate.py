"""Soft hyphens in long words of headings and menus, by each locale's own rules."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gvisite.hyphenate import SOFT_HYPHEN, hyphenate
from tests.helpers import parse


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        # Finnish by the consonant-vowel syllable rule (Pyphen has no Finnish dictionary).
        ("fi", "rikosseuraamuslaitoksen", "ri-kos-seu-raa-mus-lai-tok-sen"),
        ("fi", "Saavutettavuusseloste", "Saa-vu-tet-ta-vuus-se-los-te"),
        ("sv", "Tillgänglighetsredogörelse", "Till-gäng-lig-hets-re-do-gö-rel-se"),
        ("en", "accessibility", "ac-cess-ib-il-ity"),
        # Short words, and Arabic, which is not hyphenated, stay as they are.
        ("sv", "GVI i Järfälla", "GVI i Järfälla"),
        ("ar", "المجموعاتالمجموعات", "المجموعاتالمجموعات"),
    ],
)
def test_long_words_get_soft_hyphens_where_the_language_breaks_them(
    locale: str, text: str, expected: str
) -> None:
    assert hyphenate(text, locale).replace(SOFT_HYPHEN, "-") == expected


def test_a_long_page_title_breaks_with_a_hyphen_but_reads_the_same(
    site_client: FlaskClient,
) -> None:
    soup = parse(site_client.get("/sv/").data)
    heading = soup.select_one("main h1").get_text()
    assert SOFT_HYPHEN in heading
    # Search engines and the tab title get the plain words.
    assert SOFT_HYPHEN not in soup.title.get_text()
    assert heading.replace(SOFT_HYPHEN, "") == soup.title.get_text().split(" – ")[0]
