"""IPTC 7901 (services.ingest.formats.iptc7901): the four real-world samples in
../shared/wire-samples/iptc7901, then small messages made up here, built inline."""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.formats.draft import build_article
from services.ingest.formats.errors import MalformedPayload, MissingField, ParseError
from services.ingest.formats.iptc7901 import (
    CATEGORY_SCHEME,
    looks_like_iptc7901,
    parse_iptc7901,
)
from shared.models import Article, Subject, version_ordering

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "wire-samples"
TZ = "Europe/Berlin"


def parse(payload: bytes, default_tz: str = TZ) -> Article:
    return build_article(parse_iptc7901(payload, default_tz))


def paragraphs(article: Article) -> list[str]:
    found = re.findall(r"<p>(.*?)</p>", article.body_html, flags=re.DOTALL)
    assert "".join(f"<p>{p}</p>" for p in found) == article.body_html  # nothing outside <p>
    return [html.unescape(p) for p in found]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the real-world samples ------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    guid: str
    version: str
    headline: str
    language: str
    versioncreated: datetime
    timezone_assumed: bool
    urgency: int
    byline: str | None
    located: str | None
    first: str
    last: str
    paragraphs: int
    keywords: tuple[str, ...]
    subjects: tuple[Subject, ...] = ()
    pubstatus: str = "usable"
    # Never in the body: editors' notes, trailer, sign-off.
    absent: tuple[str, ...] = ()


DPA_NOTES = (
    "Notebook",
    "Note to editors",
    "Editorial contacts",
    "not intended for publication",
    "* * * *",
    "Reporting by",
    "Editing by",
    "international@dpa.com",
    "\ufffd",
)

