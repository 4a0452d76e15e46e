"""Unit tests of the wire-format parsing layer (services.ingest.formats).

Payloads are small, made up for these tests, and built inline; the real-world files are covered
by test_wire_conformance.py.
"""

from __future__ import annotations

import base64
import codecs
import json
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest
from pydantic import ValidationError

from services.ingest import formats
from services.ingest.formats import (
    InvalidField,
    MalformedPayload,
    MissingField,
    NotATextStory,
    ParsedStory,
    ParseError,
    UnknownFormat,
    UnsafeXml,
    detect_format,
    parse_stories,
    parse_story,
)
from services.ingest.formats.timestamps import parse_timestamp
from shared.models import Article, Image, Subject

pytestmark = pytest.mark.unit

NAR = "http://iptc.org/std/nar/2006-10-01/"
XHTML = "http://www.w3.org/1999/xhtml"


# --- payload builders ------------------------------------------------------------------------


def ninjs(**fields: Any) -> bytes:
    doc: dict[str, Any] = {"uri": "urn:test:story-1", "type": "text", "headline": "Dam opens"}
    doc.update(fields)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def nitf(
    *,
    docdata: str = '<doc-id id-string="nitf-1"/><date.issue norm="20240102T030405Z"/>',
    docdata_attrs: str = "",
    head_extra: str = "",
    body_head: str = "<hedline><hl1>Bridge closes</hl1></hedline>",
    content: str = "<p>Traffic is diverted.</p>",
    nitf_attrs: str = "",
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>',
) -> bytes:
    return (
        f"{prolog}<nitf{nitf_attrs}><head>{head_extra}<docdata{docdata_attrs}>{docdata}</docdata>"
        f"</head><body><body.head>{body_head}</body.head>"
        f"<body.content>{content}</body.content></body></nitf>"
    ).encode()


def news_item(
    *,
    guid: str = "urn:newsml:example.com:20240102:ferry",
    version: str | None = "2",
    item_class: str = "ninat:text",
    pub_status: str = "stat:usable",
    content_meta: str = "<headline>Ferry resumes service</headline>",
    content_set: str = "<inlineXML contenttype='application/xhtml+xml'>"
    f"<html xmlns='{XHTML}'><body><p>Boats sail again.</p></body></html></inlineXML>",
    item_meta_extra: str = "",
    item_attrs: str = "",
    xmlns: str | None = NAR,
) -> str:
    ns = f' xmlns="{xmlns}"' if xmlns else ""
    version_attr = f' version="{version}"' if version else ""
    return (
        f'<newsItem{ns} guid="{guid}"{version_attr} standard="NewsML-G2"{item_attrs}>'
        f'<itemMeta><itemClass qcode="{item_class}"/>'
        "<versionCreated>2024-01-02T03:04:05Z</versionCreated>"
        f'<pubStatus qcode="{pub_status}"/>{item_meta_extra}</itemMeta>'
        f"<contentMeta>{content_meta}</contentMeta>"
        f"<contentSet>{content_set}</contentSet></newsItem>"
    )


def news_message(*items: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><newsMessage xmlns="{NAR}">'
        f"<header><sent>2024-01-02T03:04:05Z</sent></header>"
        f"<itemSet>{''.join(items)}</itemSet></newsMessage>"
    ).encode()


def article_of(payload: bytes, content_type: str | None = None, **kwargs: Any) -> Article:
    return parse_story(payload, content_type, **kwargs).article


# --- format detection ------------------------------------------------------------------------

NINJS3_KILL_HINTED = b'{"uri": "urn:test:k", "pubstatus": "canceled"}'


@pytest.mark.parametrize(
    ("payload", "content_type", "expected"),
    [
        (ninjs(), "application/json", "ninjs-1"),
        (ninjs(), None, "ninjs-1"),
        (ninjs(), "application/xml", "ninjs-1"),
        (ninjs(), "text/plain; charset=utf-8", "ninjs-1"),
        (b'{"uri": "u", "headlines": [{"value": "h"}]}', None, "ninjs-2"),
        (b'{"uri": "u", "by": "Jo", "headline": "h"}', "application/xml", "ninjs-2"),
        (
            b'{"uri": "u", "headlines": [{"value": "h"}], "versionCreated": "2024-01-01"}',
            None,
            "ninjs-3",
        ),
        (
            b'{"uri": "u", "standard": {"name": "ninjs", "version": "3.0"},'
            b' "headlines": [{"value": "h"}]}',
            None,
            "ninjs-3",
        ),
        (
            b'{"uri": "u", "headlines": [{"value": "h"}],'
            b' "bodies": [{"value": "b", "contentType": "text/plain"}]}',
            None,
            "ninjs-3",
        ),
        (b'{"guid": "g", "headline": "h", "body_html": "<p>b</p>"}', None, "superdesk-ninjs"),
        (
            b'{"uri": "u", "guid": "g", "headline": "h", "extra": {"x": "y"}}',
            None,
            "superdesk-ninjs",
        ),
        (NINJS3_KILL_HINTED, "application/ninjs+json; version=3.0", "ninjs-3"),
        (NINJS3_KILL_HINTED, "application/vnd.superdesk.ninjs+json", "superdesk-ninjs"),
        (NINJS3_KILL_HINTED, None, "ninjs-1"),
        (nitf(), "application/nitf+xml", "nitf"),
        (nitf(), None, "nitf"),
        (nitf(), "application/json", "nitf"),
        (news_message(news_item()), "application/vnd.iptc.g2.newsmessage+xml", "newsml-g2"),
        (news_message(news_item()), "application/json", "newsml-g2"),
        (news_item(xmlns=None).encode(), None, "newsml-g2"),
        (news_item().encode(), "text/html", "newsml-g2"),
        (b"\xef\xbb\xbf  \n" + nitf(), None, "nitf"),
        (b"\n\n" + ninjs(), None, "ninjs-1"),
    ],
)
def test_detect_format(payload: bytes, content_type: str | None, expected: str) -> None:
    assert detect_format(payload, content_type) == expected
    assert parse_story(payload, content_type).format == expected


def test_detect_prefixed_g2_namespace() -> None:
    payload = (
        f'<ns0:newsMessage xmlns:ns0="{NAR}"><ns0:itemSet>'
        '<ns0:newsItem guid="tag:x,2024:1" version="1"><ns0:itemMeta>'
        '<ns0:itemClass qcode="icls:text"/><ns0:pubStatus qcode="stat:usable"/></ns0:itemMeta>'
        "<ns0:contentMeta><ns0:headline>Prefixed</ns0:headline></ns0:contentMeta>"
        "</ns0:newsItem></ns0:itemSet></ns0:newsMessage>"
    ).encode()
    story = parse_story(payload)
    assert story.format == "newsml-g2"
    assert story.article.headline == "Prefixed"


@pytest.mark.parametrize(
    ("payload", "content_type", "error"),
    [
        (b"just some words", None, UnknownFormat),
        (b"just some words", "text/plain", UnknownFormat),
        (b"", None, UnknownFormat),
        (b'{"foo": 1}', "application/json", UnknownFormat),
        (b'[{"uri": "u"}]', None, UnknownFormat),
        (b"<rss><channel/></rss>", "application/xml", UnknownFormat),
        (b'{"uri": "u", "headline": ', None, MalformedPayload),
        (b"<nitf><head>", None, MalformedPayload),
        (b"just some words", "application/json", MalformedPayload),
        (b"<nitf><p>&nbsp;</p></nitf>", None, MalformedPayload),
    ],
)
def test_undetectable_payloads(
    payload: bytes, content_type: str | None, error: type[ParseError]
) -> None:
    with pytest.raises(error):
        detect_format(payload, content_type)
    with pytest.raises(error):
        parse_story(payload, content_type)


def test_errors_are_value_errors_with_field_and_reason() -> None:
    with pytest.raises(ValueError) as caught:
        parse_story(ninjs(headline=None))
    error = caught.value
    assert isinstance(error, MissingField)
    assert error.field == "headline"
    assert "headline" in error.reason


def test_non_bytes_payload_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_story("{}")  # type: ignore[arg-type]


