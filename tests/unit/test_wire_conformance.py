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
    # --- NewsML 1.2 ---------------------------------------------------------------------------
    "newsml-1.2/superdesk-belga_efe_belga.xml": Story(
        format="newsml-1.2",
        # No PublicIdentifier: the URN the spec builds from ProviderId, DateId and NewsItemId.
        guid="urn:newsml:texto.efeservicios.com:20190121T103600+0000:25413502",
        version="1",
        headline="Leones matan a un joven que se coló en un zoológico",
        language="es",
        pubstatus="usable",
        versioncreated=utc("2019-01-21T10:36:00"),
        firstcreated=utc("2019-01-21T10:36:00"),
        byline="daa/mt/msr",  # from the inline NITF
        subjects=(("subj", "02001000"), ("subj", "01026000")),
        located=None,  # only a country code ('IND'), no place a reader sees
        urgency=5,
        keywords=("INDIA SUCESOS",),
        body_starts="<p>Nueva Delhi, 21 ene (EFE).- Una pareja de leones asiáticos",
    ),
    "newsml-1.2/superdesk-belga_ats_newsml_1_2_belga.xml": Story(
        format="newsml-1.2",
        guid="urn:newsml:www.sda-ats.ch:20190603:bsf153",
        version="1",
        headline="Un taureau entre dans un magasin à Landquart (GR)",  # ISO-8859-15 decoded
        language="fr",
        pubstatus="usable",
        versioncreated=utc("2019-06-03T15:47:29"),
        firstcreated=utc("2019-06-03T15:47:29"),
        subjects=(("subj", "08000000"), ("subj", "04001000")),
        located="Landquart GR",
        urgency=4,
        body_starts='<p lede="true">Un taureau âgé d\'un an est entré dans un magasin Denner',
    ),
    "newsml-1.2/superdesk-belga_anp_belga.xml": Story(
        format="newsml-1.2",
        # NewsItemId 'ANPX-101218-041-v2' at RevisionId 2: the revision is not the story's id.
        guid="urn:newsml:anp.nl:20181210:ANPX-101218-041",
        version="2",
        headline="FNV staat alleen met acties bij PostNL (2)",
        language="nl",
        pubstatus="usable",
        versioncreated=utc("2018-12-10T11:37:31"),
        firstcreated=utc("2018-12-10T08:35:49"),
        located=None,  # only 'NLD'
        urgency=3,
        keywords=("Tennis", "TENNIS-NIEUWS-MEDVEDEV", "BRIEF"),
        body_starts="<p>N i e u w bericht, vervangt: FNV staat alleen met ultimatum",
    ),
    "newsml-1.2/superdesk_ana1.xml": Story(
        format="newsml-1.2",
        guid="urn:newsml:ana-mpe.gr:20180404:19336333",
        version="1",
        headline="Wage employment balance positive in Jan-March",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2018-04-04T14:58:59"),
        firstcreated=utc("2018-04-04T14:58:59"),
        byline="ΑΠΕ-ΜΠΕ",  # the CreditLine: there is no ByLine
        subjects=(("subj", "09003000"), ("subj", "04008004")),
        body_starts="<P>Wage employment in the private sector grew in March",
    ),
    # --- ANPA 1312 ----------------------------------------------------------------------------
    "anpa1312/superdesk_ap_anpa-4.tst": Story(
        format="anpa-1312",
        # selector, filing date and slug: the same for every take of the story.
        guid="anpa:asian:20170509:bc-as--china-daring-escape",
        version="4",  # 3rd Ld-Writethru
        headline="AP Exclusive: China lawyer's family says US helped them flee",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2017-05-09T00:56:00"),
        byline="By GERRY SHIH",
        subjects=(("anpa-category", "i"),),
        located="BEIJING",
        urgency=5,
        body_starts="<p>BEIJING (AP) — Stuck in a Bangkok jail with a deportation order",
    ),
    "anpa1312/superdesk_ap_anpa-5.tst": Story(
        format="anpa-1312",
        guid="anpa:asian:20170629:bc-us--apnewsalert:w1645",
        version="1",
        # An alert has no headline line: its one sentence is the headline.
        headline="Hawaii files court challenge to Trump administration's defin",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2017-06-29T23:50:00"),
        subjects=(("anpa-category", "a"),),
        located="HONOLULU",
        urgency=2,
        body_starts="<p>HONOLULU (AP) — Hawaii files court challenge",
    ),
    "anpa1312/superdesk_ap_anpa-6.tst": Rejected(NotATextStory, kind="agate"),
    "anpa1312/superdesk-belga_kyodo.txt": Story(
        format="anpa-1312",
        guid="anpa:koko-:20181209:bc-soccer-emperor's-cup",
        version="1",
        headline="Soccer: Urawa Reds claim 7th Emperor's Cup by beating Vegalta Sendai",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2018-12-09T21:37:00"),  # 'KWS-21:37-09-12-18', no zone
        subjects=(("anpa-category", "s"),),
        located="SAITAMA, Japan",
        urgency=3,
        body_starts="<p>SAITAMA, Japan, Dec. 9 Kyodo - Urawa Reds claimed their seventh",
        timezone_assumed=True,
    ),
    # --- IPTC 7901 ----------------------------------------------------------------------------
    "iptc7901/superdesk-belga_ats.txt": Story(
        format="iptc-7901",
        guid="iptc7901:bsf:20181209:france",
        version="1",
        headline="Gilets jaunes: une «catastrophe pour notre économie» (Le Maire)",
        language="fr",
        pubstatus="usable",
        versioncreated=utc("2018-12-09T12:23:00"),  # '091223 dec 18', in the feed zone (UTC)
        located="Paris",
        urgency=3,
        keywords=("France",),
        body_starts="<p>Paris (ats afp) Les violences liées aux manifestations",
        timezone_assumed=True,
    ),
    "iptc7901/superdesk-belga_dpa.txt": Story(
        format="iptc-7901",
        guid="iptc7901:eca:20181210:politics/britain/eu/brexit/justice",
        version="3",  # 2ND LEAD
        headline="Top EU court: Britain can unilaterally reverse Brexit decision",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2018-12-10T11:37:00"),  # '101137 GMT Dez 18'
        byline="By Helen Maguire, dpa",
        subjects=(("iptc7901-category", "i"),),
        located="Luxembourg",
        urgency=3,
        keywords=("politics", "Britain", "EU", "Brexit", "justice"),
        body_starts="<p>Luxembourg (dpa) - Britain could unilaterally decide",
    ),
    "iptc7901/superdesk_dpa_two_by_line.txt": Story(
        format="iptc-7901",
        guid="iptc7901:ecp:20181121:american-football/nfl",
        version="1",
        headline="Chiefs-Rams 2.0? Would be a fun Super Bowl, but don't count on it",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2018-11-21T12:59:00"),
        byline="By Tom Krasovic, The San Diego Union-Tribune",
        subjects=(("iptc7901-category", "s"),),
        located="San Diego",
        urgency=4,
        keywords=("American Football", "NFL"),
        body_starts="<p>San Diego (tca/dpa) - History says this wasn't a Super Bowl preview",
        timezone_assumed=True,
    ),
    "iptc7901/superdesk_IPTC7901_odd_charset.txt": Story(
        format="iptc-7901",
        guid="iptc7901:eca:20151007:germany-football/munich/mueller",
        version="2",  # 1ST LEAD
        headline="German football saddened by illness to striker legend Mueller",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2015-10-07T13:41:00"),  # '071341 GMT Okt 15'
        byline="By Manuel Schwarz, dpa",
        subjects=(("iptc7901-category", "s"),),
        located="Munich",
        urgency=3,
        keywords=("Germany-football", "Munich", "Mueller"),
        body_starts="<p>Munich (dpa) - German football generations past and present",
    ),
    # --- AP Media API -------------------------------------------------------------------------
    "ap-media-json/superdesk-cp_ap-agate.json": Story(
        format="ap-media-api-json",
        guid="39b60d8408a78fe7f4c67953c38e7818",  # altids.itemid, not the session-bearing uri
        version="5",
        headline="NBA Expanded Glance",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2021-05-13T05:04:44"),
        firstcreated=utc("2021-05-12T14:00:07"),
        subjects=(("http://cv.ap.org/id/", "54df6c687df7100483dedf092526b43e"),),
        urgency=4,
        keywords=(
            "95",
            "Glance",
            "Men",
            "National Basketball Association",
            "Professional",
            "Basketball",
            "iATOMAgate",
            "Sportradar",
        ),
        body_starts=None,  # alone; with its NITF rendition see the test below
    ),
    # The agate's NITF rendition on its own: no id-string, so nothing identifies the story.
    "ap-media-json/superdesk-cp_ap-agate-nitf.xml": Rejected(MissingField, field="guid"),
    "ap-media-json/superdesk-cp_politics.json": Story(
        format="ap-media-api-json",
        guid="9e2faea3bf168bab198475dc8be1ec3d",
        version="3",
        headline="Biden taps Rice as domestic policy adviser, McDonough for VA",
        language="en",
        pubstatus="usable",
        versioncreated=utc("2020-12-10T16:13:39"),
        firstcreated=utc("2020-12-10T14:56:30"),
        byline="By JULIE PACE and ZEKE MILLER",
        subjects=(("http://cv.ap.org/id/", "86aad5207dac100488ecba7fa5283c3e"),),
        located="WASHINGTON",
        urgency=4,
        keywords=("Biden-Staff",),
        body_starts=None,  # AP's JSON has no body: it comes with a NITF rendition
    ),
    "ap-media-json/superdesk-cp_ap-getty-picture.json": Rejected(NotATextStory, kind="picture"),
}

