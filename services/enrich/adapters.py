"""Enrich's adapters: what it keeps in Redis, one class per job, shared by every replica.

Redis holds the truth: one hash per story (its latest version, page path, status, link text), a
hash of every indexed story's relevance features, the archive's latent semantic model, a log
stream of index changes (stories added and removed, a new model fitted), the reverse links and
the queue of link refreshes. Each replica keeps an in-memory `RelatedIndex` built from the
features (and the model) at start and brought up to date from the log before every pick, so all
replicas rank against the same archive and a restart loses nothing. One replica at a time refits
the model as the archive grows (`SemanticRefitter`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy.typing as npt
from redis.asyncio import Redis
from redis.exceptions import WatchError

from services.enrich import keys
from services.enrich.ports import LinkTarget, Overrides, Recorded, StoredStory, StoryEdits
from services.enrich.relevance import LinkPicks, RelatedIndex, StoryFeatures, pick_links, semantic
from services.enrich.relevance.semantic import SemanticModel
from services.enrich.tagging.names import DecideNames, Entry, Naming
from shared.duequeue import DueQueue
from shared.errors import RetryLater
from shared.events import WriteOnAck
from shared.locks import redis_lock
from shared.models import Article, Tag, decision_ordering
from shared.queries import StoryRecord

logger = logging.getLogger(__name__)

INDEX_LOG_MAXLEN = 1_000_000
COMPACT_MIN_STALE = 1000
REFRESH_LEASE_S = 60.0
TAG_BANS_TTL_S = 2.0
#: A story under embargo, in its record's status.
HELD_STATUS = "embargoed"
_RECORD_FIELDS = [
    "guid",
    "version",
    "headline",
    "page_path",
    "status",
    "ordering",
    "published_at",
    "corrected",
    "embargoed",
]


_OVERRIDE_FIELDS = ["pinned", "banned", "removed_tags", "taken_down"]


def _overrides(fields: Sequence[bytes | None]) -> Overrides:
    pinned, banned, removed, down = fields
    return Overrides(
        pinned=tuple(json.loads(pinned)) if pinned else (),
        banned=tuple(json.loads(banned)) if banned else (),
        removed_tags=tuple(json.loads(removed)) if removed else (),
        taken_down=down == b"1",
    )


def _entry_key(entry_id: bytes | str) -> tuple[int, int]:
    """A stream entry id ("<ms>-<seq>") as a tuple that orders like the stream."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


_RECORD = """
local current = redis.call('HGET', KEYS[1], 'ordering')
if current and current > ARGV[1] then
  return {1, redis.call('HGET', KEYS[1], 'page_path'), 0}
end
local corrected = 0
if current and current < ARGV[1] then corrected = 1 end
if current and current == ARGV[1] then
  corrected = tonumber(redis.call('HGET', KEYS[1], 'corrected') or '0')
end
local down = redis.call('HGET', KEYS[1], 'taken_down') == '1'
local status = ARGV[4]
if down then status = 'canceled' end
redis.call('HSETNX', KEYS[1], 'page_path', ARGV[2])
redis.call('HSET', KEYS[1], 'ordering', ARGV[1], 'article', ARGV[3], 'status', status,
  'headline', ARGV[5], 'excerpt', ARGV[6], 'published_at', ARGV[7], 'corrected', corrected,
  'guid', ARGV[9], 'version', ARGV[10], 'embargoed', ARGV[11])
redis.call('SADD', KEYS[2], ARGV[8])
return {0, redis.call('HGET', KEYS[1], 'page_path'), corrected,
  redis.call('HMGET', KEYS[1], 'pinned', 'banned', 'removed_tags', 'taken_down')}
"""


