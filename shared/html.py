"""Article-body HTML: sanitising, splitting into blocks, plain text, the excerpt.

Enrich and render both read a body as `body_blocks(...)`, so a READ ALSO insert that enrich
places "after block 3" lands after the same block 3 on the rendered page, and both cut a story's
excerpt with `excerpt_of`, so a link shows what the story's own page describes it as.
Bodies from the wire are untrusted: only a small allow-list of tags and attributes survives.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Sequence
from typing import Any

import nh3
from lxml import etree
from lxml import html as lxml_html

from shared.errors import PermanentError

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "a", "strong", "em", "b", "i",
        "figure", "figcaption", "img", "table", "caption", "thead", "tbody", "tfoot", "tr", "th",
        "td", "br", "span",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
# Dropped together with everything inside them: their text is never article copy.
DROPPED_WITH_CONTENT: frozenset[str] = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
)
ALLOWED_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

BLOCK_TAGS: frozenset[str] = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "figure", "table",
        "pre", "div", "section", "hr",
    }
)  # fmt: skip
_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_HEADING = re.compile(r"\s*<(h[1-6])\b", re.IGNORECASE)

#: How long an excerpt is, about: a line or two under a headline.
EXCERPT_CHARS = 200


#: The most elements a story's body may have. A long feature or a results table has a few
#: thousand; more than this is not a story a reader could read.
MAX_BODY_ELEMENTS = 25_000
#: The deepest a body's block elements may nest. Real bodies stay under about 20 (a table in a
#: list in a quote); the sanitiser's cost grows with the square of this (each block start tag
#: looks through every open element), while nested inline elements cost it next to nothing.
MAX_BODY_DEPTH = 100

_START_TAG = re.compile(r"<[A-Za-z]")
_TAG_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
#: Elements that nest as blocks. Inline ones (a, b, em, span...) are left out of the depth:
#: sloppy markup that never closes them is cheap to sanitise (HTML's parsing closes or
#: re-opens them), however deep it looks to a parser that keeps them open.
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "dir",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
        "h3", "h4", "h5", "h6", "header", "hgroup", "li", "main", "menu", "nav", "ol", "p",
        "pre", "section", "summary", "table", "caption", "tbody", "thead", "tfoot", "tr", "td",
        "th", "ul", "listing", "xmp", "colgroup",
    }
)  # fmt: skip
# A start tag of the key closes an open element of the same kind, unless one of the values is
# open above it (HTML's implied end tags: a new item ends the item before it, in its list).
_ENDS_ITS_KIND = {
    "li": frozenset({"ul", "ol", "menu", "dir"}),
    "dt": frozenset({"dl"}),
    "dd": frozenset({"dl"}),
    "tr": frozenset({"table", "tbody", "thead", "tfoot"}),
    "td": frozenset({"tr", "table"}),
    "th": frozenset({"tr", "table"}),
    "p": frozenset(),
}
_ENDS_AS_KIND = {"dt": "dd", "dd": "dt", "td": "th", "th": "td"}
#: How far down the open elements an end tag, or an implied one, looks for what it closes.
_LOOK_DOWN = 32


def block_depth(markup: str) -> int:
    """How deep the block elements of an HTML body nest, as HTML's parsing would build them
    (near enough: implied end tags of items, cells and paragraphs, and a block start tag
    closing an open paragraph). Linear in the body's size."""
    stack: list[str] = []
    deepest = 0
    for closing, raw_name in _TAG_TOKEN.findall(markup):
        name = raw_name.lower()
        if name not in _BLOCKS:
            continue
        if closing:
            _pop_to(stack, {name}, frozenset())
            continue
        if stack and stack[-1] == "p":
            stack.pop()  # a block start tag ends an open paragraph
        if name in _ENDS_ITS_KIND:
            _pop_to(stack, {name, _ENDS_AS_KIND.get(name, name)}, _ENDS_ITS_KIND[name])
        stack.append(name)
        deepest = max(deepest, len(stack))
    return deepest


def _pop_to(stack: list[str], names: set[str], boundary: frozenset[str]) -> None:
    for back in range(1, min(len(stack), _LOOK_DOWN) + 1):
        open_name = stack[-back]
        if open_name in names:
            del stack[-back:]
            return
        if open_name in boundary:
            return


