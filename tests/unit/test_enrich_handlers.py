"""Enrich's handlers with an in-memory archive built on the real relevance index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.enrich.handlers import (
    REBUILD_REASON,
    RELEASE_REASON,
    enrich,
    handle_ingested,
    handle_republish,
    link_signature,
    page_path_for,
    parse_link,
    send_due_refreshes,
    tags_for,
)
from services.enrich.ports import (
    Archive,
    EnrichConfig,
    LinkTarget,
    Overrides,
    Recorded,
    StoredStory,
    StoryEdits,
)
from services.enrich.relevance import LinkPicks, RelatedIndex, StoryFeatures, pick_links
from services.enrich.tagging.names import DecideNames, Entry, Naming
from shared.errors import PermanentError
from shared.events import (
    ArticleEnriched,
    ArticleIngested,
    ArticleRepublishRequested,
    Event,
    Output,
    WriteOnAck,
    emitted,
)
from shared.models import Article, RelatedLink, Tag, article_id_for, decision_ordering
from shared.queries import StoryRecord
from shared.streams import REPUBLISH

pytestmark = pytest.mark.unit

WAR = [
    "Ukrainian troops pushed deeper into the Kursk region of Russia, officials in Kyiv said.",
    "Russian commanders moved reserves from Donetsk to hold the line near Sudzha in Kursk.",
    "Drone strikes hit Ukrainian armour inside Kursk as the incursion entered its second week.",
    "Analysts said the Kursk offensive gives Kyiv leverage before any ceasefire talks with Moscow.",
]
KENYA = [
    "Kenya's parliament in Nairobi debated the finance bill as protesters gathered outside.",
    "Members of parliament argued over new taxes on bread, fuel and mobile money transfers.",
    "The speaker adjourned the National Assembly after opposition MPs walked out of the chamber.",
]


@dataclass
class MemoryArchive:
    stories: dict[str, tuple[Article, str, bool]] = field(default_factory=dict)
    index_: RelatedIndex = field(default_factory=RelatedIndex)
    links: dict[str, list[str]] = field(default_factory=dict)
    refreshes: list[tuple[str, str]] = field(default_factory=list)
    overrides: dict[str, Overrides] = field(default_factory=dict)
    banned_tags: set[str] = field(default_factory=set)
    features: dict[str, StoryFeatures] = field(default_factory=dict)
    saved: dict[str, tuple[tuple[Tag, ...], tuple[str, ...]]] = field(default_factory=dict)
    analysed: int = 0
    held: set[str] = field(default_factory=set)
    releases: dict[str, float] = field(default_factory=dict)
    revisions: dict[str, int] = field(default_factory=dict)
    acked: dict[str, str] = field(default_factory=dict)
    pending: dict[tuple[str, str], tuple[list[str], tuple[Tag, ...], tuple[str, ...]]] = field(
        default_factory=dict
    )

    async def record(
        self, article: Article, page_path: str, excerpt: str, *, held: bool = False
    ) -> Recorded:
        known = self.stories.get(article.article_id)
        if known and known[0].ordering > article.ordering:
            return Recorded(page_path=known[1], stale=True, corrected=False)
        corrected = bool(known) and (known[2] or known[0].ordering < article.ordering)
        path = known[1] if known else page_path
        self.stories[article.article_id] = (article, path, corrected)
        if held:
            self.held.add(article.article_id)
        else:
            self.held.discard(article.article_id)
        overrides = self.overrides.get(article.article_id, Overrides())
        return Recorded(page_path=path, stale=False, corrected=corrected, overrides=overrides)

    async def load(self, article_id: str) -> StoredStory | None:
        if article_id not in self.stories:
            return None
        article, path, corrected = self.stories[article_id]
        o = self.overrides.get(article_id, Overrides())
        if o.taken_down:
            article = article.model_copy(update={"pubstatus": "canceled"})
        tags, links = self.saved.get(article_id, (None, ()))
        return StoredStory(
            article, path, corrected, o.pinned, o.banned, o.removed_tags, tags, links,
            int(self.acked[article_id].rsplit("|", 1)[1]) if article_id in self.acked else 0,
        )  # fmt: skip

    async def edit(self, article_id: str, edits: StoryEdits) -> Overrides | None:
        if article_id not in self.stories:
            return None
        self.overrides[article_id] = edits.applied_to(self.overrides.get(article_id, Overrides()))
        return self.overrides[article_id]

    async def banned(self) -> frozenset[str]:
        return frozenset(self.banned_tags)

    async def change(self, ban: Sequence[str], unban: Sequence[str]) -> None:
        self.banned_tags |= set(ban)
        self.banned_tags -= set(unban)

    async def index(self, features: StoryFeatures) -> None:
        self.index_.add(features)
        self.features[features.story_id] = features
        self.analysed += 1

    async def unindex(self, article_id: str) -> None:
        self.index_.remove(article_id)

    async def pick(
        self,
        features: StoryFeatures,
        pinned: Sequence[str],
        banned: Sequence[str],
        read_also: int,
        related_posts: int,
    ) -> LinkPicks:
        return pick_links(
            self.index_, features, read_also, related_posts, pinned=pinned, banned=set(banned)
        )

    async def targets(self, article_ids: Sequence[str]) -> dict[str, LinkTarget]:
        found = {}
        for article_id in article_ids:
            article, path, _ = self.stories[article_id]
            down = self.overrides.get(article_id, Overrides()).taken_down
            if article.on_site and article_id not in self.held and not down:
                found[article_id] = LinkTarget(
                    article_id, article.headline, path, "", article.published_at
                )
        return found

    async def stored_features(self, article_id: str) -> StoryFeatures | None:
        return self.features.get(article_id)

    async def enrichment_write(
        self,
        source_id: str,
        tags: Sequence[Tag],
        links: Sequence[str],
        target_ids: Sequence[str],
        version_order: str,
    ) -> tuple[int, WriteOnAck]:
        revision = self.revisions[source_id] = self.revisions.get(source_id, 0) + 1
        ordering = decision_ordering(version_order, revision)
        self.pending[(source_id, ordering)] = (list(target_ids), tuple(tags), tuple(links))
        return revision, WriteOnAck(
            guard_key=source_id, guard_field="", order=ordering, commands=()
        )

    def settle(self, outputs: Sequence[Output]) -> list[Any]:
        """What the delivery layer does as it acknowledges a message: the writes kept (if no
        later revision was), the events returned."""
        for write in outputs:
            if isinstance(write, WriteOnAck) and write.order > self.acked.get(write.guard_key, ""):
                self.acked[write.guard_key] = write.order
                targets, tags, links = self.pending.pop((write.guard_key, write.order))
                self.links[write.guard_key] = targets
                self.saved[write.guard_key] = (tags, links)
        return emitted(outputs)

    async def linked_by(self, article_id: str) -> list[str]:
        return sorted(s for s, targets in self.links.items() if article_id in targets)

    async def schedule(self, article_ids: Sequence[str], reason: str) -> None:
        self.refreshes.extend((a, reason) for a in article_ids)

    async def records(self, article_ids: Sequence[str]) -> list[StoryRecord]:
        return [
            StoryRecord(
                article_id=a,
                guid=article.guid,
                version=article.version,
                ordering=article.ordering,
                pubstatus=article.pubstatus,
                page_path=path,
                headline=article.headline,
                published_at=article.published_at,
                corrected=corrected,
            )
            for a in article_ids
            if a in self.stories
            for article, path, corrected in [self.stories[a]]
        ]

    async def due(self) -> int:
        return len(self.refreshes)

    async def take(self) -> tuple[list[str], object]:
        return list(dict.fromkeys(a for a, _ in self.refreshes)), len(self.refreshes)

    async def done(self, lease: object) -> None:
        assert isinstance(lease, int)
        del self.refreshes[:lease]

    @property
    def ports(self) -> Archive:
        return Archive(
            stories=self,
            index=self,
            links=self,
            refreshes=self,
            releases=MemoryReleases(self),
            tag_bans=self,
            tag_names=MemoryTagNames(),
        )


@dataclass
class MemoryTagNames:
    """The name book in two dicts, as `adapters.RedisTagNames` keeps it in two hashes."""

    entries: dict[str, Entry] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    async def settle(self, lookup: Sequence[str], decide: DecideNames) -> Naming:
        found = {k: self.entries[k] for k in lookup if k in self.entries}
        slugs = {e.slug for e in found.values() if e.slug}
        naming = decide(found, {s: self.names[s] for s in slugs if s in self.names})
        for k, entry in naming.new_keys.items():
            self.entries.setdefault(k, entry)
        self.entries.update(naming.changed_keys)
        self.names.update(naming.names)
        return naming


@dataclass
class MemoryReleases:
    archive: MemoryArchive

    async def schedule_at(self, article_ids: Iterable[str], due_at: float) -> None:
        for a in article_ids:
            self.archive.releases[a] = min(due_at, self.archive.releases.get(a, due_at))

    async def due(self) -> int:
        return len(self.archive.releases)

    async def take(self) -> tuple[list[str], object]:
        return sorted(self.archive.releases), None

    async def done(self, lease: object) -> None:
        self.archive.releases.clear()


def article(guid: str, headline: str, paragraphs: list[str], version: str = "1", day: int = 1,
            pubstatus: str = "usable", embargoed: datetime | None = None) -> Article:  # fmt: skip
    return Article(
        guid=guid,
        version=version,
        headline=headline,
        body_html="".join(f"<p>{p}</p>" for p in paragraphs),
        pubstatus=pubstatus,  # type: ignore[arg-type]
        firstcreated=datetime(2026, 8, day, 8, tzinfo=UTC),
        versioncreated=datetime(2026, 8, day, 8 + int(version), tzinfo=UTC),
        embargoed=embargoed,
    )


async def ingest(archive: MemoryArchive, story: Article) -> list[ArticleEnriched]:
    event = ArticleIngested(
        article_id=story.article_id, guid=story.guid, version=story.version, article=story
    )
    return [enriched for _, enriched in archive.settle(await handle_ingested(event, archive.ports))]


async def seed(archive: MemoryArchive) -> dict[str, Article]:
    stories = {
        "war1": article("urn:war1", "Ukraine pushes into Kursk", WAR, day=1),
        "war2": article("urn:war2", "Russia moves reserves to Kursk", WAR[1:] + WAR[:1], day=2),
        "kenya": article("urn:kenya", "Kenya parliament debates finance bill", KENYA, day=3),
        "war3": article("urn:war3", "Drones hit armour in Kursk", WAR[2:] + WAR[:2], day=4),
    }
    for story in stories.values():
        await ingest(archive, story)
    return stories


async def test_links_go_to_the_same_story_cluster_and_refresh_it() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    [enriched] = await ingest(
        archive, article("urn:war4", "Kursk incursion in week two", WAR, day=5)
    )
    linked = {link.article_id for link in enriched.read_also + enriched.related}
    war = {stories[k].article_id for k in ("war1", "war2", "war3")}
    assert linked and linked <= war
    assert stories["kenya"].article_id not in linked
    assert all(link.after_paragraph is not None for link in enriched.read_also)
    refreshed = [a for a, reason in archive.refreshes[-3:] if reason == "related-refresh"]
    assert set(refreshed) <= war and len(refreshed) <= 3


async def test_a_late_older_version_is_not_enriched_and_a_correction_is_marked() -> None:
    archive = MemoryArchive()
    await ingest(archive, article("urn:x", "Version three", KENYA, version="3"))
    assert await ingest(archive, article("urn:x", "Version two", KENYA, version="2")) == []
    [enriched] = await ingest(archive, article("urn:x", "Version four", KENYA, version="4"))
    assert enriched.corrected
    assert enriched.article.headline == "Version four"


async def test_page_path_is_readable_and_stays_with_the_story_across_versions() -> None:
    archive = MemoryArchive()
    first = article("urn:y", "Ukraine pushes into Kursk", WAR)
    [v1] = await ingest(archive, first)
    assert v1.page_path == page_path_for(first)
    assert v1.page_path.startswith("2026/08/ukraine-pushes-into-kursk-")
    assert v1.page_path.endswith("/index.html")
    [v2] = await ingest(archive, article("urn:y", "A new headline entirely", WAR, version="2"))
    assert v2.page_path == v1.page_path


async def test_a_kill_unindexes_the_story_and_refreshes_every_page_that_linked_it() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    war1 = stories["war1"].article_id
    linkers = await archive.linked_by(war1)
    assert linkers
    [killed] = await ingest(
        archive, article("urn:war1", "(killed)", [], version="2", pubstatus="canceled")
    )
    assert killed.read_also == [] and killed.related == []
    assert war1 not in archive.index_
    assert {(a, "link-changed") for a in linkers} <= set(archive.refreshes)
    [again] = await ingest(archive, article("urn:war5", "Kursk fighting goes on", WAR, day=6))
    assert war1 not in {link.article_id for link in again.read_also + again.related}


async def test_republish_applies_editor_pins_and_bans_and_never_cascades() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    war1, kenya, war2 = (stories[k].article_id for k in ("war1", "kenya", "war2"))
    before = len(archive.refreshes)
    request = ArticleRepublishRequested(
        article_id=war1, guid="urn:war1", version="1", pin=[kenya], ban=[war2]
    )
    [(_, enriched)] = archive.settle(await handle_republish(request, archive.ports))
    ids = [link.article_id for link in enriched.read_also + enriched.related]
    assert kenya in ids and war2 not in ids
    assert len(archive.refreshes) == before


async def test_republishing_an_unknown_story_is_a_permanent_error() -> None:
    request = ArticleRepublishRequested(article_id="0" * 16, guid="urn:none", version="1")
    with pytest.raises(PermanentError):
        await handle_republish(request, MemoryArchive().ports)


async def test_a_refresh_reuses_the_analysis_and_publishes_only_when_links_changed() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    war1 = stories["war1"].article_id
    analysed = archive.analysed

    def refresh() -> ArticleRepublishRequested:
        return ArticleRepublishRequested(
            article_id=war1, guid="urn:war1", version="1", reason="related-refresh"
        )

    # war2 and war3 arrived after war1: its links change, and its page is published again.
    [(_, enriched)] = archive.settle(await handle_republish(refresh(), archive.ports))
    assert enriched.read_also or enriched.related
    assert archive.analysed == analysed, "a refresh must not re-tag or re-index the story"
    # Nothing new since: the same links, so nothing to publish.
    assert archive.settle(await handle_republish(refresh(), archive.ports)) == []


async def test_due_refreshes_become_republish_requests_unless_the_pipeline_is_behind() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    assert archive.refreshes
    sent: list[tuple[str, Sequence[Event]]] = []

    async def emit(stream: str, events: Sequence[Event]) -> None:
        sent.append((stream, events))

    async def behind() -> bool:
        return True

    async def caught_up() -> bool:
        return False

    assert await send_due_refreshes(archive, archive, emit, behind) == 0
    assert sent == [] and archive.refreshes, "held back, and still due"
    count = await send_due_refreshes(archive, archive, emit, caught_up)
    [(stream, requests)] = sent
    assert stream == REPUBLISH and count == len(requests) > 0
    by_id = {story.article_id: story for story in stories.values()}
    for request in requests:
        assert isinstance(request, ArticleRepublishRequested)
        assert request.reason == "related-refresh"
        assert (request.guid, request.version) == (
            by_id[request.article_id].guid,
            by_id[request.article_id].version,
        )
    assert archive.refreshes == [], "sent and confirmed"


# --- sections, embargoes, rebuilds ---------------------------------------------------------

NOON = datetime(2026, 8, 20, 12, tzinfo=UTC)


def at(moment: datetime) -> EnrichConfig:
    return EnrichConfig(clock=lambda: moment)


async def ingest_at(archive: MemoryArchive, story: Article, moment: datetime) -> list[Any]:
    event = ArticleIngested.about(story, article=story)
    return archive.settle(await handle_ingested(event, archive.ports, at(moment)))


def lift(story: Article) -> ArticleRepublishRequested:
    return ArticleRepublishRequested.about(story, reason=RELEASE_REASON)


async def test_every_enriched_story_gets_a_section_from_its_topics() -> None:
    archive = MemoryArchive()
    await seed(archive)
    [kenya] = await ingest(
        archive, article("urn:kenya2", "Kenya parliament passes finance bill", KENYA, day=9)
    )
    [war] = await ingest(archive, article("urn:war9", "Kursk fighting", WAR, day=9))
    assert kenya.section is not None and war.section is not None
    assert kenya.section.slug in {"politics", "business"}
    assert war.section.slug == "world"


async def test_an_embargoed_story_is_held_out_of_everything_until_its_time() -> None:
    archive = MemoryArchive()
    await seed(archive)
    held = article("urn:held", "Kursk offensive stalls", WAR, day=20, embargoed=NOON)
    assert await ingest_at(archive, held, NOON - timedelta(hours=1)) == []
    assert held.article_id not in archive.index_, "never a related link before its time"
    assert archive.releases == {held.article_id: NOON.timestamp()}
    # Asked for early (an editor's republish, a refresh): still nothing.
    early = ArticleRepublishRequested.about(held)
    assert (
        archive.settle(
            await handle_republish(early, archive.ports, at(NOON - timedelta(minutes=1)))
        )
        == []
    )
    # Its time: out as a new story, indexed, linking and linked.
    archive.releases.clear()
    [(_, enriched)] = archive.settle(await handle_republish(lift(held), archive.ports, at(NOON)))
    assert enriched.reason == RELEASE_REASON and enriched.article.guid == "urn:held"
    assert enriched.read_also or enriched.related
    assert held.article_id in archive.index_
    assert held.article_id not in archive.held


async def test_a_correction_can_move_an_embargo_and_a_kill_before_it_means_never() -> None:
    archive = MemoryArchive()
    await seed(archive)
    first = article("urn:moved", "Kursk talks", WAR, day=20, embargoed=NOON)
    await ingest_at(archive, first, NOON - timedelta(hours=2))
    later = NOON + timedelta(hours=3)
    moved = article("urn:moved", "Kursk talks", WAR, version="2", day=20, embargoed=later)
    assert await ingest_at(archive, moved, NOON - timedelta(hours=1)) == []
    # The first embargo's release comes and finds the story held longer: nothing goes out.
    assert archive.settle(await handle_republish(lift(first), archive.ports, at(NOON))) == []
    assert archive.releases[first.article_id] <= later.timestamp()

    killed = article("urn:moved", "(killed)", [], version="3", day=20, pubstatus="canceled")
    [(_, kill)] = await ingest_at(archive, killed, NOON + timedelta(hours=1))
    assert not kill.article.on_site
    # The release at the moved time finds a kill: a take-down, never the story.
    [(_, after)] = archive.settle(await handle_republish(lift(moved), archive.ports, at(later)))
    assert not after.article.on_site and after.read_also == [] and after.related == []


async def test_a_rebuild_uses_the_stored_tags_and_links_without_ranking_again() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    war1 = stories["war1"]
    [(_, before)] = archive.settle(
        await handle_republish(ArticleRepublishRequested.about(war1), archive.ports)
    )
    analysed = archive.analysed
    rebuild = ArticleRepublishRequested.about(war1, reason=REBUILD_REASON)
    [(_, rebuilt)] = archive.settle(await handle_republish(rebuild, archive.ports))
    assert archive.analysed == analysed, "no re-tagging, no re-indexing"
    assert rebuilt.reason == REBUILD_REASON
    assert rebuilt.tags == before.tags and rebuilt.section == before.section
    assert [link.article_id for link in rebuilt.read_also] == [
        link.article_id for link in before.read_also
    ]
    assert [(link.article_id, link.after_paragraph) for link in rebuilt.related] == [
        (link.article_id, link.after_paragraph) for link in before.related
    ]


def test_a_link_signature_reads_back_even_with_a_bar_in_the_headline() -> None:
    link = RelatedLink(article_id="a1", headline="Markets | Live", path="2026/08/x/index.html",
                       after_paragraph=2)  # fmt: skip
    [signature] = link_signature([link], [])
    back = parse_link(signature)
    assert (back.article_id, back.headline, back.path, back.after_paragraph) == (
        "a1",
        "Markets | Live",
        "2026/08/x/index.html",
        2,
    )


async def test_every_decision_about_a_story_is_a_later_revision_kept_only_once_emitted() -> None:
    """A link refresh of the same version renders from a later ordering than the version's
    first enrichment, so publish never lets the earlier one overwrite it; and a refresh whose
    message was not acknowledged (enrich killed before it settled) is decided and emitted again
    by its retry, never found "unchanged" against links that were saved but never emitted."""
    archive = MemoryArchive()
    stories = await seed(archive)
    war1 = stories["war1"]
    refresh = ArticleRepublishRequested(
        article_id=war1.article_id, guid="urn:war1", version="1", reason="related-refresh"
    )
    lost = await handle_republish(refresh, archive.ports)  # never settled: a crash
    [(_, retried)] = archive.settle(await handle_republish(refresh, archive.ports))
    [(_, first)] = emitted(lost)
    assert isinstance(first, ArticleEnriched) and isinstance(retried, ArticleEnriched)
    assert first.related == retried.related
    assert war1.ordering < first.ordering < retried.ordering
    assert retried.revision == first.revision + 1
    # The lost decision's writes can no longer undo the retried one's.
    archive.settle(lost)
    stored = await archive.load(war1.article_id)
    assert stored is not None and stored.revision == retried.revision
    # Now it was emitted: the same links again are "unchanged".
    assert archive.settle(await handle_republish(refresh, archive.ports)) == []


async def test_a_refresh_of_an_older_version_settled_late_never_undoes_the_newer_version() -> None:
    """A refresh that loaded version 1 while version 2 was on its way gets the higher revision;
    compared by revision alone, its writes would have replaced version 2's tags and links, or
    skipped version 2's. Decisions are kept in the order of their versions first."""
    archive = MemoryArchive()
    stories = await seed(archive)
    war1 = stories["war1"]
    stale = await archive.load(war1.article_id)
    assert stale is not None and stale.article.version == "1"
    corrected = article("urn:war1", "Ukraine pushes deeper into Kursk", WAR, version="2", day=1)
    v2_outputs = await handle_ingested(
        ArticleIngested.about(corrected, article=corrected), archive.ports
    )
    refresh = await enrich(stale, archive.ports, "refresh", refresh=True)
    assert refresh is not None and refresh.write is not None
    [(_, v2)] = emitted(v2_outputs)
    assert isinstance(v2, ArticleEnriched)
    assert refresh.event.revision > v2.revision and refresh.event.ordering < v2.ordering
    archive.settle(refresh.outputs("related-refresh"))  # the refresh settles first...
    archive.settle(v2_outputs)  # ... and version 2 after it: version 2 is kept
    archive.settle(refresh.outputs("related-refresh"))  # (and a retry of the refresh is not)
    kept = await archive.load(war1.article_id)
    assert kept is not None and kept.revision == v2.revision
    assert archive.acked[war1.article_id] == v2.ordering


