"""The corpus batch behind `wirepress related --corpus FILE.jsonl --k 5`.

Each ``{id, title, body, published?}`` record is read as the service reads a story: made into an
:class:`~shared.models.Article`, prepared by :func:`services.enrich.text.story_text`, indexed as
the archive indexes it, so the links printed are the ones the service would pick.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy.typing as npt

from services.enrich.relevance.features import Embedder, StoryFeatures, features_for
from services.enrich.relevance.index import RelatedIndex
from services.enrich.text import StoryText, story_text
from shared.models import Article

# Closing block tags, as HTML bodies have them; "<P>" or "<A.G. Edwards>" alone (a wire naming a
# company by its ticker) is not markup.
_HTML_BODY = re.compile(r"</(?:p|div|h[1-6]|ul|ol|li|blockquote)>|<br\s*/?>", re.I)
_BLANK_LINE = re.compile(r"\n\s*\n")
#: The longest headline an Article takes (its ``max_length``).
_HEADLINE_MAX = 1000


def _parse_datetime(value: Any) -> datetime | None:
    """An epoch number or an ISO 8601 string (naive: UTC); None when it is neither."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _parse_time(value: Any) -> float | None:
    """The same, as a timestamp."""
    dt = _parse_datetime(value)
    return None if dt is None else dt.timestamp()


def _split_paragraphs(body: str) -> list[str]:
    """A plain-text body's paragraphs: blank lines separate them."""
    return [p.strip() for p in _BLANK_LINE.split(body) if p.strip()]


def _body_html(body: str) -> str:
    if _HTML_BODY.search(body):
        return body
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in _split_paragraphs(body))


def _title(record: Mapping[str, Any]) -> str:
    # Records carry titles as feeds do, entities and all; a headline is plain text.
    return " ".join(html.unescape(str(record.get("title") or "")).split())


def article_from_record(record: Mapping[str, Any]) -> Article:
    """The story a corpus record stands for. A record without a title gets its id as headline
    (an Article needs one); :func:`features_from_record` does not count that as words."""
    story_id = str(record["id"])
    return Article(
        guid=story_id,
        headline=(_title(record) or story_id)[:_HEADLINE_MAX],
        body_html=_body_html(str(record.get("body") or "")),
        versioncreated=_parse_datetime(record.get("published")),
    )


def _features(
    record: Mapping[str, Any],
    article: Article,
    text: StoryText,
    tags: Sequence[str],
    embedder: Embedder | None,
    embedding: npt.ArrayLike | None,
) -> StoryFeatures:
    published = article.published_at
    return features_for(
        story_id=str(record["id"]),
        title=text.headline if _title(record) else "",
        body_text=text.body_text,
        paragraphs=text.paragraphs,
        tags=tags,
        published=None if published is None else published.timestamp(),
        embedder=embedder,
        embedding=embedding,
    )


def features_from_record(
    record: Mapping[str, Any],
    tags: Sequence[str] = (),
    *,
    embedder: Embedder | None = None,
    embedding: npt.ArrayLike | None = None,
) -> StoryFeatures:
    """Features of a ``{id, title, body, published?}`` record (the corpus JSONL format)."""
    article = article_from_record(record)
    return _features(record, article, story_text(article), tags, embedder, embedding)


def related_for_corpus(
    records: Iterable[Mapping[str, Any]], k: int, *, embedder: Embedder | None = None
) -> Iterator[dict[str, Any]]:
    """For each record, ``{"id", "related": [ids best first]}`` among all the other records,
    ranked exactly as the service ranks Related Posts (``RelatedIndex.query``); with an
    ``embedder``, as a service that embeds its stories does (the corpus embedded in one batch)."""
    recs = list(records)
    articles = [article_from_record(r) for r in recs]
    texts = [story_text(a) for a in articles]
    if embedder is not None:
        # What features_for would embed one story at a time: its title, then its body.
        titles = [t.headline if _title(r) else "" for r, t in zip(recs, texts, strict=True)]
        vecs = list(
            embedder.embed([f"{h}\n{t.body_text}" for h, t in zip(titles, texts, strict=True)])
        )
    else:
        vecs = [None] * len(recs)
    feats = [
        _features(r, a, t, (), embedder, v)
        for r, a, t, v in zip(recs, articles, texts, vecs, strict=True)
    ]
    index = RelatedIndex()
    for f in feats:
        index.add(f)
    # As the service's index is once its archive has been fitted (semantic.refit_due).
    index.fit_semantic()
    for f in feats:
        yield {"id": f.story_id, "related": [s.story_id for s in index.query(f, k=k)]}