EXPECTED = {
    "superdesk-belga_ats.txt": Expected(
        guid="iptc7901:bsf:20181209:france",
        version="1",
        headline="Gilets jaunes: une «catastrophe pour notre économie» (Le Maire)",
        language="fr",
        # "091223 dec 18": zoneless, so 12:23 in Berlin (CET) is 11:23 UTC.
        versioncreated=utc("2018-12-09T11:23:00"),
        timezone_assumed=True,
        urgency=3,
        byline=None,
        located="Paris",
        first=(
            "Paris (ats afp) Les violences liées aux manifestations des «gilets jaunes» sont "
            "une «catastrophe» pour l'économie, a estimé dimanche le ministre de l'Economie. "
            "Bruno Le Maire a été jusqu'à parler d'une «crise de la nation»."
        ),
        last=(
            "De son côté, Ségolène Royal, ancienne finaliste de la présidentielle de 2007, a "
            "fustigé dimanche des «décisions mal préparées» par le gouvernement ayant conduit, "
            "selon elle, à la crise des «gilets jaunes» en raison de leur impact sur le pouvoir "
            "d'achat."
        ),
        paragraphs=3,
        keywords=("France",),
        absent=("SDA", "sj)", "091223", "Situation", "="),
    ),
    "superdesk-belga_dpa.txt": Expected(
        guid="iptc7901:eca:20181210:politics/britain/eu/brexit/justice",
        version="3",  # 2ND LEAD
        headline="Top EU court: Britain can unilaterally reverse Brexit decision",
        language="en",
        versioncreated=utc("2018-12-10T11:37:00"),  # "101137 GMT Dez 18"
        timezone_assumed=False,
        urgency=3,
        byline="By Helen Maguire, dpa",
        located="Luxembourg",
        first=(
            "Luxembourg (dpa) - Britain could unilaterally decide not to leave the European "
            "Union, the bloc's top court ruled on Monday, one day before British lawmakers are "
            "due to vote on the Brexit deal London has struck with Brussels."
        ),
        last=(
            "May has faced an uphill struggle to sell the deal to parliament. Hardline "
            "eurosceptics fear that it binds Britain too closely to the EU, while those in "
            "favour of a softer Brexit say it goes too far."
        ),
        paragraphs=18,
        keywords=("politics", "Britain", "EU", "Brexit", "justice"),
        subjects=(Subject(scheme=CATEGORY_SCHEME, code="i", name="international"),),
        absent=(*DPA_NOTES, "dpaq.de", "dpa hm bs wjh", "2ND LEAD", "3RD NET", "101137"),
    ),
    "superdesk_IPTC7901_odd_charset.txt": Expected(
        guid="iptc7901:eca:20151007:germany-football/munich/mueller",
        version="2",  # 1ST LEAD
        headline="German football saddened by illness to striker legend Mueller",
        language="en",
        versioncreated=utc("2015-10-07T13:41:00"),  # "071341 GMT Okt 15 "
        timezone_assumed=False,
        urgency=3,
        byline="By Manuel Schwarz, dpa",
        located="Munich",
        first=(
            "Munich (dpa) - German football generations past and present on Wednesday "
            "expressed sadness over the news that Bayern Munich legend and national playing "
            "icon Gerd Mueller has Alzheimer's."
        ),
        last=(
            '"We would therefore like to ask for respect for him and his family. Gerd, for '
            "whom the values of friendship and fair play were very important, deserves for us "
            "to be respectful of his illness and respect his and his family's private sphere.\""
        ),
        paragraphs=21,
        keywords=("Germany-football", "Munich", "Mueller"),
        subjects=(Subject(scheme=CATEGORY_SCHEME, code="s", name="sport"),),
        absent=(*DPA_NOTES, "dpa bwh bag", "1ST LEAD", "071341"),
    ),
    "superdesk_dpa_two_by_line.txt": Expected(
        guid="iptc7901:ecp:20181121:american-football/nfl",
        version="1",
        headline="Chiefs-Rams 2.0? Would be a fun Super Bowl, but don't count on it",
        language="en",
        # "211259 Nov 18": zoneless, 12:59 in Berlin.
        versioncreated=utc("2018-11-21T11:59:00"),
        timezone_assumed=True,
        urgency=4,
        byline="By Tom Krasovic, The San Diego Union-Tribune",
        located="San Diego",
        first=(
            "San Diego (tca/dpa) - History says this wasn't a Super Bowl preview that played "
            "out Monday night in the old Los Angeles Memorial Coliseum."
        ),
        last=(
            "They hope to regain their best defender, Eric Berry, this season, but the safety "
            "hasn't played since Week 1 of the 2017 season. After allowing the Rams 8.1 yards "
            "per play Monday night - Goff was 31 of 49 for 413 yards with four touchdown passes, "
            "no interceptions and also a 7-yard scoring run - Kansas City's hopes will hinge on "
            "firming its defence."
        ),
        paragraphs=35,
        keywords=("American Football", "NFL"),
        subjects=(Subject(scheme=CATEGORY_SCHEME, code="s", name="sport"),),
        absent=(*DPA_NOTES, "(c)2018", "Tribune Content Agency", "dpa tca bag", "211259"),
    ),
}


def sample(name: str) -> bytes:
    path = SAMPLES / "iptc7901" / name
    if not path.is_file():
        pytest.skip(f"wire sample not found at {path}")
    return path.read_bytes()


def test_every_sample_has_expectations() -> None:
    folder = SAMPLES / "iptc7901"
    if not folder.is_dir():
        pytest.skip(f"wire samples not found at {folder}")
    assert sorted(p.name for p in folder.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name: str) -> None:
    payload = sample(name)
    expected = EXPECTED[name]
    assert looks_like_iptc7901(payload)
    article = parse(payload)
    assert article.guid == expected.guid
    assert article.version == expected.version
    assert article.headline == expected.headline
    assert article.language == expected.language
    assert article.pubstatus == expected.pubstatus
    assert article.versioncreated == expected.versioncreated
    assert article.timezone_assumed is expected.timezone_assumed
    assert article.urgency == expected.urgency
    assert article.byline == expected.byline
    assert article.located == expected.located
    assert tuple(article.keywords) == expected.keywords
    assert tuple(article.subjects) == expected.subjects
    body = paragraphs(article)
    assert body[0] == expected.first
    assert body[-1] == expected.last
    assert len(body) == expected.paragraphs
    text = " ".join(body)
    for absent in expected.absent:
        assert absent not in text, absent


