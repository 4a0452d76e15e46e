"""Desk service wiring: the events it follows into its story index, and the pages and JSON API
behind the sign-in, session and CSRF checks.

Signed out, a page redirects to the sign-in form and an API call answers 401; a state-changing
request from a browser without the session's CSRF token answers 403. Machines call the API with
a bearer token (`wirepress desk add-token`), which needs no CSRF token: no cookie is involved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from services.desk.actions import (
    BULK_SCOPES,
    STORY_ACTIONS,
    TAG_WIDE,
    ActionRefused,
    StoryAction,
    describe,
    front_command,
    front_name,
    machine_session,
    new_correlation_id,
    new_job_id,
    new_token,
    republish_commands,
    story_command,
    tag_wide_commands,
    token_hash,
)
from services.desk.adapters import (
    RedisAttempts,
    RedisAuditLog,
    RedisDeadLetterFeed,
    RedisJobs,
    RedisSignOuts,
    RedisStoryIndex,
    RedisTokens,
    RedisUsers,
    payload_summary,
)
from services.desk.handlers import (
    csrf_ok,
    csrf_token,
    issue_session,
    may,
    new_user,
    read_session,
    sign_in,
)
from services.desk.openapi import openapi_document
from services.desk.ports import (
    STATUSES,
    AuditRecord,
    DeskStory,
    Job,
    Session,
    SignInRefused,
    StoryQuery,
    TimelineEntry,
)
from services.desk.settings import DeskSettings
from services.desk.stories import (
    on_enriched,
    on_failure,
    on_ingested,
    on_published,
    on_record,
    status_of,
)
from shared.backlog import (
    BULK_SHARE,
    dead_letter_by_id,
    discard,
    list_dead,
    missed_entries,
    requeue,
    stream_status,
    wait_for_capacity,
)
from shared.broker import create_redis, publish_events
from shared.clients import EnrichClient, RenderClient, ServiceUnreachable
from shared.events import (
    DESK_INPUT,
    ArticleEnriched,
    ArticleIngested,
    ArticlePublished,
    ArticleRepublishRequested,
    Output,
)
from shared.models import as_article_id
from shared.queries import StoryRecord
from shared.service import BadQuery, Runtime, consumer_app, int_param, read_body
from shared.site import page_url
from shared.storage import Storage
from shared.streams import CONSUMER_GROUPS, DESK, ENRICHED, INGESTED, PUBLISHED, REPUBLISH, SITE

logger = logging.getLogger(__name__)

SESSION_COOKIE = "desk_session"
PRESESSION_COOKIE = "desk_presession"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100
#: A stream entry id, as the audit log's paging and dead letters are named by.
_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_HERE = Path(__file__).parent
_TEMPLATES = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
)
Page = Callable[[Request, Session], Awaitable[Response]]


def _when(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _iso(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


_TEMPLATES.filters["when"] = _when
_TEMPLATES.filters["iso"] = _iso


class Desk:
    def __init__(self, settings: DeskSettings, runtime: Runtime) -> None:
        self.settings = settings
        self.secret = settings.secret()
        self.runtime = runtime
        redis = runtime.redis
        self.users = RedisUsers(redis)
        self.attempts = RedisAttempts(redis)
        self.tokens = RedisTokens(redis)
        self.sign_outs = RedisSignOuts(redis)
        self.index = RedisStoryIndex(redis, cache_s=settings.desk_query_cache_s)
        self.audit = RedisAuditLog(redis)
        self.jobs = RedisJobs(redis)
        self.enrich = EnrichClient(settings.enrich_url)
        self.render_client = RenderClient(settings.render_url)
        self._storage: Storage | None = None
        #: Work that ends on its own (bulk jobs, the first backfill): not health-checked.
        self.tasks: set[asyncio.Task[None]] = set()

    # --- following the pipeline ---------------------------------------------------------------

    async def handle(
        self, event: ArticleIngested | ArticleEnriched | ArticlePublished
    ) -> Sequence[Output]:
        if isinstance(event, ArticleIngested):
            change, entry = on_ingested(event)
            await self.index.update(event.article_id, change, entry)
        elif isinstance(event, ArticleEnriched):
            change, entry = on_enriched(event)
            await self.index.update(event.article_id, change, entry)
        else:
            change, entries = on_published(event)
            await self.index.update(event.article_id, change, *entries)
            if event.correlation_id.startswith("desk-job-") and event.outcome != "stale":
                await self.jobs.done(event.correlation_id)
        return []

    async def follow_dead_letters(self) -> None:
        feed = RedisDeadLetterFeed(self.runtime.redis, list(CONSUMER_GROUPS))
        while not self.runtime.stopping.is_set():
            try:
                for f in await feed.new_failures():
                    if f.group == DESK:
                        continue
                    change, entry = on_failure(
                        f.article_id, f.guid, f.version, f.group, f.reason, f.failed_at,
                        f.correlation_id,
                    )  # fmt: skip
                    await self.index.update(f.article_id, change, entry)
            except (RedisError, OSError) as exc:
                logger.warning("could not read the dead letters (will try again): %s", exc)
            await asyncio.sleep(self.settings.desk_dead_letter_poll_s)

    async def backfill(self) -> None:
        """When the desk first runs against a site that already has stories, and whenever it
        finds events it never read were trimmed (it was stopped past its retention): bring every
        story enrich holds up to its latest version from enrich's archive."""
        while not self.runtime.stopping.is_set():
            try:
                missed = [
                    s
                    for s in (INGESTED, ENRICHED, PUBLISHED)
                    if await missed_entries(self.runtime.redis, s, DESK)
                ]
                if missed:
                    logger.warning("events on %s were trimmed unread: catching up", missed)
                elif await self.index.backfilled():
                    return
                count, now = 0, time.time()
                async for records in self.enrich.every_story(500):
                    for record in records:
                        url = page_url(self.settings.site_url, record.page_path)
                        await self.index.update(record.article_id, on_record(record, url, now))
                    count += len(records)
                await self.index.mark_backfilled()
                logger.info("listed %s stories from enrich's archive", count)
                return
            except (ServiceUnreachable, RedisError, OSError) as exc:
                logger.info("enrich's archive not readable yet (will try again): %s", exc)
                await asyncio.sleep(5)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.enrich.aclose()
        await self.render_client.aclose()
        if self._storage is not None:
            self._storage.close()

    # --- who is asking ------------------------------------------------------------------------

    async def principal(self, request: Request) -> Session | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            token = await self.tokens.by_hash(token_hash(header[7:].strip()))
            return machine_session(token) if token is not None else None
        session = read_session(request.cookies.get(SESSION_COOKIE), self.secret, time.time())
        if session is None or await self.sign_outs.signed_out(session.nonce):
            return None
        return session

    def guarded(
        self, page: Page, action: str, *, api: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """`page` for a signed-in user (or a machine token) allowed `action`; a state-changing
        request with a session cookie must also carry its CSRF token (form field `csrf` or
        header `X-CSRF-Token`)."""

        async def endpoint(request: Request) -> Response:
            session = await self.principal(request)
            if session is None:
                if api or request.headers.get("authorization"):
                    return JSONResponse({"detail": "sign in first"}, status_code=401)
                return RedirectResponse(f"{_root(request)}signin", status_code=303)
            if not may(session, action):
                return self._refuse(request, api, 403, f"{session.role}s may not {action}")
            if request.method not in ("GET", "HEAD") and not session.machine:
                token = request.headers.get("x-csrf-token")
                if token is None and not _is_json(request):
                    token = _field(await _form(request), "csrf")
                if not csrf_ok(self.secret, session.nonce, token):
                    return self._refuse(request, api, 403, "missing or wrong CSRF token")
            try:
                return await page(request, session)
            except ActionRefused as refused:
                return self._refuse(request, api, refused.status, refused.reason)

        return endpoint

    def _refuse(self, request: Request, api: bool, status: int, reason: str) -> Response:
        if api:
            return JSONResponse({"detail": reason}, status_code=status)
        return self.render(request, None, "refused.html", status, title="Not done", reason=reason)

    # --- rendering ----------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        session: Session | None,
        template: str,
        http_status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        page = _TEMPLATES.get_template(template).render(
            root=_root(request),
            session=session,
            csrf=csrf_token(self.secret, session.nonce) if session and session.nonce else "",
            may_requeue=may(session, "requeue"),
            **context,
        )
        return HTMLResponse(
            page,
            status_code=http_status,
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'self'; frame-src *; img-src 'self' data:;"
                " frame-ancestors 'none'; form-action 'self'",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin",
            },
        )

    # --- sign-in and out ----------------------------------------------------------------------

    async def signin_form(self, request: Request) -> Response:
        return self._signin_page(request)

    def _signin_page(
        self, request: Request, status: int = 200, error: str | None = None, user: str = ""
    ) -> Response:
        nonce = secrets.token_urlsafe(16)
        response = self.render(
            request,
            None,
            "signin.html",
            status,
            title="Sign in",
            signin_csrf=csrf_token(self.secret, nonce),
            error=error,
            user=user,
        )
        self._cookie(response, PRESESSION_COOKIE, nonce, 3600)
        return response

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=bool(self.settings.desk_secure_cookies),
            path="/",
        )

    async def signin(self, request: Request) -> Response:
        try:
            form = await _form(request)
        except ActionRefused as refused:
            return self._refuse(request, False, refused.status, refused.reason)
        if not csrf_ok(self.secret, request.cookies.get(PRESESSION_COOKIE), _field(form, "csrf")):
            return self._signin_page(request, 403, "The form had expired: please sign in again.")
        address = request.client.host if request.client else "unknown"
        s = self.settings
        try:
            user = await sign_in(
                self.users,
                self.attempts,
                name=_field(form, "user") or "",
                password=_field(form, "password") or "",
                address=address,
                limits=(
                    s.desk_max_failures_per_user,
                    s.desk_max_failures_per_address,
                    s.desk_failure_window_s,
                ),
            )
        except SignInRefused as refused:
            response = self._signin_page(
                request, refused.status, refused.reason, _field(form, "user") or ""
            )
            if refused.retry_after_s is not None:
                response.headers["Retry-After"] = str(refused.retry_after_s)
            return response
        _session, cookie = issue_session(user, self.secret, time.time(), s.desk_session_max_age_s)
        response = RedirectResponse(_root(request), status_code=303)
        self._cookie(response, SESSION_COOKIE, cookie, s.desk_session_max_age_s)
        response.delete_cookie(PRESESSION_COOKIE, path="/")
        return response

    async def signout(self, request: Request, session: Session) -> Response:
        if not session.machine:
            await self.sign_outs.sign_out(session.nonce, session.expires_at)
        response = RedirectResponse(f"{_root(request)}signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def me(self, request: Request, session: Session) -> Response:
        return JSONResponse(
            {
                "user": session.user,
                "role": session.role,
                "expires_at": session.expires_at if not session.machine else None,
                "csrf": csrf_token(self.secret, session.nonce) if session.nonce else None,
            }
        )

    # --- stories ------------------------------------------------------------------------------

    def _query(self, request: Request) -> StoryQuery:
        params = request.query_params
        status = params.get("status", "")
        if status and status not in STATUSES:
            raise ActionRefused(400, f"status is one of {', '.join(STATUSES)}")
        limit = _int(request, "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
        page = _int(request, "page", 1, 1, 10_000)
        return StoryQuery(
            text=params.get("q", "")[:200],
            status=status,
            section=params.get("section", "")[:100],
            tag=params.get("tag", "")[:200],
            since=_day(params.get("since"), start=True),
            until=_day(params.get("until"), start=False),
            offset=_int(request, "offset", (page - 1) * limit, 0, 10_000_000),
            limit=limit,
        )

    async def story_list(self, request: Request, session: Session) -> Response:
        query = self._query(request)
        found = await self.index.search(query)
        sections = await self.index.sections()
        now = time.time()
        page = query.offset // query.limit + 1
        return self.render(
            request,
            session,
            "stories.html",
            title="Stories",
            query=query,
            params=dict(request.query_params),
            found=found,
            rows=[(story, status_of(story, now)) for story in found.stories],
            statuses=STATUSES,
            sections=sections,
            page=page,
            pages=max(1, -(-found.total // query.limit)),
        )

    async def api_stories(self, request: Request, session: Session) -> Response:
        query = self._query(request)
        found = await self.index.search(query)
        now = time.time()
        return JSONResponse(
            {
                "total": found.total,
                "offset": query.offset,
                "limit": query.limit,
                "stories": [_story_json(s, now) for s in found.stories],
            }
        )

    async def _story(self, request: Request) -> DeskStory:
        article_id = as_article_id(request.path_params["article_id"])
        story = await self.index.get(article_id)
        if story is None:
            raise ActionRefused(404, f"no story {article_id} on the desk")
        return story

    async def _record(self, article_id: str) -> StoryRecord | None:
        try:
            found = await self.enrich.stories([article_id])
        except ServiceUnreachable as exc:
            logger.warning("enrich did not answer: %s", exc, extra={"article_id": article_id})
            return None
        return found[0] if found else None

    async def story_page(self, request: Request, session: Session) -> Response:
        story = await self._story(request)
        timeline = await self.index.timeline(story.article_id)
        record = await self._record(story.article_id)
        done = request.query_params.get("done", "")
        return self.render(
            request,
            session,
            "story.html",
            title=story.headline or story.article_id,
            story=story,
            status=status_of(story, time.time()),
            timeline=timeline,
            record=record,
            reflected=_reflected(timeline),
            done=done,
            request_front=request.query_params.get("front", "")[:100],
            done_applied=_reflected(timeline).get(done),
            done_requested=_requested_at(timeline, done),
            actions=STORY_ACTIONS,
        )

    async def api_story(self, request: Request, session: Session) -> Response:
        story = await self._story(request)
        timeline = await self.index.timeline(story.article_id)
        record = await self._record(story.article_id)
        body = _story_json(story, time.time())
        body["timeline"] = [asdict(entry) for entry in timeline]
        body["overrides"] = (
            {
                "pinned": record.pinned,
                "banned": record.banned,
                "removed_tags": record.removed_tags,
                "taken_down": record.taken_down,
            }
            if record is not None
            else None
        )
        return JSONResponse(body)

    async def takedown_form(self, request: Request, session: Session) -> Response:
        story = await self._story(request)
        return self.render(
            request, session, "takedown.html", title="Take down", story=story,
            status=status_of(story, time.time()),
        )  # fmt: skip

    # --- actions ------------------------------------------------------------------------------

    async def _act(self, story: DeskStory, act: StoryAction, session: Session) -> dict[str, Any]:
        cid = new_correlation_id()
        command = story_command(story, act, session, cid, time.time())
        await self._emit([command])
        await self._audit(session, act.action, story.article_id, describe(act), cid)
        await self.index.update(
            story.article_id, _unchanged, _desk_entry(story, session, describe(act), cid)
        )
        result: dict[str, Any] = {"correlation_id": cid, "article_id": story.article_id}
        if act.action in TAG_WIDE:
            slug = act.value.strip()
            banning = act.action == "ban-tag"
            carrying = await self.index.ids(tag=slug)
            if banning:
                await self.index.remember_tag_ban(slug, [story.article_id, *carrying])
            else:
                # Banned, the tag is on no story now: give it back to those that had it.
                carrying = sorted({*carrying, *await self.index.tag_ban(slug)})
                await self.index.forget_tag_ban(slug)
            others = [i for i in carrying if i != story.article_id]
            job = await self._start_job(
                f"{act.action} {slug}: {len(others)} other stories", others, session,
                lambda stories, job_id: tag_wide_commands(stories, slug, banning, session, job_id),
            )  # fmt: skip
            result["job_id"] = job.job_id
        return result

    async def story_action(self, request: Request, session: Session) -> Response:
        story = await self._story(request)
        form = await _form(request)
        act = StoryAction(
            action=_field(form, "action") or "",
            value=_field(form, "value") or "",
            confirm=_field(form, "confirm") or "",
        )
        result = await self._act(story, act, session)
        target = f"{_root(request)}stories/{story.article_id}?done={result['correlation_id']}"
        return RedirectResponse(target, status_code=303)

    async def api_story_action(self, request: Request, session: Session) -> Response:
        story = await self._story(request)
        body = await _json(request)
        act = StoryAction(
            action=str(body.get("action", "")),
            value=",".join(body["value"]) if isinstance(body.get("value"), list)
            else str(body.get("value", "")),
            confirm=str(body.get("confirm", "")),
        )  # fmt: skip
        return JSONResponse(await self._act(story, act, session), status_code=202)

    async def action_status(self, request: Request, session: Session) -> Response:
        """Whether an action on a story is on the site yet: its page published since."""
        story = await self._story(request)
        cid = request.path_params["correlation_id"]
        timeline = await self.index.timeline(story.article_id)
        applied = _reflected(timeline).get(cid)
        requested = _requested_at(timeline, cid)
        if requested is None:
            raise ActionRefused(404, "no such action on this story")
        return JSONResponse(
            {
                "correlation_id": cid,
                "requested_at": requested,
                "on_site_at": applied,
                "on_site": applied is not None,
            }
        )

    async def _emit(self, commands: Sequence[ArticleRepublishRequested]) -> None:
        await publish_events(self.runtime.redis, REPUBLISH, commands, self.settings.stream_maxlen)

    async def _audit(
        self, session: Session, action: str, target: str, detail: str, cid: str
    ) -> None:
        await self.audit.record(
            AuditRecord(time.time(), session.user, session.role, action, target, detail, cid)
        )
        logger.info(
            "%s (%s): %s %s", session.user, session.role, action, detail,
            extra={"article_id": target},
        )  # fmt: skip

    # --- bulk republishing --------------------------------------------------------------------

    async def _start_job(
        self,
        label: str,
        article_ids: list[str],
        session: Session,
        commands: Callable[[list[DeskStory], str], list[ArticleRepublishRequested]],
    ) -> Job:
        job = Job(new_job_id(), label, len(article_ids), 0, 0, time.time(), session.user, False)
        await self.jobs.start(job)
        await self._audit(session, "republish", label, f"{len(article_ids)} stories", job.job_id)
        task = asyncio.create_task(self._run_job(job, article_ids, commands))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return job

    async def _run_job(
        self,
        job: Job,
        article_ids: list[str],
        commands: Callable[[list[DeskStory], str], list[ArticleRepublishRequested]],
    ) -> None:
        """Send a bulk job's requests a batch at a time, each once the pipeline has room."""
        size = self.settings.desk_republish_batch
        limit = int(self.settings.ingest_max_lag * BULK_SHARE)
        try:
            for start in range(0, len(article_ids), size):
                await wait_for_capacity(self.runtime.redis, limit, timeout_s=None)
                stories = await self.index.stories(article_ids[start : start + size])
                batch = commands(stories, job.job_id)
                await self._emit(batch)
                await self.jobs.sent(job.job_id, len(batch))
            await self.jobs.sent(job.job_id, 0, finished=True)
        except (RedisError, OSError) as exc:
            # Said once, on the job itself, where editors look; what was sent stays sent.
            logger.error("%s stopped: %s", job.label, exc, extra={"article_id": job.job_id})
            await self.jobs.failed(job.job_id, str(exc)[:500])

    async def republish(self, request: Request, session: Session) -> Response:
        form = await _form(request)
        job = await self._bulk_job(
            _field(form, "scope") or "", _field(form, "value") or "", session
        )
        return RedirectResponse(f"{_root(request)}jobs#{job.job_id}", status_code=303)

    async def api_republish(self, request: Request, session: Session) -> Response:
        body = await _json(request)
        job = await self._bulk_job(str(body.get("scope", "")), str(body.get("value", "")), session)
        return JSONResponse(asdict(job), status_code=202)

    async def _bulk_job(self, scope: str, value: str, session: Session) -> Job:
        if scope not in BULK_SCOPES:
            raise ActionRefused(400, f"scope is one of {', '.join(BULK_SCOPES)}")
        value = value.strip()
        if scope != "all" and not value:
            raise ActionRefused(400, f"name the {scope}")
        ids = await self.index.ids(
            section=value if scope == "section" else "", tag=value if scope == "tag" else ""
        )
        if not ids:
            raise ActionRefused(404, f"no stories in {scope} {value}".strip())
        label = f"republish {scope}" + (f" {value}" if value else "")
        return await self._start_job(
            label,
            ids,
            session,
            lambda stories, job_id: republish_commands(stories, session, job_id),
        )

    async def jobs_page(self, request: Request, session: Session) -> Response:
        jobs = await self.jobs.recent(50)
        sections = await self.index.sections()
        return self.render(
            request, session, "jobs.html", title="Republishing", jobs=jobs, sections=sections
        )

    async def api_job(self, request: Request, session: Session) -> Response:
        job = await self.jobs.get(request.path_params["job_id"])
        if job is None:
            raise ActionRefused(404, "no such job")
        return JSONResponse(asdict(job))

    # --- fronts ------------------------------------------------------------------------------

    async def _fronts(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        sections = await self.index.sections()
        try:
            pins = await self.render_client.fronts()
        except ServiceUnreachable as exc:
            raise ActionRefused(503, f"render did not answer about the fronts: {exc}") from exc
        return sections, pins

    async def _change_front(
        self, session: Session, front: str, op: str, article_id: str
    ) -> dict[str, Any]:
        sections = await self.index.sections()
        front = front_name(front, sections)
        story = await self.index.get(as_article_id(article_id))
        if story is None:
            raise ActionRefused(404, f"no story {article_id[:80]} on the desk")
        cid = new_correlation_id()
        command = front_command(front, op, story, session, cid, time.time())
        await publish_events(self.runtime.redis, SITE, [command], self.settings.stream_maxlen)
        await self._audit(session, f"front-{op}", story.article_id, f"{front}: {op}", cid)
        return {"correlation_id": cid, "front": front, "op": op}

    async def fronts_page(self, request: Request, session: Session) -> Response:
        sections, pins = await self._fronts()
        fronts = [("home", "Home page"), *((f"section/{s}", n) for s, n in sections.items())]
        stories = {
            s.article_id: s
            for s in await self.index.stories(sorted({i for ids in pins.values() for i in ids}))
        }
        return self.render(
            request, session, "fronts.html", title="Fronts", fronts=fronts, pins=pins,
            stories=stories,
        )  # fmt: skip

    async def front_action(self, request: Request, session: Session) -> Response:
        form = await _form(request)
        result = await self._change_front(
            session, _field(form, "front") or "", _field(form, "op") or "",
            _field(form, "article_id") or "",
        )  # fmt: skip
        back = _field(form, "back") == "story"
        target = f"stories/{as_article_id(_field(form, 'article_id') or '')}" if back else "fronts"
        return RedirectResponse(f"{_root(request)}{target}?front={result['front']}", 303)

    async def api_fronts(self, request: Request, session: Session) -> Response:
        _sections, pins = await self._fronts()
        return JSONResponse({"fronts": pins})

    async def api_front_action(self, request: Request, session: Session) -> Response:
        body = await _json(request)
        result = await self._change_front(
            session, str(body.get("front", "")), str(body.get("op", "")),
            str(body.get("article_id", "")),
        )  # fmt: skip
        return JSONResponse(result, status_code=202)

    # --- queue --------------------------------------------------------------------------------

    async def _queue(self) -> dict[str, Any]:
        streams = await stream_status(self.runtime.redis)
        dead = await list_dead(self.runtime.redis, limit=50)
        return {
            "streams": streams,
            "dead_letters": [
                {
                    "dead_id": d.dead_id,
                    "stream": d.stream,
                    "group": d.group,
                    "entry_id": d.entry_id,
                    "reason": d.reason,
                    "deliveries": d.deliveries,
                    "failed_at": d.failed_at,
                    **payload_summary(d.data),
                }
                for d in dead
            ],
        }

    async def queue_page(self, request: Request, session: Session) -> Response:
        return self.render(request, session, "queue.html", title="Queue", **await self._queue())

    async def queue_fragment(self, request: Request, session: Session) -> Response:
        return self.render(request, session, "queue_fragment.html", **await self._queue())

    async def api_queue(self, request: Request, session: Session) -> Response:
        return JSONResponse(await self._queue())

    async def _dead_action(self, session: Session, verb: str, stream: str, ids: list[str]) -> int:
        if verb not in ("requeue", "discard"):
            raise ActionRefused(404, f"no such thing to do with dead letters: {verb[:40]!r}")
        if stream not in CONSUMER_GROUPS:
            raise ActionRefused(400, f"{stream!r} is not a consumed stream")
        if not ids:
            raise ActionRefused(400, "name the dead letters")
        for dead_id in ids:
            if not _ENTRY_ID.match(dead_id):
                raise ActionRefused(400, f"not a dead letter id: {dead_id[:40]!r}")
            if await dead_letter_by_id(self.runtime.redis, stream, dead_id) is None:
                raise ActionRefused(404, f"no dead letter {dead_id} on {stream}")
        redis = self.runtime.redis
        if verb == "requeue":
            count = await requeue(redis, stream, ids, self.settings.stream_maxlen)
        else:
            count = await discard(redis, stream, ids)
        await self._audit(session, verb, stream, " ".join(ids), new_correlation_id())
        return count

    async def dead_letter_action(self, request: Request, session: Session) -> Response:
        form = await _form(request)
        verb = request.path_params["verb"]
        ids = [
            v
            for v in (form.getlist("dead_id") if hasattr(form, "getlist") else [])
            if isinstance(v, str)
        ]
        await self._dead_action(session, verb, _field(form, "stream") or "", ids)
        return RedirectResponse(f"{_root(request)}queue", status_code=303)

    async def api_dead_letter_action(self, request: Request, session: Session) -> Response:
        body = await _json(request)
        ids = [str(i) for i in body.get("dead_ids", []) if isinstance(i, str)]
        count = await self._dead_action(
            session, request.path_params["verb"], str(body.get("stream", "")), ids
        )
        return JSONResponse({"count": count})

    async def raw_payload(self, request: Request, session: Session) -> Response:
        """A story's payload as the wire sent it, from the raw archive."""
        key = request.query_params.get("key", "")
        if not key.startswith("raw/") or ".." in key or len(key) > 1024:
            raise ActionRefused(400, "not a raw archive key")
        if self._storage is None:
            self._storage = Storage(self.settings, self.runtime.metrics)
        storage = self._storage
        try:
            body, content_type, _meta = await asyncio.to_thread(storage.get_raw, key)
        except Exception as exc:
            raise ActionRefused(404, f"not in the raw archive: {key}") from exc
        # Always plain text, sandboxed: a payload is shown as the wire sent it, never run.
        return Response(
            body,
            media_type="text/plain; charset=utf-8",
            headers={
                "Content-Disposition": "inline",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "no-store",
                "X-Wire-Content-Type": content_type[:200],
            },
        )

    # --- audit ----------------------------------------------------------------------------------

    async def audit_page(self, request: Request, session: Session) -> Response:
        before = _entry_id_param(request, "before")
        entries = await self.audit.latest(100, before)
        return self.render(request, session, "audit.html", title="Audit log", entries=entries)

    async def api_audit(self, request: Request, session: Session) -> Response:
        before = _entry_id_param(request, "before")
        limit = _int(request, "limit", 100, 1, 1000)
        entries = await self.audit.latest(limit, before)
        return JSONResponse([{"id": i, **asdict(e)} for i, e in entries])

    async def openapi(self, request: Request, session: Session) -> Response:
        return JSONResponse(openapi_document())

    def routes(self) -> list[BaseRoute]:
        g = self.guarded
        return [
            Route("/signin", self.signin_form, methods=["GET"]),
            Route("/signin", self.signin, methods=["POST"]),
            Route("/signout", g(self.signout, "read"), methods=["POST"]),
            Route("/", g(self.story_list, "read")),
            Route("/stories/{article_id}", g(self.story_page, "read")),
            Route("/stories/{article_id}/takedown", g(self.takedown_form, "steer")),
            Route("/stories/{article_id}/actions", g(self.story_action, "steer"), methods=["POST"]),
            Route("/republish", g(self.republish, "steer"), methods=["POST"]),
            Route("/jobs", g(self.jobs_page, "read")),
            Route("/fronts", g(self.fronts_page, "read")),
            Route("/fronts", g(self.front_action, "steer"), methods=["POST"]),
            Route("/queue", g(self.queue_page, "read")),
            Route("/queue/fragment", g(self.queue_fragment, "read")),
            Route("/queue/{verb:str}", g(self.dead_letter_action, "requeue"), methods=["POST"]),
            Route("/raw", g(self.raw_payload, "read")),
            Route("/audit", g(self.audit_page, "read")),
            Route("/api/v1/me", g(self.me, "read", api=True)),
            Route("/api/v1/openapi.json", g(self.openapi, "read", api=True)),
            Route("/api/v1/stories", g(self.api_stories, "read", api=True)),
            Route("/api/v1/stories/{article_id}", g(self.api_story, "read", api=True)),
            Route(
                "/api/v1/stories/{article_id}/actions",
                g(self.api_story_action, "steer", api=True),
                methods=["POST"],
            ),
            Route(
                "/api/v1/stories/{article_id}/actions/{correlation_id}",
                g(self.action_status, "read", api=True),
            ),
            Route("/api/v1/republish", g(self.api_republish, "steer", api=True), methods=["POST"]),
            Route("/api/v1/jobs/{job_id}", g(self.api_job, "read", api=True)),
            Route("/api/v1/fronts", g(self.api_fronts, "read", api=True)),
            Route("/api/v1/fronts", g(self.api_front_action, "steer", api=True), methods=["POST"]),
            Route("/api/v1/queue", g(self.api_queue, "read", api=True)),
            Route(
                "/api/v1/queue/{verb:str}",
                g(self.api_dead_letter_action, "requeue", api=True),
                methods=["POST"],
            ),
            Route("/api/v1/audit", g(self.api_audit, "read", api=True)),
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        ]


def _unchanged(story: DeskStory | None) -> None:
    return None


def _root(request: Request) -> str:
    """The desk's own root, as the browser reached it (behind a proxy's prefix too)."""
    return str(request.scope.get("root_path", "")).rstrip("/") + "/"


def _desk_entry(story: DeskStory, session: Session, detail: str, cid: str) -> TimelineEntry:
    return TimelineEntry(
        stage="desk", at=time.time(), version=story.version, outcome=session.user,
        correlation_id=cid, detail=detail,
    )  # fmt: skip


def _requested_at(timeline: Sequence[TimelineEntry], correlation_id: str) -> float | None:
    """When an editor asked for the action with this correlation id."""
    return next(
        (e.at for e in timeline if e.correlation_id == correlation_id and e.stage == "desk"),
        None,
    )


def _reflected(timeline: Sequence[TimelineEntry]) -> dict[str, float]:
    """For each correlation id, when the story's page was first published under it."""
    found: dict[str, float] = {}
    for entry in timeline:
        if entry.stage == "published" and entry.outcome in ("written", "unchanged", "withdrawn"):
            found[entry.correlation_id] = min(entry.at, found.get(entry.correlation_id, entry.at))
    return found


def _story_json(story: DeskStory, now: float) -> dict[str, Any]:
    body = asdict(story)
    body["status"] = status_of(story, now)
    return body


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


async def _body(request: Request) -> bytes:
    try:
        return await read_body(request, MAX_FORM_BYTES)
    except BadQuery as exc:
        raise ActionRefused(413, str(exc)) from exc


async def _form(request: Request) -> FormData:
    """The URL-encoded form, read within MAX_FORM_BYTES however it is sent (chunked too), and
    parsed once."""
    kept = request.scope.setdefault("state", {})
    if "desk_form" not in kept:
        if request.method in ("GET", "HEAD"):
            kept["desk_form"] = FormData()
        else:
            body = (await _body(request)).decode("utf-8", errors="replace")
            try:
                fields: list[tuple[str, str | UploadFile]] = list(
                    parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
                )
            except ValueError as exc:
                raise ActionRefused(413, f"a form has at most {MAX_FORM_FIELDS} fields") from exc
            kept["desk_form"] = FormData(fields)
    form: FormData = kept["desk_form"]
    return form


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await _body(request) or b"{}")
    except ValueError as exc:
        raise ActionRefused(400, "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise ActionRefused(400, "the body is a JSON object")
    return body


def _field(form: object, name: str) -> str | None:
    value = form.get(name) if hasattr(form, "get") else None
    return value if isinstance(value, str) else None


def _entry_id_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and not _ENTRY_ID.match(value):
        raise ActionRefused(400, f"{name} is an entry id like 1700000000000-0")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    try:
        return int_param(request, name, default, low, high)
    except BadQuery as exc:
        raise ActionRefused(400, str(exc)) from exc


def _day(text: str | None, *, start: bool) -> float | None:
    """A date filter (YYYY-MM-DD, UTC): from the day's start, or to its end."""
    if not text:
        return None
    try:
        day = datetime.strptime(text[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ActionRefused(400, f"a date is YYYY-MM-DD, not {text[:40]!r}") from exc
    return day.timestamp() if start else day.timestamp() + 86400 - 0.001


def create_app(settings: DeskSettings | None = None) -> Starlette:
    settings = settings or DeskSettings()
    holder: dict[str, Desk] = {}

    def desk_of(runtime: Runtime) -> Desk:
        if "desk" not in holder:
            holder["desk"] = Desk(settings, runtime)
        return holder["desk"]

    async def setup(runtime: Runtime) -> Callable[[], Awaitable[None]]:
        desk = desk_of(runtime)
        for stream in (INGESTED, ENRICHED, PUBLISHED):
            runtime.consume(
                stream=stream,
                group=DESK,
                adapter=DESK_INPUT,
                handle=desk.handle,
                concurrency=settings.desk_concurrency,
            )
        runtime.background.append(asyncio.create_task(desk.follow_dead_letters()))
        backfill = asyncio.create_task(desk.backfill())
        desk.tasks.add(backfill)
        backfill.add_done_callback(desk.tasks.discard)
        return desk.close

    return consumer_app("desk", settings, setup, routes=lambda runtime: desk_of(runtime).routes())


@contextlib.asynccontextmanager
async def _desk_redis(settings: DeskSettings) -> AsyncIterator[Redis]:
    """A connection for the command line's desk commands, closed after."""
    redis = create_redis(settings.redis_url)
    try:
        yield redis
    finally:
        await redis.aclose()


async def add_user(settings: DeskSettings, name: str, password: str, role: str) -> bool:
    """`wirepress desk add-user`: store a new editor; False if the name is taken."""
    user = new_user(name, password, role, time.time())
    async with _desk_redis(settings) as redis:
        return await RedisUsers(redis).put(user)


async def add_token(settings: DeskSettings, name: str, role: str) -> str | None:
    """`wirepress desk add-token`: a new machine token (shown once); None if the name is taken."""
    token, record = new_token(name, role, time.time())
    async with _desk_redis(settings) as redis:
        return token if await RedisTokens(redis).put(record) else None


async def revoke_token(settings: DeskSettings, name: str) -> bool:
    async with _desk_redis(settings) as redis:
        return await RedisTokens(redis).revoke(name)