# --- editors' commands from the desk -----------------------------------------------------------


def test_edits_pin_in_order_and_ban_wins_over_pin() -> None:
    current = Overrides(pinned=("a", "b"), banned=("x",), removed_tags=("t1",))
    after = StoryEdits(pin=("c", "b"), ban=("a",), unban=("x",)).applied_to(current)
    assert after.pinned == ("c", "b")  # pinning again reorders; a banned pin goes
    assert after.banned == ("a",)
    both = StoryEdits(pin=("z",), ban=("z",)).applied_to(Overrides())
    assert both.pinned == () and both.banned == ("z",)
    tags = StoryEdits(remove_tags=("t2",), restore_tags=("t1",)).applied_to(current)
    assert tags.removed_tags == ("t2",) and tags.pinned == ("a", "b")
    assert not StoryEdits() and StoryEdits(taken_down=False)


async def test_a_pin_then_a_ban_keeps_both_and_unpinning_hands_back_to_the_ranking() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    war1, kenya, war2 = (stories[k].article_id for k in ("war1", "kenya", "war2"))
    pin = ArticleRepublishRequested.about(stories["war1"], pin=[kenya])
    archive.settle(await handle_republish(pin, archive.ports))
    ban = ArticleRepublishRequested.about(stories["war1"], ban=[war2])
    [(_, enriched)] = archive.settle(await handle_republish(ban, archive.ports))
    ids = [link.article_id for link in enriched.read_also + enriched.related]
    assert ids[0] == kenya and war2 not in ids, "the earlier pin survives a later ban"
    unpin = ArticleRepublishRequested.about(stories["war1"], unpin=[kenya])
    [(_, enriched)] = archive.settle(await handle_republish(unpin, archive.ports))
    assert kenya not in [link.article_id for link in enriched.read_also + enriched.related]
    assert archive.overrides[war1].banned == (war2,)