def test_stray_latin1_byte_in_an_otherwise_ascii_file_reads_as_u_umlaut() -> None:
    article = parse(sample("superdesk_IPTC7901_odd_charset.txt"))
    assert "champions Philipp Lahm, Bastian Schweinsteiger and Thomas Müller, and" in (
        " ".join(paragraphs(article))
    )


def test_latin1_sample_reads_its_accents() -> None:
    assert "Ségolène Royal" in parse(sample("superdesk-belga_ats.txt")).body_html


def test_sniff_claims_no_other_sample() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"wire samples not found at {SAMPLES}")
    others = [p for p in SAMPLES.glob("*/*") if p.is_file() and p.parent.name != "iptc7901"]
    assert any(p.parent.name == "anpa1312" for p in others)
    claimed = [p.name for p in others if looks_like_iptc7901(p.read_bytes())]
    assert claimed == []


# --- made-up messages ------------------------------------------------------------------------


def message(
    *heading: str,
    header: str = "eca0042 3 i 120    dpa 1003",
    keyword: str | None = "/politics/Britain/Brexit/",
    body: str = "London (dpa) - The first paragraph\nruns on here.\n\nThe second one.\n",
    trailer: str | None = "101137 GMT Dez 18",
    soh: bool = True,
    stx: bool = True,
    etx: bool = True,
) -> bytes:
    """A 7901 message; `heading` lines go after STX (default: a headline and a byline)."""
    lines = heading or ("Britain votes on the deal", "By Jane Roe, dpa =")
    text = ("\x01" if soh else "") + header + "\r\n\n"
    if keyword is not None:
        text += keyword + "\r\n"
    text += ("\x02" if stx else "") + "\n".join(lines) + "\n\n" + body
    if etx:
        text += "\x03"
    if trailer is not None:
        text += trailer + "\n"
    if etx:
        text += "\x04"
    return text.encode("utf-8")


def test_a_made_up_message_reads() -> None:
    article = parse(message())
    assert article.guid == "iptc7901:eca:20181210:politics/britain/brexit"
    assert article.version == "1"
    assert article.headline == "Britain votes on the deal"
    assert article.byline == "By Jane Roe, dpa"
    assert article.located == "London"
    assert paragraphs(article) == [
        "London (dpa) - The first paragraph runs on here.",
        "The second one.",
    ]


def test_a_lead_is_a_later_version_of_the_same_story() -> None:
    first = parse(message("Britain votes on the deal =", trailer="101137 GMT Dez 18"))
    lead = parse(message("1ST LEAD", "Britain votes down the deal =", trailer="101402 GMT Dez 18"))
    second = parse(message("2ND LEAD", "May loses =", trailer="101630 GMT Dez 18"))
    assert first.guid == lead.guid == second.guid
    assert (first.version, lead.version, second.version) == ("1", "2", "3")
    orders = [version_ordering(a.version, a.versioncreated) for a in (first, lead, second)]
    assert orders == sorted(orders)
    assert len(set(orders)) == 3


@pytest.mark.parametrize(
    ("labels", "version"),
    [
        (("REFILE",), "1.1"),
        (("2ND REFILE",), "1.2"),
        (("2ND LEAD", "Korr."), "3.1"),
        (("Berichtigung",), "1.1"),
        (("1. Zusammenfassung",), "2"),
        (("Neu: Reaktion der Opposition in Absatz 3",), "1.1"),
        (("SECOND LEAD",), "3"),
        (("3RD NET",), "1"),
    ],
)
def test_updates_keep_the_guid_and_number_the_version(
    labels: tuple[str, ...], version: str
) -> None:
    original = parse(message("Britain votes on the deal ="))
    update = parse(message(*labels, "Britain votes on the deal ="))
    assert update.guid == original.guid
    assert update.version == version
    assert update.headline == "Britain votes on the deal"


def test_version_words_in_the_keyword_line_are_not_keywords() -> None:
    original = parse(message())
    update = parse(message(keyword="/politics/Britain/Brexit/2ND LEAD/"))
    assert update.guid == original.guid
    assert update.version == "3"
    assert update.keywords == ["politics", "Britain", "Brexit"]