def test_xml_in_a_declared_legacy_encoding() -> None:
    payload = nitf(
        prolog='<?xml version="1.0" encoding="ISO-8859-1"?>',
        body_head="<hedline><hl1>Bl\u00e5b\u00e6r</hl1></hedline>",
    )
    assert article_of(payload.decode().encode("latin-1")).headline == "Bl\u00e5b\u00e6r"


# --- timestamps ------------------------------------------------------------------------------

EXPECTED_INSTANT = datetime(2014, 8, 29, 13, 49, 51, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2014-08-29T13:49:51Z", EXPECTED_INSTANT),
        ("2014-08-29T13:49:51z", EXPECTED_INSTANT),
        ("2014-08-29T13:49:51+00:00", EXPECTED_INSTANT),
        ("2014-08-29T14:49:51+0100", EXPECTED_INSTANT),
        ("2014-08-29T14:49:51+01", EXPECTED_INSTANT),
        ("2014-08-29T08:49:51-05:00", EXPECTED_INSTANT),
        ("2014-08-29T19:19:51+05:30", EXPECTED_INSTANT),
        ("20140829T134951+0000", EXPECTED_INSTANT),
        ("20140829T134951Z", EXPECTED_INSTANT),
        ("20140829T084951-0500", EXPECTED_INSTANT),
        ("2014-08-29 13:49:51Z", EXPECTED_INSTANT),
        ("  2014-08-29T13:49:51Z\n", EXPECTED_INSTANT),
        ("2014-08-29T13:49:51.000Z", EXPECTED_INSTANT),
        ("2014-08-29T13:49:51.5Z", EXPECTED_INSTANT.replace(microsecond=500000)),
        ("2014-08-29T13:49:51,25+00:00", EXPECTED_INSTANT.replace(microsecond=250000)),
        ("2014-08-29T13:49:51.123456789Z", EXPECTED_INSTANT.replace(microsecond=123456)),
        ("20140829T134951.75+0000", EXPECTED_INSTANT.replace(microsecond=750000)),
        ("2014-08-29T13:49Z", EXPECTED_INSTANT.replace(second=0)),
        ("20080219+0100", datetime(2008, 2, 18, 23, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_with_a_zone(raw: str, expected: datetime) -> None:
    stamp = parse_timestamp(raw, "Europe/Oslo", field="versioncreated")
    assert stamp.value == expected
    assert stamp.value.tzinfo is UTC
    assert stamp.zone_assumed is False


@pytest.mark.parametrize(
    ("raw", "default_tz", "expected"),
    [
        ("2020-09-07T14:45:26", "UTC", datetime(2020, 9, 7, 14, 45, 26, tzinfo=UTC)),
        ("2020-09-07T14:45:26", "Europe/Oslo", datetime(2020, 9, 7, 12, 45, 26, tzinfo=UTC)),
        ("2020-01-07T14:45:26", "Europe/Oslo", datetime(2020, 1, 7, 13, 45, 26, tzinfo=UTC)),
        ("20200907T144527", "America/New_York", datetime(2020, 9, 7, 18, 45, 27, tzinfo=UTC)),
        ("2020-09-07T14:45:26.250", "UTC", datetime(2020, 9, 7, 14, 45, 26, 250000, tzinfo=UTC)),
        ("2014-08-29", "UTC", datetime(2014, 8, 29, tzinfo=UTC)),
        ("20140829", "Asia/Tokyo", datetime(2014, 8, 28, 15, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_without_a_zone_use_the_feed_zone(
    raw: str, default_tz: str, expected: datetime
) -> None:
    stamp = parse_timestamp(raw, default_tz, field="versioncreated")
    assert stamp.value == expected
    assert stamp.zone_assumed is True


@pytest.mark.parametrize(
    "raw",
    [
        "yesterday",
        "2014-13-01T00:00:00Z",
        "2014-02-30",
        "2014-08-29T25:00:00Z",
        "2014-08-29T13:49:51+2500",
        "29.08.2014 13:49",
        "1409320191",
    ],
)
def test_unreadable_timestamps_name_the_field(raw: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_story(ninjs(versioncreated=raw))
    assert caught.value.field == "versioncreated"


def test_zoneless_timestamp_flags_the_article() -> None:
    article = article_of(ninjs(versioncreated="2024-03-01T10:00:00"), default_tz="Europe/Berlin")
    assert article.versioncreated == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert article.timezone_assumed is True


def test_zoned_timestamps_do_not_flag_the_article() -> None:
    article = article_of(
        ninjs(versioncreated="2024-03-01T10:00:00+01:00", firstcreated="2024-03-01T09:00:00Z"),
        default_tz="Europe/Berlin",
    )
    assert article.versioncreated == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert article.firstcreated == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert article.timezone_assumed is False


def test_zoneless_nitf_date_uses_the_feed_zone() -> None:
    payload = nitf(docdata='<doc-id id-string="n"/><date.issue norm="20240615T120000"/>')
    article = article_of(payload, default_tz="Europe/Oslo")
    assert article.versioncreated == datetime(2024, 6, 15, 10, 0, tzinfo=UTC)
    assert article.timezone_assumed is True


def test_unknown_feed_zone_is_a_configuration_error_not_a_parse_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus") as caught:
        parse_story(ninjs(), default_tz="Mars/Olympus")
    assert not isinstance(caught.value, ParseError)


# --- embargo ---------------------------------------------------------------------------------

EMBARGO = datetime(2022, 6, 29, 2, 30, tzinfo=UTC)


def g2_embargo(value: str | None) -> bytes:
    """A G2 text item whose itemMeta carries `<embargoed>` (or none, for None)."""
    extra = "" if value is None else f"<embargoed>{value}</embargoed>"
    return news_message(news_item(item_meta_extra=extra))


def nitf_release(release: str) -> bytes:
    """A NITF document whose docdata carries `release` after its doc-id and date.issue."""
    return nitf(docdata=f'<doc-id id-string="n"/><date.issue norm="20240102T030405Z"/>{release}')


@pytest.mark.parametrize(
    ("payload", "expected_format"),
    [
        (ninjs(embargoed="2022-06-29T02:30:00Z"), "ninjs-1"),
        (ninjs(embargoed="2022-06-29T04:30:00+02:00"), "ninjs-1"),
        # Superdesk writes +0000, without the colon.
        (
            b'{"guid": "g", "type": "text", "headline": "h",'
            b' "embargoed": "2022-06-29T02:30:00+0000"}',
            "superdesk-ninjs",
        ),
        (
            b'{"uri": "u", "headlines": [{"value": "h"}],'
            b' "embargoed": "2022-06-28T22:30:00-04:00"}',
            "ninjs-2",
        ),
        (
            b'{"uri": "u", "headlines": [{"value": "h"}],'
            b' "embargoedUntil": "2022-06-29T02:30:00Z"}',
            "ninjs-3",
        ),
        (
            b'{"uri": "u", "standard": {"name": "ninjs", "version": "3.1"},'
            b' "headlines": [{"value": "h"}], "embargoeduntil": "2022-06-29T02:30:00.000Z"}',
            "ninjs-3",
        ),
    ],
)
def test_ninjs_embargo_with_a_zone(payload: bytes, expected_format: str) -> None:
    story = parse_story(payload, default_tz="Europe/Oslo")
    assert story.format == expected_format
    assert story.article.embargoed == EMBARGO
    assert story.article.timezone_assumed is False
    assert story.article.held_at(datetime(2022, 6, 29, 2, 29, tzinfo=UTC))
    assert not story.article.held_at(EMBARGO)


def test_ninjs_zoneless_embargo_is_read_in_the_feed_zone() -> None:
    article = article_of(
        ninjs(embargoed="2022-06-29T04:30:00", versioncreated="2022-06-28T10:00:00Z"),
        default_tz="Europe/Oslo",
    )
    assert article.embargoed == EMBARGO
    assert article.timezone_assumed is True


@pytest.mark.parametrize("value", [None, "", "   "])
def test_ninjs_absent_or_empty_embargo_is_none(value: str | None) -> None:
    payload = json.dumps({"uri": "u", "type": "text", "headline": "h", "embargoed": value})
    assert article_of(payload.encode()).embargoed is None
    assert article_of(ninjs()).embargoed is None


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow 9am",
        "2022-02-30T00:00:00Z",
        "2022-06-29T25:00:00Z",
        "29.06.2022 04:30",
        1656469800,
        True,
        ["2022-06-29T02:30:00Z"],
        {"date": "2022-06-29T02:30:00Z"},
    ],
)
def test_ninjs_unreadable_embargo_is_refused(value: object) -> None:
    payload = json.dumps({"uri": "u", "type": "text", "headline": "h", "embargoed": value})
    with pytest.raises(InvalidField) as caught:
        parse_story(payload.encode())
    assert caught.value.field == "embargoed"


def test_ninjs3_unreadable_embargo_until_is_refused_naming_embargoed() -> None:
    payload = b'{"uri": "u", "headlines": [{"value": "h"}], "embargoedUntil": "soon"}'
    with pytest.raises(InvalidField) as caught:
        parse_story(payload)
    assert caught.value.field == "embargoed"
    assert "embargoedUntil" in caught.value.reason


def test_ninjs_embargo_spellings_that_lowercase_alike_cannot_hide_one() -> None:
    # Lowercased, the empty `embargoeduntil` would overwrite `embargoedUntil`; neither is lost.
    payload = (
        b'{"uri": "u", "headlines": [{"value": "h"}],'
        b' "embargoedUntil": "2022-06-29T02:30:00Z", "embargoeduntil": ""}'
    )
    assert article_of(payload).embargoed == EMBARGO


def test_ninjs_several_embargoes_hold_until_the_latest() -> None:
    payload = (
        b'{"uri": "u", "headlines": [{"value": "h"}],'
        b' "embargoed": "2022-06-28T00:00:00Z", "embargoedUntil": "2022-06-29T02:30:00Z"}'
    )
    assert article_of(payload).embargoed == EMBARGO


def test_ninjs3_nitf_body_release_date_is_an_embargo() -> None:
    nitf_doc = (
        '<nitf><head><docdata><date.release norm="20220629T023000Z"/></docdata></head>'
        "<body><body.content><p>Held.</p></body.content></body></nitf>"
    )
    payload = json.dumps(
        {
            "uri": "u",
            "headlines": [{"value": "h"}],
            "bodies": [{"contentType": "text/vnd.IPTC.NITF", "value": nitf_doc}],
        }
    ).encode()
    article = article_of(payload)
    assert article.body_html == "<p>Held.</p>"
    assert article.embargoed == EMBARGO


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:00:00-05:00",
        "99991231T230000-0500",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:30:00",  # no zone: read in America/New_York, past year 9999 in UTC
    ],
)
def test_embargo_out_of_range_is_refused_not_a_crash(value: str) -> None:
    for payload in (
        ninjs(embargoed=value),
        nitf_release(f'<date.release norm="{value}"/>'),
        g2_embargo(value),
    ):
        with pytest.raises(InvalidField) as caught:
            parse_story(payload, default_tz="America/New_York")
        assert caught.value.field == "embargoed"


def test_any_timestamp_out_of_range_is_refused_not_a_crash() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_story(ninjs(versioncreated="9999-12-31T23:00:00-05:00"))
    assert caught.value.field == "versioncreated"


def test_far_future_embargo_in_range_is_kept() -> None:
    article = article_of(ninjs(embargoed="9999-12-31T23:59:59Z"))
    assert article.embargoed == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_zoneless_embargo_in_the_repeated_hour_is_read_at_its_later_instant() -> None:
    # 02:30 happens twice in Oslo on 2024-10-27 (00:30Z and 01:30Z): an embargo must not be
    # released at the first; other timestamps keep the first reading.
    article = article_of(
        ninjs(embargoed="2024-10-27T02:30:00", versioncreated="2024-10-27T02:30:00"),
        default_tz="Europe/Oslo",
    )
    assert article.embargoed == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert article.versioncreated == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def test_zoneless_embargo_in_the_skipped_hour_is_read_at_its_later_instant() -> None:
    # 02:30 never happens in Oslo on 2024-03-31; the later reading is 03:30 summer time.
    article = article_of(ninjs(embargoed="2024-03-31T02:30:00"), default_tz="Europe/Oslo")
    assert article.embargoed == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "release",
    [
        '<date.release norm="20220629T023000Z"/>',
        '<date.release norm="20220629T043000+0200"/>',
        '<date.release norm="2022-06-29T02:30:00Z"/>',
        # The value belongs in norm; a feed that writes it as text still has an embargo.
        "<date.release>20220629T023000Z</date.release>",
    ],
)
def test_nitf_release_date_is_the_embargo(release: str) -> None:
    article = article_of(nitf_release(release), default_tz="Europe/Oslo")
    assert article.embargoed == EMBARGO
    assert article.timezone_assumed is False
    # date.issue still says when the version was issued.
    assert article.versioncreated == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_nitf_zoneless_release_date_is_read_in_the_feed_zone() -> None:
    article = article_of(
        nitf_release('<date.release norm="20220629T043000"/>'), default_tz="Europe/Oslo"
    )
    assert article.embargoed == EMBARGO
    assert article.timezone_assumed is True


@pytest.mark.parametrize(
    "release",
    [
        "",
        "<date.release/>",
        '<date.release norm=""/>',
        '<date.release norm="  "/>',
        # date.expire is when the item may no longer be used: not an embargo.
        '<date.expire norm="20220629T023000Z"/>',
    ],
)
def test_nitf_absent_or_empty_release_date_is_no_embargo(release: str) -> None:
    assert article_of(nitf_release(release)).embargoed is None


@pytest.mark.parametrize("norm", ["next tuesday", "20220230T000000Z", "2022-06-29T02:30+2500"])
def test_nitf_unreadable_release_date_is_refused(norm: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_story(nitf_release(f'<date.release norm="{norm}"/>'))
    assert caught.value.field == "embargoed"
    assert "date.release" in caught.value.reason


@pytest.mark.parametrize(
    "value", ["2022-06-29T02:30:00Z", "2022-06-29T04:30:00+02:00", "\n  2022-06-29T02:30:00Z  \n"]
)
def test_g2_embargo_with_a_zone(value: str) -> None:
    article = article_of(g2_embargo(value), default_tz="Europe/Oslo")
    assert article.embargoed == EMBARGO
    assert article.timezone_assumed is False


def test_g2_zoneless_embargo_is_read_in_the_feed_zone() -> None:
    article = article_of(g2_embargo("2022-06-29T04:30:00"), default_tz="Europe/Oslo")
    assert article.embargoed == EMBARGO
    assert article.timezone_assumed is True


@pytest.mark.parametrize("value", [None, "", "   "])
def test_g2_absent_or_empty_embargo_is_none(value: str | None) -> None:
    assert article_of(g2_embargo(value)).embargoed is None
    assert article_of(news_message(news_item(item_meta_extra="<embargoed/>"))).embargoed is None


@pytest.mark.parametrize("value", ["until further notice", "2022-06-31T00:00:00Z", "2022-06"])
def test_g2_unreadable_embargo_is_refused(value: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_story(g2_embargo(value))
    assert caught.value.field == "embargoed"


def test_g2_inline_nitf_release_date_is_an_embargo_too() -> None:
    content_set = (
        '<inlineXML contenttype="application/nitf+xml"><nitf><head><docdata>'
        '<date.release norm="20220629T023000Z"/></docdata></head>'
        "<body><body.content><p>Inline.</p></body.content></body></nitf></inlineXML>"
    )
    earlier = "<embargoed>2022-06-28T00:00:00Z</embargoed>"
    item = news_item(item_meta_extra=earlier, content_set=content_set)
    assert article_of(news_message(item)).embargoed == EMBARGO


def test_g2_each_item_of_a_message_has_its_own_embargo() -> None:
    held = news_item(guid="urn:a", item_meta_extra="<embargoed>2022-06-29T02:30:00Z</embargoed>")
    free = news_item(guid="urn:b")
    first, second = parse_stories(news_message(held, free))
    assert first.article.embargoed == EMBARGO
    assert second.article.embargoed is None


# --- language --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("en-GB", "en"),
        ("EN-us", "en"),
        ("de", "de"),
        ("nb-NO", "nb"),
        ("zh-Hant-TW", "zh"),
        ("pt_BR", "pt"),
        (" fr ", "fr"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_language_is_the_primary_subtag(raw: str | None, expected: str) -> None:
    assert article_of(ninjs(language=raw)).language == expected


def test_g2_language_from_content_meta_then_xml_lang() -> None:
    tagged = news_item(content_meta='<language tag="sv-FI"/><headline>H</headline>')
    assert article_of(news_message(tagged)).language == "sv"
    untagged = news_item(item_attrs=' xml:lang="fr-CA"')
    assert article_of(news_message(untagged)).language == "fr"


def test_nitf_language_from_baselang() -> None:
    assert article_of(nitf(nitf_attrs=' baselang="nn-NO"')).language == "nn"


# --- pubstatus -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("usable", "usable"),
        ("withheld", "withheld"),
        ("canceled", "canceled"),
        ("cancelled", "canceled"),
        ("Canceled", "canceled"),
        ("stat:canceled", "canceled"),
        ("stat:withheld", "withheld"),
        ("http://cv.iptc.org/newscodes/pubstatusg2/canceled", "canceled"),
        ("embargoed", "withheld"),
        (None, "usable"),
    ],
)
def test_ninjs_pubstatus(raw: str | None, expected: str) -> None:
    assert article_of(ninjs(pubstatus=raw)).pubstatus == expected


def test_ninjs3_camel_case_pubstatus() -> None:
    payload = json.dumps(
        {"uri": "u", "headlines": [{"value": "H"}], "pubStatus": "withheld"}
    ).encode()
    assert article_of(payload).pubstatus == "withheld"


@pytest.mark.parametrize(
    ("qcode", "expected"),
    [("stat:usable", "usable"), ("stat:withheld", "withheld"), ("stat:canceled", "canceled")],
)
def test_g2_pubstatus(qcode: str, expected: str) -> None:
    assert article_of(news_message(news_item(pub_status=qcode))).pubstatus == expected


@pytest.mark.parametrize(
    ("docdata_attrs", "docdata_extra", "expected"),
    [
        ("", "", "usable"),
        (' management-status="usable"', "", "usable"),
        (' management-status="withheld"', "", "withheld"),
        (' management-status="canceled"', "", "canceled"),
        ("", '<ed-msg msg-type="kill" info="Kill this story."/>', "canceled"),
        ("", '<ed-msg info="Embargoed until noon."/>', "usable"),
    ],
)
def test_nitf_pubstatus(docdata_attrs: str, docdata_extra: str, expected: str) -> None:
    payload = nitf(
        docdata_attrs=docdata_attrs,
        docdata=f'<doc-id id-string="n"/>{docdata_extra}',
    )
    assert article_of(payload).pubstatus == expected


def test_unknown_pubstatus_is_refused_rather_than_published() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_story(ninjs(pubstatus="maybe-later"))
    assert caught.value.field == "pubstatus"


# --- subjects --------------------------------------------------------------------------------


def test_ninjs1_subjects_keep_iptc_vocabularies() -> None:
    payload = ninjs(
        subject=[
            {"code": "medtop:20000123", "name": "a topic"},
            {"scheme": "http://cv.iptc.org/newscodes/subjectcode/", "code": "15000000"},
            {"code": "iptc:04000000", "name": "economy"},
            {"code": "20000456"},
            {"code": "01000000"},
            {"scheme": "http://example.com/vocab/", "code": "x1", "name": "own"},
        ]
    )
    assert article_of(payload).subjects == [
        Subject(scheme="medtop", code="20000123", name="a topic"),
        Subject(scheme="subj", code="15000000"),
        Subject(scheme="subj", code="04000000", name="economy"),
        Subject(scheme="medtop", code="20000456"),
        Subject(scheme="subj", code="01000000"),
        Subject(scheme="http://example.com/vocab/", code="x1", name="own"),
    ]


def test_ninjs2_subject_uris() -> None:
    payload = json.dumps(
        {
            "uri": "u",
            "headlines": [{"value": "H"}],
            "subjects": [
                {"uri": "http://cv.iptc.org/newscodes/mediatopic/20000123", "name": "T"},
                {"uri": "https://cv.iptc.org/newscodes/subjectcode/15000000"},
                {"uri": "https://www.wikidata.org/entity/Q42", "name": "Douglas Adams"},
                {"literal": "gardening"},
            ],
        }
    ).encode()
    assert article_of(payload).subjects == [
        Subject(scheme="medtop", code="20000123", name="T"),
        Subject(scheme="subj", code="15000000"),
        Subject(code="https://www.wikidata.org/entity/Q42", name="Douglas Adams"),
        Subject(code="gardening"),
    ]


def test_superdesk_subject_scheme_and_qcode_are_kept() -> None:
    payload = json.dumps(
        {
            "guid": "g",
            "headline": "H",
            "subject": [
                {"qcode": "04005004", "name": "oil"},
                {"scheme": "region", "qcode": "north", "name": "North"},
                {"scheme": "medtop", "qcode": "20000789"},
            ],
        }
    ).encode()
    assert article_of(payload).subjects == [
        Subject(scheme="subj", code="04005004", name="oil"),
        Subject(scheme="region", code="north", name="North"),
        Subject(scheme="medtop", code="20000789"),
    ]


def test_g2_subjects_with_names_and_iptc_equivalents() -> None:
    meta = (
        '<subject qcode="medtop:20000350"><name>central bank</name></subject>'
        '<subject qcode="subj:04000000"/>'
        '<subject uri="http://cv.iptc.org/newscodes/mediatopic/20000379"/>'
        '<subject qcode="agency:77"><name role="nrol:short">S</name><name>Sports</name>'
        '<sameAs qcode="subj:15000000"/><sameAs qcode="wikidata:Q349"/></subject>'
        "<headline>H</headline>"
    )
    assert article_of(news_message(news_item(content_meta=meta))).subjects == [
        Subject(scheme="medtop", code="20000350", name="central bank"),
        Subject(scheme="subj", code="04000000"),
        Subject(scheme="medtop", code="20000379"),
        Subject(scheme="agency", code="77", name="Sports"),
        Subject(scheme="subj", code="15000000", name="Sports"),
    ]


def test_nitf_tobject_subjects() -> None:
    head = (
        '<tobject tobject.type="news">'
        '<tobject.subject tobject.subject.refnum="15000000" tobject.subject.type="Sport"/>'
        '<tobject.subject tobject.subject.refnum="15054000" tobject.subject.type="Sport"'
        ' tobject.subject.matter="soccer"/>'
        '<tobject.subject tobject.subject.refnum="20001065" tobject.subject.matter="football"/>'
        "</tobject>"
    )
    assert article_of(nitf(head_extra=head)).subjects == [
        Subject(scheme="subj", code="15000000", name="Sport"),
        Subject(scheme="subj", code="15054000", name="soccer"),
        Subject(scheme="medtop", code="20001065", name="football"),
    ]


# --- the other fields of each format ---------------------------------------------------------


def test_ninjs1_fields() -> None:
    payload = ninjs(
        uri="http://example.com/items/42",
        version="3",
        byline="By Ann Other",
        body_html="<p>First.</p><p>Second.</p>",
        body_text="ignored because there is HTML",
        description_html="<p>A <b>short</b> summary.</p>",
        versioncreated="2024-05-06T07:08:09Z",
        firstcreated="2024-05-06T06:00:00Z",
        urgency=2,
        keywords=["dams", "water"],
        located="Springfield",
    )
    article = article_of(payload)
    assert article.guid == "http://example.com/items/42"
    assert article.version == "3"
    assert article.byline == "By Ann Other"
    assert article.body_html == "<p>First.</p><p>Second.</p>"
    assert article.description == "A short summary."
    assert article.versioncreated == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert article.firstcreated == datetime(2024, 5, 6, 6, 0, tzinfo=UTC)
    assert article.urgency == 2
    assert article.keywords == ["dams", "water"]
    assert article.located == "Springfield"


def test_ninjs1_body_text_is_wrapped_in_paragraphs_and_escaped() -> None:
    payload = ninjs(body_text="First para, 1 < 2.\n\nSecond para\ncontinues here.")
    assert article_of(payload).body_html == (
        "<p>First para, 1 &lt; 2.</p><p>Second para continues here.</p>"
    )


def test_ninjs1_body_text_without_blank_lines_splits_on_lines() -> None:
    assert article_of(ninjs(body_text="One.\nTwo.")).body_html == "<p>One.</p><p>Two.</p>"


def test_ninjs1_body_xhtml_is_used_before_body_text() -> None:
    payload = ninjs(body_xhtml="<p>Markup.</p>", body_text="Plain.")
    assert article_of(payload).body_html == "<p>Markup.</p>"


def test_ninjs1_body_xhtml_document_reduced_to_its_body() -> None:
    xhtml = (
        f'<html xmlns="{XHTML}"><head><title>t</title></head>'
        "<body><p>In <em>it</em>.</p></body></html>"
    )
    assert article_of(ninjs(body_xhtml=xhtml)).body_html == "<p>In <em>it</em>.</p>"


def test_ninjs1_string_version_numbers() -> None:
    assert article_of(ninjs(version=7)).version == "7"


def test_ninjs2_fields() -> None:
    payload = json.dumps(
        {
            "uri": "urn:newsml:example.com:20240101:quake",
            "version": "5",
            "headlines": [
                {"role": "short", "value": "Quake"},
                {"role": "main", "value": "Strong quake shakes coast"},
            ],
            "bodies": [
                {"role": "teaser", "contenttype": "text/html", "value": "<p>Teaser.</p>"},
                {"role": "main", "contenttype": "text/plain", "value": "Plain main."},
                {"role": "main", "contenttype": "text/html", "value": "<p>HTML main.</p>"},
            ],
            "descriptions": [{"role": "summary", "value": "A quake."}],
            "by": "Kim Reporter",
            "language": "ja-JP",
            "subjects": [{"uri": "http://cv.iptc.org/newscodes/mediatopic/20000123"}],
        }
    ).encode()
    article = article_of(payload)
    assert article.headline == "Strong quake shakes coast"
    assert article.body_html == "<p>HTML main.</p>"
    assert article.description == "A quake."
    assert article.byline == "Kim Reporter"
    assert article.language == "ja"
    assert article.version == "5"


def test_ninjs2_plain_body_only() -> None:
    payload = json.dumps(
        {"uri": "u", "headlines": [{"value": "H"}], "bodies": [{"value": "A.\n\nB."}]}
    ).encode()
    assert article_of(payload).body_html == "<p>A.</p><p>B.</p>"


def test_ninjs3_nitf_body_is_converted() -> None:
    nitf_doc = (
        '<?xml version="1.0" encoding="UTF-8"?><nitf><body><body.head>'
        "<byline>By Sam Smith<byttl>Correspondent</byttl></byline></body.head>"
        '<body.content><block><p class="lead">Lead.</p><hl2>Section</hl2>'
        "<p>Said <person>Pat</person>.</p></block></body.content></body></nitf>"
    )
    payload = json.dumps(
        {
            "uri": "https://example.com/3",
            "headlines": [{"role": "main", "value": "Three"}],
            "versionCreated": "2024-01-01T00:00:00+02:00",
            "firstCreated": "2023-12-31T20:00:00Z",
            "bodies": [
                {"role": "text", "contentType": "text/plain", "value": "Plain."},
                {"role": "nitf", "contentType": "text/vnd.IPTC.NITF", "value": nitf_doc},
            ],
        }
    ).encode()
    article = article_of(payload)
    assert article.body_html == '<p class="lead">Lead.</p><h2>Section</h2><p>Said Pat.</p>'
    assert article.byline == "By Sam Smith"
    assert article.versioncreated == datetime(2023, 12, 31, 22, 0, tzinfo=UTC)
    assert article.firstcreated == datetime(2023, 12, 31, 20, 0, tzinfo=UTC)


def test_ninjs3_malformed_nitf_body_names_the_field() -> None:
    payload = json.dumps(
        {
            "uri": "u",
            "headlines": [{"value": "H"}],
            "bodies": [{"contentType": "text/vnd.IPTC.NITF", "value": "<nitf><body>"}],
        }
    ).encode()
    with pytest.raises(MalformedPayload) as caught:
        parse_story(payload)
    assert caught.value.field == "bodies"


def test_nitf_fields() -> None:
    payload = nitf(
        head_extra="<title>Title fallback</title>",
        docdata=(
            '<doc-id id-string="nitf-77"/><du-key key="bridge" version="4"/>'
            '<date.issue norm="20240102T030405+0100"/><urgency ed-urg="2"/>'
            '<key-list><keyword key="bridges"/><keyword key="traffic"/></key-list>'
            '<evloc city="Bergen" iso-cc="NO"/>'
        ),
        body_head=(
            "<hedline><hl1>Bridge closes</hl1></hedline>"
            "<byline>By <person>Ola Nordmann</person>, <byttl>Staff</byttl></byline>"
            "<abstract><p>Short.</p></abstract>"
        ),
        content=(
            '<p>Text <org value="x">Roads Inc</org>.</p>'
            '<media media-type="image"><media-reference source="http://img.example/s.jpg"'
            ' width="100" height="50"/><media-reference source="http://img.example/l.jpg"'
            ' width="2000" height="1000" mime-type="image/jpeg"/>'
            "<media-caption>The bridge.</media-caption>"
            "<media-producer>Foto</media-producer></media>"
            '<note type="npa"><body.content><p>Not for readers.</p></body.content></note>'
            "<bq><block><p>Quoted.</p></block><credit>Someone</credit></bq>"
        ),
    )
    article = article_of(payload)
    assert article.guid == "nitf-77"
    assert article.version == "4"
    assert article.headline == "Bridge closes"
    assert article.byline == "By Ola Nordmann"
    assert article.description == "Short."
    assert article.versioncreated == datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert article.urgency == 2
    assert article.keywords == ["bridges", "traffic"]
    assert article.located == "Bergen, NO"
    assert article.body_html == (
        "<p>Text Roads Inc.</p><blockquote><p>Quoted.</p><cite>Someone</cite></blockquote>"
    )
    [image] = article.images
    assert image.href == "http://img.example/l.jpg"
    assert (image.width, image.height, image.mimetype) == (2000, 1000, "image/jpeg")
    assert (image.caption, image.credit) == ("The bridge.", "Foto")


def test_nitf_headline_falls_back_to_title_and_dateline_gives_location() -> None:
    payload = nitf(
        head_extra="<title>From the title</title>",
        body_head=(
            "<dateline><location>TROMSØ</location>, <story.date>Jan 2</story.date></dateline>"
        ),
    )
    article = article_of(payload)
    assert article.headline == "From the title"
    assert article.located == "TROMSØ"


def test_nitf_first_created_from_revision_history() -> None:
    head = (
        '<revision-history norm="20240101T120000Z" function="editor"/>'
        '<revision-history norm="20231231T080000Z" function="writer-author"/>'
    )
    article = article_of(nitf(head_extra=head))
    assert article.firstcreated == datetime(2023, 12, 31, 8, 0, tzinfo=UTC)


def test_g2_fields() -> None:
    item = news_item(
        guid="urn:newsml:example.com:20240102:ferry",
        version="6",
        content_meta=(
            "<contentCreated>2024-01-01T10:00:00+01:00</contentCreated>"
            "<urgency>3</urgency><located><name>Oslo</name></located>"
            '<language tag="nb-NO"/><by>Kari Nordmann</by><creditline>Agency</creditline>'
            "<keyword>ferries</keyword><keyword>weather</keyword>"
            '<headline role="hlrole:sub">Sub</headline><headline>Ferry resumes service</headline>'
            '<description role="drol:caption">caption</description>'
            '<description role="drol:summary">Boats sail again.</description>'
        ),
    )
    article = article_of(news_message(item))
    assert article.guid == "urn:newsml:example.com:20240102:ferry"
    assert article.version == "6"
    assert article.headline == "Ferry resumes service"
    assert article.byline == "Kari Nordmann"
    assert article.description == "Boats sail again."
    assert article.language == "nb"
    assert article.urgency == 3
    assert article.located == "Oslo"
    assert article.keywords == ["ferries", "weather"]
    assert article.versioncreated == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert article.firstcreated == datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    assert article.body_html == "<p>Boats sail again.</p>"


def test_g2_byline_falls_back_to_creditline() -> None:
    item = news_item(content_meta="<creditline>Agency</creditline><headline>H</headline>")
    assert article_of(news_message(item)).byline == "Agency"


@pytest.mark.parametrize(
    ("guid", "version", "expected_guid", "expected_version"),
    [
        ("urn:newsml:example.com:20140829:abc:3", "3", "urn:newsml:example.com:20140829:abc", "3"),
        ("urn:newsml:example.com:20140829:abc:3", None, "urn:newsml:example.com:20140829:abc", "3"),
        ("urn:newsml:example.com:20140829:abc", "4", "urn:newsml:example.com:20140829:abc", "4"),
        ("tag:example.com,2024:story:12", "12", "tag:example.com,2024:story", "12"),
        ("tag:example.com,2024:story", "12", "tag:example.com,2024:story", "12"),
    ],
)
def test_g2_guid_loses_its_version_suffix(
    guid: str, version: str | None, expected_guid: str, expected_version: str
) -> None:
    article = article_of(news_message(news_item(guid=guid, version=version)))
    assert (article.guid, article.version) == (expected_guid, expected_version)


def test_g2_xhtml_body_without_namespace_prefixes() -> None:
    content_set = (
        f'<inlineXML contenttype="application/xhtml+xml"><h:html xmlns:h="{XHTML}"><h:head/>'
        "<h:body><h:header><h:h1>Repeated headline</h:h1></h:header>"
        '<h:p>One &amp; <h:a href="/x">two</h:a>'
        '<h:br/></h:p><h:p xml:lang="en"/></h:body></h:html></inlineXML>'
    )
    body = article_of(news_message(news_item(content_set=content_set))).body_html
    assert body == '<p>One &amp; <a href="/x">two</a><br></p><p lang="en"></p>'


def test_g2_inline_nitf_body_and_byline() -> None:
    content_set = (
        '<inlineXML contenttype="application/nitf+xml">'
        '<nitf xmlns="http://iptc.org/std/NITF/2006-10-18/"><body><body.head>'
        "<hedline><hl1>NITF headline</hl1></hedline><byline>By Lee</byline></body.head>"
        "<body.content><block><p>Inline NITF.</p></block></body.content></body></nitf></inlineXML>"
    )
    article = article_of(news_message(news_item(content_meta="", content_set=content_set)))
    assert article.headline == "NITF headline"
    assert article.byline == "By Lee"
    assert article.body_html == "<p>Inline NITF.</p>"


@pytest.mark.parametrize(
    ("content_set", "expected"),
    [
        (
            '<inlineData contenttype="text/plain">Line one.\n\nLine two.</inlineData>',
            "<p>Line one.</p><p>Line two.</p>",
        ),
        (
            '<inlineData contenttype="text/html">&lt;p&gt;Markup&lt;/p&gt;</inlineData>',
            "<p>Markup</p>",
        ),
        (
            f'<inlineData contenttype="text/plain" encoding="base64">'
            f"{base64.b64encode('Encoded æ.'.encode()).decode()}</inlineData>",
            "<p>Encoded æ.</p>",
        ),
        ("", ""),
    ],
)
def test_g2_inline_data_bodies(content_set: str, expected: str) -> None:
    assert article_of(news_message(news_item(content_set=content_set))).body_html == expected


def test_images_from_ninjs1_associations_pick_the_largest_rendition() -> None:
    payload = ninjs(
        associations={
            "gallery": {
                "type": "picture",
                "uri": "urn:pic:2",
                "renditions": {"thumb": {"href": "http://i/2t.jpg", "width": 10, "height": 10}},
            },
            "featuremedia": {
                "type": "picture",
                "uri": "urn:pic:1",
                "description_text": "A dam.",
                "byline": "Photographer",
                "renditions": {
                    "thumbnail": {"href": "http://i/t.jpg", "width": 120, "height": 80},
                    "original": {
                        "href": "http://i/o.jpg",
                        "width": 4000,
                        "height": 3000,
                        "mimetype": "image/jpeg",
                    },
                    "viewImage": {"href": "http://i/v.jpg", "width": 640, "height": 480},
                },
            },
            "video": {"type": "video", "uri": "urn:vid:1", "renditions": {"m": {"href": "v.mp4"}}},
        }
    )
    images = article_of(payload).images
    assert [i.href for i in images] == ["http://i/o.jpg", "http://i/2t.jpg"]
    assert images[0].caption == "A dam."
    assert images[0].credit == "Photographer"
    assert (images[0].width, images[0].height, images[0].mimetype) == (4000, 3000, "image/jpeg")


UNSAFE_HREFS = [
    "javascript:alert(document.cookie)",
    " JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "data:image/svg+xml;base64,PHN2Zz4=",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("href", UNSAFE_HREFS)
def test_a_picture_address_that_is_not_a_web_url_is_never_shown(href: str) -> None:
    """It would be copied into `<img src>`, `og:image` and JSON-LD; the story itself is kept,
    with the picture's safe renditions when it has them."""
    ninjs_payload = ninjs(
        associations={
            "main": {
                "type": "picture",
                "renditions": {
                    "original": {"href": href, "width": 4000, "height": 3000},
                    "small": {"href": "//cdn.example/s.jpg", "width": 100, "height": 100},
                },
            },
            "other": {"type": "picture", "renditions": {"original": {"href": href}}},
        }
    )
    assert [i.href for i in article_of(ninjs_payload).images] == ["https://cdn.example/s.jpg"]
    media = '<media media-type="image"><media-reference source={} width="9" height="9"/></media>'
    nitf_payload = nitf(content=f"<p>Text.</p>{media.format(quoteattr(href))}")
    assert article_of(nitf_payload).images == []
    g2_payload = news_message(
        news_item(
            item_meta_extra=f'<link rel="irel:seeAlso" href={quoteattr(href)}'
            ' contenttype="image/jpeg"/>'
        )
    )
    assert article_of(g2_payload).images == []
    with pytest.raises(ValidationError):
        Image(href=href)


def test_images_original_wins_when_sizes_are_unknown() -> None:
    payload = ninjs(
        associations={
            "main": {
                "type": "picture",
                "renditions": {
                    "small": {"href": "http://i/s.jpg"},
                    "original": {"href": "http://i/o.jpg"},
                },
            }
        }
    )
    assert [i.href for i in article_of(payload).images] == ["http://i/o.jpg"]


def test_images_from_ninjs2_association_arrays() -> None:
    payload = json.dumps(
        {
            "uri": "u",
            "headlines": [{"value": "H"}],
            "associations": [
                {
                    "name": "mainpic",
                    "uri": "urn:pic:9",
                    "type": "picture",
                    "headlines": [{"value": "Caption from headline"}],
                    "renditions": [
                        {"name": "small", "href": "http://i/s.jpg", "width": 100, "height": 100},
                        {
                            "name": "large",
                            "href": "http://i/l.jpg",
                            "width": 1000,
                            "height": 800,
                            "contenttype": "image/png",
                        },
                    ],
                }
            ],
        }
    ).encode()
    [image] = article_of(payload).images
    assert (image.href, image.caption, image.mimetype) == (
        "http://i/l.jpg",
        "Caption from headline",
        "image/png",
    )


def test_superdesk_related_items_become_related_guids() -> None:
    payload = json.dumps(
        {
            "guid": "tag:sd:1",
            "headline": "H",
            "associations": {
                "editor_0": {"type": "text", "guid": "tag:sd:related-a", "headline": "A"},
                "related_content--1": {"type": "text", "guid": "tag:sd:related-b"},
                "editor_1": None,
                "self": {"type": "text", "guid": "tag:sd:1"},
            },
        }
    ).encode()
    assert article_of(payload).related_guids == ["tag:sd:related-a", "tag:sd:related-b"]


def test_g2_picture_linked_from_a_text_item_in_the_same_message() -> None:
    picture = news_item(
        guid="urn:newsml:example.com:20240102:pic",
        item_class="ninat:picture",
        content_meta="<headline>Boat at quay</headline><creditline>Photo Agency</creditline>",
        content_set=(
            '<remoteContent href="http://img.example/p-small.jpg" width="200" height="100"/>'
            '<remoteContent href="http://img.example/p-large.jpg" width="2000" height="1000"'
            ' contenttype="image/jpeg"/>'
        ),
    )
    text = news_item(
        item_meta_extra=(
            '<link rel="irel:associatedWith" residref="urn:newsml:example.com:20240102:pic"/>'
            '<link rel="irel:seeAlso" residref="urn:newsml:example.com:20240101:earlier">'
            '<itemClass qcode="ninat:text"/></link>'
            '<link rel="irel:seeAlso" href="https://example.com/page"/>'
        )
    )
    article = article_of(news_message(picture, text))
    [image] = article.images
    assert image.href == "http://img.example/p-large.jpg"
    assert (image.caption, image.credit, image.width) == ("Boat at quay", "Photo Agency", 2000)
    assert article.related_guids == ["urn:newsml:example.com:20240101:earlier"]


def test_newsmessage_with_several_text_items() -> None:
    first = news_item(guid="tag:x,2024:a", content_meta="<headline>First</headline>")
    picture = news_item(guid="tag:x,2024:p", item_class="ninat:picture")
    second = news_item(guid="tag:x,2024:b", content_meta="<headline>Second</headline>")
    payload = news_message(first, picture, second)
    stories = parse_stories(payload)
    assert [s.article.headline for s in stories] == ["First", "Second"]
    assert all(isinstance(s, ParsedStory) and s.format == "newsml-g2" for s in stories)
    assert parse_story(payload).article.headline == "First"


# --- items that are not text stories ---------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (ninjs(type="picture"), "picture"),
        (ninjs(type="graphic"), "graphic"),
        (ninjs(type="video"), "video"),
        (ninjs(type="audio"), "audio"),
        (ninjs(type="composite"), "composite"),
        (ninjs(type=None, mimetype="image/jpeg"), "picture"),
        (ninjs(type=None, renditions={"hi": {"href": "v.mp4", "mimetype": "video/mp4"}}), "video"),
        (
            b'{"uri": "u", "headlines": [{"value": "h"}],'
            b' "renditions": [{"name": "o", "href": "p.jpg", "contenttype": "image/jpeg"}]}',
            "picture",
        ),
        (b'{"guid": "g", "type": "composite", "headline": "Package"}', "composite"),
        (b'{"uri": "u", "type": "event", "versionCreated": "2024-01-01T00:00:00Z"}', "event"),
        (news_message(news_item(item_class="ninat:picture")), "picture"),
        (news_message(news_item(item_class="ninat:video")), "video"),
        (news_message(news_item(item_class="ninat:composite")), "composite"),
        (news_item(item_class="http://cv.iptc.org/newscodes/ninature/graphic").encode(), "graphic"),
        (f'<packageItem xmlns="{NAR}" guid="p" version="1"/>'.encode(), "package"),
        (
            news_message(
                '<packageItem guid="p" version="1"/>', news_item(item_class="ninat:picture")
            ),
            "package",
        ),
        (f'<conceptItem xmlns="{NAR}" guid="c" version="1"/>'.encode(), "concept"),
    ],
)
def test_non_text_items_are_rejected(payload: bytes, kind: str) -> None:
    with pytest.raises(NotATextStory) as caught:
        parse_story(payload)
    assert caught.value.kind == kind
    assert kind in caught.value.reason


def test_empty_newsmessage_is_malformed() -> None:
    with pytest.raises(MalformedPayload):
        parse_story(news_message())


# --- missing guid / headline, and kill notices ------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (ninjs(headline=None), "headline"),
        (ninjs(headline="   "), "headline"),
        (ninjs(uri=None), "guid"),
        (ninjs(uri=None, headline=None, pubstatus="canceled"), "guid"),
        (ninjs(headline=None, pubstatus="withheld"), "headline"),
        (b'{"uri": "u", "headlines": [], "bodies": [{"value": "text"}]}', "headline"),
        (nitf(docdata='<date.issue norm="20240102T030405Z"/>'), "guid"),
        (nitf(body_head=""), "headline"),
        (news_message(news_item(content_meta="<slugline>only-a-slug</slugline>")), "headline"),
        (news_message(news_item(guid="")), "guid"),
    ],
)
def test_missing_required_fields_are_named(payload: bytes, field: str) -> None:
    with pytest.raises(MissingField) as caught:
        parse_story(payload)
    assert caught.value.field == field


def test_wrongly_typed_field_is_named() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_story(ninjs(headline={"text": "nested"}))
    assert caught.value.field == "headline"


def test_overlong_headline_is_a_parse_error() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_story(ninjs(headline="x" * 1001))
    assert caught.value.field == "headline"


@pytest.mark.parametrize("status", ["canceled", "cancelled"])
def test_minimal_ninjs_kill_notice(status: str) -> None:
    payload = json.dumps({"uri": "urn:test:gone", "pubstatus": status}).encode()
    story = parse_story(payload)
    assert story.format == "ninjs-1"
    assert story.article.guid == "urn:test:gone"
    assert story.article.killed
    assert story.article.headline == "(killed)"
    assert story.article.body_html == ""


def test_g2_kill_without_headline_or_body() -> None:
    item = news_item(
        pub_status="stat:canceled",
        content_meta="",
        content_set=f"<inlineXML><html xmlns='{XHTML}'><body><p/></body></html></inlineXML>",
    )
    article = article_of(news_message(item))
    assert article.killed
    assert article.headline == "(killed)"
    assert article.body_html == ""


def test_nitf_kill_keeps_its_headline() -> None:
    article = article_of(nitf(docdata_attrs=' management-status="canceled"'))
    assert article.killed
    assert article.headline == "Bridge closes"


# --- unsafe and hostile XML ------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<nitf><head><docdata><doc-id id-string="lol"/></docdata></head>
<body><body.head><hedline><hl1>&lol9;</hl1></hedline></body.head></body></nitf>
"""

QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?><!DOCTYPE n [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><nitf><body><body.content><p>'
    + b"&a;" * 50_000
    + b"</p></body.content></body></nitf>"
)

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE nitf [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<nitf><head><docdata><doc-id id-string="x"/></docdata></head>
<body><body.head><hedline><hl1>&xxe;</hl1></hedline></body.head></body></nitf>
"""

XXE_PARAMETER_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE newsItem [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
{news_item()}
""".encode()


# A parameter entity with a value can declare general entities of its own: still refused.
INTERNAL_PARAMETER_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE newsItem [<!ENTITY % defs "<!ENTITY x 'expanded'>"> %defs;]>
{news_item()}
""".encode()


def test_a_subset_that_only_pulls_in_external_dtds_is_read_without_fetching_them(
    no_network: None,
) -> None:
    """`[<!ENTITY % nitf SYSTEM "nitf-3-0.dtd"> %nitf;]` (SDA-ATS's NewsML 1.2) only loads DTDs,
    which are never fetched and never needed: the subset is dropped and the story read, with no
    connection made (XXE through a remote parameter entity has nothing to reach)."""
    story = parse_story(XXE_PARAMETER_ENTITY)
    assert story.format == "newsml-g2"
    assert detect_format(XXE_PARAMETER_ENTITY, "application/xml") == "newsml-g2"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to open a connection."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    "payload",
    [BILLION_LAUGHS, QUADRATIC_BLOWUP, XXE_FILE, INTERNAL_PARAMETER_ENTITY],
    ids=["billion-laughs", "quadratic-blowup", "xxe-file", "internal-parameter-entity"],
)
def test_entity_declarations_are_refused(payload: bytes) -> None:
    with pytest.raises(UnsafeXml) as caught:
        parse_story(payload)
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd was read into the error
    with pytest.raises(UnsafeXml):
        detect_format(payload, "application/xml")


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeXml):
        parse_story(BILLION_LAUGHS, "application/nitf+xml")
    assert time.perf_counter() - started < 0.5


