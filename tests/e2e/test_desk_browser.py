"""The editors' desk in a real browser, on a real local stack (Valkey, SeaweedFS and the five
services as processes) publishing the demo feed: an editor signs in, finds a story, bans one of
its related links, removes a wrong tag and takes another story down, each seen on the published
site; an admin requeues a real dead letter; what must be refused is refused; axe-core finds no
serious or critical violation on any desk page; screenshots at phone and desktop widths go to
var/test-artifacts/desk/.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import redis

from cli.stack import read_env
from services.desk.handlers import issue_session
from services.desk.ports import User
from shared.broker import create_redis, publish_events
from shared.events import ArticleRepublishRequested
from shared.models import article_id_for
from shared.streams import REPUBLISH, dead_letter
from tests.e2e.test_site import DEMO_FEED, ROOT, _wait_until_idle, tool_missing, wirepress
from tests.site import checks

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ARTIFACTS = ROOT / "var" / "test-artifacts" / "desk"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
EDITOR_PASSWORD = "an editor's long password"
LATE_GUID = "urn:wirepress:test:named-before-it-arrived"


@dataclass
class Stack:
    env: dict[str, str]
    root: Path

    @property
    def desk(self) -> str:
        return self.env["DESK_URL"].rstrip("/") + "/"

    @property
    def site(self) -> str:
        return self.env["SITE_URL"].rstrip("/")

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}"
            for p in sorted((self.root / "var" / "log").glob("*.log"))
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = checks.browser_missing()
    if reason:
        tool_missing(reason)
    root = tmp_path_factory.mktemp("desk-stack")
    up = wirepress("stack", "up", "--root", str(root))
    running = Stack({}, root)
    try:
        assert up.returncode == 0, up.stdout + up.stderr + running.logs()
        env = read_env(root / "var" / "stack.env")
        running = Stack(env, root)
        pushed = wirepress("push", str(DEMO_FEED), "--wait", "--timeout", "180", env=env)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr + running.logs()
        added = subprocess_add_editor(env)
        assert added.returncode == 0, added.stderr
        _wait_until_idle(env)
        yield running
    finally:
        down = wirepress("stack", "down", "--root", str(root))
        assert down.returncode == 0, down.stdout + down.stderr


def subprocess_add_editor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "desk", "add-user", "eddie", "--password-stdin"],
        input=EDITOR_PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


def emit(redis_url: str, stream: str, event: ArticleRepublishRequested) -> None:
    async def send() -> None:
        client = create_redis(redis_url)
        try:
            await publish_events(client, stream, [event], 1000)
        finally:
            await client.aclose()

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = checks.launch_chromium(playwright)
        yield launched
        launched.close()


def eventually(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.25)


def sign_in(page: Page, stack: Stack, user: str, password: str) -> None:
    page.goto(stack.desk)
    assert page.url.endswith("/signin"), "signed out, the desk sends to its sign-in form"
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(stack.desk)


class Audit:
    """axe-core on every desk page the walk reaches, and screenshots of the main ones."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.checked: set[str] = set()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def check(self, page: Page, name: str, screenshot: bool = False) -> None:
        if not checks.AXE_JS.is_file():
            tool_missing(f"{checks.AXE_JS} is missing")
        kind = page.url.split("?")[0]
        if kind not in self.checked:
            self.checked.add(kind)
            page.add_script_tag(path=str(checks.AXE_JS))
            result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
            for violation in result.get("violations", []):
                if violation.get("impact") in ("serious", "critical"):
                    nodes = violation.get("nodes", [])
                    target = nodes[0].get("target") if nodes else ""
                    self.problems.append(f"{name}: {violation['id']}: {violation['help']} {target}")
        if screenshot:
            for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(size)
                page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
            page.set_viewport_size(DESKTOP)


def published(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10, headers={"Accept-Encoding": "identity"})


def wait_done(page: Page) -> None:
    """The desk says the action is on the site (its page asks until it is)."""
    notice = page.locator("#done")
    eventually(lambda: notice.get_attribute("data-on-site") == "yes", "the desk to show it")
    assert "on the site" in (notice.text_content() or "")


