"""Parsing untrusted wire XML safely, and small helpers for reading it.

defusedxml refuses any entity declaration (so XXE and billion-laughs payloads fail at the
declaration, before anything is expanded) and never fetches a DTD or anything else: a plain
`<!DOCTYPE nitf SYSTEM "nitf.dtd">`, common in NITF, is allowed but not loaded.

After parsing, namespaces are dropped from element tags: G2 arrives with the NAR namespace as
default, prefixed (`ns0:`), or not at all, and XHTML bodies have to be written out without
prefixes anyway.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .errors import MalformedPayload, TooComplex, UnsafeXml

_XML_NS = "{http://www.w3.org/XML/1998/namespace}"


# A DOCTYPE whose internal subset only declares external parameter entities and references them
# (`[<!ENTITY % nitf SYSTEM "nitf-3-0.dtd"> %nitf; ]`, as SDA-ATS's NewsML 1.2 does): all it does
# is pull in DTDs, which are never fetched and never needed to read the document. The subset is
# dropped so defusedxml, which refuses every entity declaration, can read it. Anything else in a
# subset (a general entity, a parameter entity with a value) is still refused.
_EXTERNAL_PARAMETER_ENTITY = rb"""<!ENTITY\s+%\s*[\w.:-]+\s+(?:SYSTEM|PUBLIC\s+(?:"[^"]*"|'[^']*'))\s*(?:"[^"<>%&]*"|'[^'<>%&]*')\s*>"""
_PARAMETER_REFERENCE = rb"%[\w.:-]+;"
# A comment as XML allows it: no "--" inside.
_COMMENT = rb"<!--(?:(?!--).)*-->"
_EXTERNAL_ONLY_SUBSET = re.compile(
    rb"(<!DOCTYPE\s[^\[>]*)\[(?:\s|"
    + _EXTERNAL_PARAMETER_ENTITY
    + b"|"
    + _PARAMETER_REFERENCE
    + b"|"
    + _COMMENT
    + rb")*\]\s*>",
    re.DOTALL,
)
# What may come before a DOCTYPE: the XML declaration, whitespace, comments, processing
# instructions. The subset is looked for only there, never inside the document's content.
_PROLOG = re.compile(
    rb"(?:<\?xml\b[^>]*\?>)?(?:\s|" + _COMMENT + rb"|<\?(?!xml\b)[^>]*\?>)*", re.DOTALL
)


def _without_external_only_subset(payload: bytes) -> bytes:
    at = _PROLOG.match(payload)
    start = at.end() if at else 0
    found = _EXTERNAL_ONLY_SUBSET.match(payload, start)
    if found is None:
        return payload
    return payload[:start] + found.group(1).rstrip() + b">" + payload[found.end() :]


#: The most elements a wire document may have before it is parsed: a G2 message with a dozen
#: long stories has a few thousand. (Each `<` is counted: an upper bound, and a cheap one.)
MAX_XML_ELEMENTS = 100_000


def parse_xml(payload: bytes | str) -> ET.Element:
    """Parse an XML document or refuse it; the result has namespace-free tags."""
    opens = payload.count(b"<") if isinstance(payload, bytes) else payload.count("<")
    if opens > 2 * MAX_XML_ELEMENTS:  # a start and an end tag per element
        raise TooComplex(
            f"XML has about {opens // 2} elements; at most {MAX_XML_ELEMENTS} are read"
        )
    # expat rejects whitespace before the XML declaration, which some feeds send (after a BOM).
    if isinstance(payload, bytes):
        payload = payload.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
        payload = _without_external_only_subset(payload)
    else:
        payload = payload.lstrip("\ufeff \t\r\n")
    try:
        root = SafeET.fromstring(
            payload, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise UnsafeXml(
            f"XML refused: entity declarations and external references are not allowed ({exc!r})"
        ) from exc
    except ET.ParseError as exc:
        raise MalformedPayload(f"XML is not well-formed: {exc}") from exc
    except LookupError as exc:  # an encoding declaration naming no codec Python has
        raise MalformedPayload(f"XML declares an encoding that cannot be read: {exc}") from exc
    _strip_namespaces(root)
    return root


def _strip_namespaces(root: ET.Element) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        element.tag = local_name(element.tag)
        if any(key.startswith("{") for key in element.attrib):
            element.attrib = {_attribute_name(k): v for k, v in element.attrib.items()}


def _attribute_name(key: str) -> str:
    if key.startswith(_XML_NS):
        return "xml:" + key[len(_XML_NS) :]
    return local_name(key)


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element | None, tag: str) -> list[ET.Element]:
    """Direct children with this tag."""
    if element is None:
        return []
    return [child for child in element if child.tag == tag]


def child(element: ET.Element | None, path: str) -> ET.Element | None:
    """The first element down a `/`-separated path of direct children, or None."""
    current = element
    for step in path.split("/"):
        if current is None:
            return None
        current = next((c for c in current if c.tag == step), None)
    return current


def descendants(element: ET.Element | None, tag: str) -> Iterator[ET.Element]:
    if element is None:
        return iter(())
    return (e for e in element.iter(tag) if e is not element)


def text_of(element: ET.Element | None, *, skip: frozenset[str] = frozenset()) -> str:
    """All text inside an element, whitespace collapsed; subtrees tagged in `skip` left out."""
    if element is None:
        return ""
    return " ".join("".join(_texts(element, skip)).split())


def _texts(element: ET.Element, skip: frozenset[str]) -> Iterator[str]:
    if element.text:
        yield element.text
    for sub in element:
        if isinstance(sub.tag, str) and sub.tag not in skip:
            yield from _texts(sub, skip)
        if sub.tail:
            yield sub.tail


def attr(element: ET.Element | None, name: str) -> str | None:
    """An attribute's stripped value, None when absent or blank."""
    if element is None:
        return None
    value = (element.get(name) or "").strip()
    return value or None