def test_quadratic_blowup_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(UnsafeXml):
        parse_story(QUADRATIC_BLOWUP)
    assert time.perf_counter() - started < 0.5


@pytest.mark.usefixtures("no_network")
def test_xxe_inside_a_ninjs3_nitf_body_is_refused() -> None:
    payload = json.dumps(
        {
            "uri": "u",
            "headlines": [{"value": "H"}],
            "bodies": [
                {"contentType": "text/vnd.IPTC.NITF", "value": XXE_FILE.decode()},
            ],
        }
    ).encode()
    with pytest.raises(UnsafeXml):
        parse_story(payload)


@pytest.mark.usefixtures("no_network")
def test_external_dtd_reference_is_neither_loaded_nor_fatal() -> None:
    payload = nitf(
        prolog='<?xml version="1.0"?><!DOCTYPE nitf SYSTEM "http://127.0.0.1:9/nitf-3-2.dtd">'
    )
    assert article_of(payload).headline == "Bridge closes"


@pytest.mark.usefixtures("no_network")
def test_entity_from_an_unloaded_dtd_is_malformed_not_fetched() -> None:
    payload = nitf(
        prolog='<?xml version="1.0"?><!DOCTYPE nitf SYSTEM "http://127.0.0.1:9/nitf.dtd">',
        content="<p>a&mdash;b</p>",
    )
    with pytest.raises(MalformedPayload):
        parse_story(payload)


