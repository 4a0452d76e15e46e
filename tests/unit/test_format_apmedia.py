"""Unit tests of the AP Media API JSON parser (services.ingest.formats.apmedia).

The real files in ../shared/wire-samples/ap-media-json are read as they are; variations of them
(another version, no headline, a picture) are made here by editing a copy of the parsed JSON.
"""

from __future__ import annotations

import base64
import copy
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.ingest.formats import apmedia
from services.ingest.formats.apmedia import looks_like_ap_media, parse_ap_media, split_ap_push
from services.ingest.formats.draft import build_article
from services.ingest.formats.errors import (
    InvalidField,
    MalformedPayload,
    MissingField,
    NotATextStory,
    TooComplex,
    UnknownFormat,
)
from services.ingest.formats.xmlsafe import parse_xml
from shared.models import Article, Subject

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "wire-samples"
AP = SAMPLES / "ap-media-json"
if not AP.is_dir():
    pytest.skip(f"AP samples not found at {AP}", allow_module_level=True)

AGATE = "superdesk-cp_ap-agate.json"
AGATE_NITF = "superdesk-cp_ap-agate-nitf.xml"
POLITICS = "superdesk-cp_politics.json"
PICTURE = "superdesk-cp_ap-getty-picture.json"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((AP / name).read_bytes())
    return doc


def agate_nitf() -> ET.Element:
    return parse_xml((AP / AGATE_NITF).read_bytes())


def article(doc: dict[str, Any], nitf: ET.Element | None = None, tz: str = "UTC") -> Article:
    return build_article(parse_ap_media(doc, tz, nitf))


def politics(**changes: Any) -> dict[str, Any]:
    """The politics response with fields of its item replaced (None: removed)."""
    doc = copy.deepcopy(sample(POLITICS))
    item = doc["data"]["item"]
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return doc


def nitf(content: str = "<p>Susan Rice will run the council.</p>", docdata: str = "") -> ET.Element:
    return parse_xml(
        f"<nitf><head><docdata>{docdata}</docdata></head><body><body.head>"
        "<hedline><hl1>From the NITF</hl1></hedline><byline>By NITF Writer</byline></body.head>"
        f"<body.content>{content}</body.content></body></nitf>"
    )


# --- the samples -------------------------------------------------------------------------

EXPECTED: dict[str, dict[str, Any]] = {
    "agate with its NITF": {
        "file": AGATE,
        "nitf": True,
        "guid": "39b60d8408a78fe7f4c67953c38e7818",
        "version": "5",
        "headline": "NBA Expanded Glance",
        "language": "en",
        "pubstatus": "usable",
        "firstcreated": utc("2021-05-12T14:00:07"),
        "versioncreated": utc("2021-05-13T05:04:44"),
        "urgency": 4,
        "byline": None,
        "description": None,
        "subjects": [("http://cv.ap.org/id/", "54df6c687df7100483dedf092526b43e")],
        "body_starts": '<p class="lead" lede="true">All Times EDT</p>',
    },
    "agate without its NITF": {
        "file": AGATE,
        "nitf": False,
        "guid": "39b60d8408a78fe7f4c67953c38e7818",
        "version": "5",
        "headline": "NBA Expanded Glance",
        "language": "en",
        "pubstatus": "usable",
        "firstcreated": utc("2021-05-12T14:00:07"),
        "versioncreated": utc("2021-05-13T05:04:44"),
        "urgency": 4,
        "byline": None,
        "description": None,
        "subjects": [("http://cv.ap.org/id/", "54df6c687df7100483dedf092526b43e")],
        "body_starts": None,
    },
    "politics": {
        "file": POLITICS,
        "nitf": False,
        "guid": "9e2faea3bf168bab198475dc8be1ec3d",
        "version": "3",
        "headline": "Biden taps Rice as domestic policy adviser, McDonough for VA",
        "language": "en",
        "pubstatus": "usable",
        "firstcreated": utc("2020-12-10T14:56:30"),
        "versioncreated": utc("2020-12-10T16:13:39"),
        "urgency": 4,
        "byline": "By JULIE PACE and ZEKE MILLER",
        "description": "President-elect Joe Biden is naming Susan Rice as director",
        "subjects": [
            ("http://cv.ap.org/id/", "86aad5207dac100488ecba7fa5283c3e"),
            ("http://cv.ap.org/id/", "34dfe89aea0d48a3810bd50ebd390ef0"),
            ("http://cv.ap.org/id/", "3b7477007d701004847aba7fa5283c3e"),
        ],
        "body_starts": None,
    },
}