def test_a_topic_word_in_the_keyword_line_is_no_version() -> None:
    article = parse(message(keyword="/health/lead/water/"))
    assert article.version == "1"
    assert article.keywords == ["health", "lead", "water"]


def test_another_keyword_line_or_day_is_another_story() -> None:
    base = parse(message()).guid
    assert parse(message(keyword="/politics/Britain/NHS/")).guid != base
    assert parse(message(trailer="111137 GMT Dez 18")).guid != base
    assert parse(message(header="bsf0042 3 i 120")).guid != base


def test_the_message_number_is_not_part_of_a_dated_identity() -> None:
    assert (
        parse(message(header="eca0042 3 i 120")).guid
        == parse(message(header="eca0099 3 i 120")).guid
    )


def test_no_etx_reads_to_the_end_and_stands_alone_without_a_date() -> None:
    article = parse(message(etx=False, trailer=None, body="Paris (dpa) - Text cut\nshort"))
    assert paragraphs(article) == ["Paris (dpa) - Text cut short"]
    assert article.versioncreated is None
    # Without a date its other versions cannot be found: the message number keeps it apart.
    assert article.guid == "iptc7901:eca:undated:politics/britain/brexit:n0042"


def test_no_etx_with_the_time_as_last_line() -> None:
    article = parse(message(etx=False, trailer="101137 GMT Dez 18"))
    assert article.versioncreated == utc("2018-12-10T11:37:00")
    assert "101137" not in article.body_html


def test_no_control_characters_at_all() -> None:
    article = parse(message("2ND LEAD", "Britain votes =", soh=False, stx=False, etx=False))
    assert article.headline == "Britain votes"
    assert article.version == "3"
    assert article.keywords == ["politics", "Britain", "Brexit"]
    assert paragraphs(article)[0] == "London (dpa) - The first paragraph runs on here."


def test_without_a_keyword_line_the_number_keeps_the_story_apart() -> None:
    article = parse(message(keyword=None))
    assert article.guid == "iptc7901:eca:20181210:untitled:n0042"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_endings_do_not_matter(newline: bytes) -> None:
    payload = message().replace(b"\r\n", b"\n").replace(b"\n", newline)
    assert parse(payload) == parse(message())


def test_latin1_and_windows_1252_bytes() -> None:
    payload = (
        message("HEADLINE =", body="BODY\n")
        .replace(b"HEADLINE", b"K\xfcndigung \x93bald\x94")
        .replace(b"BODY", b"Text \x80 10")
    )
    article = parse(payload)
    assert article.headline == "Kündigung \u201cbald\u201d"
    assert paragraphs(article) == ["Text \u20ac 10"]


def test_valid_utf8_is_read_as_utf8() -> None:
    article = parse(message("Kündigung in Zürich ="))
    assert article.headline == "Kündigung in Zürich"


def test_preamble_noise_before_soh() -> None:
    article = parse(b"\x16\x16\x7f\r\n\x7f" + message())
    assert article.headline == "Britain votes on the deal"


@pytest.mark.parametrize(
    ("trailer", "when", "assumed"),
    [
        ("101137 GMT Dez 18", "2018-12-10T11:37:00", False),
        ("101137 UTC Dec 2018", "2018-12-10T11:37:00", False),
        ("101137 dec 18", "2018-12-10T10:37:00", True),  # CET
        ("150900 juil 19", "2019-07-15T07:00:00", True),  # CEST
        ("010000 févr 20", "2020-01-31T23:00:00", True),
        ("050800 Mrz 21", "2021-03-05T07:00:00", True),
        ("050800 Mai 21", "2021-05-05T06:00:00", True),
        ("050800 MESZ Mai 21", "2021-05-05T06:00:00", False),
        ("101137 MEZ Dez 18", "2018-12-10T10:37:00", False),
        ("050800 sept. 21", "2021-09-05T06:00:00", True),
    ],
)
def test_trailer_time(trailer: str, when: str, assumed: bool) -> None:
    article = parse(message(trailer=trailer))
    assert article.versioncreated == utc(when)
    assert article.timezone_assumed is assumed


