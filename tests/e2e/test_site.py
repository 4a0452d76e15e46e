"""The checks a finished news site must pass, on the site a real local stack (Valkey, SeaweedFS
and the four services as processes) publishes from the demo feed: no broken links, every page
valid HTML (the Nu HTML Checker), no serious accessibility violations (axe-core in Chromium),
feeds that parse, sitemaps that validate, and a reader's walk through it in Chromium.

Page kinds, feeds and sitemaps are found, not listed: pages by crawling from the home page,
feeds from `<link rel="alternate">`, sitemaps from robots.txt; so the checks cover page kinds as
they land. The tools: `infra/install-site-tools.sh`; a test whose tool is missing skips, saying
which. The checks themselves: tests/site/checks.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.stack import read_env
from tests.site import checks

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO_FEED = ROOT / "demo" / "stories"


def wirepress(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def tool_missing(reason: str) -> None:
    """Skip a check whose tool is not installed, except under `make test`
    (WIREPRESS_SITE_TOOLS=required), which installs them all: there it fails."""
    if os.environ.get("WIREPRESS_SITE_TOOLS") == "required":
        pytest.fail(f"{reason} (make site-tools installs it)")
    pytest.skip(reason)


@dataclass(frozen=True)
class PublishedSite:
    base_url: str
    root: Path

    @property
    def home(self) -> str:
        return f"{self.base_url}/index.html"

    def logs(self) -> str:
        logs = sorted((self.root / "var" / "log").glob("*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)


def _still_working(env: dict[str, str]) -> str:
    """What the pipeline still has to do ('' when it is idle)."""
    status = wirepress("status", "--json", env=env, timeout=60)
    if status.returncode != 0:
        return f"status failed: {status.stderr[-500:]}"
    state = json.loads(status.stdout)
    busy = [
        f"{stream['stream']}/{group['group']}"
        for stream in state.get("streams", [])
        for group in stream.get("groups", [])
        if (group.get("lag") or group.get("pending")) and not group.get("observer")
    ]
    related = state.get("related_index") or {}
    if related.get("refreshes_waiting") or related.get("refreshes_due"):
        busy.append("related-link refreshes")
    if (state.get("listing") or {}).get("pages_due"):
        busy.append("listing pages")
    return ", ".join(busy)


def _wait_until_idle(env: dict[str, str], timeout: float = 90) -> None:
    """`push --wait` returns once every story is on the site; related links and listings are
    rebuilt a few seconds later. The checks look at the site once that is done (seen idle twice
    in a row), so every run checks the same pages."""
    deadline = time.monotonic() + timeout
    idle_before = False
    busy = ""
    while time.monotonic() < deadline:
        busy = _still_working(env)
        if not busy and idle_before:
            return
        idle_before = not busy
        time.sleep(1)
    print(f"the pipeline was still busy after {timeout}s ({busy}); checking the site as it is")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublishedSite]:
    root = tmp_path_factory.mktemp("site-stack")
    up = wirepress("stack", "up", "--root", str(root))
    published = PublishedSite("", root)
    try:
        assert up.returncode == 0, up.stdout + up.stderr + published.logs()
        env = read_env(root / "var" / "stack.env")
        pushed = wirepress("push", str(DEMO_FEED), "--wait", "--timeout", "180", env=env)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr + published.logs()
        _wait_until_idle(env)
        published = PublishedSite(env["SITE_URL"].rstrip("/"), root)
        yield published
    finally:
        down = wirepress("stack", "down", "--root", str(root))
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture(scope="module")
def fetcher() -> Iterator[checks.Fetcher]:
    client = checks.Fetcher()
    yield client
    client.close()


@pytest.fixture(scope="module")
def crawled(site: PublishedSite, fetcher: checks.Fetcher) -> checks.SiteCrawl:
    return checks.crawl(site.base_url, fetcher)


def _kinds(crawled: checks.SiteCrawl) -> str:
    return ", ".join(
        f"{kind} {len(urls)}" for kind, urls in sorted(crawled.pages_by_kind().items())
    )


def test_crawl_from_the_home_page_finds_no_broken_links(crawled: checks.SiteCrawl) -> None:
    print(f"crawled {len(crawled.resources)} URLs; HTML pages by kind: {_kinds(crawled)}")
    broken = Counter(
        kind if kind != "other" else Path(url).suffix or kind
        for url in crawled.broken()
        for kind in [checks.page_kind(url, crawled.base_url)]
    )
    print(f"broken link targets by kind: {dict(sorted(broken.items()))}")
    assert crawled.problems == [], checks.report(crawled.problems)


def test_every_resource_is_served_as_what_it_is(crawled: checks.SiteCrawl) -> None:
    problems = checks.content_type_problems(crawled.resources.values())
    encodings = sorted({r.content_encoding or "identity" for r in crawled.resources.values()})
    print(f"Content-Encoding seen: {', '.join(encodings)}")
    assert problems == [], checks.report(problems)


def _unlinked_pages(
    site: PublishedSite, crawled: checks.SiteCrawl, fetcher: checks.Fetcher
) -> dict[str, list[str]]:
    """Pages by kind that exist but that no page links: those the sitemaps list, and each
    article's month archive (YYYY/MM/index.html)."""
    sitemaps = checks.discover_sitemaps(site.base_url, fetcher).sitemaps
    candidates = set(checks.sitemap_locs(sitemaps, fetcher))
    for url in crawled.pages_by_kind().get("article", []):
        candidates.add(url.rsplit("/", 2)[0] + "/index.html")
    found: dict[str, list[str]] = {}
    unlinked = sorted(candidates - set(crawled.resources))
    for url, answer in fetcher.get_many(unlinked).items():
        if answer.is_html:
            found.setdefault(checks.page_kind(url, site.base_url), []).append(url)
    return found