@pytest.mark.parametrize("case", EXPECTED, ids=list(EXPECTED))
def test_sample(case: str) -> None:
    want = EXPECTED[case]
    story = article(sample(want["file"]), agate_nitf() if want["nitf"] else None)
    assert story.guid == want["guid"]
    assert story.version == want["version"]
    assert story.headline == want["headline"]
    assert story.language == want["language"]
    assert story.pubstatus == want["pubstatus"]
    assert story.firstcreated == want["firstcreated"]
    assert story.versioncreated == want["versioncreated"]
    assert story.timezone_assumed is False
    assert story.urgency == want["urgency"]
    assert story.byline == want["byline"]
    if want["description"] is None:
        assert story.description is None
    else:
        assert story.description is not None
        assert story.description.startswith(want["description"])
    pairs = [(s.scheme, s.code) for s in story.subjects]
    for pair in want["subjects"]:
        assert pair in pairs
    if want["body_starts"] is None:
        assert story.body_html == ""
    else:
        assert story.body_html.startswith(want["body_starts"])


def test_agate_body_holds_the_standings_tables() -> None:
    body = article(sample(AGATE), agate_nitf()).body_html
    assert body.count("<table") == 6
    assert body.count("</table>") == 6
    assert '<h2 class="block-headline">EASTERN CONFERENCE</h2>' in body
    assert '<td class="col-name">x-Philadelphia</td>' in body
    # Read as UTF-8: the em dash and the half survive.
    assert '<td class="col-games-behind">1½</td>' in body
    assert '<td class="col-games-behind">—</td>' in body
    assert "<block" not in body  # a NITF element, unwrapped
    assert body.rstrip().endswith("Phoenix at San Antonio, 1 p.m.</p>")


def test_ap_subjects_keep_their_names_and_no_category_codes() -> None:
    subjects = article(sample(POLITICS)).subjects
    assert (
        Subject(
            scheme="http://cv.ap.org/id/",
            code="3b752ab07d701004847eba7fa5283c3e",
            name="Immigration",
        )
        in subjects
    )
    assert all(s.scheme == "http://cv.ap.org/id/" for s in subjects)
    assert "p" not in [s.code for s in subjects]  # the category code
    # People are not subjects (the machine tagging names Osama bin Laden in this story).
    assert "Osama bin Laden" not in [s.name for s in subjects]


def test_iptc_media_topic_only_where_the_data_gives_one() -> None:
    plain = article(sample(POLITICS)).subjects
    assert not [s for s in plain if s.scheme == "medtop"]
    given = sample(POLITICS)["data"]["item"]["subject"] + [
        {
            "code": "20000621",
            "name": "political process",
            "scheme": "http://cv.iptc.org/newscodes/mediatopic/",
        }
    ]
    mapped = article(politics(subject=given)).subjects
    assert Subject(scheme="medtop", code="20000621", name="political process") in mapped


def test_keywords_and_located() -> None:
    story = article(sample(AGATE))
    assert story.keywords[:3] == ["95", "Glance", "Men"]
    assert article(sample(POLITICS)).located == "WASHINGTON"
    place = {"city": "Bremen", "countryname": "GERMANY"}
    assert article(politics(located=None, datelinelocation=place)).located == "Bremen, GERMANY"