class RedisStoryRecords:
    """The archive of stories seen (`ports.StoryRecords`), and what enrich's queries answer."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._record = redis.register_script(_RECORD)

    async def record(
        self, article: Article, page_path: str, excerpt: str, *, held: bool = False
    ) -> Recorded:
        stale, stored_path, corrected, *overridden = await self._record(
            keys=[keys.article_key(article.article_id), keys.ARTICLE_IDS],
            args=[
                article.ordering,
                page_path,
                article.model_dump_json(),
                # Only a usable story is a link target: an embargoed one is not, yet.
                HELD_STATUS if held else article.pubstatus,
                article.headline,
                excerpt,
                article.published_at.isoformat() if article.published_at else "",
                article.article_id,
                article.guid,
                article.version,
                article.embargoed.isoformat() if article.embargoed else "",
            ],
        )
        return Recorded(
            page_path=stored_path.decode(),
            stale=bool(stale),
            corrected=bool(corrected),
            overrides=_overrides(overridden[0]) if overridden else Overrides(),
        )

    async def load(self, article_id: str) -> StoredStory | None:
        fields = await self.redis.hmget(
            keys.article_key(article_id),
            ["article", "page_path", "corrected", "tags", "links", keys.LINKS_ORDERING,
             *_OVERRIDE_FIELDS],
        )  # fmt: skip
        raw, page_path, corrected, tags, links, links_ordering, *overridden = fields
        if raw is None or page_path is None:
            return None
        overrides = _overrides(overridden)
        article = Article.model_validate_json(raw)
        if overrides.taken_down:
            article = article.model_copy(update={"pubstatus": "canceled"})
        return StoredStory(
            article=article,
            page_path=page_path.decode(),
            corrected=corrected == b"1",
            pinned=overrides.pinned,
            banned=overrides.banned,
            removed_tags=overrides.removed_tags,
            tags=tuple(Tag.model_validate(t) for t in json.loads(tags)) if tags else None,
            links=tuple(json.loads(links)) if links else (),
            revision=int(links_ordering.rsplit(b"|", 1)[1]) if links_ordering else 0,
        )

    async def edit(self, article_id: str, edits: StoryEdits) -> Overrides | None:
        key = keys.article_key(article_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if not await pipe.exists(key):
                        return None
                    overrides = edits.applied_to(
                        _overrides(await pipe.hmget(key, _OVERRIDE_FIELDS))
                    )
                    pipe.multi()
                    pipe.hset(
                        key,
                        mapping={
                            "pinned": json.dumps(list(overrides.pinned)),
                            "banned": json.dumps(list(overrides.banned)),
                            "removed_tags": json.dumps(list(overrides.removed_tags)),
                            "taken_down": "1" if overrides.taken_down else "0",
                        },
                    )
                    if overrides.taken_down:
                        # Off every page's links at once; a restore's next record sets it back.
                        pipe.hset(key, "status", "canceled")
                    await pipe.execute()
                    return overrides
                except WatchError:
                    continue

    async def targets(self, article_ids: Sequence[str]) -> dict[str, LinkTarget]:
        if not article_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.hmget(
                    keys.article_key(article_id),
                    ["headline", "page_path", "excerpt", "published_at", "status"],
                )
            rows = await pipe.execute()
        found: dict[str, LinkTarget] = {}
        for article_id, (headline, path, excerpt, published_at, status) in zip(
            article_ids, rows, strict=True
        ):
            if headline is None or path is None or status != b"usable":
                continue
            found[article_id] = LinkTarget(
                article_id=article_id,
                headline=headline.decode(),
                page_path=path.decode(),
                excerpt=(excerpt or b"").decode(),
                published_at=datetime.fromisoformat(published_at.decode())
                if published_at
                else None,
            )
        return found

    async def records(self, article_ids: Sequence[str]) -> list[StoryRecord]:
        """What enrich's queries answer about these stories (the known ones), read from the
        records' fields: the stored article is parsed only for a record written before they
        held its guid and version."""
        if not article_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.hmget(keys.article_key(article_id), [*_RECORD_FIELDS, *_OVERRIDE_FIELDS])
            rows = await pipe.execute()
        found = []
        for article_id, full_row in zip(article_ids, rows, strict=True):
            row, overrides = (
                full_row[: len(_RECORD_FIELDS)],
                _overrides(full_row[len(_RECORD_FIELDS) :]),
            )
            fields = dict(
                zip(_RECORD_FIELDS, (v.decode() if v else None for v in row), strict=True)
            )
            if fields["page_path"] is None or fields["headline"] is None:
                continue
            if fields["guid"] is None or fields["version"] is None:
                raw = await self.redis.hget(keys.article_key(article_id), "article")
                if raw is None:
                    continue
                article = Article.model_validate_json(raw)
                fields |= {"guid": article.guid, "version": article.version}
            published = fields["published_at"]
            found.append(
                StoryRecord(
                    article_id=article_id,
                    guid=fields["guid"],
                    version=fields["version"],
                    ordering=fields["ordering"] or "",
                    pubstatus=fields["status"] or "usable",
                    page_path=fields["page_path"],
                    headline=fields["headline"],
                    published_at=datetime.fromisoformat(published) if published else None,
                    corrected=fields["corrected"] == "1",
                    embargoed=datetime.fromisoformat(fields["embargoed"])
                    if fields["embargoed"]
                    else None,
                    pinned=list(overrides.pinned),
                    banned=list(overrides.banned),
                    removed_tags=list(overrides.removed_tags),
                    taken_down=overrides.taken_down,
                )
            )
        return found

    async def page(self, cursor: int, limit: int) -> tuple[list[StoryRecord], int]:
        """Some of every story, and the cursor for the rest (0 when done). A story may come
        twice while the archive grows; none is left out."""
        cursor, members = await self.redis.sscan(keys.ARTICLE_IDS, cursor, count=limit)
        ids = sorted(m.decode() for m in members)
        return await self.records(ids), int(cursor)

    async def count(self) -> int:
        return int(await self.redis.scard(keys.ARTICLE_IDS))


class RedisLinkGraph:
    """Which stories link to which (`ports.LinkGraph`).

    A story's links, its tags and the reverse links (which stories link to each target) are
    written as enrich acknowledges the message that decided them, in the same script
    (`shared.events.WriteOnAck`): a crash before that leaves the old ones, and the retry decides
    again. Two decisions about one story racing (a new version and a refresh) keep the one with
    the later decision (its version first, then its revision); reverse links a lost race leaves
    behind only cause an extra refresh."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def enrichment_write(
        self,
        source_id: str,
        tags: Sequence[Tag],
        links: Sequence[str],
        target_ids: Sequence[str],
        version_order: str,
    ) -> tuple[int, WriteOnAck]:
        key = keys.article_key(source_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, "revision", 1)
            pipe.hget(key, "targets")
            revision, previous = await pipe.execute()
        new = sorted(set(target_ids))
        gone = sorted(set(json.loads(previous)) - set(new)) if previous else []
        tags_json = json.dumps([tag.model_dump() for tag in tags])
        commands: list[tuple[str, ...]] = [
            ("HSET", key, "targets", json.dumps(new), "links", json.dumps(list(links)),
             "tags", tags_json),
            *(("SADD", f"{keys.LINKED_BY_PREFIX}{target}", source_id) for target in new),
            *(("SREM", f"{keys.LINKED_BY_PREFIX}{target}", source_id) for target in gone),
        ]  # fmt: skip
        return int(revision), WriteOnAck(
            guard_key=key,
            guard_field=keys.LINKS_ORDERING,
            order=decision_ordering(version_order, int(revision)),
            commands=tuple(commands),
            # A story linked to that was killed (or held) after the links were picked, before
            # they were kept: its take-down found no reverse link to this story yet, so this
            # story's links are refreshed at once instead.
            assumptions=tuple((keys.article_key(t), "status", "usable") for t in new),
            redo=(keys.REFRESH_DUE, source_id),
        )

    async def linked_by(self, article_id: str) -> list[str]:
        return sorted(
            m.decode() for m in await self.redis.smembers(f"{keys.LINKED_BY_PREFIX}{article_id}")
        )


