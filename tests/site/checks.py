"""The checks a published news site must pass, run against the site over HTTP as readers,
crawlers and feed readers see it.

Each check returns a list of problems, one string each, naming the URL and what is wrong, so a
test asserts `== []` and prints them (`report`). `crawl` returns a `SiteCrawl` whose `problems`
is that list, and what it found (pages, feeds) feeds the other checks; `browser_walk` returns a
`BrowserWalk` with `problems` and, apart, the steps whose links the site does not have yet.

Nothing here knows which page kinds the site has: pages are found by crawling from the home
page, feeds from `<link rel="alternate">`, sitemaps from robots.txt's `Sitemap:` lines (or
`/sitemap.xml`), and pages are told apart by their path (`page_kind`).

The tools: the Nu HTML Checker (npm vnu-jar, run with Java) and axe-core (npm), both under
tests/site/node_modules (`infra/install-site-tools.sh`); Debian's Chromium driven by Playwright
for Python; feedparser; lxml's XMLSchema with the sitemaps.org schemas in ../shared. A check
whose tool is missing raises `ToolMissing` (tests skip on it, with its reason, except under
`make test`, which installs the tools and fails instead).
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import shutil
import subprocess
import threading
import urllib.robotparser
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from lxml import etree
from lxml import html as lxml_html

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VNU_JAR = HERE / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
#: The sitemaps.org schemas, beside the repository (never copied into it).
SITEMAP_SCHEMAS = ROOT.parent / "shared" / "schemas" / "sitemaps"
CHROMIUM = Path("/usr/bin/chromium")
#: As root on a machine with a closed network: no sandbox, and no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = "run infra/install-site-tools.sh"

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
#: The sitemap protocol's limits, per file (the size uncompressed).
SITEMAP_MAX_URLS = 50_000
SITEMAP_MAX_BYTES = 50 * 1024 * 1024
#: Google News: at most this many `<news:news>` per sitemap, each from the last two days.
NEWS_MAX_URLS = 1000
NEWS_MAX_AGE = timedelta(days=2)
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
#: `<link rel="alternate" type=...>` that announce a feed, and the format each is.
FEED_LINK_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
}
#: What a listing page in the crawl is; everything else is `other`.
LISTING_KINDS = frozenset({"home", "section", "tag", "author", "archive", "pagination"})
#: Every page kind a finished site has (`page_kind`).
SITE_PAGE_KINDS = (
    "home",
    "section",
    "tag",
    "author",
    "archive",
    "pagination",
    "article",
    "not_found",
)


class ToolMissing(RuntimeError):
    """A check's tool is not installed on this machine."""