def test_picture_is_refused() -> None:
    with pytest.raises(NotATextStory) as caught:
        parse_ap_media(sample(PICTURE), "UTC")
    assert caught.value.kind == "picture"


@pytest.mark.parametrize("kind", ["graphic", "video", "audio"])
def test_other_media_types_are_refused(kind: str) -> None:
    with pytest.raises(NotATextStory) as caught:
        parse_ap_media(politics(type=kind), "UTC")
    assert caught.value.kind == kind
    assert kind in str(caught.value)


def test_bare_item_reads_as_its_response() -> None:
    doc = sample(POLITICS)
    assert article(doc["data"]["item"]) == article(doc)


# --- identity ----------------------------------------------------------------------------


def test_guid_is_the_itemid_not_the_uri_or_the_request_id() -> None:
    doc = sample(AGATE)
    story = article(doc)
    assert story.guid == doc["data"]["item"]["altids"]["itemid"]
    assert "qt=" not in story.guid and story.guid != doc["id"]
    # A new session gives the same story the same guid.
    moved = copy.deepcopy(doc)
    moved["id"] = "otherrequest"
    moved["data"]["item"]["uri"] = "https://api.ap.org/media/v/content/x?qt=another&et=6b"
    assert article(moved).guid == story.guid


def test_item_without_itemid_is_refused_even_with_a_uri() -> None:
    doc = politics(altids={"etag": "9e2faea3bf168bab198475dc8be1ec3d_3a5aza0c0"})
    with pytest.raises(MissingField) as caught:
        parse_ap_media(doc, "UTC")
    assert caught.value.field == "guid"


def test_version_zero_is_a_version() -> None:
    assert article(politics(version=0)).version == "0"
    assert article(politics(version="0")).version == "0"


def test_version_is_read_as_a_whole_number() -> None:
    assert article(politics(version="12")).version == "12"
    assert article(politics(version="05")).version == "5"
    # No version: the shared default, as for every format.
    assert article(politics(version=None)).version == "1"
    for bad in (True, "3a", -1, 2.5, "v3"):
        with pytest.raises(InvalidField) as caught:
            parse_ap_media(politics(version=bad), "UTC")
        assert caught.value.field == "version"


def test_etag_is_neither_version_nor_guid() -> None:
    altids = dict(sample(POLITICS)["data"]["item"]["altids"])
    altids["etag"] = altids["itemid"] + "_9z9zzz9z9"
    story = article(politics(altids=altids))
    assert (story.guid, story.version) == ("9e2faea3bf168bab198475dc8be1ec3d", "3")


# --- text fields -------------------------------------------------------------------------


def test_headline_falls_back_to_headline_extended_then_title() -> None:
    extended = sample(POLITICS)["data"]["item"]["headline_extended"]
    story = article(politics(headline=None))
    assert story.headline == extended
    assert story.description is not None and story.description.startswith("President-elect")
    assert article(politics(headline=None, headline_extended=None)).headline == "US--Biden-Staff"


def test_headline_from_the_nitf_before_the_title() -> None:
    doc = politics(headline=None, headline_extended=None)
    assert article(doc, nitf()).headline == "From the NITF"


def test_headline_extended_is_the_description_without_a_summary() -> None:
    story = article(politics(description_summary=None))
    assert story.description == sample(POLITICS)["data"]["item"]["headline_extended"]
    # Not said twice when it already is the headline.
    assert article(politics(description_summary=None, headline=None)).description is None


def test_ednote_stays_out_of_the_story() -> None:
    story = article(sample(POLITICS), nitf())
    for text in (story.body_html, story.description or "", story.headline, story.byline or ""):
        assert "UPDATES" not in text
    assert story.body_html == "<p>Susan Rice will run the council.</p>"


def test_bylines() -> None:
    two = [{"by": "By JULIE PACE", "title": "Associated Press"}, {"by": "ZEKE MILLER"}]
    assert article(politics(bylines=two)).byline == "By JULIE PACE, ZEKE MILLER"
    assert article(politics(bylines=None), nitf()).byline == "By NITF Writer"
    assert article(politics(bylines=None)).byline is None


