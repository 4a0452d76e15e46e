"""How enrich reads a story's words: written once, used by the tagger, the ranking and the CLI.

`story_text(article)` is the one preparation of a story for tagging and relevance: the body
sanitised and split into the blocks render shows (READ ALSO positions count them), their plain
text, the dateline kept apart from the body (it is a sentence of its own, never the start of the
first one), and the excerpt other pages show under a link to the story. `wirepress tag` and
`wirepress related` read stories through it too, so they give exactly what the service gives.

`fold` and `STOPWORDS` are the one accent fold and the one stopword list of the service.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shared.html import body_blocks, excerpt_of, plain_text
from shared.models import Article

DATA_DIR = Path(__file__).with_name("data")


def fold(text: str) -> str:
    """Accents stripped, case kept: 'São Paulo' -> 'Sao Paulo', 'Zürich' -> 'Zurich'."""
    if text.isascii():  # most wire copy: nothing to strip, and no per-character loop
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def word_list(name: str) -> frozenset[str]:
    """A word list shipped in `data/` (one word a line, `#` comments)."""
    return _word_list(name)


@cache
def _word_list(name: str) -> frozenset[str]:
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in (line.strip() for line in lines) if w and not w.startswith("#"))


#: English function words and reporting verbs (`data/stopwords.txt`).
STOPWORDS: frozenset[str] = word_list("stopwords.txt")


@dataclass(frozen=True)
class StoryText:
    """A story's words, worked out once."""

    headline: str
    #: Where the story was filed ("KYIV", "Nairobi, Kenya"), kept apart from the body.
    dateline: str | None
    #: The plain text of each block render shows, headings included, in order.
    paragraphs: tuple[str, ...]
    #: The paragraphs joined by blank lines.
    body_text: str
    #: What other pages show under a link to this story.
    excerpt: str


def story_text(article: Article) -> StoryText:
    """The one preparation of a story's text for tagging, ranking and the inspect commands."""
    blocks = body_blocks(article.body_html)
    paragraphs = tuple(plain_text(block) for block in blocks)
    dateline = " ".join(article.located.split()) if article.located else None
    return StoryText(
        headline=article.headline,
        dateline=dateline or None,
        paragraphs=paragraphs,
        body_text="\n\n".join(paragraphs),
        excerpt=excerpt_of(article.description, blocks),
    )
