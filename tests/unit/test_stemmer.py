"""The stemmer the index and the topic tagger use: Porter's, with short words kept whole, giving
the same stems as the pure-Python stemmer it replaced."""

from __future__ import annotations

import pytest

from bench import porter_python
from services.enrich.relevance.text import _raw_words
from services.enrich.stemmer import stem
from tests.conftest import ROOT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        # From Porter's paper, step by step.
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("agreed", "agre"),
        ("motoring", "motor"),
        ("happy", "happi"),
        ("relational", "relat"),
        ("generalization", "gener"),
        ("electriciti", "electr"),
        ("adjustment", "adjust"),
        ("controll", "control"),
        # Newswire words.
        ("elections", "elect"),
        ("negotiations", "negoti"),
        ("ukrainian", "ukrainian"),
    ],
)
def test_porter_stems(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize("word", ["us", "vs", "is", "as", "s", "", "g7", "covid19", "737max"])
def test_short_words_and_words_not_all_letters_are_kept_whole(word: str) -> None:
    assert stem(word) == word


def test_every_word_of_the_demo_feed_stems_as_the_pure_python_stemmer_did() -> None:
    words = {
        w
        for path in sorted((ROOT / "demo" / "stories").glob("*"))
        for w in _raw_words(path.read_text(errors="replace"))
    }
    assert len(words) > 2000
    differ = [w for w in sorted(words) if stem(w) != porter_python.stem(w)]
    assert differ == []