def test_an_editor_steers_stories_and_the_site_follows(stack: Stack, browser: Browser) -> None:
    audit = Audit()
    # bypass_csp: axe-core is injected as an inline script, which the desk's CSP refuses.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, stack, "eddie", EDITOR_PASSWORD)
        audit.check(page, "stories", screenshot=True)
        # Find the Kursk story by a word of its headline, typed as far as "kurs".
        page.get_by_label("Headline").fill("kurs")
        page.get_by_role("button", name="Find").click()
        page.locator(
            "table.stories td:first-child a", has_text="Ukrainian forces push into"
        ).click()
        assert "Ukrainian forces push into Russia" in page.locator("h1").inner_text()
        story_id = page.url.split("/stories/")[1].split("?")[0]
        audit.check(page, "story", screenshot=True)
        story_url = page.locator("dl.facts a[rel=noopener]").first.get_attribute("href")
        assert story_url and story_url.startswith(stack.site)

        # Ban its first related link: the published page loses it.
        first = page.locator("#links li").first
        banned = first.get_attribute("data-article")
        banned_href = first.locator("a").first.get_attribute("href")
        assert banned and banned_href
        assert banned[:8] in published(story_url).text
        first.get_by_role("button", name="Ban this link").click()
        wait_done(page)
        assert banned[:8] not in published(story_url).text
        assert page.locator(f'#links li[data-article="{banned}"]').count() == 0

        # Remove a place tag that has a tag page: the tag page stops listing the story.
        tag = page.locator('#tags li[data-slug^="place-"]').first
        slug = tag.get_attribute("data-slug")
        tag_page = f"{stack.site}/tags/{slug}/index.html"
        story_path = story_url.removeprefix(stack.site).rsplit("/", 1)[0]
        assert story_path in published(tag_page).text
        tag.get_by_role("button", name="Remove from this story").click()
        wait_done(page)
        eventually(lambda: story_path not in published(tag_page).text, "the tag page to update")

        # Make it the home page's top story: the home page in the bucket leads with it.
        def home_lead() -> str:
            found = re.search(
                r'class="lead__headline"><a href="([^"]+)"',
                published(f"{stack.site}/index.html").text,
            )
            return found.group(1) if found else ""

        assert story_path not in home_lead(), "the demo's newest story leads before"
        page.get_by_role("button", name="Top story of the home page").click()
        assert "Sent to the home front" in page.content()
        eventually(lambda: story_path in home_lead(), "the home page to lead with it")
        page.goto(stack.desk + "fronts")
        pinned = page.locator('ol[data-front="home"] li').first.get_attribute("data-article")
        assert pinned == story_id
        audit.check(page, "fronts", screenshot=True)
        page.goto(stack.desk + f"stories/{story_id}")

        # Refused: a forged CSRF token, and an editor requeueing dead letters.
        action = page.url.split("?")[0] + "/actions"
        forged = page.request.post(action, form={"csrf": "forged", "action": "republish"})
        assert forged.status == 403
        csrf = page.locator('input[name="csrf"]').first.get_attribute("value") or ""
        editor_requeue = page.request.post(
            stack.desk + "api/v1/queue/requeue",
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
            data=json.dumps({"stream": REPUBLISH, "dead_ids": ["1-0"]}),
        )
        assert editor_requeue.status == 403

        # Take another story down, after the confirmation that names what goes.
        page.goto(stack.desk + "?q=wayfarer")
        page.locator(
            "table.stories td:first-child a", has_text="First images from Wayfarer"
        ).click()
        killed_url = page.locator("dl.facts a[rel=noopener]").first.get_attribute("href")
        assert killed_url and published(killed_url).status_code == 200
        page.get_by_role("link", name="Take down…").click()
        assert "This removes from the site" in page.content()
        audit.check(page, "takedown", screenshot=True)
        page.get_by_role("button", name="Take it down").click()
        wait_done(page)
        assert published(killed_url).status_code in (403, 404, 410)
        assert page.locator(".status").first.inner_text() == "killed"

        for name in ("jobs", "queue", "audit"):
            page.goto(stack.desk + name)
            audit.check(page, name, screenshot=name == "queue")
        audit_text = page.locator("#audit").inner_text()
        assert "takedown" in audit_text and "remove-tag" in audit_text and "ban" in audit_text
    finally:
        context.close()
    assert audit.problems == [], "\n".join(audit.problems)