def body_shape_problem(markup: str) -> str | None:
    """Why a body is past `MAX_BODY_ELEMENTS` or `MAX_BODY_DEPTH`, or None. Linear in its size:
    the start tags are counted first, and only a body with more of them than the depth limit
    is read for how deep its blocks nest (`block_depth`)."""
    tags = sum(1 for _ in _START_TAG.finditer(markup))
    if tags > MAX_BODY_ELEMENTS:
        return f"body has {tags} elements; at most {MAX_BODY_ELEMENTS} are read"
    if tags <= MAX_BODY_DEPTH:
        return None
    depth = block_depth(markup)
    if depth > MAX_BODY_DEPTH:
        return f"body nests {depth} block elements deep; at most {MAX_BODY_DEPTH} are read"
    return None


class BodyTooComplex(PermanentError):
    """A body past the limits (`body_shape_problem`): ingest refuses one with a 422; a stage
    that is handed one anyway dead-letters it at once rather than spend minutes on it."""


def sanitize_body(html: str) -> str:
    """Clean a body down to the allow-list: no scripts, styles, frames, `on*` handlers or
    `javascript:` URLs survive, and links get `rel="noopener noreferrer"`."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _serialize(element: Any) -> str:
    return str(lxml_html.tostring(element, encoding="unicode", with_tail=False))


def _visible(element: Any) -> bool:
    return (
        bool(element.text_content().strip())
        or element.tag == "img"
        or bool(element.xpath(".//img"))
    )


def split_blocks(body_html: str) -> list[str]:
    """Split a (sanitised) body into top-level blocks: paragraphs, headings, lists, quotes.

    Loose text and inline elements between blocks are gathered into `<p>` elements; a top-level
    `<br>` ends such a run. Empty blocks are dropped.
    """
    if not body_html or not body_html.strip():
        return []
    try:
        root = lxml_html.fragment_fromstring(body_html, create_parent="div")
    except (etree.ParserError, ValueError):
        text = _WS.sub(" ", html_lib.unescape(_TAG.sub(" ", body_html))).strip()
        return [f"<p>{html_lib.escape(text, quote=False)}</p>"] if text else []

    blocks: list[str] = []
    inline: list[str] = []
    inline_visible = False

    def flush() -> None:
        nonlocal inline_visible
        fragment = "".join(inline).strip()
        if fragment and inline_visible:
            blocks.append(f"<p>{fragment}</p>")
        inline.clear()
        inline_visible = False

    if root.text and root.text.strip():
        inline.append(html_lib.escape(root.text, quote=False))
        inline_visible = True
    for child in root:
        tag = child.tag.lower() if isinstance(child.tag, str) else ""
        if tag in BLOCK_TAGS:
            flush()
            if tag == "hr" or _visible(child):
                blocks.append(_serialize(child))
        elif tag == "br":
            flush()
        elif tag:
            inline.append(_serialize(child))
            inline_visible = inline_visible or _visible(child)
        # comments and processing instructions (tag not a string) are skipped
        if child.tail:
            inline.append(html_lib.escape(child.tail, quote=False))
            inline_visible = inline_visible or bool(child.tail.strip())
    flush()
    return blocks


def plain_text(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    if not fragment or not fragment.strip():
        return ""
    try:
        text = lxml_html.fragment_fromstring(fragment, create_parent="div").text_content()
    except (etree.ParserError, ValueError):
        text = html_lib.unescape(_TAG.sub(" ", fragment))
    return _WS.sub(" ", text).strip()


def body_blocks(body_html: str) -> list[str]:
    """A wire body as the blocks a page shows: sanitised, then split. BodyTooComplex (a
    PermanentError) for one past the limits no story reaches."""
    problem = body_shape_problem(body_html)
    if problem is not None:
        raise BodyTooComplex(problem)
    return split_blocks(sanitize_body(body_html))


def is_heading(block: str) -> bool:
    return _HEADING.match(block) is not None


def excerpt_of(description: str | None, blocks: Sequence[str]) -> str:
    """A story's excerpt: its description, else its first paragraph that is not a heading."""
    if description and description.strip():
        return make_excerpt(plain_text(description))
    for block in blocks:
        if is_heading(block):
            continue
        text = plain_text(block)
        if text:
            return make_excerpt(text)
    return ""


def make_excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Shorten plain text to about `limit` characters, on a word boundary, with an ellipsis."""
    text = _WS.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-\u2013\u2014") + "…"
