"""The story tagger: one tag per entity, canonical places, Media Topics, wire subjects kept."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from services.enrich.tagging import MEDTOP_SCHEME, SUBJECT_SCHEME, lexicon, slugify_tag, tag_story
from services.enrich.tagging.data import gazetteer, key
from services.enrich.tagging.keywords import KEYWORD_STOPWORDS
from services.enrich.tagging.topics import topic_index
from services.enrich.text import DATA_DIR, STOPWORDS, fold, word_list
from shared.html import plain_text, sanitize_body, split_blocks
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


# --------------------------------------------------------------------------------------------
# The dateline: a sentence of its own
# --------------------------------------------------------------------------------------------

DEMO = Path(__file__).resolve().parents[2] / "demo"
DEMO_FILES = sorted((DEMO / "stories").glob("*.json")) + sorted((DEMO / "updates").glob("*.json"))


def _words(text):
    return fold(text).lower().replace(",", " ").split()


def _demo_story(path):
    """Headline, dateline and body text of a demo story, the body as the service reads it
    (its blocks' plain text, joined by blank lines)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    blocks = split_blocks(sanitize_body(doc["body_html"]))
    body = "\n\n".join(plain_text(block) for block in blocks)
    return doc["headline"], " ".join(doc["located"].split()), body, doc.get("keywords", [])


def _known_place(name):
    return key(name) in gazetteer().places


def _runs_on_from(dateline, name):
    """Whether ``name`` is the dateline (or its end: "Texas" of "Port O'Connor, Texas") followed
    by more words: "Nairobi Police" from "NAIROBI" and "Police said ..."."""
    ours, theirs = _words(name), _words(dateline)
    return any(
        ours[: len(theirs) - k] == theirs[k:] and len(ours) > len(theirs) - k
        for k in range(len(theirs))
    )


def test_demo_feed_has_datelines():
    assert len(DEMO_FILES) >= 40
    assert all(_demo_story(path)[1] for path in DEMO_FILES)


@pytest.mark.parametrize("path", DEMO_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_tag_runs_on_from_the_dateline_into_the_body(path):
    headline, dateline, body, keywords = _demo_story(path)
    tags = tag_story(headline, body, [], keywords, dateline=dateline)
    joined = [
        t.slug
        for t in tags
        if t.type != "keyword"
        and _runs_on_from(dateline, t.name)
        and not _known_place(t.name)
        and t.name not in body  # written so: "the Texas Division of Emergency Management"
    ]
    assert joined == []


def test_the_check_sees_a_dateline_prepended_to_the_body():
    # What the service did before dateline=: "Nairobi" and "Police said" made one name.
    tags = tag_story("Protests", "NAIROBI Police said 12 people were arrested.", [])
    assert any(_runs_on_from("NAIROBI", t.name) for t in tags)


@pytest.mark.parametrize("path", DEMO_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_datelines_own_place_is_still_tagged(path):
    headline, dateline, body, keywords = _demo_story(path)
    places = _by_type(tag_story(headline, body, [], keywords, dateline=dateline), "place")
    named = [gazetteer().places.get(key(part)) for part in dateline.split(",")]
    for place, _ in filter(None, named):
        assert place.name in places or f"{place.name} (U.S. state)" in places


@pytest.mark.parametrize(
    ("dateline", "first_words", "place", "kept"),
    [
        ("NAIROBI", "Police said on Tuesday that 12 people were arrested.", "Nairobi", None),
        ("London", "The Bank of England held rates.", "London", "Bank of England"),
        ("Brussels", "European Union ministers met.", "Brussels", "European Union"),
        ("Nairobi, Kenya", "Texaco Inc said it would sell assets.", "Kenya", "Texaco"),
    ],
)
def test_dateline_place_counts_and_names_after_it_stand_alone(dateline, first_words, place, kept):
    tags = tag_story("Story", first_words, [], dateline=dateline)
    places = _by_type(tags, "place")
    orgs = _by_type(tags, "organisation")
    assert place in places
    assert places[place].confidence >= 0.75  # a place of its own, not one inside a name
    assert not [name for name in orgs if _runs_on_from(dateline, name)]
    if kept:
        assert kept in orgs


def test_dateline_counts_as_a_mention_like_the_old_prepended_line():
    body = "Ukraine's military said on Monday it had advanced. Kyiv was calm."
    apart = _by_type(tag_story("Advance", body, [], dateline="KYIV"), "place")
    prepended = _by_type(tag_story("Advance", f"KYIV (Reuters) - {body}", []), "place")
    assert apart["Kyiv"].confidence == prepended["Kyiv"].confidence
    assert set(apart) == set(prepended)


def test_a_body_that_starts_with_a_dateline_is_read_as_before():
    tags = tag_story(
        "Protests", "NAIROBI, Kenya (Reuters) - Police said 12 people were arrested.", []
    )
    assert {"Nairobi", "Kenya"} <= set(_by_type(tags, "place"))
    assert not _by_type(tags, "organisation")


def test_dateline_is_keyword_only_and_optional():
    parameter = inspect.signature(tag_story).parameters["dateline"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is None
    assert tag_story("Talks", "Talks went on.", [], dateline=None) == tag_story(
        "Talks", "Talks went on.", []
    )
    assert tag_story("Talks", "Talks went on.", [], dateline="") == tag_story(
        "Talks", "Talks went on.", []
    )


# --------------------------------------------------------------------------------------------
# The word lists, shipped as data
# --------------------------------------------------------------------------------------------

WORD_LISTS = [
    "person_titles.txt",
    "honorifics.txt",
    "office_words.txt",
    "speech_verbs.txt",
    "name_connectors.txt",
    "name_particles.txt",
    "organisation_words.txt",
    "legal_suffixes.txt",
    "number_words.txt",
    "weekdays.txt",
    "months.txt",
    "stop_caps.txt",
    "abbreviations.txt",
    "name_suffixes.txt",
    "generic_label_parts.txt",
    "keyword_stoplist.txt",
]


@pytest.mark.parametrize("name", WORD_LISTS)
def test_word_lists_load_and_are_non_empty(name):
    words = word_list(name)
    assert words
    assert all(w == w.strip().lower() and not w.startswith("#") for w in words)
    assert (DATA_DIR / name).read_text(encoding="utf-8").startswith("# ")  # says what it is for


def test_lexicon_is_the_lists_and_their_combinations():
    assert lexicon.HONORIFICS <= lexicon.TITLES
    assert lexicon.NAME_PARTICLES <= lexicon.CONNECTORS
    assert lexicon.NAME_ENDS == lexicon.CONNECTORS - lexicon.NAME_PARTICLES
    assert lexicon.DAYS <= lexicon.MONTHS_DAYS <= lexicon.STOP_CAPS
    assert lexicon.NUMBER_WORDS <= lexicon.STOP_CAPS
    assert {"mr.", "u.s.", "inc."} <= lexicon.ABBREVIATIONS


def test_keyword_stopwords_are_the_service_list_and_the_tagger_extras():
    assert STOPWORDS <= KEYWORD_STOPWORDS
    assert word_list("keyword_stoplist.txt") <= KEYWORD_STOPWORDS
    assert {"company", "billion", "officials", "across", "mr"} <= KEYWORD_STOPWORDS


def test_curated_topic_terms_name_level_2_topics():
    doc = json.loads((DATA_DIR / "topic_terms.json").read_text(encoding="utf-8"))
    assert doc["note"]
    index = topic_index()
    level2 = {t.label.lower() for t in index.topics.values() if t.level == 2}
    assert doc["terms"]
    for label, terms in doc["terms"].items():
        assert label in level2
        assert terms
        assert all(term == term.strip().lower() and term for term in terms)


def test_public_api():
    import services.enrich.tagging as tagging

    assert sorted(tagging.__all__) == [
        "MEDTOP_SCHEME",
        "SUBJECT_SCHEME",
        "slugify_tag",
        "tag_story",
        "topic_ancestors",
    ]
    assert tagging.__doc__ and "rule" in tagging.__doc__


def test_a_dateline_names_places_never_people() -> None:
    # Two capitalised words the gazetteer does not know are not somebody because they stand in
    # the dateline: only the places it names count there.
    tags = tag_story(
        "Lunar lander lifts off",
        "A privately built lander lifted off on Saturday, the company said.",
        [],
        dateline="Cape Canaveral, Florida",
    )
    assert not [t for t in tags if t.type == "person"]
    assert "place-florida" in {t.slug for t in tags}