def report(problems: Sequence[str], limit: int = 50) -> str:
    """Problems as a readable list for an assertion message."""
    lines = [f"{len(problems)} problem(s):"] + [f"  - {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    return "\n".join(lines)


def _examples(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


# --- fetching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """One GET: the answer as a client sees it (the body decoded from its Content-Encoding)."""

    url: str
    status: int  # 0: no HTTP answer
    content_type: str = ""
    content_encoding: str = ""
    body: bytes = field(default=b"", repr=False)
    error: str = ""

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error

    @property
    def is_html(self) -> bool:
        return self.ok and self.media_type in ("text/html", "application/xhtml+xml")

    def describe(self) -> str:
        return self.error or f"HTTP {self.status}"


class Fetcher:
    """GETs each URL once (the answers are kept), many at a time."""

    def __init__(self, timeout: float = 20.0, workers: int = 8) -> None:
        self._client = httpx.Client(timeout=timeout, follow_redirects=True)
        self._cache: dict[str, Fetched] = {}
        self._lock = threading.Lock()
        self._workers = workers

    def close(self) -> None:
        self._client.close()

    def get(self, url: str) -> Fetched:
        with self._lock:
            hit = self._cache.get(url)
        if hit is None:
            hit = self._fetch(url)
            with self._lock:
                self._cache[url] = hit
        return hit

    def get_many(self, urls: Iterable[str]) -> dict[str, Fetched]:
        unique = list(dict.fromkeys(urls))
        with ThreadPoolExecutor(self._workers) as pool:
            return dict(zip(unique, pool.map(self.get, unique), strict=True))

    def _fetch(self, url: str) -> Fetched:
        try:
            with self._client.stream("GET", url) as response:
                status = response.status_code
                content_type = response.headers.get("content-type", "")
                encoding = response.headers.get("content-encoding", "")
                try:
                    body = response.read()
                except httpx.DecodingError as exc:
                    error = f"body does not decode as Content-Encoding {encoding!r}: {exc}"
                    return Fetched(url, status, content_type, encoding, b"", error)
        except httpx.HTTPError as exc:
            return Fetched(url, 0, error=f"no answer: {exc!r}")
        return Fetched(url, status, content_type, encoding, body)


# --- where a URL is on the site --------------------------------------------------------------


def site_path(url: str, base_url: str) -> str | None:
    """The URL's path under the site's base URL ('' for the base itself), or None if outside."""
    base = base_url.rstrip("/")
    url = urldefrag(url).url.split("?", 1)[0]
    if url == base:
        return ""
    if url.startswith(base + "/"):
        return url[len(base) + 1 :]
    return None


def _same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


_PAGE_KINDS = [
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("home", r"(index\.html)?"),
        ("not_found", r"404\.html"),
        ("pagination", r"(.+/)?page/\d+/(index\.html)?"),
        ("section", r"section/[^/]+/(index\.html)?"),
        ("tag", r"tags/[^/]+/(index\.html)?"),
        ("author", r"authors/[^/]+/(index\.html)?"),
        ("archive", r"\d{4}/(\d{2}/(\d{2}/)?)?(index\.html)?"),
        ("article", r"\d{4}/\d{2}/(\d{2}/)?[^/]+/(index\.html)?"),
    )
]


def page_kind(url: str, base_url: str) -> str:
    """What a page is, by its path: home, section, tag, author, archive (a date archive),
    pagination (a listing's `page/N/`), article, not_found (404.html), other; `outside` for a URL
    not on the site."""
    path = site_path(url, base_url)
    if path is None:
        return "outside"
    for kind, pattern in _PAGE_KINDS:
        if pattern.fullmatch(path):
            return kind
    return "other"


# --- crawling --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    source: str  # the page it is on
    target: str  # absolute, without its fragment
    element: str  # "a", "link", "img", ...
    rel: tuple[str, ...] = ()
    type: str = ""


#: `<link>` relations that name no resource to fetch.
_HINT_RELS = frozenset({"preconnect", "dns-prefetch"})
_LINKING = {
    "a": ("href",),
    "area": ("href",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "script": ("src",),
    "iframe": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
}


def _urls_of(element: Any, attribute: str) -> list[str]:
    value = (element.get(attribute) or "").strip()
    if not value:
        return []
    if attribute == "srcset":
        return [part.split()[0] for part in value.split(",") if part.strip()]
    return [value]


def extract_links(page: Fetched) -> list[Link]:
    """Every URL an HTML page links to or loads (http(s) only, fragments dropped)."""
    try:
        doc = lxml_html.fromstring(page.body)
    except (etree.ParserError, ValueError):
        return []
    base = page.url
    base_element = doc.find(".//base[@href]")
    if base_element is not None:
        base = urljoin(base, base_element.get("href", ""))
    links: list[Link] = []
    for element in doc.iter(*_LINKING):
        rel = tuple((element.get("rel") or "").lower().split())
        if element.tag == "link" and _HINT_RELS.intersection(rel):
            continue
        for attribute in _LINKING[str(element.tag)]:
            for raw in _urls_of(element, attribute):
                target = urldefrag(urljoin(base, raw)).url
                if urlsplit(target).scheme in ("http", "https"):
                    kind = (element.get("type") or "").split(";")[0].strip().lower()
                    links.append(Link(page.url, target, str(element.tag), rel, kind))
    return links


@dataclass
class SiteCrawl:
    """What a crawl from the home page found: every internal URL linked from a page, fetched once."""

    base_url: str
    resources: dict[str, Fetched] = field(repr=False)
    links: list[Link] = field(repr=False)
    problems: list[str] = field(repr=False)

    def broken(self) -> list[str]:
        """Internal URLs some page links that do not answer 200."""
        targets = {
            link.target for link in self.links if site_path(link.target, self.base_url) is not None
        }
        return sorted(t for t in targets if t in self.resources and not self.resources[t].ok)

    def linked_from(self, url: str) -> list[str]:
        return sorted({link.source for link in self.links if link.target == url})

    def html_pages(self) -> list[Fetched]:
        return sorted((r for r in self.resources.values() if r.is_html), key=lambda r: r.url)

    def pages_by_kind(self) -> dict[str, list[str]]:
        kinds: dict[str, list[str]] = {}
        for page in self.html_pages():
            kinds.setdefault(page_kind(page.url, self.base_url), []).append(page.url)
        return kinds

    def one_page_of_each_kind(self) -> dict[str, str]:
        return {kind: urls[0] for kind, urls in sorted(self.pages_by_kind().items())}

    def feed_links(self) -> list[Link]:
        """`<link rel="alternate">` to a feed, on any page."""
        return [
            link
            for link in self.links
            if link.element == "link" and "alternate" in link.rel and link.type in FEED_LINK_TYPES
        ]

    def feeds_of_empty_listings(self) -> set[str]:
        """Feeds announced only by listing pages that link no article: a configured section
        with no story yet, whose feeds are rightly empty until it has one."""
        with_stories = {
            link.source
            for link in self.links
            if link.element == "a" and page_kind(link.target, self.base_url) == "article"
        }
        sources: dict[str, set[str]] = {}
        for link in self.feed_links():
            sources.setdefault(link.target, set()).add(link.source)
        return {
            feed
            for feed, pages in sources.items()
            if all(
                page_kind(page, self.base_url) in LISTING_KINDS and page not in with_stories
                for page in pages
            )
        }

    def feed_urls(self) -> list[str]:
        """Every feed the site announces, and any internal resource served as one."""
        urls = [link.target for link in self.feed_links()]
        urls += [
            r.url
            for r in self.resources.values()
            if r.ok and r.media_type in FEED_LINK_TYPES and r.media_type != "application/json"
        ]
        return sorted(set(urls))


def crawl(
    base_url: str,
    fetcher: Fetcher | None = None,
    probes: Sequence[str] = ("404.html",),
    max_resources: int = 20_000,
) -> SiteCrawl:
    """Fetch `index.html` and, breadth first, every internal URL its pages link to; report every
    internal link that does not answer 200 (with the pages that link it) and links on the site's
    host that fall outside its base URL. `probes`: paths fetched (and crawled) though nothing
    links them; missing ones are not reported here."""
    fetcher = fetcher or Fetcher()
    base = base_url.rstrip("/")
    start = f"{base}/index.html"
    frontier = list(dict.fromkeys([start, *(f"{base}/{p}" for p in probes)]))
    seen = set(frontier)
    resources: dict[str, Fetched] = {}
    links: list[Link] = []
    truncated = False
    while frontier:
        fetched = fetcher.get_many(frontier)
        resources.update(fetched)
        following: list[str] = []
        for url in frontier:
            if not fetched[url].is_html:
                continue
            for link in extract_links(fetched[url]):
                links.append(link)
                if site_path(link.target, base) is None or link.target in seen:
                    continue
                if len(seen) >= max_resources:
                    truncated = True
                    continue
                seen.add(link.target)
                following.append(link.target)
        frontier = following
    result = SiteCrawl(base, resources, links, [])
    result.problems = _crawl_problems(result, start, truncated, max_resources)
    return result


def _crawl_problems(
    result: SiteCrawl, start: str, truncated: bool, max_resources: int
) -> list[str]:
    problems: list[str] = []
    home = result.resources[start]
    # Paths in the problems are under the site's base URL.
    if not home.is_html:
        problems.append(f"the home page {start} is not an HTML page: {home.describe()}")
    sources: dict[str, set[str]] = {}
    outside: dict[str, set[str]] = {}
    for link in result.links:
        if site_path(link.target, result.base_url) is not None:
            sources.setdefault(link.target, set()).add(link.source)
        elif _same_origin(link.target, result.base_url):
            outside.setdefault(link.target, set()).add(link.source)

    def short(url: str) -> str:
        path = site_path(url, result.base_url)
        return "/" + path if path is not None else url

    def pages(urls: set[str]) -> str:
        return f"{len(urls)} page(s): {_examples(sorted(short(u) for u in urls))}"

    for target, linked_by in sorted(sources.items()):
        answer = result.resources.get(target)
        if answer is None or answer.ok:
            continue
        hint = ""
        if target.endswith("/") and answer.status == 404:
            hint = " (a directory URL: S3 has no index document; link to .../index.html)"
        problems.append(
            f"broken link {short(target)}: {answer.describe()}{hint}; linked from {pages(linked_by)}"
        )
    for target, linked_by in sorted(outside.items()):
        problems.append(
            f"link {target} is on the site's host but outside the site (a root-relative link?); "
            f"linked from {pages(linked_by)}"
        )
    if truncated:
        problems.append(f"crawl stopped at {max_resources} URLs: the site links more")
    return problems


#: What each internal resource's extension must be served as.
_MEDIA_TYPES: dict[str, frozenset[str]] = {
    ".html": frozenset({"text/html"}),
    ".xml": frozenset(
        {"application/xml", "text/xml", "application/rss+xml", "application/atom+xml"}
    ),
    ".json": frozenset({"application/feed+json", "application/json"}),
    ".txt": frozenset({"text/plain"}),
    ".css": frozenset({"text/css"}),
    ".js": frozenset({"text/javascript", "application/javascript"}),
    ".svg": frozenset({"image/svg+xml"}),
    ".png": frozenset({"image/png"}),
    ".jpg": frozenset({"image/jpeg"}),
    ".jpeg": frozenset({"image/jpeg"}),
    ".webp": frozenset({"image/webp"}),
    ".gif": frozenset({"image/gif"}),
    ".ico": frozenset({"image/x-icon", "image/vnd.microsoft.icon"}),
}
_ENCODINGS = frozenset({"", "identity", "gzip", "br", "deflate"})


def content_type_problems(resources: Iterable[Fetched]) -> list[str]:
    """Every resource that answered 200 is served as what its name says (a feed as a feed, not
    as HTML), with a Content-Encoding a browser decodes, and with no compressed body that does
    not say so (a page stored gzipped without `Content-Encoding: gzip`)."""
    problems: list[str] = []
    for r in sorted(resources, key=lambda r: r.url):
        if r.status != 200:
            continue
        if r.error:
            problems.append(f"{r.url}: {r.error}")
            continue
        suffix = Path(urlsplit(r.url).path).suffix.lower()
        expected = _MEDIA_TYPES.get(suffix)
        if expected is not None and r.media_type not in expected:
            problems.append(
                f"{r.url}: served as {r.content_type or 'no Content-Type'}, expected "
                f"{' or '.join(sorted(expected))}"
            )
        if r.content_encoding.lower() not in _ENCODINGS:
            problems.append(f"{r.url}: unknown Content-Encoding {r.content_encoding!r}")
        if r.body[:2] == b"\x1f\x8b" and suffix != ".gz":
            problems.append(
                f"{r.url}: the body is gzip data but the answer does not say so "
                f"(Content-Encoding {r.content_encoding or 'missing'})"
            )
    return problems


# --- the Nu HTML Checker ---------------------------------------------------------------------


def vnu_command() -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise ToolMissing(
            f"java is not installed (the Nu HTML Checker needs Java 11+): {INSTALL_HINT}"
        )
    if not VNU_JAR.is_file():
        raise ToolMissing(f"{VNU_JAR} is missing: {INSTALL_HINT}")
    return [java, "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", "--stdout"]


def nu_errors(
    html_files: Sequence[Path], url_of: Mapping[Path, str] | None = None, timeout: float = 600
) -> list[str]:
    """The Nu HTML Checker's errors (not its warnings) on every file, in one JVM run; each names
    the page (its URL from `url_of`, else the file), line, column and message."""
    if not html_files:
        return []
    names = {f"file:{p.resolve()}": str(p) for p in html_files}
    for path, url in (url_of or {}).items():
        names[f"file:{path.resolve()}"] = url
    proc = subprocess.run(
        [*vnu_command(), *(str(p.resolve()) for p in html_files)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    try:
        messages = json.loads(proc.stdout)["messages"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return [f"vnu gave no JSON report (exit {proc.returncode}): {proc.stderr[-2000:]}"]
    problems: list[str] = []
    for message in messages:
        if message.get("type") not in ("error", "non-document-error"):
            continue
        where = names.get(message.get("url", ""), message.get("url", "?"))
        line = message.get("lastLine", message.get("firstLine", "?"))
        column = message.get("firstColumn", message.get("lastColumn", "?"))
        extract = " ".join(str(message.get("extract", "")).split())
        text = f"{where}:{line}:{column}: {message.get('message', '')}"
        problems.append(text + (f"  [{extract[:100]}]" if extract else ""))
    return problems


# --- the browser -----------------------------------------------------------------------------


def browser_missing() -> str | None:
    """Why the browser checks cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright for Python is not installed (pip install playwright; {INSTALL_HINT})"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian's chromium): {INSTALL_HINT}"
    return None


def launch_chromium(playwright: Any) -> Browser:
    reason = browser_missing()
    if reason:
        raise ToolMissing(reason)
    browser: Browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    return browser


def axe_violations(
    page_urls: Iterable[str], impacts: Sequence[str] = ("serious", "critical")
) -> list[str]:
    """axe-core's violations of these impacts on each page, in Chromium at desktop width."""
    if not AXE_JS.is_file():
        raise ToolMissing(f"{AXE_JS} is missing: {INSTALL_HINT}")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            for url in page_urls:
                problems += _axe_page(page, url, impacts)
        finally:
            browser.close()
    return problems


def _axe_page(page: Page, url: str, impacts: Sequence[str]) -> list[str]:
    response = page.goto(url, wait_until="load", timeout=30_000)
    if response is None or response.status != 200:
        return [f"{url}: HTTP {response.status if response else '?'}; not checked"]
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    problems: list[str] = []
    for violation in result.get("violations", []):
        if violation.get("impact") not in impacts:
            continue
        nodes = violation.get("nodes", [])
        example = ""
        if nodes:
            target = " ".join(str(t) for t in nodes[0].get("target", []))
            summary = " ".join(str(nodes[0].get("failureSummary", "")).split())
            example = f"; e.g. {target}: {summary[:200]}"
        problems.append(
            f"{url}: {violation['id']} ({violation['impact']}): {violation.get('help', '')}: "
            f"{len(nodes)} element(s){example}"
        )
    return problems


# --- feeds -----------------------------------------------------------------------------------


def feed_problems(
    urls: Iterable[str],
    base_url: str,
    fetcher: Fetcher | None = None,
    may_be_empty: Collection[str] = (),
) -> list[str]:
    """Each feed parses and says what a feed reader needs. RSS/Atom (feedparser): well formed
    (`bozo == 0`, with the served Content-Type), the format's required channel fields, items,
    each with an id (guid), link, title and date. JSON Feed 1.1: the spec's required fields
    (version, title, items; each item's id and content_html or content_text), RFC 3339 dates,
    and, as for the other formats, each item's url, title and date_published. Every item's link
    on the site answers 200. A feed in `may_be_empty` may have no items."""
    fetcher = fetcher or Fetcher()
    problems: list[str] = []
    item_links: dict[str, str] = {}
    for url in urls:
        answer = fetcher.get(url)
        if not answer.ok:
            problems.append(f"{url}: {answer.describe()}")
            continue
        if answer.media_type in ("application/feed+json", "application/json") or url.endswith(
            ".json"
        ):
            found, links = _json_feed_problems(answer)
        else:
            found, links = _xml_feed_problems(answer)
        if url in may_be_empty:
            found = [problem for problem in found if problem != f"{url}: no items"]
        problems += found
        for link in links:
            if site_path(link, base_url) is not None:
                item_links.setdefault(link, url)
    for link, answer in fetcher.get_many(item_links).items():
        if not answer.ok:
            problems.append(f"{item_links[link]}: item link {link}: {answer.describe()}")
    return problems


def _missing(url: str, what: str, items: Sequence[str], total: int) -> str:
    return f"{url}: {len(items)} of {total} items have no {what} (e.g. {_examples(items)})"


def _xml_feed_problems(answer: Fetched) -> tuple[list[str], list[str]]:
    try:
        import feedparser
    except ImportError as exc:
        raise ToolMissing("feedparser is not installed (pip install feedparser)") from exc
    url = answer.url
    parsed = feedparser.parse(
        answer.body,
        response_headers={"content-type": answer.content_type, "content-location": url},
    )
    problems: list[str] = []
    if parsed.bozo:
        problems.append(f"{url}: not a well-formed feed (bozo): {parsed.get('bozo_exception')!r}")
    version = parsed.get("version", "")
    if not version:
        return [*problems, f"{url}: not recognised as RSS or Atom"], []
    feed = parsed.feed
    required = (
        ("title", "link", "subtitle") if version.startswith("rss") else ("id", "title", "updated")
    )
    for key in required:
        if not feed.get(key):
            name = {"subtitle": "description"}.get(key, key)
            problems.append(f"{url}: {version} feed has no {name}")
    entries = parsed.entries
    if not entries:
        return [*problems, f"{url}: no items"], []
    labels = [str(e.get("title") or e.get("id") or f"item {i}") for i, e in enumerate(entries)]
    checks: dict[str, Callable[[Any], bool]] = {
        "id/guid": lambda e: bool(e.get("id")),
        "link": lambda e: bool(e.get("link")),
        "title": lambda e: bool(e.get("title")),
        "date": lambda e: bool(e.get("published_parsed") or e.get("updated_parsed")),
    }
    if version.startswith("atom"):
        checks["updated"] = lambda e: bool(e.get("updated_parsed"))
    for what, check in checks.items():
        missing = [label for label, e in zip(labels, entries, strict=True) if not check(e)]
        if missing:
            problems.append(_missing(url, what, missing, len(entries)))
    ids = [str(e.get("id")) for e in entries if e.get("id")]
    if len(ids) != len(set(ids)):
        problems.append(
            f"{url}: items share ids: {_examples(sorted({i for i in ids if ids.count(i) > 1}))}"
        )
    return problems, [str(e.get("link")) for e in entries if e.get("link")]


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.I)


def _json_feed_problems(answer: Fetched) -> tuple[list[str], list[str]]:
    url = answer.url
    try:
        data = json.loads(answer.body)
    except ValueError as exc:
        return [f"{url}: not JSON: {exc}"], []
    if not isinstance(data, dict):
        return [f"{url}: a JSON Feed is an object, not {type(data).__name__}"], []
    problems: list[str] = []
    if data.get("version") != JSON_FEED_VERSION:
        problems.append(f"{url}: version is {data.get('version')!r}, not {JSON_FEED_VERSION!r}")
    if not isinstance(data.get("title"), str) or not data["title"].strip():
        problems.append(f"{url}: no title")
    for key in ("home_page_url", "feed_url", "next_url"):
        if key in data and not (isinstance(data[key], str) and data[key].startswith("http")):
            problems.append(f"{url}: {key} {data[key]!r} is not an absolute URL")
    if isinstance(data.get("feed_url"), str) and data["feed_url"] != url:
        problems.append(f"{url}: feed_url {data['feed_url']} is not where the feed is")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        return [*problems, f"{url}: no items"], []
    problems += _json_items_problems(url, items)
    return problems, [
        i["url"] for i in items if isinstance(i, dict) and isinstance(i.get("url"), str)
    ]


def _json_item_faults(item: Any) -> list[str]:
    if not isinstance(item, dict):
        return ["is not an object"]
    faults: list[str] = []
    if not isinstance(item.get("id"), str) or not item["id"]:
        faults.append("no string id")
    if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
        faults.append("no content_html or content_text")
    for key in ("url", "title"):
        if not isinstance(item.get(key), str) or not item[key]:
            faults.append(f"no {key}")
    for key in ("date_published", "date_modified"):
        value = item.get(key)
        if value is None and key == "date_published":
            faults.append("no date_published")
        elif value is not None and not (isinstance(value, str) and _RFC3339.fullmatch(value)):
            faults.append(f"{key} {value!r} is not RFC 3339")
    authors = item.get("authors", [])
    if not isinstance(authors, list) or not all(
        isinstance(a, dict) and any(k in a for k in ("name", "url", "avatar")) for a in authors
    ):
        faults.append("authors is not a list of objects with a name, url or avatar")
    return faults


def _json_items_problems(url: str, items: list[Any]) -> list[str]:
    faults: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        label = (
            str(item.get("title") or item.get("id") or index)
            if isinstance(item, dict)
            else str(index)
        )
        for fault in _json_item_faults(item):
            faults.setdefault(fault, []).append(label)
    problems = [
        f"{url}: {len(labels)} of {len(items)} items: {fault} (e.g. {_examples(labels)})"
        for fault, labels in faults.items()
    ]
    ids = [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)]
    if len(ids) != len(set(ids)):
        problems.append(f"{url}: items share ids")
    return problems


# --- robots.txt and sitemaps -----------------------------------------------------------------


@dataclass
class SitemapDiscovery:
    """The sitemaps robots.txt names (else /sitemap.xml, if there is one)."""

    sitemaps: list[str]
    problems: list[str]
    robots_found: bool


def discover_sitemaps(base_url: str, fetcher: Fetcher | None = None) -> SitemapDiscovery:
    """robots.txt answers as text, lets crawlers read the home page, and names the sitemaps
    (absolute URLs); without it, /sitemap.xml."""
    fetcher = fetcher or Fetcher()
    base = base_url.rstrip("/")
    robots = fetcher.get(f"{base}/robots.txt")
    problems: list[str] = []
    sitemaps: list[str] = []
    if robots.ok:
        if robots.media_type != "text/plain":
            problems.append(f"{robots.url}: served as {robots.content_type!r}, not text/plain")
        lines = robots.body.decode("utf-8", "replace").splitlines()
        for line in lines:
            match = re.match(r"\s*sitemap\s*:\s*(\S+)", line, re.I)
            if match and match.group(1).startswith(("http://", "https://")):
                sitemaps.append(match.group(1))
            elif match:
                problems.append(f"{robots.url}: Sitemap {match.group(1)!r} is not an absolute URL")
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(lines)
        for agent in ("*", "Googlebot"):
            if not parser.can_fetch(agent, f"{base}/index.html"):
                problems.append(f"{robots.url}: disallows the home page for {agent}")
        if not sitemaps:
            problems.append(f"{robots.url}: names no sitemap (no 'Sitemap:' line)")
    else:
        problems.append(f"no robots.txt: {robots.url}: {robots.describe()}")
    if not sitemaps:
        fallback = fetcher.get(f"{base}/sitemap.xml")
        if fallback.ok:
            sitemaps.append(fallback.url)
        else:
            problems.append(f"no sitemap: {fallback.url}: {fallback.describe()}")
    return SitemapDiscovery(list(dict.fromkeys(sitemaps)), problems, robots.ok)


@dataclass(frozen=True)
class _Schemas:
    urlset: etree.XMLSchema
    index: etree.XMLSchema


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def load_sitemap_schemas(directory: Path = SITEMAP_SCHEMAS) -> _Schemas:
    paths = {name: directory / f"{name}.xsd" for name in ("sitemap", "siteindex")}
    for path in paths.values():
        if not path.is_file():
            raise ToolMissing(f"{path} is missing (the sitemaps.org schemas in ../shared)")
    return _Schemas(
        urlset=etree.XMLSchema(etree.parse(str(paths["sitemap"]), _safe_parser())),
        index=etree.XMLSchema(etree.parse(str(paths["siteindex"]), _safe_parser())),
    )


def _sm(name: str) -> str:
    return f"{{{SITEMAP_NS}}}{name}"


def _news(name: str) -> str:
    return f"{{{NEWS_NS}}}{name}"


def _core_only(doc: Any) -> Any:
    """A copy without extension elements (news:, image:, ...): the core schemas' `xsd:any
    processContents="strict"` rejects any whose namespace has no schema loaded."""
    core = copy.deepcopy(doc)
    foreign = [
        el
        for el in core.iter()
        if isinstance(el.tag, str)
        and etree.QName(el).namespace != SITEMAP_NS
        and el.getparent() is not None
        and etree.QName(el.getparent()).namespace == SITEMAP_NS
    ]
    for el in foreign:
        el.getparent().remove(el)
    return core


@dataclass
class _SitemapRun:
    base_url: str
    fetcher: Fetcher
    schemas: _Schemas
    now: datetime
    seen: set[str] = field(default_factory=set)


def sitemap_problems(
    urls: Iterable[str],
    base_url: str,
    fetcher: Fetcher | None = None,
    schemas_dir: Path = SITEMAP_SCHEMAS,
    now: datetime | None = None,
) -> list[str]:
    """Each sitemap (index or urlset) validates against the sitemaps.org schema (its extension
    elements set aside), is within 50,000 URLs and 50 MB, lists only URLs it may (on the site,
    under its own directory: the protocol's location rule) once each, and every `<loc>` answers
    200; an index's sitemaps are checked the same way. A Google News sitemap's `news:news` are
    checked by Google's rules: at most 1,000, each with publication name and language,
    publication_date (from the last two days) and title."""
    urls = list(urls)
    if not urls:
        return []
    run = _SitemapRun(
        base_url, fetcher or Fetcher(), load_sitemap_schemas(schemas_dir), now or datetime.now(UTC)
    )
    problems: list[str] = []
    for url in urls:
        problems += _sitemap(run, url, listed_in=None)
    return problems


def _sitemap(run: _SitemapRun, url: str, listed_in: str | None) -> list[str]:
    if url in run.seen:
        return []
    run.seen.add(url)
    answer = run.fetcher.get(url)
    if not answer.ok:
        return [f"{url}: {answer.describe()}" + (f" (listed in {listed_in})" if listed_in else "")]
    body = gzip.decompress(answer.body) if answer.body[:2] == b"\x1f\x8b" else answer.body
    problems: list[str] = []
    if len(body) > SITEMAP_MAX_BYTES:
        problems.append(f"{url}: {len(body):,} bytes, over the protocol's 50 MB")
    try:
        doc = etree.fromstring(body, _safe_parser())
    except etree.XMLSyntaxError as exc:
        return [*problems, f"{url}: not well-formed XML: {exc}"]
    if doc.tag == _sm("sitemapindex"):
        if listed_in:
            problems.append(f"{url}: a sitemap index listed in another index ({listed_in})")
        return problems + _sitemap_index(run, url, doc)
    if doc.tag == _sm("urlset"):
        return problems + _urlset(run, url, doc)
    return [
        *problems,
        f"{url}: root element {etree.QName(doc).text} is neither a sitemaps.org urlset nor sitemapindex",
    ]


def sitemap_locs(urls: Iterable[str], fetcher: Fetcher | None = None) -> list[str]:
    """Every page URL the sitemaps list (through their indexes), unchecked."""
    fetcher = fetcher or Fetcher()
    pending, seen, locs = list(urls), set[str](), list[str]()
    while pending:
        url = pending.pop()
        if url in seen or not (answer := fetcher.get(url)).ok:
            continue
        seen.add(url)
        try:
            doc = etree.fromstring(answer.body, _safe_parser())
        except etree.XMLSyntaxError:
            continue
        pending += _locs(doc, "sitemap")
        locs += _locs(doc, "url")
    return list(dict.fromkeys(locs))


def _validate(url: str, doc: Any, schema: etree.XMLSchema) -> list[str]:
    if schema.validate(doc):
        return []
    errors = [f"{url}:{e.line}: {e.message}" for e in schema.error_log]
    return errors[:10] + (
        [f"{url}: ... {len(errors) - 10} more schema errors"] if len(errors) > 10 else []
    )


def _locs(doc: Any, parent: str) -> list[str]:
    return [(loc.text or "").strip() for loc in doc.iterfind(f"{_sm(parent)}/{_sm('loc')}")]


def _sitemap_index(run: _SitemapRun, url: str, doc: Any) -> list[str]:
    problems = _validate(url, _core_only(doc), run.schemas.index)
    locs = _locs(doc, "sitemap")
    if len(locs) > SITEMAP_MAX_URLS:
        problems.append(f"{url}: {len(locs):,} sitemaps, over the protocol's 50,000")
    for loc in locs:
        if site_path(loc, run.base_url) is None:
            problems.append(
                f"{url}: lists {loc}, not on the site (an index lists its own site's sitemaps)"
            )
            continue
        problems += _sitemap(run, loc, listed_in=url)
    return problems


def _urlset(run: _SitemapRun, url: str, doc: Any) -> list[str]:
    is_news = NEWS_NS in doc.nsmap.values() or doc.find(f"{_sm('url')}/{_news('news')}") is not None
    locs = _locs(doc, "url")
    problems: list[str] = []
    # Google: a news sitemap may be empty for a while (no stories in two days); the core schema
    # wants one <url> at least, so an empty one is fine only as a news sitemap.
    if locs or not is_news:
        problems += _validate(url, _core_only(doc), run.schemas.urlset)
    if len(locs) > SITEMAP_MAX_URLS:
        problems.append(f"{url}: {len(locs):,} URLs, over the protocol's 50,000")
    repeated = sorted({loc for loc in locs if locs.count(loc) > 1}) if len(locs) < 5000 else []
    if repeated:
        problems.append(f"{url}: lists URLs more than once: {_examples(repeated)}")
    directory = url.rsplit("/", 1)[0] + "/"
    off_site = [loc for loc in locs if site_path(loc, run.base_url) is None]
    if off_site:
        problems.append(f"{url}: {len(off_site)} URLs not on the site: {_examples(off_site)}")
    elsewhere = [loc for loc in locs if loc not in off_site and not loc.startswith(directory)]
    if elsewhere:
        problems.append(
            f"{url}: {len(elsewhere)} of {len(locs)} URLs are outside the sitemap's directory "
            f"{directory} (the protocol's location rule: a sitemap lists only URLs under its own "
            f"directory), e.g. {_examples(elsewhere, 2)}"
        )
    answers = run.fetcher.get_many(loc for loc in locs if loc not in off_site)
    failing = [f"{loc} ({a.describe()})" for loc, a in answers.items() if not a.ok]
    if failing:
        problems.append(
            f"{url}: {len(failing)} of {len(locs)} <loc>s do not answer 200: {_examples(failing)}"
        )
    if is_news:
        problems += news_sitemap_problems(url, doc, run.now)
    return problems


_LANGUAGE = re.compile(r"[a-z]{2,3}|zh-cn|zh-tw")
_W3C_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?")


def _news_date_fault(value: str, now: datetime) -> str | None:
    if not _W3C_DATE.fullmatch(value):
        return f"publication_date {value!r} is not a W3C date"
    when = datetime.fromisoformat(value)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if now - when > NEWS_MAX_AGE + timedelta(hours=1):
        return "publication_date older than two days (Google: only articles from the last two days)"
    if when - now > timedelta(hours=1):
        return "publication_date in the future"
    return None


def _news_faults(news: Any, now: datetime) -> list[str]:
    def text(path: str) -> str:
        found = news.find(path)
        return (found.text or "").strip() if found is not None else ""

    faults: list[str] = []
    name = text(f"{_news('publication')}/{_news('name')}")
    language = text(f"{_news('publication')}/{_news('language')}")
    if not name:
        faults.append("no publication/name")
    if not _LANGUAGE.fullmatch(language):
        faults.append(f"publication/language {language!r} is not an ISO 639 code")
    date = text(_news("publication_date"))
    fault = _news_date_fault(date, now) if date else "no publication_date"
    if fault:
        faults.append(fault)
    if not text(_news("title")):
        faults.append("no title")
    return faults


def news_sitemap_problems(url: str, doc: Any, now: datetime) -> list[str]:
    """Google's rules for a news sitemap's `news:news` elements."""
    problems: list[str] = []
    entries = doc.findall(f"{_sm('url')}/{_news('news')}")
    if len(entries) > NEWS_MAX_URLS:
        problems.append(f"{url}: {len(entries):,} news:news, over Google's 1,000")
    faults: dict[str, list[str]] = {}
    for entry in entries:
        loc = (entry.getparent().findtext(_sm("loc")) or "?").strip()
        for fault in _news_faults(entry, now):
            faults.setdefault(fault, []).append(loc)
    for element in doc.iterfind(_sm("url")):
        if len(element.findall(_news("news"))) > 1:
            faults.setdefault("more than one news:news in a <url>", []).append(
                (element.findtext(_sm("loc")) or "?").strip()
            )
    problems += [
        f"{url}: {len(locs)} of {len(entries)} news:news: {fault} (e.g. {_examples(locs, 2)})"
        for fault, locs in faults.items()
    ]
    return problems


# --- a reader's walk in Chromium -------------------------------------------------------------

VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}

#: Every link on the page with what the walk needs to choose one (`offsetParent`-style
#: visibility, on screen horizontally).
_ANCHORS_JS = """() => Array.from(document.querySelectorAll('a[href]')).map((a, i) => {
  const r = a.getBoundingClientRect();
  const s = getComputedStyle(a);
  return {i, href: a.href, rel: a.rel, text: (a.textContent || '').trim().slice(0, 80),
          visible: r.width > 0 && r.height > 0 && r.right > 0 && s.visibility !== 'hidden'};
})"""
_MARK_JS = """i => { document.querySelectorAll('[data-walk-target]').forEach(e =>
  e.removeAttribute('data-walk-target'));
  const a = document.querySelectorAll('a[href]')[i]; a.removeAttribute('target');
  a.setAttribute('data-walk-target', '1'); }"""
_OLDER_TEXT = re.compile(r"\b(older|earlier|next page|previous page|more stories)\b", re.I)


@dataclass(frozen=True)
class WalkStep:
    viewport: str
    name: str
    url: str
    status: int | None
    kind: str
    screenshot: Path


@dataclass
class BrowserWalk:
    steps: list[WalkStep] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Steps the site has no link for yet ("tag: the article page has no link to a tag page").
    not_present: list[str] = field(default_factory=list)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


class _Walker:
    """One reader's path at one viewport: each step clicks a visible link and checks where it
    lands."""

    def __init__(self, page: Page, base_url: str, viewport: str, out: Path, walk: BrowserWalk):
        self.page, self.base, self.viewport, self.out, self.walk = (
            page,
            base_url,
            viewport,
            out,
            walk,
        )
        self.present: dict[str, bool] = {}
        self.steps = 0
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught script error: {exc}"))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        where = str(message.location.get("url", ""))
        # A failed request is reported by `_response`, with its URL.
        if message.text.startswith("Failed to load resource"):
            return
        if message.type == "error" and (not where or site_path(where, self.base) is not None):
            self.errors.append(f"console error: {message.text[:200]}")

    def _response(self, response: Response) -> None:
        if response.status >= 400 and site_path(response.url, self.base) is not None:
            self.errors.append(f"{response.url} answered {response.status}")

    def problem(self, text: str) -> None:
        self.walk.problems.append(f"[{self.viewport}] {text}")

    def open(self, name: str, url: str, expected: set[str]) -> bool:
        response = self.page.goto(url, wait_until="load", timeout=30_000)
        return self._landed(name, response.status if response else None, expected)

    def follow(self, name: str, expected: set[str], where: str, older: bool = False) -> bool:
        """Click the first visible link on this page to a page of the expected kind."""
        index = self._choose(name, expected, where, older)
        if index is None:
            return False
        self.page.evaluate(_MARK_JS, index)
        try:
            with self.page.expect_navigation(wait_until="load", timeout=30_000) as navigation:
                self.page.click("[data-walk-target]", timeout=10_000)
            response = navigation.value
        except Exception as exc:  # a Playwright timeout: the click went nowhere
            self.problem(f"{name}: clicking the link on {where} ({self.page.url}) failed: {exc}")
            return False
        return self._landed(name, response.status if response else None, expected)

    def goto(self, url: str) -> None:
        """Go back to a page already checked (not a step)."""
        if urldefrag(self.page.url).url != url:
            self.page.goto(url, wait_until="load", timeout=30_000)
        self.errors.clear()  # reported when the step was taken

    def follow_older(self, listings: Sequence[str]) -> None:
        """The first listing on the walk with an older/next page link: follow it."""
        for listing in listings:
            self.goto(listing)
            if self._candidates(set(), older=True):
                self.follow("older", {"pagination"}, f"the listing {listing}", older=True)
                return
        self.present["older"] = False
        self._not_present(
            f"older: no listing on the walk ({_examples(list(listings))}) has an older/next page link"
        )

    def _not_present(self, note: str) -> None:
        if note not in self.walk.not_present:
            self.walk.not_present.append(note)

    def _candidates(self, expected: set[str], older: bool) -> list[dict[str, Any]]:
        anchors: list[dict[str, Any]] = self.page.evaluate(_ANCHORS_JS)
        here = urldefrag(self.page.url).url
        found = []
        for a in anchors:
            kind = page_kind(a["href"], self.base)
            if urldefrag(a["href"]).url == here or kind == "outside":
                continue
            is_older = "next" in a["rel"].split() or (
                kind != "article" and bool(_OLDER_TEXT.search(a["text"]))
            )
            if (kind in expected and not older) or (older and (kind == "pagination" or is_older)):
                found.append(a)
        return found

    def _choose(self, name: str, expected: set[str], where: str, older: bool) -> int | None:
        candidates = self._candidates(expected, older)
        self.present[name] = bool(candidates)
        if not candidates:
            kinds = "/".join(sorted(expected))
            what = "older/next page link" if older else f"link to {_article(kinds)} {kinds} page"
            self._not_present(f"{name}: {where} has no {what}")
            return None
        visible = [a for a in candidates if a["visible"]] or self._open_menus(expected, older)
        if not visible:
            self.problem(
                f"{name}: {where} has links to it but none is visible ({candidates[0]['href']})"
            )
            return None
        return int(visible[0]["i"])

    def _open_menus(self, expected: set[str], older: bool) -> list[dict[str, Any]]:
        """A collapsed menu (a phone's): open each disclosure control until a link shows."""
        toggles = self.page.locator("button[aria-expanded='false']:visible, summary:visible")
        for n in range(min(toggles.count(), 3)):
            toggles.nth(n).click(timeout=5_000)
            visible = [a for a in self._candidates(expected, older) if a["visible"]]
            if visible:
                return visible
        return []

    def _landed(self, name: str, status: int | None, expected: set[str]) -> bool:
        url = self.page.url
        kind = page_kind(url, self.base)
        self.steps += 1
        shot = self.out / f"{self.viewport}-{self.steps:02d}-{name}.png"
        self.page.screenshot(path=str(shot))
        self.walk.steps.append(WalkStep(self.viewport, name, url, status, kind, shot))
        ok = status == 200 and kind in expected
        if status != 200:
            self.problem(f"{name}: {url} answered {status}")
        elif kind not in expected:
            self.problem(
                f"{name}: landed on {url}, a {kind} page, not {'/'.join(sorted(expected))}"
            )
        else:
            ok = self._page_looks_right(name, url, kind)
        if status == 200:
            for error in self.errors:
                self.problem(f"{name}: on {url}: {error}")
        self.errors.clear()
        return ok

    def _page_looks_right(self, name: str, url: str, kind: str) -> bool:
        ok = True
        if self.page.locator("h1").count() == 0:
            self.problem(f"{name}: {url} has no <h1>")
            ok = False
        if kind in LISTING_KINDS and not any(
            page_kind(a["href"], self.base) == "article" for a in self.page.evaluate(_ANCHORS_JS)
        ):
            self.problem(f"{name}: the {kind} page {url} links no article")
            ok = False
        overflow = self.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:
            self.problem(f"{name}: {url} scrolls sideways by {overflow}px")
        return ok


def _walk(walker: _Walker, base: str) -> None:
    page = walker.page
    home = f"{base}/index.html"
    if not walker.open("home", home, {"home"}):
        return
    listings = [home]
    where = "the home page"
    if walker.follow("section", {"section"}, where):
        listings.insert(0, page.url)
        where = f"the section page {page.url}"
    else:
        walker.goto(home)
    found = walker.follow("article", {"article"}, where)
    if not found and where != "the home page":
        walker.goto(home)
        found = walker.follow("article", {"article"}, "the home page")
    if not found:
        return
    article = page.url
    if walker.follow("tag", {"tag"}, "the article page"):
        listings.insert(0, page.url)
    walker.goto(article)
    if walker.follow("author", {"author"}, "the article page"):
        listings.insert(0, page.url)
    walker.follow_older(listings)


def browser_walk(base_url: str, screenshots_dir: Path) -> BrowserWalk:
    """A reader's path in Chromium, at desktop (1366x900) and phone (390x844) width: the home
    page, a section, an article, a tag on the article, its author, and a listing's older page.
    Each click must land on a 200 page of the expected kind with an <h1> (a listing: linking an
    article), no sideways scrolling, no script errors and no failed request on the site; a
    screenshot of each step goes to `screenshots_dir`. A step whose link the site does not have
    yet goes to `not_present`, not `problems`; a link present at one width and missing at the
    other is a problem."""
    from playwright.sync_api import sync_playwright

    screenshots_dir.mkdir(parents=True, exist_ok=True)
    base = base_url.rstrip("/")
    walk = BrowserWalk()
    presence: dict[str, dict[str, bool]] = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for viewport, (width, height) in VIEWPORTS.items():
                phone = viewport == "phone"
                context = browser.new_context(
                    viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone
                )
                walker = _Walker(context.new_page(), base, viewport, screenshots_dir, walk)
                try:
                    _walk(walker, base)
                except Exception as exc:  # a step that crashed: reported, the walk goes on
                    walker.problem(f"the walk stopped at {walker.page.url}: {exc!r}")
                presence[viewport] = walker.present
                context.close()
        finally:
            browser.close()
    for step in sorted(set(presence["desktop"]) & set(presence["phone"])):
        if presence["desktop"][step] != presence["phone"][step]:
            has = "desktop" if presence["desktop"][step] else "phone"
            walk.problems.append(f"{step}: the link is there at {has} width only")
    return walk
