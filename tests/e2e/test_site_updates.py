"""The whole site follows every story, against the running services: a push appears on home, its
section, its tags, the feeds and the sitemaps; a correction follows everywhere; a kill leaves no
trace; an embargoed story appears nowhere until its time, then everywhere."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import httpx
import pytest

from shared.models import article_id_for
from shared.storage import Storage
from tests.conftest import ServiceProcesses, wait_for
from tests.stack_settings import StackSettings

pytestmark = pytest.mark.e2e

WAR = [
    "Ukrainian forces pushed deeper into Russia's Kursk region on {d}, officials in Kyiv said.",
    "The incursion across the border forced Moscow to move reserves from the front in Donetsk.",
    "Russian commanders said drone strikes hit Ukrainian armour near the town of Sudzha.",
]


def story(guid: str, headline: str, version: str = "1", **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "uri": guid,
        "version": version,
        "type": "text",
        "headline": headline,
        "byline": "By Olena Marchenko",
        "language": "en",
        "pubstatus": "usable",
        "located": "Kyiv",
        "firstcreated": (now - timedelta(minutes=5)).isoformat(),
        "versioncreated": (
            now - timedelta(minutes=5) + timedelta(seconds=int(version))
        ).isoformat(),
        "body_html": "".join(f"<p>{p.format(d='Monday')}</p>" for p in WAR),
        **extra,
    }


def push(services: ServiceProcesses, body: dict[str, Any]) -> None:
    response = httpx.post(
        f"{services.ingest_url}/v1/stories",
        content=json.dumps(body).encode(),
        headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 202, response.text


class Site:
    def __init__(self, settings: StackSettings) -> None:
        self.storage = Storage(settings)

    def page(self, path: str) -> str:
        body = self.storage.get_page(path)
        return body.decode() if body else ""

    def article_key(self, guid: str) -> str | None:
        short_id = article_id_for(guid)[:8]
        return next(
            (key for key in self.storage.list_pages() if f"-{short_id}/index.html" in key), None
        )

    def everywhere(self) -> dict[str, str]:
        """The pages a reader finds a story through: home, its section, its place's tag page,
        the feeds, the sitemaps."""
        paths = [
            "index.html",
            "section/world/index.html",
            "tags/place-ukraine/index.html",
            "feed.xml",
            "atom.xml",
            "feed.json",
            "section/world/feed.xml",
            "tags/place-ukraine/atom.xml",
            "sitemap-news.xml",
            f"sitemap-{datetime.now(UTC):%Y-%m}.xml",
            "sitemap.xml",
        ]
        return {path: self.page(path) for path in paths}


def shows(site: Site, guid: str) -> dict[str, bool]:
    """Which of those pages name the story: by its URL (listings and feeds link it, sitemaps
    locate it; the sitemap index names the month's shard only while it has a story)."""
    short_id = article_id_for(guid)[:8]
    month_shard = f"sitemap-{datetime.now(UTC):%Y-%m}.xml"
    return {
        path: (month_shard in body if path == "sitemap.xml" else f"-{short_id}/" in body)
        for path, body in site.everywhere().items()
    }


def nowhere(site: Site, guid: str) -> bool:
    """No listing, feed or sitemap names the story, and it has no page."""
    named = {path for path, there in shows(site, guid).items() if there and path != "sitemap.xml"}
    return not named and site.article_key(guid) is None


def test_listings_feeds_and_sitemaps_follow_pushes_corrections_and_kills(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    services.start_all()
    site = Site(settings)
    push(services, story("urn:test:site-1", "Ukraine pushes deeper into Kursk"))
    push(services, story("urn:test:site-2", "Moscow moves reserves to Kursk"))
    guids = ("urn:test:site-1", "urn:test:site-2")
    wait_for(lambda: all(all(shows(site, g).values()) for g in guids), 60, "both everywhere")
    assert "Moscow moves reserves to Kursk" in site.page("tags/place-ukraine/index.html")

    # A correction: the new headline everywhere, the feed entry updated, its id the same.
    push(services, story("urn:test:site-2", "Moscow rushes reserves to Kursk", version="2"))
    corrected = ["index.html", "section/world/index.html", "feed.xml", "sitemap-news.xml"]
    wait_for(
        lambda: all("Moscow rushes reserves" in site.page(path) for path in corrected),
        60,
        "the correction everywhere",
    )
    assert not any("Moscow moves reserves" in site.page(path) for path in corrected)
    feed = feedparser.parse(site.page("atom.xml"))
    [entry] = [e for e in feed.entries if e.title == "Moscow rushes reserves to Kursk"]
    assert entry.id == f"urn:wirepress:article:{article_id_for('urn:test:site-2')}"
    assert entry.updated != entry.published

    # A kill: gone from every listing, feed and sitemap, its page from the bucket, and from
    # the related links of the story that named it.
    survivor = site.article_key("urn:test:site-2")
    assert survivor is not None
    push(services, {"uri": "urn:test:site-1", "version": "2", "pubstatus": "canceled"})
    wait_for(lambda: nowhere(site, "urn:test:site-1"), 60, "no trace of the killed story")
    killed_id = article_id_for("urn:test:site-1")[:8]
    wait_for(lambda: f"-{killed_id}/" not in site.page(survivor), 60, "no link to it left")
    assert all(shows(site, "urn:test:site-2").values())
    site.storage.close()


def test_an_embargoed_story_appears_nowhere_until_its_time_then_everywhere(
    services: ServiceProcesses, settings: StackSettings
) -> None:
    """Three held stories: one released at its time, one whose correction moves its embargo
    later, one killed before its time (it never appears)."""
    services.start_all()
    site = Site(settings)
    push(services, story("urn:test:site-open", "Kursk front holds"))
    wait_for(lambda: all(shows(site, "urn:test:site-open").values()), 60, "the open story")
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
    later = until + timedelta(seconds=8)
    held, moved, killed = "urn:test:site-held", "urn:test:site-moved", "urn:test:site-killed"
    push(services, story(held, "Kursk ceasefire agreed", embargoed=until.isoformat()))
    push(services, story(moved, "Kursk talks open", embargoed=until.isoformat()))
    push(services, story(killed, "Kursk truce collapses", embargoed=until.isoformat()))
    push(services, story(moved, "Kursk talks open", version="2", embargoed=later.isoformat()))
    push(services, {"uri": killed, "version": "2", "pubstatus": "canceled"})
    open_page = site.article_key("urn:test:site-open")
    assert open_page is not None

    # Until its time: on no page, listing, feed or sitemap, and no other page links to it.
    while datetime.now(UTC) < until - timedelta(seconds=1):
        for guid in (held, moved, killed):
            assert nowhere(site, guid), guid
        assert "Kursk ceasefire" not in site.page(open_page)
        time.sleep(0.5)
    wait_for(lambda: all(shows(site, held).values()), 30, "the held story released")
    released = time.time() - until.timestamp()
    assert released < 10, f"went out {released:.1f} s after its embargo"
    assert nowhere(site, moved) and nowhere(site, killed)

    wait_for(lambda: all(shows(site, moved).values()), 30, "the moved story at its new time")
    assert time.time() >= later.timestamp()
    time.sleep(2)
    assert nowhere(site, killed)
    site.storage.close()