def test_site_has_every_page_kind(
    site: PublishedSite, crawled: checks.SiteCrawl, fetcher: checks.Fetcher
) -> None:
    """Home, section, tag, author, date archive, pagination, article and 404 pages, each
    reachable by links from the home page (the 404 page at /404.html)."""
    kinds = crawled.pages_by_kind()
    missing = [kind for kind in checks.SITE_PAGE_KINDS if kind not in kinds]
    unlinked = _unlinked_pages(site, crawled, fetcher) if missing else {}
    problems = [
        f"{kind}: none reachable from the home page"
        + (
            f"; {len(unlinked[kind])} exist but no page links them, e.g. {unlinked[kind][0]}"
            if kind in unlinked
            else ""
        )
        for kind in missing
    ]
    assert problems == [], checks.report(problems) + f"\nfound: {_kinds(crawled)}"


def test_site_has_feeds_and_sitemaps(
    site: PublishedSite, crawled: checks.SiteCrawl, fetcher: checks.Fetcher
) -> None:
    """robots.txt names the sitemaps, and the home page announces its feeds."""
    discovery = checks.discover_sitemaps(site.base_url, fetcher)
    problems = list(discovery.problems)
    home_feeds = [link for link in crawled.feed_links() if link.source == site.home]
    if not home_feeds:
        problems.append(
            f'the home page announces no feed (no <link rel="alternate" type="'
            f'{"|".join(checks.FEED_LINK_TYPES)}">)'
        )
    print(f"sitemaps: {discovery.sitemaps}; home page feeds: {[f.target for f in home_feeds]}")
    assert problems == [], checks.report(problems)


def test_every_html_page_passes_the_nu_html_checker(
    crawled: checks.SiteCrawl, tmp_path: Path
) -> None:
    try:
        checks.vnu_command()
    except checks.ToolMissing as exc:
        tool_missing(str(exc))
    pages = crawled.html_pages()
    assert pages, "the crawl found no HTML page"
    files: dict[Path, str] = {}
    for number, page in enumerate(pages):
        path = tmp_path / f"{number:05d}.html"
        path.write_bytes(page.body)
        files[path] = page.url
    problems = checks.nu_errors(list(files), files)
    print(f"checked {len(files)} pages")
    assert problems == [], checks.report(problems)


@pytest.mark.browser
def test_one_page_of_each_kind_has_no_serious_accessibility_violations(
    crawled: checks.SiteCrawl,
) -> None:
    reason = checks.browser_missing()
    if reason:
        tool_missing(reason)
    pages = crawled.one_page_of_each_kind()
    assert pages, "the crawl found no HTML page"
    print("checked: " + ", ".join(f"{kind} {url}" for kind, url in pages.items()))
    try:
        problems = checks.axe_violations(pages.values())
    except checks.ToolMissing as exc:
        tool_missing(str(exc))
    assert problems == [], checks.report(problems)


def test_every_feed_parses_and_has_what_readers_need(
    site: PublishedSite, crawled: checks.SiteCrawl, fetcher: checks.Fetcher
) -> None:
    feeds = crawled.feed_urls()
    # None yet is test_site_has_feeds_and_sitemaps's failure, not this one's.
    print(f"{len(feeds)} feeds: {feeds}")
    try:
        empty = crawled.feeds_of_empty_listings()
        print(f"feeds of listings with no story yet: {sorted(empty)}")
        problems = checks.feed_problems(feeds, site.base_url, fetcher, may_be_empty=empty)
    except checks.ToolMissing as exc:
        tool_missing(str(exc))
    assert problems == [], checks.report(problems)


def test_every_sitemap_validates(site: PublishedSite, fetcher: checks.Fetcher) -> None:
    sitemaps = checks.discover_sitemaps(site.base_url, fetcher).sitemaps
    # None yet is test_site_has_feeds_and_sitemaps's failure, not this one's.
    print(f"{len(sitemaps)} sitemaps named: {sitemaps}")
    try:
        problems = checks.sitemap_problems(sitemaps, site.base_url, fetcher)
    except checks.ToolMissing as exc:
        tool_missing(str(exc))
    assert problems == [], checks.report(problems)


@pytest.mark.browser
def test_a_reader_can_walk_the_site_in_chromium(site: PublishedSite) -> None:
    reason = checks.browser_missing()
    if reason:
        tool_missing(reason)
    # Kept after the run, as the test's artefacts (var/ is not committed).
    screenshots = ROOT / "var" / "test-artifacts" / "screenshots"
    shutil.rmtree(screenshots, ignore_errors=True)
    walk = checks.browser_walk(site.base_url, screenshots)
    for step in walk.steps:
        print(f"[{step.viewport}] {step.name}: {step.status} {step.kind} {step.url}")
    print(f"screenshots: {screenshots}")
    for note in walk.not_present:
        print(f"not present yet: {note}")
    assert walk.steps, "the walk took no step"
    assert walk.problems == [], checks.report(walk.problems) + f"\nscreenshots: {screenshots}"
