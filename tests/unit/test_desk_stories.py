"""The desk's decisions about stories: what the events make of each story, its status, the words
it is found by, and what every editor's action becomes as a command."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.desk.actions import (
    STORY_ACTIONS,
    ActionRefused,
    StoryAction,
    front_command,
    front_name,
    machine_session,
    new_token,
    story_command,
    tag_wide_commands,
    token_hash,
)
from services.desk.app import create_app
from services.desk.openapi import openapi_document
from services.desk.ports import DeskStory, Session
from services.desk.settings import DeskSettings
from services.desk.stories import (
    memberships,
    on_enriched,
    on_failure,
    on_ingested,
    on_published,
    on_record,
    status_of,
    why,
    words,
)
from shared.events import ArticleEnriched, ArticleIngested, ArticlePublished
from shared.models import Article, LinkWhy, RelatedLink, Section, Tag
from shared.queries import StoryRecord

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
EDITOR = Session("jdoe", "editor", 0, 10**10, "nonce")


def article(version: str = "1", **more: object) -> Article:
    return Article(
        guid="urn:kursk",
        version=version,
        headline=str(more.pop("headline", "Ukraine pushes into Kursk")),
        body_html="<p>Troops crossed the border.</p>",
        versioncreated=T0 + timedelta(hours=int(version)),
        **more,  # type: ignore[arg-type]
    )


def ingested(a: Article) -> ArticleIngested:
    return ArticleIngested.about(a, article=a, feed="wire", raw_key="raw/x", occurred_at=T0)


def enriched(a: Article, revision: int = 1, **more: object) -> ArticleEnriched:
    return ArticleEnriched.about(
        a,
        article=a,
        ordering=f"{a.ordering}|{revision:010d}",
        revision=revision,
        page_path="2026/12/ukraine-pushes-into-kursk-x/index.html",
        tags=[Tag(type="place", name="Kursk", slug="place-kursk")],
        read_also=[
            RelatedLink(article_id="a" * 16, headline="Earlier", path="p/", after_paragraph=1)
        ],
        related=[RelatedLink(article_id="b" * 16, headline="Other", path="q/")],
        section=Section(slug="world", name="World"),
        **more,  # type: ignore[arg-type]
    )


def published(a: Article, outcome: str, revision: int = 1, at: datetime = T0) -> ArticlePublished:
    return ArticlePublished.about(
        a,
        ordering=f"{a.ordering}|{revision:010d}",
        page_path="2026/12/ukraine-pushes-into-kursk-x/index.html",
        url="https://news.example/2026/12/ukraine-pushes-into-kursk-x/",
        outcome=outcome,  # type: ignore[arg-type]
        occurred_at=at,
        rendered_at=at - timedelta(milliseconds=30),
    )


def follow(*events: object) -> DeskStory | None:
    story: DeskStory | None = None
    for event in events:
        if isinstance(event, ArticleIngested):
            change, _ = on_ingested(event)
        elif isinstance(event, ArticleEnriched):
            change, _ = on_enriched(event)
        else:
            assert isinstance(event, ArticlePublished)
            change, _entries = on_published(event)
        story = change(story) or story
    return story


def test_a_story_goes_pending_live_corrected_killed_in_any_order_of_arrival() -> None:
    v1, v2 = article("1"), article("2", headline="Ukraine pushes deeper into Kursk")
    story = follow(ingested(v1))
    assert story is not None and status_of(story, T0.timestamp()) == "pending"
    story = follow(ingested(v1), enriched(v1), published(v1, "written"))
    assert story is not None and status_of(story, 0) == "live"
    assert story.section_slug == "world" and [t.slug for t in story.tags] == ["place-kursk"]
    assert [link.after_paragraph for link in story.links] == [1, None]
    # v2's enrichment read before v1's late publish outcome: v2's content and the outcome
    # both kept; a late v1 ingest never brings the old headline back.
    story = follow(
        ingested(v1), enriched(v1), ingested(v2), enriched(v2, corrected=True),
        published(v1, "written"), ingested(v1),
    )  # fmt: skip
    assert story is not None and story.headline.startswith("Ukraine pushes deeper")
    assert status_of(story, 0) == "corrected" and [v for v, _ in story.versions] == ["1", "2"]
    later = T0 + timedelta(minutes=5)
    killed = follow(
        ingested(v1), enriched(v1), published(v1, "written"),
        published(v1, "withdrawn", revision=2, at=later), published(v1, "written", revision=1),
    )  # fmt: skip
    assert killed is not None and status_of(killed, 0) == "killed", "an older outcome never wins"
    assert killed.first_published_at == T0.timestamp()


def test_withheld_embargoed_and_failed_are_told_apart() -> None:
    held = article("1", embargoed=T0 + timedelta(hours=3))
    story = follow(ingested(held))
    assert story is not None and status_of(story, T0.timestamp()) == "embargoed"
    assert status_of(story, (T0 + timedelta(hours=4)).timestamp()) == "pending"
    withheld = article("2", pubstatus="withheld")
    story = follow(ingested(withheld), enriched(withheld), published(withheld, "withdrawn"))
    assert story is not None and status_of(story, 0) == "withheld"
    change, entry = on_failure("x" * 16, "urn:x", "1", "enrich", "bad body", 100.0, "c1")
    failed = change(None)
    assert failed is not None and status_of(failed, 0) == "failed"
    assert entry.stage == "failed" and "enrich" in entry.outcome
    republished = replace(failed, outcome="written", outcome_at=200.0, last_published_at=200.0)
    assert status_of(republished, 0) == "live", "a requeue that worked clears it"
    killed = replace(failed, outcome="withdrawn", outcome_at=200.0)
    assert status_of(killed, 0) == "killed", "so does a kill that went through"


def test_a_publish_outcome_gives_rendered_and_published_timeline_entries() -> None:
    _, entries = on_published(published(article(), "written"))
    assert [e.stage for e in entries] == ["rendered", "published"]
    assert entries[0].at < entries[1].at and entries[1].detail.startswith("https://")


def test_headlines_are_found_by_folded_words_not_stop_words() -> None:
    assert words("The Zürich talks: Ukraine\u2019s offer, in full, on 7 May") == [
        "zurich", "talks", "ukraine", "offer", "full", "7", "may",
    ]  # fmt: skip
    story = follow(ingested(article()), enriched(article()), published(article(), "written"))
    assert story is not None
    assert memberships(story, status_of(story, 0)) == {
        "status:live", "section:world", "tag:place-kursk",
        "word:ukraine", "word:pushes", "word:kursk",
    }  # fmt: skip


def _story() -> DeskStory:
    story = follow(ingested(article()), enriched(article()), published(article(), "written"))
    assert story is not None
    return story


def test_every_story_action_is_a_republish_request_naming_the_editor() -> None:
    story = _story()
    expect = {
        "republish": {},
        "pin": {"pin": ["c" * 16, "d" * 16]},
        "unpin": {"unpin": ["c" * 16]},
        "ban": {"ban": ["a" * 16]},
        "unban": {"unban": ["a" * 16]},
        "remove-tag": {"remove_tags": ["place-kursk"]},
        "restore-tag": {"restore_tags": ["place-kursk"]},
        "ban-tag": {"ban_tags": ["place-kursk"]},
        "unban-tag": {"unban_tags": ["place-kursk"]},
        "takedown": {"takedown": True},
        "restore": {"restore": True},
    }
    values = {"pin": "c" * 16 + ", " + "d" * 16, "unpin": "c" * 16, "ban": "a" * 16,
              "unban": "a" * 16}  # fmt: skip
    assert set(expect) | {"move-embargo"} == set(STORY_ACTIONS)
    for action, fields in expect.items():
        value = values.get(action, "place-kursk" if "tag" in action else "")
        confirm = story.article_id if action == "takedown" else ""
        command = story_command(story, StoryAction(action, value, confirm), EDITOR, "cid", 0)
        assert (command.article_id, command.guid, command.version) == (
            story.article_id, "urn:kursk", "1",
        )  # fmt: skip
        assert command.correlation_id == "cid" and command.requested_by == "jdoe"
        sent = command.model_dump(include=set(fields))
        assert sent == fields, action


def test_actions_are_checked_before_anything_is_sent() -> None:
    story = _story()

    def refused(action: str, value: str = "", confirm: str = "", now: float = 0) -> int:
        with pytest.raises(ActionRefused) as caught:
            story_command(story, StoryAction(action, value, confirm), EDITOR, "c", now)
        return caught.value.status

    assert refused("takedown") == 409, "a take-down is confirmed by naming the story"
    assert refused("takedown", confirm="f" * 16) == 409
    assert refused("explode") == 400
    assert refused("pin") == 400 and refused("pin", story.article_id) == 400
    assert refused("pin", ",".join(str(i) * 16 for i in range(11))) == 400
    assert refused("remove-tag", "Not A Slug!") == 400
    assert refused("move-embargo", "2026-12-02T10:00Z") == 409, "only a held story's embargo"
    held = follow(ingested(article(embargoed=T0 + timedelta(hours=5))))
    assert held is not None
    command = story_command(
        held, StoryAction("move-embargo", "2026-12-01T20:00"), EDITOR, "c", T0.timestamp()
    )
    assert command.embargo_until == datetime(2026, 12, 1, 20, tzinfo=UTC)
    with pytest.raises(ActionRefused):
        story_command(held, StoryAction("move-embargo", "tomorrow"), EDITOR, "c", T0.timestamp())


def test_a_tag_ban_goes_with_every_story_that_carries_it() -> None:
    story = _story()
    [command] = tag_wide_commands([story], "place-kursk", True, EDITOR, "desk-job-1")
    assert command.ban_tags == ["place-kursk"] and command.correlation_id == "desk-job-1"
    [back] = tag_wide_commands([story], "place-kursk", False, EDITOR, "desk-job-2")
    assert back.unban_tags == ["place-kursk"] and not back.ban_tags


def test_machine_tokens_are_kept_hashed_and_act_without_a_cookie() -> None:
    token, record = new_token("cms-bot", "editor", 5.0)
    assert token.startswith("wpd_") and len(token) > 40
    assert record.sha256 == token_hash(token) and token not in record.sha256
    session = machine_session(record)
    assert session.machine and session.user == "token:cms-bot" and session.role == "editor"
    with pytest.raises(ValueError):
        new_token("cms-bot", "root", 5.0)


def test_the_openapi_document_has_every_api_route_and_no_other() -> None:
    app = create_app(DeskSettings(wirepress_env="dev"))
    routes = {
        route.path.replace(":str}", "}")
        for route in app.routes
        if getattr(route, "path", "").startswith("/api/")
    }
    document = openapi_document()
    assert set(document["paths"]) == routes
    assert set(document["components"]["securitySchemes"]) == {"bearer", "session"}
    assert "DeskStory" in document["components"]["schemas"]


def test_a_front_op_names_a_live_story_of_the_home_page_or_its_own_section() -> None:
    story = _story()
    command = front_command("home", "lead", story, EDITOR, "cid", 0)
    assert (command.front, command.op, command.story) == ("home", "lead", story.article_id)
    assert command.requested_by == "jdoe" and command.article_id == "site"
    assert front_command("section/world", "up", story, EDITOR, "c", 0).front == "section/world"
    for front, op in (("section/sport", "lead"), ("home", "explode")):
        with pytest.raises(ActionRefused):
            front_command(front, op, story, EDITOR, "c", 0)
    held = follow(ingested(article(embargoed=T0 + timedelta(hours=5))))
    assert held is not None
    with pytest.raises(ActionRefused):
        front_command("home", "lead", held, EDITOR, "c", T0.timestamp())
    assert front_command("home", "unpin", held, EDITOR, "c", 0).op == "unpin"
    assert front_name("home", {}) == "home"
    assert front_name("section/world", {"world": "World"}) == "section/world"
    for bad in ("section/nowhere", "tag/place-kursk"):
        with pytest.raises(ActionRefused):
            front_name(bad, {"world": "World"})


def test_enrichs_record_lists_an_unknown_story_and_brings_a_stale_one_up_to_date() -> None:
    v1, v2 = article("1"), article("2", headline="Ukraine pushes deeper into Kursk")
    record = StoryRecord(
        article_id=v2.article_id, guid=v2.guid, version="2", ordering=v2.ordering,
        pubstatus="usable", page_path="p/index.html", headline=v2.headline,
        published_at=T0, corrected=True,
    )  # fmt: skip
    listed = on_record(record, "https://news.example/p/", 0)(None)
    assert listed is not None and status_of(listed, 0) == "corrected"
    assert listed.first_published_at == T0.timestamp()
    stale = follow(ingested(v1), enriched(v1), published(v1, "written"))
    assert stale is not None
    caught_up = on_record(record, "https://news.example/p/", 0)(stale)
    assert caught_up is not None and caught_up.headline == v2.headline
    assert [v for v, _ in caught_up.versions] == ["1", "2"]
    assert caught_up.tags == stale.tags, "what the desk knew of it stays until its next events"
    killed = record.model_copy(update={"pubstatus": "canceled"})
    gone = on_record(killed, "u", 0)(stale)
    assert gone is not None and status_of(gone, 0) == "killed"
    assert on_record(record, "u", 0)(caught_up) is None, "nothing newer: unchanged"


def test_the_story_page_says_why_each_link_is_there() -> None:
    linked = RelatedLink(
        article_id="c" * 16, headline="Kursk", path="k/",
        why=LinkWhy(score=0.4123, shared_tags=["place-kursk"], shared_terms=["kursk", "border"]),
    )  # fmt: skip
    assert why(linked) == "similarity 0.41; shared tags place-kursk; shared words kursk, border"
    assert (
        why(RelatedLink(article_id="d" * 16, headline="P", path="p/", why=LinkWhy(pinned=True)))
        == "pinned by an editor"
    )
    assert why(RelatedLink(article_id="e" * 16, headline="O", path="o/")) == ""
    story = follow(ingested(article()), enriched(article()))
    assert story is not None and story.links[0].why == "", "links from before carry no reason"