def test_related_text_items_by_itemid() -> None:
    associations = {
        "1": {"uri": "http://api.ap.org/media/v/content/abc?qt=s", "type": "picture"},
        "2": {
            "uri": "http://api.ap.org/media/v/content/def?qt=s",
            "altids": {"itemid": "def0"},
            "type": "text",
        },
    }
    story = article(politics(associations=associations))
    assert story.related_guids == ["def0"]
    assert story.images == []


def test_pubstatus_and_embargo() -> None:
    assert article(politics(pubstatus="canceled")).pubstatus == "canceled"
    assert article(politics(pubstatus="withheld")).pubstatus == "withheld"
    with pytest.raises(InvalidField):
        parse_ap_media(politics(pubstatus="maybe"), "UTC")
    release = '<date.release norm="20201211T050000Z"/>'
    assert article(sample(POLITICS), nitf(docdata=release)).embargoed == utc("2020-12-11T05:00:00")


def test_zoneless_time_is_read_in_the_feed_zone() -> None:
    story = article(politics(versioncreated="2020-12-10T11:13:39"), tz="America/New_York")
    assert story.versioncreated == utc("2020-12-10T16:13:39")
    assert story.timezone_assumed is True


# --- the NITF rendition ------------------------------------------------------------------


def test_nitf_without_id_string_takes_the_items_identity() -> None:
    root = agate_nitf()
    doc_id = root.find("head/docdata/doc-id")
    assert doc_id is not None and doc_id.get("id-string") is None
    story = article(sample(AGATE), root)
    assert story.guid == "39b60d8408a78fe7f4c67953c38e7818"
    assert story.version == "5"


def test_nitf_naming_this_item_is_accepted() -> None:
    named = nitf(docdata='<doc-id id-string="9e2faea3bf168bab198475dc8be1ec3d"/>')
    assert article(sample(POLITICS), named).body_html.startswith("<p>Susan Rice")
    by_key = nitf(docdata='<doc-id id-string="294867375562"/>')  # the friendlykey
    assert article(sample(POLITICS), by_key).guid == "9e2faea3bf168bab198475dc8be1ec3d"


def test_nitf_of_another_story_is_refused() -> None:
    other = nitf(docdata='<doc-id id-string="39b60d8408a78fe7f4c67953c38e7818"/>')
    with pytest.raises(InvalidField) as caught:
        parse_ap_media(sample(POLITICS), "UTC", other)
    assert caught.value.field == "nitf"
    with pytest.raises(InvalidField):
        parse_ap_media(sample(POLITICS), "UTC", parse_xml("<newsItem/>"))


# --- sniffing ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [AGATE, POLITICS, PICTURE])
def test_sniffs_responses_and_bare_items(name: str) -> None:
    doc = sample(name)
    assert looks_like_ap_media(doc)
    assert looks_like_ap_media(doc["data"]["item"])


@pytest.mark.parametrize("path", sorted((SAMPLES / "ninjs").glob("*.json")), ids=lambda p: p.name)
def test_does_not_claim_ninjs(path: Path) -> None:
    doc = json.loads(path.read_bytes())
    assert isinstance(doc, dict)
    assert not looks_like_ap_media(doc)


def test_does_not_claim_ninjs_with_an_itemid() -> None:
    ninjs1 = {
        "uri": "urn:x:1",
        "type": "text",
        "versioncreated": "2024-01-02T03:04:05Z",
        "headline": "Dam opens",
        "altids": {"itemid": "abc"},
    }
    assert not looks_like_ap_media(ninjs1)
    item = sample(POLITICS)["data"]["item"]
    assert not looks_like_ap_media({**item, "$standard": {"name": "ninjs", "version": "2.0"}})
    assert not looks_like_ap_media({"data": {"item": {"headline": "x"}}})
    assert not looks_like_ap_media({"data": {"items": [{"item": item}]}})


