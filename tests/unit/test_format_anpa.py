"""ANPA 1312 (services.ingest.formats.anpa): the real samples in ../shared/wire-samples/anpa1312,
and made-up messages built inline for what the samples do not show (takes, kills, damage)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.formats.anpa import (
    CATEGORY_SCHEME,
    DERIVED_HEADLINE_MAX,
    KILL_VERSION,
    looks_like_anpa,
    parse_anpa,
)
from services.ingest.formats.draft import build_article
from services.ingest.formats.errors import (
    MalformedPayload,
    MissingField,
    NotATextStory,
    ParseError,
)
from shared.models import Article, Subject, version_ordering

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "wire-samples"
if not SAMPLES.is_dir():
    pytest.skip(f"wire samples not found at {SAMPLES}", allow_module_level=True)

ANPA_SAMPLES = sorted(p.name for p in (SAMPLES / "anpa1312").iterdir())
IPTC7901_SAMPLES = sorted(p.name for p in (SAMPLES / "iptc7901").iterdir())


def sample(name: str) -> bytes:
    return (SAMPLES / "anpa1312" / name).read_bytes()


def article(payload: bytes, default_tz: str = "UTC") -> Article:
    return build_article(parse_anpa(payload, default_tz))


def paragraphs(story: Article) -> list[str]:
    return re.findall(r"<p>(.*?)</p>", story.body_html)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- a made-up message ------------------------------------------------------------------------


def anpa(
    *,
    keyword_line: str | None = "^BC-US--Dam-Opens,312<",
    heading: tuple[str, ...] = ("^Dam opens after years of delay<", "^By JANE ROE="),
    body: tuple[str, ...] = (
        "\t   SPRINGFIELD, Ill. (AP) _ The new dam opened on Monday.",
        "\t   Officials said ``it works.''",
    ),
    priority: str = "r",
    category: str = "a",
    header_keyword: str = "BC-US--Dam-Opens",
    header_version: str = "",
    filed: str = "05-09",
    number: str = "W1234",
    selector: str = "asian",
    trailer: str = "AP-WF-05-09-17 1730GMT<",
    newline: str = "\r\n",
) -> bytes:
    """An AP-style message; every part can be replaced or dropped."""
    lines = [keyword_line] if keyword_line is not None else []
    lines += [*heading, *body]
    header = f"{priority} {category}\x13\x11 {header_keyword} {header_version}   {filed} 0312"
    text = (
        f"\x16\x16\x01{number}\x1f{selector}\n{header}{newline}\x02"
        + newline.join(lines)
        + f"{newline}\x03{trailer}{newline}\x0c{newline}\x04"
    )
    return text.encode("utf-8")


# --- the real samples -------------------------------------------------------------------------


def test_ap_third_lead_writethru() -> None:
    story = article(sample("superdesk_ap_anpa-4.tst"))
    assert story.guid == "anpa:asian:20170509:bc-as--china-daring-escape"
    assert story.version == "4"  # 3rd Ld-Writethru
    assert story.headline == "AP Exclusive: China lawyer's family says US helped them flee"
    assert story.language == "en"
    assert story.pubstatus == "usable"
    assert story.versioncreated == utc("2017-05-09T00:56:00")
    assert not story.timezone_assumed  # the trailer says GMT
    assert story.urgency == 5
    assert story.byline == "By GERRY SHIH"
    assert story.subjects == [Subject(scheme=CATEGORY_SCHEME, code="i", name="international")]
    assert story.located == "BEIJING"
    found = paragraphs(story)
    assert found[0] == (
        "BEIJING (AP) \u2014 Stuck in a Bangkok jail with a deportation order against her, "
        "Chen Guiqiu waited with dread over what seemed certain to come next. A Thai immigration "
        "official showed her surveillance video of the jail entrance, where more than a dozen "
        "Chinese security agents were waiting."
    )
    assert found[-1] == (
        "AP writers Gillian Wong in Beijing, Matthew Pennington in Washington and Grant Peck "
        "in Bangkok contributed to this report."
    )
    assert len(found) == 25
    assert found[-2] == (
        "\u201cIf I've escaped the country, they can't control the situation anymore,\u201d "
        "she said. \u201cNow, what can they do?\u201d"
    )
    assert "subversion \u2014 and where" in found[1]
    assert story.body_html.endswith(f"<hr><p>{found[-1]}</p>")  # AP's ___ rule
    for kept_out in ("Eds:", "AP Photo", "XHG401", "GERRY SHIH", "Associated Press=", "AP-WF"):
        assert kept_out not in story.body_html
    for mark in ("``", "''", "^", "ABRIDGED", "Writethru", "\t"):
        assert mark not in story.body_html


def test_ap_news_alert_takes_its_headline_from_the_body() -> None:
    story = article(sample("superdesk_ap_anpa-5.tst"))
    sentence = (
        "Hawaii files court challenge to Trump administration's definition of close U.S. "
        "relationship needed to avoid travel ban"
    )
    # Every alert is slugged APNewsAlert: the message number keeps one alert from another.
    assert story.guid == "anpa:asian:20170629:bc-us--apnewsalert:w1645"
    assert story.version == "1"
    assert story.headline == (
        "Hawaii files court challenge to Trump administration's definition of close U.S. "
        "relationship\u2026"
    )
    assert len(story.headline) <= DERIVED_HEADLINE_MAX
    assert sentence.startswith(story.headline.removesuffix("\u2026"))
    assert story.language == "en"
    assert story.pubstatus == "usable"
    assert story.versioncreated == utc("2017-06-29T23:50:00")
    assert story.urgency == 2  # bulletin
    assert story.byline is None
    assert story.subjects == [Subject(scheme=CATEGORY_SCHEME, code="a", name="domestic")]
    assert paragraphs(story) == [f"HONOLULU (AP) \u2014 {sentence}."]
    assert "APNewsAlert" not in story.body_html and "AP-WF" not in story.body_html


def test_kyodo_story() -> None:
    story = article(sample("superdesk-belga_kyodo.txt"))
    # Kyodo writes DD-MM: the header's 09-12 and the trailer's 09-12-18 are December 9.
    assert story.guid == "anpa:koko-:20181209:bc-soccer-emperor's-cup"
    assert story.version == "1"
    assert story.headline == (
        "Soccer: Urawa Reds claim 7th Emperor's Cup by beating Vegalta Sendai"
    )
    assert story.language == "en"
    assert story.pubstatus == "usable"
    assert story.versioncreated == utc("2018-12-09T21:37:00")
    assert story.timezone_assumed  # the trailer gives no zone
    assert story.urgency == 3
    assert story.byline is None
    assert story.located == "SAITAMA, Japan"
    found = paragraphs(story)
    assert len(found) == 11
    # Hard-wrapped lines are joined into their paragraph.
    assert found[0] == (
        "SAITAMA, Japan, Dec. 9 Kyodo - Urawa Reds claimed their seventh Emperor's Cup on "
        "Sunday after defeating fellow J-League top division side Vegalta Sendai 1-0 at "
        "Saitama Stadium."
    )
    assert found[-1] == (
        "Three Urawa players -- midfielder Takuya Aoki and forwards Shinzo Koroki and Yuki "
        "Muto -- returned to the starting lineup to lead the team's attack. They came off "
        "during Wednesday's semifinal against Kashima Antlers when they sustained injuries."
    )
    for kept_out in ("==Kyodo", "Kyodo\u003c", "KWS-", "BC-Soccer", "Sendai+", "\r"):
        assert kept_out not in story.body_html


def test_kyodo_time_is_read_in_the_feed_zone() -> None:
    story = article(sample("superdesk-belga_kyodo.txt"), default_tz="Asia/Tokyo")
    assert story.versioncreated == utc("2018-12-09T12:37:00")
    assert story.guid == "anpa:koko-:20181209:bc-soccer-emperor's-cup"  # the date is the wire's


def test_agate_is_refused() -> None:
    with pytest.raises(NotATextStory) as caught:
        parse_anpa(sample("superdesk_ap_anpa-6.tst"), "UTC")
    assert caught.value.kind == "agate"


def test_agate_controls_in_any_story_are_refused() -> None:
    with pytest.raises(NotATextStory) as caught:
        parse_anpa(anpa(body=("\x08Boston\x1f\x1e 66\x1e \x1e 59",)), "UTC")
    assert caught.value.kind == "agate"


# --- the sniff --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ANPA_SAMPLES)
def test_sniff_claims_anpa(name: str) -> None:
    assert looks_like_anpa(sample(name))


@pytest.mark.parametrize("name", IPTC7901_SAMPLES)
def test_sniff_leaves_iptc7901_alone(name: str) -> None:
    assert not looks_like_anpa((SAMPLES / "iptc7901" / name).read_bytes())


@pytest.mark.parametrize(
    "payload",
    [
        b'{"uri": "x"}',
        b"<nitf/>",
        b"",
        b"\x01bsf025 3 ec 121   etf 967\r\n",  # IPTC 7901: priority digit, no US
        b"\x01W2346\x1fasian\n3 i\x13\x11 BC-X 05-09 0100\r\n",  # a digit where the letter is
        b"W2346\x1fasian\nr i\x13\x11 BC-X 05-09 0100\r\n",  # no SOH
    ],
)
def test_sniff_refuses(payload: bytes) -> None:
    assert not looks_like_anpa(payload)


def test_sniff_takes_soh_without_syn_by_its_header() -> None:
    payload = anpa()
    assert looks_like_anpa(payload[2:])  # from SOH on
    assert looks_like_anpa(payload[1:])  # one SYN


# --- takes, versions and guids ----------------------------------------------------------------


def test_takes_of_one_story_share_its_guid_with_rising_versions() -> None:
    original = article(anpa())
    first = article(anpa(keyword_line="^BC-US--Dam-Opens, 1st Ld,350<", header_version="1stLd"))
    second = article(
        anpa(
            keyword_line="^BC-US--Dam-Opens, 2nd Ld-Writethru,402<",
            header_version="2ndLd-Writethru",
            trailer="AP-WF-05-09-17 1910GMT<",
        )
    )
    assert original.guid == first.guid == second.guid == "anpa:asian:20170509:bc-us--dam-opens"
    assert (original.version, first.version, second.version) == ("1", "2", "3")
    assert original.ordering < first.ordering < second.ordering


def test_the_version_is_read_from_the_header_too() -> None:
    story = article(anpa(keyword_line="^BC-US--Dam-Opens,312<", header_version="3rdLd-Writethru"))
    assert story.version == "4"


def test_a_bare_writethru_is_the_second_version() -> None:
    assert article(anpa(keyword_line="^BC-US--Dam-Opens, Writethru,312<")).version == "2"


def test_abridged_is_a_take_word() -> None:
    full = article(anpa(keyword_line="^BC-US--Dam-Opens, 1st Ld-Writethru,900<"))
    short = article(anpa(keyword_line="^BC-US--Dam-Opens-ABRIDGED, 1st Ld-Writethru,300<"))
    assert full.guid == short.guid
    assert full.version == short.version == "2"


def test_a_correction_outranks_the_take_it_corrects() -> None:
    take = article(anpa(keyword_line="^BC-US--Dam-Opens, 2nd Ld-Writethru,402<"))
    corrected = article(anpa(keyword_line="^BC-US--Dam-Opens, 2nd Ld-Writethru, Correction,402<"))
    assert corrected.guid == take.guid
    assert corrected.version == "3.1"
    # Sent the same minute (the trailer's resolution), the correction still wins.
    assert corrected.versioncreated == take.versioncreated
    assert corrected.ordering > take.ordering


def test_a_kill_cancels_the_story_and_outranks_every_take() -> None:
    take = article(anpa(keyword_line="^BC-US--Dam-Opens, 12th Ld-Writethru,402<"))
    kill = article(
        anpa(
            keyword_line="^BC-US--Dam-Opens, Kill<",
            header_version="Kill",
            heading=(),
            body=("\t   KILL: The story is withdrawn.",),
        )
    )
    assert kill.guid == take.guid
    assert kill.pubstatus == "canceled"
    assert take.pubstatus == "usable"
    assert kill.version == KILL_VERSION
    assert version_ordering(kill.version, None) > version_ordering(take.version, None)
    assert kill.headline == "(killed)"  # no headline line: a kill needs none


def test_a_kill_needs_no_text() -> None:
    kill = article(anpa(keyword_line="^BC-US--Dam-Opens, Kill<", heading=(), body=()))
    assert kill.pubstatus == "canceled"
    assert kill.body_html == ""


def test_the_guid_is_the_slug_not_the_message() -> None:
    one = article(anpa(number="W0001", trailer="AP-WF-05-09-17 0800GMT<"))
    two = article(anpa(number="W0999", trailer="AP-WF-05-09-17 2300GMT<"))
    assert one.guid == two.guid
    other_day = article(anpa(filed="05-10", trailer="AP-WF-05-10-17 0100GMT<"))
    assert other_day.guid == "anpa:asian:20170510:bc-us--dam-opens"
    other_slug = article(anpa(keyword_line="^BC-US--Dam-Closes,312<"))
    assert other_slug.guid != one.guid


def test_news_alerts_of_one_day_stay_apart() -> None:
    def alert(number: str) -> Article:
        return article(
            anpa(
                keyword_line="^BC-US--APNewsAlert,17<",
                header_keyword="BC-US--APNewsAlert",
                heading=(),
                number=number,
                body=(f"\t   WASHINGTON (AP) _ Alert number {number} says something.",),
            )
        )

    assert alert("W0001").guid != alert("W0002").guid


def test_filed_on_new_years_eve_sent_on_new_years_day() -> None:
    story = article(anpa(filed="12-31", trailer="AP-WF-01-01-18 0010GMT<"))
    assert story.guid == "anpa:asian:20171231:bc-us--dam-opens"
    assert story.versioncreated == utc("2018-01-01T00:10:00")


def test_header_keyword_names_a_story_without_a_keyword_line() -> None:
    story = article(anpa(keyword_line=None))
    assert story.guid == "anpa:asian:20170509:bc-us--dam-opens"
    assert story.headline == "Dam opens after years of delay"


def test_no_slug_at_all_is_refused() -> None:
    with pytest.raises(MissingField) as caught:
        parse_anpa(anpa(keyword_line=None, header_keyword=""), "UTC")
    assert caught.value.field == "guid"


# --- status, urgency, category ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("letter", "expected"),
    [("f", 1), ("b", 2), ("u", 3), ("r", 5), ("d", 6), ("y", 8), ("x", None)],
)
def test_priority_letter_is_urgency(letter: str, expected: int | None) -> None:
    assert article(anpa(priority=letter)).urgency == expected


def test_category_letter_is_a_subject() -> None:
    assert article(anpa(category="f")).subjects == [
        Subject(scheme=CATEGORY_SCHEME, code="f", name="business and financial")
    ]
    assert article(anpa(category="z")).subjects == [
        Subject(scheme=CATEGORY_SCHEME, code="z", name=None)
    ]


def test_an_advance_is_withheld() -> None:
    assert article(anpa(priority="a")).pubstatus == "withheld"
    assert article(anpa(priority="r")).pubstatus == "usable"


def test_an_embargo_in_the_editors_note_withholds_the_story() -> None:
    heading = ("^Dam opens<", "^(Eds: Embargoed until 6 p.m. EDT)<", "^By JANE ROE=")
    story = article(anpa(heading=heading))
    assert story.pubstatus == "withheld"
    assert "Embargoed" not in story.body_html


def test_an_advisory_is_refused() -> None:
    with pytest.raises(NotATextStory) as caught:
        parse_anpa(anpa(keyword_line="^BC-US--Dam-Opens, Advisory<"), "UTC")
    assert caught.value.kind == "advisory"
    with pytest.raises(NotATextStory):
        parse_anpa(anpa(category="v"), "UTC")


def test_a_partial_take_is_refused() -> None:
    with pytest.raises(NotATextStory) as caught:
        parse_anpa(anpa(keyword_line="^BC-US--Dam-Opens, 1st Add,120<"), "UTC")
    assert caught.value.kind == "take"


# --- the text ---------------------------------------------------------------------------------


def test_heading_lines_and_notes_stay_out_of_the_body() -> None:
    story = article(
        anpa(
            heading=(
                "^Dam opens<",
                "^Water flows again after a decade of delay<",
                "^AP Photo NY101, NY102<",
                "^Eds: Updates with quotes.<",
                "^With AP Photos<",
                "^By JANE ROE and JOHN DOE=",
                "^AP Science Writer=",
            ),
            body=(
                "\t   (Eds: Note language in 3rd graf.)",
                "\t   SPRINGFIELD, Ill. (AP) _ The dam opened.",
                "\t   EDITOR'S NOTE _ Not for readers.",
                "\t   It works.",
            ),
        )
    )
    assert story.headline == "Dam opens"
    assert story.description == "Water flows again after a decade of delay"
    assert story.byline == "By JANE ROE and JOHN DOE"
    assert paragraphs(story) == ["SPRINGFIELD, Ill. (AP) \u2014 The dam opened.", "It works."]
    assert story.located == "SPRINGFIELD, Ill."


def test_text_is_escaped() -> None:
    story = article(
        anpa(
            heading=("^Dam <b>opens</b> & closes<",),
            body=("\t   A <script>alert(1)</script> & more.",),
        )
    )
    assert story.headline == "Dam <b>opens</b> & closes"  # a headline is text, not HTML
    assert paragraphs(story) == ["A &lt;script&gt;alert(1)&lt;/script&gt; &amp; more."]


def test_typewriter_marks() -> None:
    story = article(anpa(body=("\t   ``Yes,'' she said _ twice _ in snake_case, `quietly.",)))
    assert paragraphs(story) == [
        "\u201cYes,\u201d she said \u2014 twice \u2014 in snake_case, \u2018quietly."
    ]


def test_paragraphs_by_indent_and_blank_lines() -> None:
    story = article(
        anpa(
            body=(
                "     First paragraph starts",
                "and goes on.",
                "\tSecond one.",
                "Third, after no indent",
                "",
                "but a blank line before it.",
            )
        )
    )
    assert paragraphs(story) == [
        "First paragraph starts and goes on.",
        "Second one. Third, after no indent",
        "but a blank line before it.",
    ]


def test_a_short_first_sentence_is_the_headline_whole() -> None:
    story = article(
        anpa(
            heading=(),
            body=("\t   WASHINGTON (AP) _ The U.S. Senate passes the bill. More follows.",),
        )
    )
    assert story.headline == "The U.S. Senate passes the bill"


def test_lf_only_reads_as_crlf() -> None:
    crlf = article(sample("superdesk_ap_anpa-4.tst"))
    lf = article(sample("superdesk_ap_anpa-4.tst").replace(b"\r\n", b"\n"))
    assert lf == crlf


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jos\u00e9".encode(), "Jos\u00e9"),  # UTF-8
        (b"Jos\xe9", "Jos\u00e9"),  # Latin-1
        (b"\x93Yes\x94 \x96 no", "\u201cYes\u201d \u2013 no"),  # Windows-1252
    ],
)
def test_encodings(raw: bytes, expected: str) -> None:
    payload = anpa(body=("\t   MARKER",)).replace(b"MARKER", raw)
    assert paragraphs(article(payload)) == [expected]


def test_an_unknown_zone_is_read_in_the_feed_zone_and_a_four_digit_year_too() -> None:
    story = article(anpa(trailer="AP-WF-05-09-2017 1730XYZ<"))
    assert story.versioncreated == utc("2017-05-09T17:30:00") and story.timezone_assumed
    hawaii = article(anpa(trailer="AP-WF-05-09-17 1730HST<"))
    assert hawaii.versioncreated == utc("2017-05-10T03:30:00")


def test_us_zones() -> None:
    story = article(anpa(trailer="AP-WF-05-09-17 1730EDT<"))
    assert story.versioncreated == utc("2017-05-09T21:30:00")


# --- damage -----------------------------------------------------------------------------------


def test_a_message_without_etx_is_refused() -> None:
    # Without ETX the text may end anywhere: half a story is not published.
    payload = sample("superdesk_ap_anpa-4.tst")
    cut = payload[: payload.index(b"\x03")]
    with pytest.raises(MalformedPayload, match="ETX"):
        parse_anpa(cut, "UTC")


def test_every_cut_before_etx_is_refused() -> None:
    payload = sample("superdesk-belga_kyodo.txt")
    for end in range(0, payload.index(b"\x03"), 37):
        with pytest.raises(MalformedPayload):
            parse_anpa(payload[:end], "UTC")


def test_a_message_without_a_transmission_time_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="transmission time"):
        parse_anpa(anpa(trailer=""), "UTC")


def test_two_messages_in_one_payload_are_refused() -> None:
    with pytest.raises(MalformedPayload, match="more than one"):
        parse_anpa(anpa() + anpa(), "UTC")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x16\x16\x01W1234\x1fasian\n\x02text\x03AP-WF-05-09-17 1730GMT\x04",  # no story line
        b"\x16\x16\x01W1234 asian\nr a\x13\x11 BC-X 05-09 0100\r\n\x02t\x03",  # no US
        b"\x16\x16 no SOH",
    ],
)
def test_broken_headers_are_refused(payload: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_anpa(payload, "UTC")


def test_random_bytes_raise_only_parse_errors() -> None:
    rng = random.Random(1312)
    seeds = [sample(name) for name in ANPA_SAMPLES] + [anpa()]
    outcomes: set[str] = set()
    for _ in range(300):
        if rng.random() < 0.5:
            payload = rng.choice([b"", b"\x16\x16\x01", b"\x01"]) + rng.randbytes(
                rng.randrange(0, 400)
            )
        else:
            # A real message with a few bytes changed gets past the framing more often.
            damaged = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 8)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            payload = bytes(damaged[: rng.randrange(1, len(damaged) + 1)])
        try:
            build_article(parse_anpa(payload, "UTC"))
            outcomes.add("parsed")
        except ParseError as exc:
            outcomes.add(type(exc).__name__)
    # Both ends were reached: some damaged messages still parse, some are refused.
    assert "parsed" in outcomes
    assert "MalformedPayload" in outcomes


def test_an_iptc_7901_message_opening_with_syn_is_not_taken_for_anpa() -> None:
    from services.ingest.formats import detect_format

    payload = (
        b"\x16\x16\x01bsf025 3 ec 121   etf 967\r\nFrance\r\n\x02Un titre =\r\n   Texte.\r\n"
        b"\x03091223 dec 18\x04"
    )
    assert not looks_like_anpa(payload)
    assert detect_format(payload) == "iptc-7901"
