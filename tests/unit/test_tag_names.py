"""One tag page per entity across the archive: slugs kept, names improved, spellings merged."""

from __future__ import annotations

import pytest

from services.enrich.tagging import slugify_tag
from services.enrich.tagging.names import Entry, Naming, canonical_tags, loose, register_keys
from shared.models import Tag

pytestmark = pytest.mark.unit


def _tag(kind: str, name: str) -> Tag:
    return Tag(type=kind, name=name, slug=slugify_tag(kind, name), confidence=0.8)


class Book:
    """The name book in memory, learning as the service's does."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.names: dict[str, str] = {}

    def name(self, *tags: Tag) -> list[Tag]:
        keys = {k for t in tags for k in register_keys(t)}
        known = {k: self.entries[k] for k in keys if k in self.entries}
        shown = {e.slug: self.names[e.slug] for e in known.values() if e.slug in self.names}
        naming: Naming = canonical_tags(list(tags), known, shown)
        for k, entry in naming.new_keys.items():
            self.entries.setdefault(k, entry)
        self.entries.update(naming.changed_keys)
        self.names.update(naming.names)
        return naming.tags


def test_transliterations_are_spelled_alike():
    assert loose("Zelenskyy") == loose("Zelensky") == loose("Zelenskiy") == loose("Zelenskii")
    assert loose("Dmitri") == loose("Dmitry")
    assert loose("Kohl") != loose("Kahl")


def test_spelling_variants_of_one_person_share_one_tag_page():
    book = Book()
    first = book.name(_tag("person", "Volodymyr Zelensky"))[0]
    second = book.name(_tag("person", "Volodymyr Zelenskyy"))[0]
    assert first.slug == second.slug == "person-volodymyr-zelensky"
    assert second.name == "Volodymyr Zelensky"


def test_a_surname_first_seen_alone_keeps_its_slug_and_gains_the_full_name():
    book = Book()
    alone = book.name(_tag("person", "Zelensky"))[0]
    full = book.name(_tag("person", "Volodymyr Zelensky"))[0]
    later = book.name(_tag("person", "Zelensky"))[0]
    assert alone.slug == full.slug == later.slug == "person-zelensky"
    assert full.name == later.name == "Volodymyr Zelensky"
    # Now the surname is owned by a full name: another Zelensky is somebody else.
    other = book.name(_tag("person", "Oleksandr Zelensky"))[0]
    assert other.slug == "person-oleksandr-zelensky"


def test_a_surname_two_people_share_leads_to_neither():
    book = Book()
    book.name(_tag("person", "John Smith"))
    jane = book.name(_tag("person", "Jane Smith"))[0]
    alone = book.name(_tag("person", "Smith"))[0]
    assert jane.slug == "person-jane-smith"
    assert alone.slug == "person-smith"


def test_a_surname_alone_joins_the_one_person_of_that_name():
    book = Book()
    book.name(_tag("person", "Njuguna Ndung'u"))
    alone = book.name(_tag("person", "Ndung'u"))[0]
    assert alone.slug == "person-njuguna-ndungu"
    assert alone.name == "Njuguna Ndung'u"


def test_an_acronym_joins_the_one_long_form_and_a_long_form_the_acronym_seen_first():
    book = Book()
    book.name(_tag("organisation", "Kenya Revenue Authority"))
    acronym = book.name(_tag("organisation", "KRA"))[0]
    assert acronym.slug == "organisation-kenya-revenue-authority"
    assert acronym.name == "Kenya Revenue Authority"
    book2 = Book()
    book2.name(_tag("organisation", "NTSB"))
    long_form = book2.name(_tag("organisation", "National Transportation Safety Board"))[0]
    assert long_form.slug == "organisation-ntsb"
    assert long_form.name == "National Transportation Safety Board"


def test_two_names_of_one_entity_in_a_story_make_one_tag_and_other_tags_pass_through():
    book = Book()
    book.name(_tag("person", "Volodymyr Zelensky"))
    topic = Tag(type="topic", name="war", slug="topic-war", confidence=0.9)
    tags = book.name(
        _tag("person", "Volodymyr Zelenskyy"), _tag("person", "Volodymyr Zelensky"), topic
    )
    assert [t.slug for t in tags] == ["person-volodymyr-zelensky", "topic-war"]


def test_places_keep_their_slugs():
    book = Book()
    assert book.name(_tag("place", "Kyiv"))[0].slug == "place-kyiv"
    assert book.name(_tag("place", "Kyiv"))[0].slug == "place-kyiv"