# --- pushes ------------------------------------------------------------------------------

BOUNDARY = "ap=push_7f3a"


def multipart(
    *parts: tuple[str, bytes],
    boundary: str = BOUNDARY,
    preamble: bytes = b"",
    close: bool = True,
    newline: bytes = b"\r\n",
) -> bytes:
    out = [preamble] if preamble else []
    for headers, body in parts:
        head = newline.join(h.encode() for h in headers.split("|") if h)
        head = head + newline if head else b""
        out.append(b"--" + boundary.encode() + newline + head + newline + body + newline)
    if close:
        out.append(b"--" + boundary.encode() + b"--" + newline + b"epilogue, ignored")
    return b"".join(out)


JSON_BYTES = (AP / AGATE).read_bytes()
NITF_BYTES = (AP / AGATE_NITF).read_bytes()
RELATED = f'multipart/related; type="application/json"; boundary="{BOUNDARY}"'


def test_multipart_related_push_splits_into_its_parts() -> None:
    payload = multipart(
        ("Content-Type: application/json", JSON_BYTES),
        ("Content-Type: application/nitf+xml|Content-ID: <nitf>", NITF_BYTES),
        preamble=b"This is a multipart message.\r\n",
    )
    assert split_ap_push(payload, RELATED) == (JSON_BYTES, NITF_BYTES)


def test_multipart_mixed_push_with_encoded_parts() -> None:
    body = base64.encodebytes(NITF_BYTES)  # in 76-character lines
    payload = multipart(
        (
            "Content-Type: application/json; charset=utf-8|Content-Transfer-Encoding: 8bit",
            JSON_BYTES,
        ),
        ("Content-Type: image/jpeg|Content-Transfer-Encoding: base64", b"/9j/4AAQ"),
        ("Content-Type: text/xml|Content-Transfer-Encoding: base64", body),
        newline=b"\n",
    )
    assert split_ap_push(payload, f"multipart/mixed; boundary={BOUNDARY}") == (
        JSON_BYTES,
        NITF_BYTES,
    )
    quoted = multipart(
        ("Content-Type: application/json", b"{}"),
        ("Content-Type: text/xml|Content-Transfer-Encoding: quoted-printable", b"<nitf a=3D'1'/>"),
    )
    assert split_ap_push(quoted, RELATED) == (b"{}", b"<nitf a='1'/>")


def test_multipart_push_without_nitf() -> None:
    payload = multipart(("Content-Type: application/json", JSON_BYTES))
    assert split_ap_push(payload, RELATED) == (JSON_BYTES, None)


def test_split_push_parses_like_the_sample_pair() -> None:
    payload = multipart(
        ("Content-Type: application/json", JSON_BYTES), ("Content-Type: text/xml", NITF_BYTES)
    )
    item, rendition = split_ap_push(payload, RELATED)
    assert rendition is not None
    pushed = article(json.loads(item), parse_xml(rendition))
    assert pushed == article(sample(AGATE), agate_nitf())
    assert pushed.body_html.count("<table") == 6


def test_json_envelope_splits_into_its_parts() -> None:
    doc = sample(AGATE)
    payload = json.dumps({**doc, "nitf": NITF_BYTES.decode("utf-8")}).encode()
    item, rendition = split_ap_push(payload, "application/json")
    assert json.loads(item) == doc
    assert rendition == NITF_BYTES
    # The same without a content type.
    assert split_ap_push(payload, None) == (item, rendition)


def test_envelope_nitf_declaring_another_encoding_is_read_as_the_text_it_is() -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><nitf><body><body.content><p>1½</p>'
    payload = json.dumps({**sample(AGATE), "nitf": text + "</body.content></body></nitf>"})
    _item, rendition = split_ap_push(payload.encode(), "application/json")
    assert rendition is not None
    assert parse_xml(rendition).findtext("body/body.content/p") == "1½"