def test_an_admin_requeues_a_dead_letter_and_the_story_goes_out(
    stack: Stack, browser: Browser
) -> None:
    # A republish request for a story the archive does not hold yet is a real dead letter.
    late_id = article_id_for(LATE_GUID)
    request = ArticleRepublishRequested(article_id=late_id, guid=LATE_GUID, version="1")
    emit(stack.env["REDIS_URL"], REPUBLISH, request)
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:
        eventually(lambda: client.xlen(dead_letter(REPUBLISH)) >= 1, "the dead letter")
    finally:
        client.close()
    story = {
        "uri": LATE_GUID, "type": "text", "version": "1", "pubstatus": "usable",
        "versioncreated": "2026-06-29T10:00:00Z", "language": "en",
        "headline": "Harbour authority names the ferry operator it will license",
        "body_html": "<p>The harbour authority named the operator on Monday.</p>",
    }  # fmt: skip
    answer = httpx.post(
        stack.env["INGEST_URL"] + "/v1/stories",
        json=story,
        headers={"Authorization": f"Bearer {stack.env['INGEST_TOKEN']}"},
        timeout=10,
    )
    assert answer.status_code in (200, 202), answer.text
    # bypass_csp: axe-core is injected as an inline script, which the desk's CSP refuses.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    audit = Audit()
    try:
        sign_in(page, stack, stack.env["DESK_ADMIN_USER"], stack.env["DESK_ADMIN_PASSWORD"])

        def late_story_live() -> bool:
            found = page.request.get(stack.desk + f"api/v1/stories/{late_id}")
            return found.status == 200 and found.json()["status"] == "live"

        eventually(late_story_live, "the late story on the site")
        page.goto(stack.desk + "queue")
        row = page.locator("#dead tr", has_text="not in the archive")
        assert row.count() == 1, page.content()
        audit.check(page, "queue-admin")
        row.get_by_role("button", name="Requeue").click()
        page.wait_for_url(stack.desk + "queue")
        assert page.locator("#dead tr", has_text="not in the archive").count() == 0
        page.goto(stack.desk + f"stories/{late_id}")

        def republished() -> bool:
            page.reload()
            return "editor" in page.locator("#timeline").inner_text()

        eventually(republished, "the requeued request to be enriched")
        page.goto(stack.desk + "audit")
        assert "requeue" in page.locator("#audit").inner_text()
    finally:
        context.close()
    assert audit.problems == [], "\n".join(audit.problems)


def test_signed_out_expired_and_signed_out_sessions_are_refused(
    stack: Stack, browser: Browser
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(stack.desk + "queue")
        assert page.url.endswith("/signin")
        assert page.request.get(stack.desk + "api/v1/stories").status == 401
        # An expired session, however well signed, is refused.
        secret = stack.env["DESK_SECRET"].encode()
        eddie = User("eddie", "unused", "editor", 0)
        _, expired = issue_session(eddie, secret, time.time() - 9 * 3600, max_age_s=8 * 3600)
        host = stack.desk.split("//")[1].split(":")[0]
        context.add_cookies(
            [{"name": "desk_session", "value": expired, "domain": host, "path": "/"}]
        )
        assert page.request.get(stack.desk + "api/v1/me").status == 401
        # A session signed out, replayed, is refused too.
        sign_in(page, stack, "eddie", EDITOR_PASSWORD)
        cookie = next(c for c in context.cookies() if c["name"] == "desk_session")
        page.get_by_role("button", name="Sign out").click()
        context.add_cookies([cookie])  # type: ignore[list-item]
        assert page.request.get(stack.desk + "api/v1/me").status == 401
        page.goto(stack.desk)
        assert page.url.endswith("/signin")
    finally:
        context.close()
