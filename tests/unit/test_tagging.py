"""The story tagger: one tag per entity, canonical places, Media Topics, wire subjects kept."""

from __future__ import annotations

import pytest

from services.enrich.tagging import MEDTOP_SCHEME, SUBJECT_SCHEME, slugify_tag, tag_story
from shared.models import Subject

pytestmark = pytest.mark.unit


def _by_type(tags, kind):
    return {t.name: t for t in tags if t.type == kind}


def test_slugs_are_stable_and_url_safe():
    assert slugify_tag("place", "Ukraine") == "place-ukraine"
    assert slugify_tag("person", "Volodymyr Zelensky") == "person-volodymyr-zelensky"
    assert slugify_tag("place", "São Paulo") == "place-sao-paulo"
    assert slugify_tag("organisation", "People's Bank of China") == (
        "organisation-peoples-bank-of-china"
    )


def test_zelensky_variants_are_one_person():
    tags = tag_story(
        "Zelensky asks allies for air defence",
        "President Zelensky spoke by video on Monday. Volodymyr Zelensky told the summit his "
        "country needed more missiles. Later Zelensky said talks had gone well.",
        [],
    )
    people = _by_type(tags, "person")
    assert list(people) == ["Volodymyr Zelensky"]
    assert people["Volodymyr Zelensky"].slug == "person-volodymyr-zelensky"
    assert people["Volodymyr Zelensky"].confidence >= 0.8


def test_kyiv_and_kiev_are_one_place_and_imply_ukraine():
    tags = tag_story(
        "Power cut across Kyiv",
        "Residents of Kiev queued for water after the strike. City officials in Kyiv said "
        "repairs would take days.",
        [],
    )
    places = _by_type(tags, "place")
    assert "Kyiv" in places and "Kiev" not in places
    assert "Ukraine" in places
    assert places["Ukraine"].confidence < places["Kyiv"].confidence


def test_country_aliases_resolve_to_one_name():
    tags = tag_story(
        "U.S. and USA teams meet",
        "The United States sent a delegation. Officials from the U.S. met their hosts.",
        [],
    )
    places = _by_type(tags, "place")
    assert "United States" in places
    assert not {"U.S.", "USA", "US"} & set(places)


def test_nato_long_form_and_acronym_are_one_organisation():
    tags = tag_story(
        "Alliance ministers meet",
        "Defence ministers of the North Atlantic Treaty Organization gathered in Brussels. "
        "NATO officials said the meeting would last two days.",
        [],
    )
    orgs = _by_type(tags, "organisation")
    assert list(orgs) == ["NATO"]
    assert orgs["NATO"].slug == "organisation-nato"


def test_unknown_long_form_links_to_its_acronym():
    tags = tag_story(
        "Growers meet",
        "The Lakeland Growers Association (LGA) met on Friday. LGA members voted to raise dues.",
        [],
    )
    orgs = _by_type(tags, "organisation")
    assert "Lakeland Growers Association" in orgs
    assert "LGA" not in orgs


def test_kenyan_parliament_story_is_kenya_and_politics():
    tags = tag_story(
        "Kenyan parliament passes finance bill",
        "Kenya's parliament on Thursday passed the finance bill after a long debate, with "
        "lawmakers voting 195 to 106. President William Ruto is expected to sign the "
        "legislation, and opposition members said they would challenge it in court.",
        [],
    )
    places = _by_type(tags, "place")
    assert "Kenya" in places
    topics = {t.code: t for t in tags if t.type == "topic"}
    assert "medtop:11000000" in topics  # politics
    assert "medtop:20000593" in topics  # government
    assert topics["medtop:11000000"].scheme == MEDTOP_SCHEME
    assert "William Ruto" in _by_type(tags, "person")


def test_hurricane_story_is_weather_and_disaster():
    tags = tag_story(
        "Hurricane makes landfall on Gulf coast",
        "The hurricane made landfall early on Wednesday with winds of 120 mph, forecasters "
        "said. Thousands were evacuated as the storm flooded streets, and rescue crews worked "
        "through the night. The storm is expected to weaken as it moves inland.",
        [],
    )
    topics = {t.name for t in tags if t.type == "topic"}
    assert "weather" in topics
    assert "disaster, accident and emergency incident" in topics
    assert not [t for t in tags if t.type == "person"]


def test_wire_subjects_are_kept_and_mapped():
    subjects = [
        Subject(scheme=SUBJECT_SCHEME, code="subj:15000000", name="sport"),
        Subject(code="medtop:20000574"),
        Subject(name="Local news"),
    ]
    tags = tag_story("Match report", "The home side won.", subjects)
    kept = {t.code: t for t in tags if t.type == "subject"}
    assert set(kept) == {"subj:15000000", "medtop:20000574", None}
    assert kept["medtop:20000574"].name == "election"  # label from the IPTC CSV
    assert kept[None].name == "Local news"
    topics = {t.code: t.name for t in tags if t.type == "topic"}
    assert topics["medtop:15000000"] == "sport"
    assert topics["medtop:20000574"] == "election"
    assert topics["medtop:11000000"] == "politics"  # election's level-1 parent


def test_wire_keywords_are_tags():
    tags = tag_story("Budget", "Spending rises.", [], keywords=["budget", "Budget", "tax"])
    keywords = [t.name for t in tags if t.type == "keyword" and t.confidence == 1.0]
    assert keywords == ["budget", "tax"]


def test_weak_tags_are_dropped():
    headline = "Talks continue"
    body = "Brazilian negotiators arrived. Officials said little."
    strong = tag_story(headline, body, [], min_confidence=0.5)
    everything = tag_story(headline, body, [], min_confidence=0.0)
    assert all(t.confidence >= 0.5 for t in strong)
    assert len(everything) >= len(strong)
    high = tag_story(headline, body, [], min_confidence=0.6)
    assert "Brazil" in _by_type(everything, "place")
    assert "Brazil" not in _by_type(high, "place")  # a lone demonym is a weak place


def test_no_entities_from_sentence_openers_or_shouted_headlines():
    tags = tag_story(
        "COCOA PRICES FIRM IN QUIET TRADE",
        "The market was quiet on Monday. Dealers said prices held.",
        [],
    )
    assert not [t for t in tags if t.type in ("person", "organisation")]


def test_slugs_unique_and_confidences_in_range():
    tags = tag_story(
        "Zelensky in Washington",
        "President Volodymyr Zelensky met U.S. officials in Washington. Zelensky said NATO "
        "support was vital.",
        [],
    )
    slugs = [t.slug for t in tags]
    assert len(slugs) == len(set(slugs))
    assert all(0.0 <= t.confidence <= 1.0 for t in tags)
