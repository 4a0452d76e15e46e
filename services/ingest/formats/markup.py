"""Turning wire markup into the HTML body the render service expects, and HTML into plain text.

Bodies stay HTML: the render service sanitises them with nh3, so nothing here tries to be a
sanitiser. What happens here is translation: XML elements written out as HTML without namespace
prefixes, NITF's own elements mapped to their HTML counterparts (or unwrapped, keeping their
text), and plain text wrapped in paragraphs.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from enum import Enum
from html.parser import HTMLParser

VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr"}
)

HTML_ELEMENTS = VOID_ELEMENTS | frozenset(
    {"a", "abbr", "address", "article", "aside", "b", "bdi", "bdo", "blockquote", "caption"}
    | {"cite", "code", "colgroup", "data", "dd", "del", "details", "dfn", "div", "dl", "dt"}
    | {"em", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header"}
    | {"i", "iframe", "ins", "kbd", "li", "main", "mark", "ol", "p", "picture", "pre", "q"}
    | {"s", "samp", "section", "small", "span", "strong", "sub", "summary", "sup", "table"}
    | {"tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "video", "audio"}
    | {"object", "script", "style", "noscript", "figure", "nav", "dialog", "template"}
)


class Action(Enum):
    KEEP = "keep"
    UNWRAP = "unwrap"  # drop the element, keep its text and children
    DROP = "drop"  # drop the element and everything in it


# Decides what happens to one element; for KEEP it may also rename it.
Policy = Callable[[ET.Element], tuple[Action, str]]


def keep_everything(element: ET.Element) -> tuple[Action, str]:
    return Action.KEEP, element.tag


# NITF elements that have an HTML twin under another name.
_NITF_RENAMES = {"hl1": "h1", "hl2": "h2", "bq": "blockquote", "credit": "cite", "fn": "aside"}
# Carried elsewhere in the article (media -> images) or never meant for readers.
_NITF_DROPPED = frozenset({"media", "nitf-table-metadata", "pronounce", "body.end"})


def nitf_to_html(element: ET.Element) -> tuple[Action, str]:
    """NITF body.content elements: HTML-like ones kept, NITF-only ones mapped or unwrapped."""
    tag = element.tag
    if tag in _NITF_DROPPED:
        return Action.DROP, tag
    if tag == "note":
        # A non-publishable advisory (type="npa") is for editors, not readers.
        if (element.get("type") or "").lower() == "npa":
            return Action.DROP, tag
        return Action.KEEP, "aside"
    if tag in _NITF_RENAMES:
        return Action.KEEP, _NITF_RENAMES[tag]
    if tag in HTML_ELEMENTS:
        return Action.KEEP, tag
    # person, org, location, chron, money, block, body.content inside a note, ...: keep the words.
    return Action.UNWRAP, tag


def inner_html(element: ET.Element, policy: Policy = keep_everything) -> str:
    """The element's content (not the element itself) written as HTML."""
    out: list[str] = []
    if element.text:
        out.append(html.escape(element.text, quote=False))
    for sub in element:
        _write(sub, policy, out)
    return "".join(out).strip()


def outer_html(elements: list[ET.Element], policy: Policy = keep_everything) -> str:
    out: list[str] = []
    for element in elements:
        _write(element, policy, out)
    return "".join(out).strip()


def _write(element: ET.Element, policy: Policy, out: list[str]) -> None:
    if isinstance(element.tag, str):
        action, name = policy(element)
        if action is Action.KEEP:
            _write_element(element, name, policy, out)
        elif action is Action.UNWRAP:
            if element.text:
                out.append(html.escape(element.text, quote=False))
            for sub in element:
                _write(sub, policy, out)
    if element.tail:
        out.append(html.escape(element.tail, quote=False))


def _write_element(element: ET.Element, name: str, policy: Policy, out: list[str]) -> None:
    out.append(f"<{name}{_attributes(element)}>")
    if name in VOID_ELEMENTS:
        return
    if element.text:
        out.append(html.escape(element.text, quote=False))
    for sub in element:
        _write(sub, policy, out)
    out.append(f"</{name}>")


def _attributes(element: ET.Element) -> str:
    parts = []
    for key, value in element.attrib.items():
        name = "lang" if key == "xml:lang" else key
        parts.append(f' {name}="{html.escape(value, quote=True)}"')
    return "".join(parts)


_BLANK_LINES = re.compile(r"\n[ \t]*\n+")


def text_to_html(text: str) -> str:
    """Plain text as paragraphs: blank lines separate them, or, when there are none, newlines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    chunks = _BLANK_LINES.split(text) if _BLANK_LINES.search(text) else text.split("\n")
    paragraphs = [" ".join(chunk.split()) for chunk in chunks]
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs if p)


_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.has_media = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")
        if tag in {"img", "iframe", "video", "audio", "embed", "object", "picture"}:
            self.has_media = True

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _collect(markup: str) -> _TextCollector:
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    return collector


def html_to_text(markup: str) -> str:
    """The readable text of an HTML fragment, whitespace collapsed."""
    return " ".join("".join(_collect(markup).parts).split())


def is_blank_html(markup: str) -> bool:
    """True for bodies with nothing to show, like a kill's `<p/>`."""
    collector = _collect(markup)
    return not collector.has_media and not "".join(collector.parts).strip()