class RedisRefreshQueue(DueQueue):
    """Link refreshes due (`ports.RefreshQueue`), leased so a crash loses none."""

    def __init__(self, redis: Redis, *, refresh_delay_s: float) -> None:
        super().__init__(redis, keys.REFRESH_DUE, lease_s=REFRESH_LEASE_S)
        self.refresh_delay_s = refresh_delay_s

    async def schedule(self, article_ids: Sequence[str], reason: str) -> None:
        if not article_ids:
            return
        # A story already waiting keeps its earlier time: one refresh per interval, however
        # many related stories arrive; a kill's refresh goes at once, it cannot wait.
        delay = 0.0 if reason == "link-changed" else self.refresh_delay_s
        await self.schedule_at(article_ids, time.time() + delay)
        logger.debug("refresh (%s) scheduled for %s", reason, ", ".join(article_ids))


class RedisReleaseQueue(DueQueue):
    """Stories under embargo (`ports.ReleaseQueue`), due out at their embargo's time. In Redis
    (with its append-only file), so the schedule survives a restart of any service and of
    Redis itself."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis, keys.RELEASE_DUE, lease_s=REFRESH_LEASE_S)


class RedisTagBans:
    """Tags banned outright (`ports.TagBans`): a set every replica reads, cached for
    TAG_BANS_TTL_S so an enrichment does not pay a round trip for it. A replica applying a
    ban (the request that carries it) sees it at once; the others within the TTL."""

    def __init__(self, redis: Redis, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.clock = clock
        self._cached: tuple[float, frozenset[str]] | None = None

    async def banned(self) -> frozenset[str]:
        now = self.clock()
        if self._cached is None or now - self._cached[0] > TAG_BANS_TTL_S:
            members = await self.redis.smembers(keys.BANNED_TAGS)
            self._cached = (now, frozenset(m.decode() for m in members))
        return self._cached[1]

    async def change(self, ban: Sequence[str], unban: Sequence[str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            if ban:
                pipe.sadd(keys.BANNED_TAGS, *ban)
            if unban:
                pipe.srem(keys.BANNED_TAGS, *unban)
            await pipe.execute()
        self._cached = None


class RedisTagNames:
    """The name book (`ports.TagNames`) in two hashes every replica shares. Most stories name
    entities the book knows and write nothing: one read. A story that teaches it something
    writes under WATCH, so two replicas naming a new entity at once never split it: the second
    decides again on what the first wrote."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def settle(self, lookup: Sequence[str], decide: DecideNames) -> Naming:
        naming = decide(*await self._read(self.redis, lookup))
        if not naming.learns:
            return naming
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(keys.TAG_NAME_KEYS, keys.TAG_NAMES)
                    naming = decide(*await self._read(pipe, lookup))
                    if not naming.learns:
                        return naming
                    pipe.multi()
                    entries = {**naming.new_keys, **naming.changed_keys}
                    if entries:
                        mapping = {k: _entry_json(e) for k, e in entries.items()}
                        pipe.hset(keys.TAG_NAME_KEYS, mapping=mapping)
                    if naming.names:
                        pipe.hset(keys.TAG_NAMES, mapping=dict(naming.names))
                    await pipe.execute()
                    return naming
                except WatchError:
                    continue

    @staticmethod
    async def _read(redis: Any, lookup: Sequence[str]) -> tuple[dict[str, Entry], dict[str, str]]:
        if not lookup:
            return {}, {}
        raw = await redis.hmget(keys.TAG_NAME_KEYS, list(lookup))
        entries: dict[str, Entry] = {}
        for name_key, value in zip(lookup, raw, strict=True):
            if value is not None:
                doc = json.loads(value)
                entries[name_key] = Entry(doc["slug"], bool(doc.get("single")))
        slugs = sorted({e.slug for e in entries.values() if e.slug})
        names: dict[str, str] = {}
        if slugs:
            shown = await redis.hmget(keys.TAG_NAMES, slugs)
            names = {s: n.decode() for s, n in zip(slugs, shown, strict=True) if n is not None}
        return entries, names