async def test_a_removed_tag_stays_off_the_story_and_a_banned_tag_off_every_story() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    [first] = await ingest(archive, article("urn:war7", "Kursk fighting goes on", WAR, day=7))
    slugs = [tag.slug for tag in first.tags]
    assert len(slugs) >= 2
    wrong, banned = slugs[0], slugs[1]
    remove = ArticleRepublishRequested.about(first.article, remove_tags=[wrong])
    [(_, enriched)] = archive.settle(await handle_republish(remove, archive.ports))
    assert wrong not in {tag.slug for tag in enriched.tags}
    [v2] = await ingest(archive, article("urn:war7", "Kursk fighting", WAR, version="2", day=7))
    assert wrong not in {tag.slug for tag in v2.tags}, "a new version keeps the removal"
    ban = ArticleRepublishRequested.about(first.article, ban_tags=[banned])
    [(_, enriched)] = archive.settle(await handle_republish(ban, archive.ports))
    assert banned not in {tag.slug for tag in enriched.tags}
    [other] = await ingest(archive, article("urn:war8", "Kursk fighting goes on", WAR, day=8))
    assert banned not in {tag.slug for tag in other.tags}, "banned for every story"
    assert wrong in {tag.slug for tag in other.tags}, "removed from one story only"
    assert len(stories) == 4