def test_trailer_time_in_another_feed_zone() -> None:
    article = parse(message(trailer="101137 Dec 18"), "America/New_York")
    assert article.versioncreated == utc("2018-12-10T16:37:00")


@pytest.mark.parametrize("trailer", ["101137 GMT Jux 18", "321137 GMT Dez 18"])
def test_unreadable_trailer_time_leaves_the_story_undated(trailer: str) -> None:
    article = parse(message(trailer=trailer))
    assert article.versioncreated is None and ":undated:" in article.guid


def test_an_unknown_trailer_zone_is_read_in_the_feed_zone() -> None:
    article = parse(message(trailer="101137 PST Dez 18"), "Europe/Berlin")
    assert article.versioncreated == utc("2018-12-10T10:37:00") and article.timezone_assumed


def test_trailer_without_a_time_is_no_time() -> None:
    article = parse(message(trailer="end of message"))
    assert article.versioncreated is None


@pytest.mark.parametrize(("priority", "expected"), [("1", 1), ("2", 2), ("4", 4), ("6", 6)])
def test_priority_is_the_urgency(priority: str, expected: int) -> None:
    assert parse(message(header=f"eca0042 {priority} i 120")).urgency == expected


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("s", [Subject(scheme=CATEGORY_SCHEME, code="s", name="sport")]),
        ("PL", [Subject(scheme=CATEGORY_SCHEME, code="pl", name="politics")]),
        ("xy", []),
    ],
)
def test_category_letters(category: str, expected: list[Subject]) -> None:
    assert parse(message(header=f"eca0042 3 {category} 120")).subjects == expected


def test_headline_on_a_bare_lf_with_the_byline_carrying_the_marker() -> None:
    article = parse(message("Chiefs-Rams 2.0?", "By Tom Krasovic, The Union-Tribune ="))
    assert article.headline == "Chiefs-Rams 2.0?"
    assert article.byline == "By Tom Krasovic, The Union-Tribune"


def test_byline_after_the_headline_marker() -> None:
    article = parse(message("Britain votes =", "Von Jane Roe, dpa"))
    assert article.headline == "Britain votes"
    assert article.byline == "Von Jane Roe, dpa"
    assert paragraphs(article)[0].startswith("London (dpa)")


def test_topic_and_genre_lines_are_not_the_headline() -> None:
    article = parse(message("Situation", "France:", "Gilets jaunes: une crise ="))
    assert article.headline == "Gilets jaunes: une crise"
    assert article.keywords == ["politics", "Britain", "Brexit", "France"]


def test_a_genre_word_right_above_the_headline_is_not_part_of_it() -> None:
    article = parse(message("Situation", "Gilets jaunes: une crise ="))
    assert article.headline == "Gilets jaunes: une crise"


def test_a_headline_wrapped_over_two_lines_is_joined() -> None:
    article = parse(message("German football saddened by illness", "to striker legend ="))
    assert article.headline == "German football saddened by illness to striker legend"


def test_without_a_heading_marker_the_stx_line_is_the_headline() -> None:
    article = parse(message("Britain votes on the deal"))
    assert article.headline == "Britain votes on the deal"
    assert paragraphs(article)[0].startswith("London (dpa)")


def test_a_message_with_nothing_after_the_header_has_no_headline() -> None:
    with pytest.raises(MissingField) as caught:
        parse(b"\x01eca0042 3 i 120\r\n\x03101137 GMT Dez 18\x04")
    assert caught.value.field == "headline"


def test_indented_hard_wrapped_paragraphs_and_a_sign_off() -> None:
    body = "   Bern (sda) Erster Absatz\nlaeuft weiter.\n   Zweiter Absatz\nauch.\n \n(SDA\\/sj)\n"
    assert paragraphs(parse(message(body=body))) == [
        "Bern (sda) Erster Absatz laeuft weiter.",
        "Zweiter Absatz auch.",
    ]