def _entry_json(entry: Entry) -> str:
    return json.dumps({"slug": entry.slug, "single": entry.single})


class SharedIndex:
    """The related-links index (`ports.LinkIndex`): an in-memory `RelatedIndex` per replica,
    kept the same as every other replica's by following the index log in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.index_ = RelatedIndex()
        self._log_position = "0-0"
        self._sync_lock = asyncio.Lock()
        self._adopt_lock = asyncio.Lock()
        self._stale_postings = 0
        self._semantic_id: str | None = None
        self._own_entries: dict[bytes, StoryFeatures] = {}

    def __len__(self) -> int:
        return len(self.index_)

    async def load_index(self) -> None:
        """Build the in-memory index from Redis, then follow the log from where the load began."""
        last = await self.redis.xrevrange(keys.INDEX_LOG, count=1)
        self._log_position = last[0][0].decode() if last else "0-0"
        loaded = 0
        async for _, raw in self.redis.hscan_iter(keys.FEATURES, count=1000):
            self.index_.add(StoryFeatures.from_dict(json.loads(raw)))
            loaded += 1
        await self._adopt_semantic_model()
        await self.sync()
        logger.info("related-links index loaded: %s stories", loaded)

    async def sync(self) -> None:
        """Bring the index up to date with the log. A new semantic model seen there is adopted
        after the log is read, without holding picks up while stories are folded into it."""
        new_model = False
        async with self._sync_lock:
            while True:
                batch = await self.redis.xread({keys.INDEX_LOG: self._log_position}, count=1000)
                if not batch:
                    break
                entries = batch[0][1]
                # This replica's own adds, taken out before any await so none can go missing.
                mine = {
                    e: self._own_entries.pop(e)
                    for e, f in entries
                    if f[b"op"] == b"add" and e in self._own_entries
                }
                added = [f[b"id"] for e, f in entries if f[b"op"] == b"add" and e not in mine]
                features = (
                    dict(zip(added, await self.redis.hmget(keys.FEATURES, added), strict=True))
                    if added
                    else {}
                )
                for entry_id, fields in entries:
                    story_id = fields[b"id"]
                    if fields[b"op"] == b"model":
                        new_model |= story_id.decode() != self._semantic_id
                    elif fields[b"op"] == b"add":
                        added_features = mine.get(entry_id)
                        raw = features.get(story_id)
                        if added_features is None and raw is not None:
                            added_features = StoryFeatures.from_dict(json.loads(raw))
                        if added_features is not None:  # None: removed from Redis since
                            # Re-adding a story (a correction) leaves its old postings behind.
                            self._stale_postings += story_id.decode() in self.index_
                            self.index_.add(added_features)
                    else:
                        self._stale_postings += self.index_.remove(story_id.decode())
                    self._log_position = entry_id.decode()
                self._compact_if_worth_it()
            # Own adds the log has already passed were read back from Redis: forget them.
            passed = [
                e for e in self._own_entries if _entry_key(e) <= _entry_key(self._log_position)
            ]
            for e in passed:
                del self._own_entries[e]
        if new_model:
            await self._adopt_semantic_model()

    async def _adopt_semantic_model(self) -> None:
        """Load the model in Redis unless it is the one in use, fold every story into it in a
        worker thread (~0.5 s at 100k stories; picks go on with the old model meanwhile), then
        switch. One adoption at a time, always of the newest model."""
        async with self._adopt_lock:
            fields = await self.redis.hgetall(keys.SEMANTIC_MODEL)
            if not fields:
                return
            model = SemanticModel.from_fields(fields)
            if model.model_id == self._semantic_id:
                return
            snapshot = self.index_.term_snapshot()
            vectors = await asyncio.to_thread(semantic.project, snapshot, model)
            async with self._sync_lock:
                # Stories added meanwhile are folded in; removed ones are no longer live.
                self.index_.install_semantic(model, snapshot.slots, vectors)
                self._semantic_id = model.model_id
        logger.info(
            "semantic model %s in use: %s dimensions, %s terms, fitted on %s stories",
            model.model_id,
            model.dims,
            len(model.terms),
            model.stories,
        )

    def _compact_if_worth_it(self) -> None:
        # Compaction walks the whole index, so it waits until removed stories are a good share
        # of it: its cost is spread over many adds and stays constant per story.
        if self._stale_postings > max(COMPACT_MIN_STALE, len(self.index_) // 4):
            self.index_.compact()
            self._stale_postings = 0

    async def index(self, features: StoryFeatures) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.FEATURES, features.story_id, json.dumps(features.to_dict()))
            pipe.xadd(
                keys.INDEX_LOG,
                {"op": "add", "id": features.story_id},
                maxlen=INDEX_LOG_MAXLEN,
                approximate=True,
            )
            _, entry_id = await pipe.execute()
        if _entry_key(entry_id) > _entry_key(self._log_position):  # not yet read from the log
            self._own_entries[entry_id] = features

    async def unindex(self, article_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.FEATURES, article_id)
            pipe.xadd(
                keys.INDEX_LOG,
                {"op": "remove", "id": article_id},
                maxlen=INDEX_LOG_MAXLEN,
                approximate=True,
            )
            await pipe.execute()
        await self.sync()

    async def pick(
        self,
        features: StoryFeatures,
        pinned: Sequence[str],
        banned: Sequence[str],
        read_also: int,
        related_posts: int,
    ) -> LinkPicks:
        await self.sync()
        return pick_links(
            self.index_,
            features,
            read_also=read_also,
            related_posts=related_posts,
            pinned=pinned,
            banned=set(banned),
        )

    async def stored_features(self, article_id: str) -> StoryFeatures | None:
        raw = await self.redis.hget(keys.FEATURES, article_id)
        return StoryFeatures.from_dict(json.loads(raw)) if raw else None

    def refit_due(self, now: float) -> bool:
        return semantic.refit_due(self.index_.semantic_model, len(self.index_), now)

    async def install_fitted(
        self, model: SemanticModel, slots: npt.NDArray[Any], vectors: npt.NDArray[Any]
    ) -> None:
        """Publish a model fitted here to every replica, and use it here."""
        # Under both locks: an adoption of an older model cannot land after this one.
        async with self._adopt_lock, self._sync_lock:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(keys.SEMANTIC_MODEL)
                pipe.hset(keys.SEMANTIC_MODEL, mapping=model.to_fields())
                pipe.xadd(
                    keys.INDEX_LOG,
                    {"op": "model", "id": model.model_id},
                    maxlen=INDEX_LOG_MAXLEN,
                    approximate=True,
                )
                await pipe.execute()
            self.index_.install_semantic(model, slots, vectors)
            self._semantic_id = model.model_id

    async def stories(self) -> int:
        return int(await self.redis.hlen(keys.FEATURES))

    async def semantic_meta(self) -> dict[str, object] | None:
        meta = await self.redis.hget(keys.SEMANTIC_MODEL, "meta")
        loaded: dict[str, object] | None = json.loads(meta) if meta else None
        return loaded


class SemanticRefitter:
    """Fits a new semantic model of the archive when it is due, one replica at a time, and
    hands it to every replica through Redis and the index log."""

    def __init__(self, redis: Redis, index: SharedIndex) -> None:
        self.redis = redis
        self.shared = index

    async def refit_if_due(self, now: float | None = None) -> SemanticModel | None:
        """Fit a new semantic model when the archive has outgrown the current one
        (``semantic.refit_due``), publish it to every replica through Redis and the index log,
        and return it; None when none was due or another replica is fitting. The fit runs in a
        worker thread on a snapshot, so picks go on meanwhile."""
        now = time.time() if now is None else now
        shared = self.shared
        await shared.sync()
        if not shared.refit_due(now):
            return None
        try:
            async with redis_lock(self.redis, keys.SEMANTIC_FIT_LOCK, wait_s=0.0):
                await shared.sync()  # another replica may have fitted one since
                if not shared.refit_due(now):
                    return None
                recent, rest = shared.index_.semantic_snapshots()
                fitted = await asyncio.to_thread(semantic.fit_archive, recent, rest, now=now)
                if fitted is None:
                    return None
                model, slots, vectors = fitted
                await shared.install_fitted(model, slots, vectors)
        except RetryLater:
            return None
        logger.info(
            "semantic model %s fitted on %s stories (%s terms)",
            model.model_id,
            model.stories,
            len(model.terms),
        )
        return model