async def test_a_takedown_holds_against_new_wire_versions_until_restored() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    war1 = stories["war1"]
    linkers = await archive.linked_by(war1.article_id)
    down = ArticleRepublishRequested.about(war1, takedown=True, requested_by="jdoe")
    [(_, killed)] = archive.settle(await handle_republish(down, archive.ports))
    assert not killed.article.on_site and killed.read_also == []
    assert war1.article_id not in archive.index_
    assert {(a, "link-changed") for a in linkers} <= set(archive.refreshes)
    [v2] = await ingest(archive, article("urn:war1", "Ukraine pushes on", WAR, version="2"))
    assert not v2.article.on_site, "a new version from the wire stays down"
    restore = ArticleRepublishRequested.about(war1, restore=True)
    [(_, back)] = archive.settle(await handle_republish(restore, archive.ports))
    assert back.article.on_site and back.article.headline == "Ukraine pushes on"
    assert war1.article_id in archive.index_


async def test_an_editor_moves_a_held_embargo_later_or_ends_it_now() -> None:
    archive = MemoryArchive()
    await seed(archive)
    held = article("urn:emb", "Kursk talks", WAR, day=20, embargoed=NOON)
    await ingest_at(archive, held, NOON - timedelta(hours=2))
    war1 = article_id_for("urn:war1")
    place = next(tag.slug for tag in tags_for(held) if tag.type == "place")
    await archive.edit(held.article_id, StoryEdits(ban=(war1,), remove_tags=(place,)))
    later = NOON + timedelta(hours=4)
    before = at(NOON - timedelta(hours=1))
    move = ArticleRepublishRequested.about(held, embargo_until=later)
    assert archive.settle(await handle_republish(move, archive.ports, before)) == []
    assert held.article_id in archive.held
    # Past the first time, still held by the moved one.
    assert archive.settle(await handle_republish(lift(held), archive.ports, at(NOON))) == []
    now = ArticleRepublishRequested.about(held, embargo_until=NOON)
    [(_, out)] = archive.settle(await handle_republish(now, archive.ports, at(NOON)))
    assert out.article.on_site and out.reason == RELEASE_REASON
    assert war1 not in {link.article_id for link in out.read_also + out.related}
    assert place not in {tag.slug for tag in out.tags}, "the editors' edits go with it"
    again = ArticleRepublishRequested.about(held, embargo_until=later)
    with pytest.raises(PermanentError):
        await handle_republish(again, archive.ports, at(NOON))


async def test_every_pick_says_why_it_is_there() -> None:
    archive = MemoryArchive()
    stories = await seed(archive)
    kenya = stories["kenya"].article_id
    request = ArticleRepublishRequested.about(stories["war1"], pin=[kenya])
    [(_, enriched)] = archive.settle(await handle_republish(request, archive.ports))
    links = enriched.read_also + enriched.related
    assert links and all(link.why is not None for link in links)
    pinned = next(link for link in links if link.article_id == kenya)
    assert pinned.why is not None and pinned.why.pinned and pinned.why.score is None
    ranked = [link.why for link in links if link.article_id != kenya]
    assert ranked and all(w is not None and not w.pinned and w.score for w in ranked)
    # The war stories share the story's own words: Kursk is one of them.
    assert any("kursk" in w.shared_terms for w in ranked if w is not None)
    own_tags = {tag.slug for tag in enriched.tags}
    assert all(set(w.shared_tags) <= own_tags for w in ranked if w is not None)
    assert any(w.shared_tags for w in ranked if w is not None), "war stories share place tags"