def test_lowercase_agency_sign_off_is_dropped_but_a_sentence_is_kept() -> None:
    signed = parse(message(body="First.\n\ndpa xy zz\n"))
    assert paragraphs(signed) == ["First."]
    unsigned = parse(message(body="First.\n\nIt was fun.\n"))
    assert paragraphs(unsigned) == ["First.", "It was fun."]


@pytest.mark.parametrize(
    "note",
    [
        "* * * *\nReporting by: X",
        "Nicht zur Veröffentlichung bestimmt:\nRückfragen an X",
        "The following information is not intended for publication\n\nX",
        "## Editorial contacts\n- Reporting by:\ufffdX",
        "# Notebook\n\n## Note to editors\n- X",
    ],
)
def test_notes_end_the_body(note: str) -> None:
    article = parse(message(body=f"Text.\n\n{note}\n"))
    assert paragraphs(article) == ["Text."]


def test_long_unwrapped_lines_are_paragraphs_each() -> None:
    one, two = "A" + " word" * 30 + ".", "B" + " word" * 30 + "."
    assert paragraphs(parse(message(body=f"{one}\n{two}\n"))) == [one, two]


def test_text_is_escaped() -> None:
    article = parse(message("<b>Tom & Jerry</b> =", body="<script>alert(1)</script> & co\n"))
    assert article.headline == "<b>Tom & Jerry</b>"
    assert article.body_html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>"


@pytest.mark.parametrize(
    ("heading", "body", "status"),
    [
        (("KILL", "Britain votes ="), "Text.\n", "canceled"),
        (("Achtung Rückruf", "Britain votes ="), "Text.\n", "canceled"),
        (("EMBARGOED UNTIL 0001 GMT", "Britain votes ="), "Text.\n", "withheld"),
        (("Britain votes =",), "Sperrfrist 10. Dezember, 11.00 Uhr\n\nText.\n", "withheld"),
        (("Brexit withdrawal deal", "falls apart ="), "Text.\n", "usable"),
        (("Embargo on Iran", "tightened ="), "Embargo talks went on.\n", "usable"),
    ],
)
def test_kill_and_embargo_lines(heading: tuple[str, ...], body: str, status: str) -> None:
    assert parse(message(*heading, body=body)).pubstatus == status


def test_language_is_guessed_from_the_text() -> None:
    german = (
        "Berlin (dpa) - Die Regierung hat sich auf einen Haushalt geeinigt, der nicht von "
        "allen getragen wird. Das sagte der Minister am Montag mit Blick auf die Koalition "
        "und die Opposition, die sich auf eine lange Debatte einstellt.\n"
    )
    assert parse(message(body=german)).language == "de"
    assert parse_iptc7901(message(body="Tor!\n"), TZ).language is None


def test_dateline_without_a_place_names_none() -> None:
    assert parse(message(body="(tca/dpa) - History says so.\n")).located is None
    assert parse(message(body="History says so (dpa) today.\n")).located is None


# --- sniffing and refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"\x16\x16\x01W2346\x1fasian\nr i\x13\x11 BC-AS--China   05-09 1444\r\n\x02^BC<\r\n",
        b"\x01a0105KYODO\x1fkoko-\r\nu s\x14\x12 BC-Soccer   09-12 0344\r\n",
        b"\x01a0105 r i 0344\r\n\x02^Headline<\r\n",
        b'{"guid": "x", "headline": "y"}',
        b"<nitf><head/></nitf>",
        b"Dear editors, please find attached\n",
        b"",
    ],
)
def test_sniff_refuses_what_is_not_7901(payload: bytes) -> None:
    assert not looks_like_iptc7901(payload)
    with pytest.raises(MalformedPayload):
        parse_iptc7901(payload, TZ)


@pytest.mark.parametrize(
    "header",
    [
        b"\x01bsf025 3 ec 121   etf 967\r\n",
        b"eca00075 3 i 510    dpa 1003\n",
        b"\x01ecp0007 4 s 850  dpa-tns 0908\r\n",
        b"\x01eca100 3 s 586 ccccb   dpa 099\r\n",
        b"\x7f\x7f\r\n\x7f\x01bsf025 3 ec 121\r\n",
        b"\xef\xbb\xbfeca00075 3 i 510\n",
    ],
)
def test_sniff_claims_7901_headers(header: bytes) -> None:
    assert looks_like_iptc7901(header + b"\n/x/\n\x02Headline =\n\nText\n")