# MANIFEST.tsv's format column, in the names detect_format returns.
MANIFEST_FORMATS = {
    "ninjs-1.x": "ninjs-1",
    "ninjs-2.x": "ninjs-2",
    "ninjs-3.x": "ninjs-3",
    "ninjs-superdesk": "superdesk-ninjs",
    "nitf": "nitf",
    "newsml-g2": "newsml-g2",
    "newsml-1.2": "newsml-1.2",
    "anpa-1312": "anpa-1312",
    "iptc-7901": "iptc-7901",
    "ap-media-api-json": "ap-media-api-json",
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
    assert on_disk == set(EXPECTED)
    assert set(manifest()) == set(EXPECTED)


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


def test_an_ap_item_and_its_nitf_rendition_in_one_push() -> None:
    """The agate item and its NITF (whose doc-id has no id-string) as multipart/related, and
    as a JSON envelope: the item's identity, the rendition's body."""
    item = sample("ap-media-json/superdesk-cp_ap-agate.json")
    nitf = sample("ap-media-json/superdesk-cp_ap-agate-nitf.xml")
    boundary = "wirepress-ap-push"
    multipart = (
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        + item
        + f"\r\n--{boundary}\r\nContent-Type: application/nitf+xml\r\n\r\n".encode()
        + nitf
        + f"\r\n--{boundary}--\r\n".encode()
    )
    envelope = json.dumps({**json.loads(item), "nitf": nitf.decode("utf-8")}).encode()
    for payload, content_type in (
        (multipart, f'multipart/related; boundary="{boundary}"'),
        (envelope, "application/json"),
    ):
        [story] = parse_stories(payload, content_type)
        assert story.format == "ap-media-api-json"
        article = story.article
        assert (article.guid, article.version) == ("39b60d8408a78fe7f4c67953c38e7818", "5")
        assert article.headline == "NBA Expanded Glance"
        assert "All Times EDT" in article.body_html and article.body_html.count("<table") == 6