def test_absurdly_deep_nesting_is_a_parse_error() -> None:
    depth = 50_000
    content = "<block>" * depth + "deep" + "</block>" * depth
    with pytest.raises(MalformedPayload):
        parse_story(nitf(content=content))
    deep_json = b'{"uri": "u", "headline": "h", "x": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(MalformedPayload):
        parse_story(deep_json)


def test_oversized_payload_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_PAYLOAD_BYTES", 64)
    with pytest.raises(MalformedPayload):
        parse_story(ninjs(body_text="x" * 100))


# --- purity ----------------------------------------------------------------------------------


def test_parsing_layer_imports_no_transport_or_storage_libraries() -> None:
    code = (
        "import sys, services.ingest.formats; "
        "print(sorted(m for m in ('faststream', 'redis', 'boto3', 'botocore') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_an_empty_g2_embargo_withholds_the_story_until_a_version_says_when() -> None:
    # G2 types `embargoed` DateTimeOrNull: empty is an embargo whose end is not known yet.
    g2 = (
        b'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:test:g2-empty-embargo" '
        b'version="1"><itemMeta><itemClass qcode="ninat:text"/><pubStatus qcode="stat:usable"/>'
        b"<embargoed/></itemMeta><contentMeta><headline>Held</headline></contentMeta>"
        b'<contentSet><inlineXML contenttype="application/xhtml+xml">'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Text.</p></body></html>'
        b"</inlineXML></contentSet></newsItem>"
    )
    article = formats.parse_story(g2).article
    assert article.pubstatus == "withheld" and article.embargoed is None


def test_a_nitf_embargoed_status_with_a_release_time_is_held_until_that_time() -> None:
    nitf = (
        b'<nitf><head><title>Held</title><docdata management-status="embargoed">'
        b'<doc-id id-string="urn:test:nitf-embargoed"/>'
        b'<date.release norm="20300101T090000Z"/></docdata></head>'
        b"<body><body.head><hedline><hl1>Held</hl1></hedline></body.head>"
        b"<body.content><p>Text.</p></body.content></body></nitf>"
    )
    article = formats.parse_story(nitf).article
    assert article.pubstatus == "usable"
    assert article.embargoed is not None and article.embargoed.year == 2030
    withheld = nitf.replace(b'<date.release norm="20300101T090000Z"/>', b"")
    assert formats.parse_story(withheld).article.pubstatus == "withheld"


# --- limits: what no story needs, refused before it is read in full --------------------------


def nested_lists(depth: int) -> str:
    return "<ul><li>level" * depth + "</li></ul>" * depth


@pytest.mark.parametrize(("depth", "why"), [(51, "deep"), (128, "deep"), (290_000, "elements")])
def test_a_body_nested_deeper_than_any_story_is_too_complex(depth: int, why: str) -> None:
    """Sanitising is quadratic in nesting depth: 290k nested `<ul><li>` (under 5 MB) ran past
    240 s on the event loop. (Each level here is two elements.)"""
    with pytest.raises(formats.TooComplex) as caught:
        article_of(ninjs(body_html=nested_lists(depth)))
    assert caught.value.field == "body_html"
    assert why in caught.value.reason


def test_real_nesting_and_unclosed_paragraphs_are_not_depth() -> None:
    """HTML closes `<p>` and `<li>` implicitly: 3,000 unclosed paragraphs are 3,000 siblings."""
    body = "<p>para" * 3000 + nested_lists(40) + "<table><tr><td>x" * 5
    assert article_of(ninjs(body_html=body)).body_html
    # Inline tags never closed do not make a body deep (HTML's parsing closes or re-opens
    # them, and they cost the sanitiser nothing), however deep a parser that keeps them open
    # (libxml2) would nest what follows them.
    for sloppy in ("<ul>" + "<li><a href=x>t" * 300, "<p><a>y" * 300, "<p><em>y" * 300):
        assert article_of(ninjs(body_html=sloppy)).body_html


def test_a_body_with_more_elements_than_any_story_is_too_complex() -> None:
    with pytest.raises(formats.TooComplex) as caught:
        article_of(ninjs(body_html="<p>x</p>" * 25_001))
    assert "elements" in caught.value.reason
    assert article_of(ninjs(body_html="<p>x</p>" * 25_000)).body_html


@pytest.mark.parametrize("paragraphs", [640_000])
def test_an_xml_document_with_more_elements_than_any_wire_is_refused_before_parsing(
    paragraphs: int,
) -> None:
    """A 5 MB NITF with 640k paragraphs parsed for 5.2 s on ingest's event loop."""
    with pytest.raises(formats.TooComplex):
        article_of(nitf(content="<p>a</p>" * paragraphs))


def test_a_g2_headline_only_in_the_inline_nitf_title_is_found() -> None:
    """A byte-order mark, a capitalised <Header>, no contentMeta headline, a zone-less
    versionCreated with a space, and the headline only in the inline NITF's <head><title>."""
    nitf = (
        "<inlineXML contenttype='application/nitf+xml'><nitf><head><title>Ferry line"
        " reopens after storm</title></head><body><body.content><p>Boats sail again.</p>"
        "</body.content></body></nitf></inlineXML>"
    )
    item = news_item(content_meta="<language tag='en'/>", content_set=nitf).replace(
        "2024-01-02T03:04:05Z", "2016-01-12 12:35:40"
    )
    payload = (
        codecs.BOM_UTF8
        + (
            f'<?xml version="1.0" encoding="UTF-8"?><newsMessage xmlns="{NAR}">'
            f"<Header><sent>2016-01-12T12:35:40Z</sent></Header><itemSet>{item}</itemSet></newsMessage>"
        ).encode()
    )
    article = article_of(payload, default_tz="Europe/Oslo")
    assert article.headline == "Ferry line reopens after storm"
    assert article.versioncreated == datetime(2016, 1, 12, 11, 35, 40, tzinfo=UTC)
    assert article.timezone_assumed
    assert article.body_html == "<p>Boats sail again.</p>"


def test_a_capitalised_xhtml_header_stays_out_of_the_body() -> None:
    body = (
        "<inlineXML contenttype='application/xhtml+xml'>"
        f"<html xmlns='{XHTML}'><body><Header><h1>Ferry resumes service</h1></Header>"
        "<p>Boats sail again.</p></body></html></inlineXML>"
    )
    assert article_of(news_item(content_set=body).encode()).body_html == "<p>Boats sail again.</p>"


def test_only_a_subset_in_the_prolog_is_dropped_never_content() -> None:
    from services.ingest.formats.xmlsafe import parse_xml

    # A look-alike DOCTYPE inside the document (here in CDATA) must not cut anything out.
    sneaky = (
        b"<nitf><body><body.content><p><![CDATA[<!DOCTYPE x [<!-- ]]></p><p>KEPT</p>"
        b"<p><![CDATA[ -->]>]]></p></body.content></body></nitf>"
    )
    assert b"KEPT" in ET.tostring(parse_xml(sneaky))
    # A real prolog may be long: a subset after a 5 KB comment is still found.
    long_prolog = (
        b'<?xml version="1.0"?>\n<!--' + b"x" * 5000 + b"-->\n"
        b'<!DOCTYPE NewsML [<!ENTITY % n SYSTEM "n.dtd"> %n; ]><NewsML/>'
    )
    assert parse_xml(long_prolog).tag == "NewsML"