def test_random_bytes_raise_only_parse_errors() -> None:
    rng = random.Random(7901)
    header = b"\x01eca0042 3 i 120\r\n"
    refused = parsed = 0
    for i in range(400):
        payload = rng.randbytes(rng.randrange(0, 400))
        if i % 2:
            payload = header + payload  # past the header, into the deeper paths
        try:
            parse(payload)
            parsed += 1
        except ParseError:  # anything else fails the test
            refused += 1
    assert refused >= 200  # every headerless one at least
    assert parsed > 0


def test_damaged_messages_raise_only_parse_errors() -> None:
    rng = random.Random(1979)
    originals = [message(), message(soh=False, stx=False, etx=False)]
    pieces = [b"\x01", b"\x02", b"\x03", b"\x04", b"=", b"\n", b"\r", b" ", b"/", b"(dpa) -"]
    parsed = 0
    for _ in range(300):
        payload = bytearray(rng.choice(originals))
        for _ in range(rng.randrange(1, 6)):
            at = rng.randrange(len(payload) + 1)
            noise = rng.choice(pieces) if rng.random() < 0.6 else rng.randbytes(rng.randrange(4))
            payload[at : at + rng.randrange(3)] = noise
        try:
            parse(bytes(payload))
            parsed += 1
        except ParseError:
            pass
    assert parsed > 100  # most damage leaves a readable story, so the deep paths ran


def test_a_heading_without_its_end_marker_still_keeps_the_lead_label_apart() -> None:
    payload = (
        b"\x01eca00075 3 i 510    dpa 1003\r\n/politics/Britain/\r\n\x021ST LEAD\r\n"
        b"Top EU court rules on Brexit\r\n   Luxembourg (dpa) - The court ruled.\r\n"
        b"\x03101137 GMT Dez 18\x04"
    )
    story = build_article(parse_iptc7901(payload, "UTC"))
    assert story.headline == "Top EU court rules on Brexit"
    assert story.version == "2", "the 1ST LEAD label still makes it an update"
    assert "1ST LEAD" not in story.body_html and "Top EU court" not in story.body_html


@pytest.mark.parametrize(
    ("trailer", "expected"),
    [
        (b"091223 dic 18", datetime(2018, 12, 9, 12, 23, tzinfo=UTC)),  # Italian, Spanish
        (b"091223 giu 18", datetime(2018, 6, 9, 12, 23, tzinfo=UTC)),
        (b"091223 mrt 18", datetime(2018, 3, 9, 12, 23, tzinfo=UTC)),  # Dutch
        (b"091223 EET dec 18", datetime(2018, 12, 9, 12, 23, tzinfo=UTC)),  # zone unknown: none
        (b"321223 dec 18", None),  # no such day: undated, still read
        (b"091223 brumaire 18", None),  # no such month: undated, still read
    ],
)
def test_a_trailer_time_that_cannot_be_read_never_loses_the_story(
    trailer: bytes, expected: datetime | None
) -> None:
    payload = (
        b"\x01bsf025 3 ec 121   etf 967\r\nFrance\r\n\x02Un titre =\r\n   Texte.\r\n\x03"
        + trailer
        + b"\x04"
    )
    story = build_article(parse_iptc7901(payload, "UTC"))
    assert story.headline == "Un titre"
    assert story.versioncreated == expected
    if expected is None:
        assert ":undated:" in story.guid and story.guid.endswith(":n025")


def test_a_header_with_tabs_between_its_fields_is_read() -> None:
    payload = (
        b"\x01 bsf025\t3\tec\t121\tetf 967\r\nFrance\r\n\x02Un titre =\r\n   Texte.\r\n"
        b"\x03091223 dec 18\x04"
    )
    assert looks_like_iptc7901(payload)
    story = build_article(parse_iptc7901(payload, "UTC"))
    assert (story.headline, story.urgency) == ("Un titre", 3)