def test_the_nitf_part_may_come_before_the_item() -> None:
    assert split_ap_push(multipart(GOOD_NITF, GOOD_JSON), RELATED) == (b"{}", b"<nitf/>")


def test_payloads_that_are_no_push_come_back_as_they_came() -> None:
    assert split_ap_push(JSON_BYTES, "application/json") == (JSON_BYTES, None)
    assert split_ap_push(NITF_BYTES, "application/nitf+xml") == (NITF_BYTES, None)
    ninjs = b'{"uri": "urn:x:1", "headline": "Dam opens", "nitf": "<nitf/>"}'
    assert split_ap_push(ninjs, "application/json") == (ninjs, None)
    assert split_ap_push(b"{not json", None) == (b"{not json", None)


GOOD_JSON = ("Content-Type: application/json", b"{}")
GOOD_NITF = ("Content-Type: text/xml", b"<nitf/>")
MALFORMED = {
    "no boundary": (multipart(GOOD_JSON, GOOD_NITF), "multipart/related"),
    "bad boundary": (multipart(GOOD_JSON), 'multipart/related; boundary="ends in space "'),
    "boundary not found": (multipart(GOOD_JSON, boundary="other"), RELATED),
    "no closing boundary": (multipart(GOOD_JSON, GOOD_NITF, close=False), RELATED),
    "no JSON part": (multipart(GOOD_NITF), RELATED),
    "two JSON parts": (multipart(GOOD_JSON, GOOD_JSON, GOOD_NITF), RELATED),
    "first part without headers": (multipart(("", b"{}")), RELATED),
    "two XML parts": (multipart(GOOD_JSON, GOOD_NITF, GOOD_NITF), RELATED),
    "empty NITF part": (multipart(GOOD_JSON, ("Content-Type: text/xml", b"  ")), RELATED),
    "headers run into the body": (
        b"--" + BOUNDARY.encode() + b"\r\nContent-Type: application/json\r\n{}\r\n"
        b"--" + BOUNDARY.encode() + b"--",
        RELATED,
    ),
    "garbage header line": (
        multipart(("Content-Type: application/json|not a header", b"{}")),
        RELATED,
    ),
    "bad base64": (
        multipart(GOOD_JSON, ("Content-Type: text/xml|Content-Transfer-Encoding: base64", b"*!")),
        RELATED,
    ),
    "unknown transfer encoding": (
        multipart(GOOD_JSON, ("Content-Type: text/xml|Content-Transfer-Encoding: x-gzip", b"x")),
        RELATED,
    ),
    "envelope NITF not a string": (
        json.dumps({**sample(AGATE), "nitf": {"body_html": "<p>x</p>"}}).encode(),
        "application/json",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_push_is_refused(case: str) -> None:
    payload, content_type = MALFORMED[case]
    with pytest.raises(MalformedPayload):
        split_ap_push(payload, content_type)


def test_push_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    many = multipart(GOOD_JSON, *[GOOD_NITF] * apmedia.MAX_PUSH_PARTS)
    with pytest.raises(TooComplex):
        split_ap_push(many, RELATED)
    at_cap = multipart(GOOD_JSON, GOOD_NITF, *[("Content-Type: image/jpeg", b"x")] * 6)
    assert split_ap_push(at_cap, RELATED) == (b"{}", b"<nitf/>")
    monkeypatch.setattr(apmedia, "MAX_PART_BYTES", 100)
    with pytest.raises(MalformedPayload, match="part 2"):
        split_ap_push(multipart(GOOD_JSON, ("Content-Type: text/xml", b"<a/>" * 40)), RELATED)
    monkeypatch.setattr(apmedia, "MAX_PUSH_BYTES", 1000)
    with pytest.raises(MalformedPayload, match="exceeds"):
        split_ap_push(JSON_BYTES, "application/json")


def test_other_multipart_kinds_are_not_pushes() -> None:
    with pytest.raises(UnknownFormat):
        split_ap_push(multipart(GOOD_JSON), f"multipart/form-data; boundary={BOUNDARY}")
