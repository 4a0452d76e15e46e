"""Conformance of the wire-format parsers against the real-world samples in ../shared/wire-samples.

Every file there has its expected values written down below, read from the file by hand (a few
words of headline, never the text). A file added to the samples without expectations fails
`test_every_sample_has_expectations`, so new samples cannot slip through untested.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.formats import (
    MissingField,
    NotATextStory,
    ParseError,
    UnknownFormat,
    detect_format,
    parse_stories,
    parse_story,
)
from shared.models import Article

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "wire-samples"
if not SAMPLES.is_dir():
    pytest.skip(f"wire samples not found at {SAMPLES}", allow_module_level=True)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Story:
    """What one text story in a sample must parse to."""

    format: str
    guid: str
    version: str
    headline: str  # a prefix of the headline
    language: str
    pubstatus: str
    versioncreated: datetime | None
    firstcreated: datetime | None = None
    byline: str | None = None
    subjects: tuple[tuple[str, str], ...] = ()  # (scheme, code) pairs that must be present
    located: str | None = None
    urgency: int | None = None
    keywords: tuple[str, ...] = ()
    image: str | None = None  # href of the first image
    body_starts: str | None = None  # None: body must be empty
    timezone_assumed: bool = False
    embargoed: datetime | None = None  # every sample that states an embargo must say which
    extra_stories: tuple[str, ...] = ()  # headline prefixes of further text items in a message


@dataclass(frozen=True)
class Rejected:
    """A sample that must be refused, with the error and the field or kind it names."""

    error: type[ParseError]
    field: str | None = None
    kind: str | None = None


EXPECTED: dict[str, Story | Rejected] = {
    "ninjs/iptc-1.4_ninjsExSimpleText1.json": Story(
        format="ninjs-1",
        guid="http://ninjs.example.com/newsitems/20130709simp123",
        version="1",
        headline="Captain of wrecked cruise ship",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2013-07-09T10:37:00"),
        byline="Paulo Santalucia and Frances d'Emilio",
        # body_xhtml wins over body_text
        body_starts="<p>GROSSETO, Italy (AP) -- The trial",
    ),
    "ninjs/iptc-2.1_dpa_text.json": Story(
        format="ninjs-2",
        guid="urn:newsml:dpa.com:20090101:190510-99-167362",
        version="2",
        headline="Faktencheck Derby-Elfmeter:",
        language="de",
        pubstatus="usable",
        versioncreated=utc("2019-05-10T14:02:28"),
        byline="Von Christian Hollmann, dpa",
        urgency=4,
        body_starts='<section class="main"><p>Für Lucien Favre',
    ),
    "ninjs/iptc-3.0_addb_ninjs_nitf.json": Story(
        format="ninjs-3",
        guid="https://antidopingdatabase.com/news/"
        "anti-doping-measures-at-the-tour-down-under-will-be-the-toughest-ever",
        version="2",
        headline="Anti-doping measures at the 'Tour Down Under'",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2023-10-08T00:34:03"),
        byline="Trond Husø, The Anti-Doping Database",
        subjects=(("medtop", "15000000"), ("medtop", "20001105"), ("medtop", "20000892")),
        located="Oslo, Norway",
        urgency=4,
        # from the NITF document inside bodies[0]
        body_starts='<p class="lead" lede="true">The Australian Sports Anti-Doping',
    ),
    "ninjs/iptc-validation-1.0_pass_023_pubstatus_canceled.json": Story(
        format="ninjs-1",
        guid="023_pubstatus_canceled",
        version="1",
        headline="(killed)",
        language="en",
        pubstatus="canceled",
        versioncreated=None,
    ),
    "ninjs/iptc-validation-1.0_fail_007_pubstatus_cancelled.json": Story(
        format="ninjs-1",
        guid="007_pubstatus_cancelled",
        version="1",
        headline="(killed)",
        language="en",
        pubstatus="canceled",
        versioncreated=None,
    ),
    "ninjs/superdesk_ninjs2.json": Story(
        format="superdesk-ninjs",
        guid="tag:localhost:2017:7ca07622-3b19-4d61-8daf-18500412d46b",
        version="4",
        headline="Oil prices edge up on first drop",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2017-08-24T01:58:40"),
        firstcreated=utc("2017-07-03T01:38:13"),
        byline="By Henning Gloystein",
        subjects=(("subj", "04005004"),),
        located="Singapore",
        urgency=3,
        image="http://localhost:5000/api/upload-raw/599e31ec1d41c833e0b8a830.jpg",
        body_starts="<p>Oil prices edged up on Monday,",
    ),
    # doc-id carries only regsrc="AP": nothing identifies the story.
    "nitf/superdesk_ap-nitf.xml": Rejected(MissingField, field="guid"),
    "nitf/superdesk_nitf-fishing.xml": Story(
        format="nitf",
        guid="iptc.321656141.b",
        version="1",
        headline="Weather and Tide Updates for Norfolk",
        language="en",
        pubstatus="canceled",
        versioncreated=utc("2002-02-25T19:30:00"),
        firstcreated=utc("2002-02-20T14:00:00"),
        byline="By Alan Karben",
        subjects=(("subj", "17000000"), ("subj", "17004000"), ("subj", "04001002")),
        located="Newport News, VA",
        urgency=3,
        keywords=("fishing", "lures", "tides"),
        image="high-tide.jpg",
        body_starts='<p lang="en-US">The weather was superb today',
        # date.release norm="20020226T093000-0500" (date.expire, 2012, is no embargo)
        embargoed=utc("2002-02-26T14:30:00"),
    ),
    "nitf/superdesk_nitf-ntb.xml": Story(
        format="nitf",
        guid="faktisk-d9cde75b-256e-4989-b6a3-b8ad27f43a5c_47",
        version="48",
        headline="Faktisk.no: Nei, dette dokumentet",
        language="nb",
        pubstatus="usable",
        # date.issue has no zone: read in the default feed zone (UTC here)
        versioncreated=utc("2020-09-07T14:45:26"),
        byline="Geir Molnes / Faktisk.no",
        located="Oslo",
        urgency=5,
        image="iJIJyyF0tiE",
        body_starts='<p class="lead" lead="true">Nei, dette dokumentet',
        timezone_assumed=True,
    ),
    "nitf/superdesk_pa2.xml": Story(
        format="nitf",
        guid="T201510140143580001T",
        version="1",
        headline="1 SOCCER INT-Teams",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2015-10-14T01:43:58"),
        urgency=3,
        keywords=("INT-Teams",),
        body_starts="<pre>International Match\nMexico v Panama",
    ),
    "newsml-g2/superdesk_reuters_L1N14N0FF_v978556838_corrected.xml": Story(
        format="newsml-g2",
        guid="tag:reuters.com,0000:newsml_L1N14N0FF",
        version="978556838",
        headline="CORRECTED-S. Illinois battles flooding",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2016-01-04T15:43:34"),
        firstcreated=utc("2016-01-04T15:43:34"),
        byline="Reuters",
        subjects=(("subj", "04015000"), ("subj", "17000000"), ("N2", "WEA")),
        urgency=3,
        body_starts="<p>(In Jan. 3 story, corrects last paragraph",
    ),
    "newsml-g2/superdesk_reuters_L1N14N0FF_v1542761538_canceled.xml": Story(
        format="newsml-g2",
        guid="tag:reuters.com,0000:newsml_L1N14N0FF",
        version="1542761538",
        headline="CORRECTED-S. Illinois battles flooding",
        language="en",
        pubstatus="canceled",
        versioncreated=utc("2016-01-04T16:34:45"),
        firstcreated=utc("2016-01-04T16:34:45"),
        byline="Reuters",
        subjects=(("subj", "03005000"), ("subj", "10000000")),
        urgency=3,
        body_starts=None,  # the kill's body is a lone <p/>
    ),
    "newsml-g2/superdesk_ap.xml": Story(
        format="newsml-g2",
        guid="tag:ap.org,2011:5e565888b587889c5c8bd62b6164118c-text",
        version="2",
        headline="Nutrisystem beats 4Q earnings",
        language="en",
        pubstatus="usable",
        # as sent: versionCreated is two seconds before firstCreated
        versioncreated=utc("2018-02-26T21:20:34"),
        firstcreated=utc("2018-02-26T21:20:36"),
        subjects=(
            ("apsubject", "11494c9888fc10048d50ba0a2b2ca13e"),
            ("apcompany", "792af22b8f0b4133ba38fcf117561e66"),
        ),
        located="Pittsburgh",
        urgency=4,
        keywords=("Nutrisystem", "Earnings Report", "Pennsylvania"),
        body_starts="<p>FORT WASHINGTON, Pa. (AP) _ Nutrisystem Inc.",
        extra_stories=("DiamondRock Hospitality posts 4Q", "Scripps Networks tops 4Q"),
    ),
    "newsml-g2/superdesk_dpa.xml": Story(
        format="newsml-g2",
        guid="urn:newsml:dpa.com:20090101:221011-930-4303",
        version="1",
        headline="Eintracht in London: Hintereggers",
        language="de",
        pubstatus="usable",
        versioncreated=utc("2022-10-11T09:14:42"),
        byline="dpa",
        subjects=(("medtop", "20001065"), ("subj", "15054000"), ("dpacountry", "54")),
        located="London",
        urgency=4,
        keywords=("Champions League", "Frankfurt", "London"),
        # the XHTML body's <header> (slugline, date, headline again) is left out
        body_starts='<section class="main dpatextgenre-7"><p><span class="dateline">London',
    ),
    "newsml-g2/iptc_LISTING_2_NewsML-G2_Text_Document.xml": Story(
        format="newsml-g2",
        guid="urn:newsml:acmenews.com:20161121:US-FINANCE-FED",
        version="11",
        headline='Fed to halt QE to avert "bubble"',
        language="en",
        pubstatus="usable",
        versioncreated=utc("2018-11-21T21:25:32"),
        firstcreated=utc("2016-11-21T20:21:06"),  # contentCreated
        byline="By Meredith Jameson",  # from the inline NITF byline, without its byttl
        subjects=(("medtop", "04000000"), ("medtop", "20000350"), ("medtop", "20000379")),
        located="New York, NY",
        body_starts="<p>(New York, NY - October 21) Et, sent luptat",
    ),
    # JSON Schemas of the formats, not wire items.
    "schema/ninjs-schema_1.6.json": Rejected(UnknownFormat),
    "schema/ninjs-schema_2.2.json": Rejected(UnknownFormat),
    "schema/ninjs-schema_3.1.json": Rejected(UnknownFormat),
    "schema/superdesk-ninjs-schema.json": Rejected(UnknownFormat),
}

# Formats the samples hold that ingest does not read yet (the formats issue, #12): every file of
# theirs must still be refused, so this list cannot go stale. When a format lands, its files move
# into EXPECTED with real expectations.
NOT_YET_SUPPORTED_FORMATS = ("newsml-1.2", "anpa-1312", "iptc-7901", "ap-media-api-json")
NOT_YET_SUPPORTED = frozenset(
    {
        "newsml-1.2/superdesk-belga_efe_belga.xml",
        "newsml-1.2/superdesk-belga_ats_newsml_1_2_belga.xml",
        "newsml-1.2/superdesk-belga_anp_belga.xml",
        "newsml-1.2/superdesk_ana1.xml",
        "anpa1312/superdesk_ap_anpa-4.tst",
        "anpa1312/superdesk_ap_anpa-5.tst",
        "anpa1312/superdesk_ap_anpa-6.tst",
        "anpa1312/superdesk-belga_kyodo.txt",
        "iptc7901/superdesk-belga_ats.txt",
        "iptc7901/superdesk-belga_dpa.txt",
        "iptc7901/superdesk_dpa_two_by_line.txt",
        "iptc7901/superdesk_IPTC7901_odd_charset.txt",
        "ap-media-json/superdesk-cp_ap-agate.json",
        "ap-media-json/superdesk-cp_ap-agate-nitf.xml",
        "ap-media-json/superdesk-cp_politics.json",
        "ap-media-json/superdesk-cp_ap-getty-picture.json",
    }
)

# MANIFEST.tsv's format column, in the names detect_format returns.
MANIFEST_FORMATS = {
    "ninjs-1.x": "ninjs-1",
    "ninjs-2.x": "ninjs-2",
    "ninjs-3.x": "ninjs-3",
    "ninjs-superdesk": "superdesk-ninjs",
    "nitf": "nitf",
    "newsml-g2": "newsml-g2",
}

STORIES = sorted(name for name, outcome in EXPECTED.items() if isinstance(outcome, Story))
REJECTED = sorted(name for name, outcome in EXPECTED.items() if isinstance(outcome, Rejected))


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def manifest() -> dict[str, str]:
    with (SAMPLES / "MANIFEST.tsv").open(newline="", encoding="utf-8") as handle:
        return {row["file"]: row["format"] for row in csv.DictReader(handle, delimiter="\t")}


def test_every_sample_has_expectations() -> None:
    on_disk = {
        str(path.relative_to(SAMPLES))
        for path in SAMPLES.rglob("*")
        if path.is_file() and path.name != "MANIFEST.tsv"
    }
    assert on_disk == set(EXPECTED) | NOT_YET_SUPPORTED
    assert set(manifest()) == set(EXPECTED) | NOT_YET_SUPPORTED
    assert not NOT_YET_SUPPORTED & set(EXPECTED)


@pytest.mark.parametrize("name", sorted(NOT_YET_SUPPORTED))
def test_not_yet_supported_sample_is_refused(name: str) -> None:
    """Until its format is read, a sample is refused with a parse error, never half-read."""
    assert manifest()[name] in (*NOT_YET_SUPPORTED_FORMATS, "nitf")
    with pytest.raises(ParseError):
        parse_stories(sample(name))


@pytest.mark.parametrize("name", [n for n in sorted(EXPECTED) if not n.startswith("schema/")])
def test_detected_format_matches_the_manifest(name: str) -> None:
    expected = MANIFEST_FORMATS[manifest()[name]]
    assert detect_format(sample(name), None) == expected
    # A wrong content type does not matter when the payload says what it is.
    wrong = "application/xml" if expected.startswith(("ninjs", "superdesk")) else "application/json"
    assert detect_format(sample(name), wrong) == expected


def check_story(article: Article, expected: Story) -> None:
    assert article.guid == expected.guid
    assert article.version == expected.version
    assert article.headline.startswith(expected.headline)
    assert article.language == expected.language
    assert article.pubstatus == expected.pubstatus
    assert article.versioncreated == expected.versioncreated
    assert article.firstcreated == expected.firstcreated
    assert article.byline == expected.byline
    codes = {(s.scheme, s.code) for s in article.subjects}
    assert set(expected.subjects) <= codes
    assert article.located == expected.located
    assert article.urgency == expected.urgency
    assert article.keywords == list(expected.keywords)
    assert (article.images[0].href if article.images else None) == expected.image
    if expected.body_starts is None:
        assert article.body_html == ""
    else:
        assert article.body_html.startswith(expected.body_starts)
    assert article.timezone_assumed is expected.timezone_assumed
    assert article.embargoed == expected.embargoed


@pytest.mark.parametrize("name", STORIES)
def test_text_story(name: str) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, Story)
    stories = parse_stories(sample(name))
    assert {story.format for story in stories} == {expected.format}
    check_story(stories[0].article, expected)
    assert parse_story(sample(name)).article == stories[0].article
    extra_headlines = [story.article.headline for story in stories[1:]]
    assert len(extra_headlines) == len(expected.extra_stories)
    for headline, prefix in zip(extra_headlines, expected.extra_stories, strict=True):
        assert headline.startswith(prefix)


@pytest.mark.parametrize("name", REJECTED)
def test_rejected_sample(name: str) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, Rejected)
    with pytest.raises(expected.error) as caught:
        parse_story(sample(name))
    if expected.field is not None:
        assert caught.value.field == expected.field
    if expected.kind is not None:
        assert isinstance(caught.value, NotATextStory)
        assert caught.value.kind == expected.kind


# Where each format states an embargo: ninjs `embargoed` / `embargoedUntil`, NITF `date.release`,
# G2 `embargoed`. Spelt in a sample at all, the sample's expectations must name the embargo.
EMBARGO_MARKERS = (b"embargo", b"date.release")


@pytest.mark.parametrize("name", STORIES)
def test_a_sample_that_states_an_embargo_expects_it(name: str) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, Story)
    states_one = any(marker in sample(name).lower() for marker in EMBARGO_MARKERS)
    assert (expected.embargoed is not None) is states_one
    assert parse_story(sample(name)).article.embargoed == expected.embargoed


def test_superdesk_sample_with_an_embargo() -> None:
    """The Superdesk sample as Superdesk sends an embargoed story: the embargo is kept, so the
    story is held until then."""
    doc = json.loads(sample("ninjs/superdesk_ninjs2.json"))
    doc["embargoed"] = "2022-06-29T02:30:00+00:00"
    story = parse_story(json.dumps(doc).encode())
    assert story.format == "superdesk-ninjs"
    assert story.article.embargoed == utc("2022-06-29T02:30:00")
    assert story.article.held_at(utc("2022-06-29T02:29:59"))
    assert not story.article.held_at(utc("2022-06-29T02:30:00"))


def test_fishing_release_date_holds_the_story_until_then() -> None:
    article = parse_story(sample("nitf/superdesk_nitf-fishing.xml")).article
    assert article.held_at(utc("2002-02-26T14:29:59"))
    assert not article.held_at(utc("2002-02-26T14:30:00"))


def test_zoneless_ntb_date_in_the_feed_zone() -> None:
    article = parse_story(sample("nitf/superdesk_nitf-ntb.xml"), default_tz="Europe/Oslo").article
    assert article.versioncreated == utc("2020-09-07T12:45:26")
    assert article.timezone_assumed is True


def test_reuters_kill_follows_the_correction_it_kills() -> None:
    corrected = parse_story(
        sample("newsml-g2/superdesk_reuters_L1N14N0FF_v978556838_corrected.xml")
    ).article
    killed = parse_story(
        sample("newsml-g2/superdesk_reuters_L1N14N0FF_v1542761538_canceled.xml")
    ).article
    assert killed.article_id == corrected.article_id
    assert killed.ordering > corrected.ordering
    assert killed.killed and not corrected.killed


def test_g2_xhtml_bodies_carry_no_namespace_prefixes() -> None:
    for name in STORIES:
        body = parse_stories(sample(name))[0].article.body_html
        assert "html:" not in body and "ns0:" not in body and "xmlns" not in body, name
