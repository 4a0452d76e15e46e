"""Property-based API test: generated and mutated payloads against a real running ingest.

Ingest runs as its own process on real Valkey and SeaweedFS. Hypothesis throws valid ninjs with
fields dropped, retyped, huge or full of unicode and nested junk, random JSON, random bytes and
truncated or mangled NITF / NewsML-G2, and mangled real NewsML 1.2, ANPA 1312, IPTC 7901 and AP
Media API files and generated control-character texts at it, with a valid bearer token. Whatever comes in:

- never a 5xx (no 503 either: nothing here is meant to trigger backpressure),
- every answer is one the OpenAPI document lists, with a body matching its schema,
- every story answered 2xx is on the ingested stream, and exactly once per guid+version.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import redis
from faststream.redis.parser.binary import BinaryMessageFormatV1
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.events import ArticleIngested
from shared.streams import INGESTED
from tests.conftest import ServiceProcesses
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.integration

TOKEN = "test-token"
MAX_EXAMPLES = int(os.environ.get("WIREPRESS_FUZZ_EXAMPLES", "250"))
NAR = "http://iptc.org/std/nar/2006-10-01/"

# A small pool of ids and versions, so generated pushes repeat each other and the duplicate
# check is exercised as much as acceptance.
GUIDS = st.sampled_from([f"urn:fuzz:{i}" for i in range(6)])
VERSIONS = st.sampled_from(["1", "2", "3", "1.1"])

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/ninjs+json; version=2.0",
        "application/vnd.superdesk.ninjs+json",
        "application/xml",
        "application/nitf+xml",
        "application/vnd.iptc.g2.newsmessage+xml",
        "text/plain",
        "text/html",
        "image/png",
        "application/octet-stream",
        "multipart/form-data; boundary=x",
        "multipart/related; boundary=x",
        "application/x-www-form-urlencoded",
        "nonsense",
    ]
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
HUGE = st.builds(
    lambda ch, n: ch * n, st.sampled_from(["x", "é", "🗞", "\u202e", " "]), st.integers(0, 150_000)
)
TEXT = st.text(max_size=200) | HUGE


@st.composite
def ninjs_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "uri": draw(GUIDS),
        "version": draw(VERSIONS),
        "type": "text",
        "headline": draw(st.text(min_size=1, max_size=80) | st.just("A fuzzed story")),
        "language": draw(st.sampled_from(["en", "de", "nb-NO", "", "xx-invalid"])),
        "pubstatus": draw(st.sampled_from(["usable", "withheld", "canceled", "bogus"])),
        "versioncreated": draw(
            st.sampled_from(
                ["2026-08-01T08:00:00Z", "2026-08-01T08:00:00", "20260801T080000+0100", "yesterday"]
            )
        ),
        "body_html": draw(
            st.sampled_from(["<p>Text.</p>", "<p>unclosed", "", "<script>x</script>"])
        ),
        "subject": [{"code": "medtop:01000000", "name": "arts"}],
        "urgency": draw(st.integers(-3, 12)),
    }
    for key in draw(st.lists(st.sampled_from(sorted(doc)), max_size=4, unique=True)):
        del doc[key]
    for key in draw(st.lists(st.sampled_from(sorted(doc) or ["uri"]), max_size=3, unique=True)):
        doc[key] = draw(JUNK | TEXT)
    if draw(st.booleans()):
        doc.update(draw(st.dictionaries(st.text(max_size=12), JUNK, max_size=3)))
    return doc


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def xml_documents(draw: st.DrawFn) -> bytes:
    guid, version = draw(GUIDS), draw(VERSIONS)
    headline = escape(draw(st.text(max_size=60).filter(lambda t: all(c.isprintable() for c in t))))
    nitf = (
        f'<?xml version="1.0" encoding="UTF-8"?><nitf><head><docdata>'
        f'<doc-id id-string="{guid}"/><du-key version="{version}"/></docdata></head>'
        f"<body><body.head><hedline><hl1>{headline}</hl1></hedline></body.head>"
        "<body.content><p>Text.</p></body.content></body></nitf>"
    )
    g2 = (
        f'<?xml version="1.0" encoding="UTF-8"?><newsMessage xmlns="{NAR}"><itemSet>'
        f'<newsItem guid="{guid}" version="{version}"><itemMeta><itemClass qcode="ninat:text"/>'
        '<pubStatus qcode="stat:usable"/></itemMeta>'
        f"<contentMeta><headline>{headline}</headline></contentMeta></newsItem>"
        "</itemSet></newsMessage>"
    )
    document = draw(st.sampled_from([nitf, g2])).encode()
    mangle = draw(st.sampled_from(["none", "truncate", "insert", "entity"]))
    if mangle == "truncate":
        return document[: draw(st.integers(0, len(document)))]
    if mangle == "insert":
        at = draw(st.integers(0, len(document)))
        return document[:at] + draw(st.binary(max_size=20)) + document[at:]
    if mangle == "entity":
        return document.replace(
            b"<nitf>", b'<!DOCTYPE nitf [<!ENTITY e SYSTEM "file:///etc/passwd">]><nitf>'
        )
    return document


SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "wire-samples"
# Real files of the control-character and NewsML 1.2 / AP formats, mangled like the XML above:
# the fuzz reads them as bytes, so a parser's every branch on odd input is reached.
NEW_FORMAT_SAMPLES = sorted(
    path.read_bytes()
    for folder in ("newsml-1.2", "anpa1312", "iptc7901", "ap-media-json")
    if (SAMPLES / folder).is_dir()
    for path in (SAMPLES / folder).iterdir()
)


@st.composite
def control_character_documents(draw: st.DrawFn) -> bytes:
    """ANPA 1312 and IPTC 7901 shaped text, with generated headlines and bodies."""
    headline = draw(st.text(max_size=60))
    body = draw(st.text(max_size=300))
    anpa = (
        "\x16\x16\x01a0105 \x1fasian\r\nr i \x13BC-AS--Fuzz,0420\x11\r\n\x02"
        f"^BC-AS--Fuzz, 1st Ld-Writethru,0420<\r\n^{headline}<\r\n\t   {body}\r\n"
        "\x03AP-WF-05-09-17 0056GMT<\x0c\x04"
    )
    iptc = (
        f"\x01bsf025 3 ec 121   etf 967\r\nFuzz\r\n\x02{headline} =\r\n   {body}\r\n"
        "\x03091223 dec 18\x04"
    )
    text = draw(st.sampled_from([anpa, iptc]))
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    return text.encode(encoding, errors="replace")


def mangled(document: bytes, draw: st.DrawFn) -> bytes:
    mangle = draw(st.sampled_from(["none", "truncate", "insert", "flip"]))
    if mangle == "truncate":
        return document[: draw(st.integers(0, len(document)))]
    if mangle == "insert":
        at = draw(st.integers(0, len(document)))
        return document[:at] + draw(st.binary(max_size=20)) + document[at:]
    if mangle == "flip" and document:
        at = draw(st.integers(0, len(document) - 1))
        return (
            document[:at] + bytes([document[at] ^ draw(st.integers(1, 255))]) + document[at + 1 :]
        )
    return document


@st.composite
def new_format_documents(draw: st.DrawFn) -> bytes:
    if NEW_FORMAT_SAMPLES and draw(st.booleans()):
        return mangled(draw(st.sampled_from(NEW_FORMAT_SAMPLES)), draw)
    return mangled(draw(control_character_documents()), draw)


PAYLOADS = (
    ninjs_documents().map(lambda d: json.dumps(d, ensure_ascii=False).encode())
    | ninjs_documents().map(lambda d: json.dumps(d).encode()[: len(json.dumps(d)) // 2])
    | JUNK.map(lambda j: json.dumps(j).encode())
    | xml_documents()
    | new_format_documents()
    | st.binary(max_size=2000)
    | st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass"))
)

# Any printable ASCII (a header cannot start or end with whitespace, so h11 would refuse it).
CORRELATION_IDS = st.none() | st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200
).map(str.strip)


def validator_for(document: dict[str, Any], ref: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": ref, "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def stream_events(settings: StackSettings) -> list[ArticleIngested]:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        events = []
        for _, fields in client.xrange(INGESTED):
            body, _ = BinaryMessageFormatV1.parse(fields[b"__data__"])
            events.append(ArticleIngested.model_validate_json(body))
        return events
    finally:
        client.close()


def test_generated_payloads_never_get_a_5xx_and_accepted_stories_are_emitted_once(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start("ingest")
    client = httpx.Client(base_url=services.ingest_url, timeout=30)
    document = client.get("/openapi.json").json()
    responses = document["paths"]["/v1/stories"]["post"]["responses"]
    validators = {
        status: validator_for(document, spec["content"][media]["schema"]["$ref"])
        for status, spec in responses.items()
        for media in spec["content"]
    }
    answered: Counter[int] = Counter()
    accepted: set[tuple[str, str]] = set()

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        # A failure in CI prints a @reproduce_failure blob: the example can be replayed here.
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(payload=PAYLOADS, content_type=CONTENT_TYPES, correlation_id=CORRELATION_IDS)
    def push(payload: bytes, content_type: str | None, correlation_id: str | None) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if content_type:
            headers["Content-Type"] = content_type
        if correlation_id is not None:
            headers["X-Correlation-ID"] = correlation_id
        response = client.post("/v1/stories", content=payload, headers=headers)
        status = response.status_code
        answered[status] += 1
        assert status < 500, f"{status}: {response.text[:500]}"
        assert str(status) in responses, f"undocumented status {status}"
        if status >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
        validators[str(status)].validate(response.json())
        if status in (200, 202):
            for story in response.json()["stories"]:
                if story["status"] == "accepted":
                    key = (story["article_id"], story["version"])
                    assert key not in accepted, f"{key} accepted twice"
                    accepted.add(key)

    try:
        push()
    finally:
        client.close()
        print(f"answers: {dict(answered)}")

    emitted = Counter((e.article_id, e.version) for e in stream_events(settings))
    assert set(emitted) == accepted
    assert all(count == 1 for count in emitted.values()), emitted
    # The generators reach both sides of the door, or the test proves little.
    assert answered[202] > 0
    assert sum(n for s, n in answered.items() if s >= 400) > 0
