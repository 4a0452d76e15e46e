"""`tag_story`: a story's entities, topics, subjects and keywords, as tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from services.enrich.tagging.confidence import MIN_CONFIDENCE
from services.enrich.tagging.data import gazetteer
from services.enrich.tagging.keywords import WIRE_KEYWORD, salient_words
from services.enrich.tagging.organisations import org_tags
from services.enrich.tagging.people import people_tags
from services.enrich.tagging.places import place_tags
from services.enrich.tagging.runs import entities
from services.enrich.tagging.slugs import slugify_tag
from services.enrich.tagging.story import Story
from services.enrich.tagging.subjects import subject_tags
from services.enrich.tagging.topics import MEDTOP_SCHEME, topic_index, topic_tags
from shared.models import Subject, Tag

TagType = Literal["person", "organisation", "place", "topic", "subject", "keyword"]

# Entities first, then what the story is about, then the wire's own and salient words.
_ORDER: dict[str, int] = {
    "person": 0,
    "organisation": 1,
    "place": 2,
    "topic": 3,
    "subject": 4,
    "keyword": 5,
}
# A person of the story may bear a place's name ("Michael Jordan"): a country named outright
# (0.8) is still the place, a demonym or a passing mention is taken to be the name.
PLACE_OVER_PERSON = 0.8


class _Tags:
    """The story's tags by slug: one tag a slug, the most confident."""

    def __init__(self, min_confidence: float) -> None:
        self.min_confidence = min_confidence
        self.by_slug: dict[str, Tag] = {}

    def put(
        self,
        kind: TagType,
        name: str,
        conf: float,
        code: str | None = None,
        scheme: str | None = None,
    ) -> None:
        if conf < self.min_confidence or not name.strip():
            return
        slug = slugify_tag(kind, name)
        current = self.by_slug.get(slug)
        if current is None or conf > current.confidence:
            self.by_slug[slug] = Tag(
                type=kind, name=name, slug=slug, code=code, scheme=scheme, confidence=conf
            )

    def put_new(self, tag: Tag) -> None:
        """``tag`` unless its slug is taken (at any confidence)."""
        self.by_slug.setdefault(tag.slug, tag)

    def ordered(self) -> list[Tag]:
        return sorted(self.by_slug.values(), key=lambda t: (_ORDER[t.type], -t.confidence, t.slug))


def _put_entities(tags: _Tags, story: Story) -> set[str]:
    """People, organisations and places; returns the words of the people's names."""
    people = people_tags(story)
    person_words = {w.lower() for name, _ in people for w in name.split()}
    for name, conf in people:
        tags.put("person", name, conf)
    for name, conf in org_tags(story):
        tags.put("organisation", name, conf)
    for name, conf in place_tags(story):
        if name.lower() in person_words and conf < PLACE_OVER_PERSON:
            continue  # "Jordan" as a person's name, not the country
        tags.put("place", name, conf)
    return person_words


def _put_topics_and_subjects(
    tags: _Tags, headline: str, dateline: str, body: str, wire_subjects: list[Subject]
) -> None:
    index = topic_index()
    subjects, mapped = subject_tags(index, wire_subjects)
    topics = dict(topic_tags(index, headline, dateline, body))
    for code, conf in mapped.items():
        topics[code] = max(topics.get(code, 0.0), conf)
    for code, conf in topics.items():
        tags.put("topic", index.topics[code].label, conf, f"medtop:{code}", MEDTOP_SCHEME)
    for tag in subjects:
        tags.put_new(tag)


def _put_keywords(
    tags: _Tags,
    keywords: Sequence[str],
    headline: str,
    dateline: str,
    body: str,
    consumed: set[str],
) -> None:
    seen: set[str] = set()
    for kw in keywords:
        kw = " ".join(kw.split())
        if kw and kw.lower() not in seen:
            seen.add(kw.lower())
            tags.put("keyword", kw, WIRE_KEYWORD)
    for word, conf in salient_words(headline, consumed, dateline, body):
        if word not in seen:
            tags.put("keyword", word, conf)


def tag_story(
    headline: str,
    body_text: str,
    wire_subjects: list[Subject],
    keywords: Sequence[str] = (),
    min_confidence: float = MIN_CONFIDENCE,
    *,
    dateline: str | None = None,
) -> list[Tag]:
    """Tags for one story: people, organisations, places, topics, wire subjects and keywords.

    ``dateline`` is where the story was filed ("NAIROBI", "Cape Canaveral, Florida"), apart from
    the body: it is read as a sentence of its own, so its place counts but no name runs on from it
    into the body's first words.

    Tags below ``min_confidence`` are dropped; a slug appears at most once (highest confidence).
    Order: people, organisations, places, topics, subjects, keywords; by confidence within each.
    """
    headline, body, dateline = headline or "", body_text or "", dateline or ""
    story = entities(gazetteer(), headline, dateline, body)
    tags = _Tags(min_confidence)
    person_words = _put_entities(tags, story)
    _put_topics_and_subjects(tags, headline, dateline, body, wire_subjects)
    _put_keywords(tags, keywords, headline, dateline, body, story.consumed | person_words)
    return tags.ordered()
