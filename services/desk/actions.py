"""What an editor's action becomes: the command on a stream that carries it, checked first.

Pure. Every action about one story is an `ArticleRepublishRequested` that enrich (which owns the
archive, its pins, bans, tag removals and take-downs) applies before it publishes the story
again; banning a tag outright is the same command sent for every story that carries the tag.
A front's curation is a `FrontChangeRequested` to render, which owns the listings.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from services.desk.ports import ROLES, DeskStory, MachineToken, Session
from services.desk.stories import status_of
from shared.events import ArticleRepublishRequested, FrontChangeRequested
from shared.models import as_article_id

#: Actions on one story, and what each needs as its value.
STORY_ACTIONS: Mapping[str, str] = {
    "republish": "",
    "pin": "article ids, in the order wanted (pinning again reorders)",
    "unpin": "an article id",
    "ban": "an article id",
    "unban": "an article id",
    "remove-tag": "a tag slug",
    "restore-tag": "a tag slug",
    "ban-tag": "a tag slug",
    "unban-tag": "a tag slug",
    "takedown": "",
    "restore": "",
    "move-embargo": "a UTC time (ISO 8601); one already past releases the story now",
}
#: Actions that need `confirm` to name the story (what disappears was shown first).
CONFIRMED = frozenset({"takedown"})
#: Actions that are followed by a republish of every story carrying the tag.
TAG_WIDE = frozenset({"ban-tag", "unban-tag"})
BULK_SCOPES = ("section", "tag", "all")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,199}$")
MAX_PINS = 10


class ActionRefused(Exception):
    """An action that cannot be done as asked: answered with `status` and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class StoryAction:
    action: str
    value: str = ""
    confirm: str = ""


def new_correlation_id() -> str:
    return f"desk-{secrets.token_hex(8)}"


def new_job_id() -> str:
    """A bulk job's id, which is also the correlation id of every request it sends."""
    return f"desk-job-{secrets.token_hex(8)}"


def _ids(value: str) -> list[str]:
    names = [v for v in re.split(r"[\s,]+", value.strip()) if v]
    if not names:
        raise ActionRefused(400, "name a story (its article id or guid)")
    return [as_article_id(name) for name in names]


def _slug(value: str) -> str:
    slug = value.strip()
    if not _SLUG.match(slug):
        raise ActionRefused(400, f"not a tag slug: {slug[:80]!r}")
    return slug


def _when(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ActionRefused(400, f"not a time: {value[:80]!r} (e.g. 2026-12-01T18:00Z)") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def story_command(
    story: DeskStory,
    request: StoryAction,
    session: Session,
    correlation_id: str,
    now: float,
) -> ArticleRepublishRequested:
    """The command that does `request` to `story`, or ActionRefused."""
    action, value = request.action, request.value
    if action not in STORY_ACTIONS:
        raise ActionRefused(400, f"unknown action {action!r}")
    if action in CONFIRMED and request.confirm != story.article_id:
        raise ActionRefused(
            409, f"{action} must be confirmed: send confirm={story.article_id} after checking"
        )
    fields: dict[str, object] = {}
    if action == "pin":
        pins = _ids(value)
        if len(pins) > MAX_PINS:
            raise ActionRefused(400, f"at most {MAX_PINS} pins")
        if story.article_id in pins:
            raise ActionRefused(400, "a story cannot link to itself")
        fields["pin"] = pins
    elif action in ("unpin", "ban", "unban"):
        fields[action] = _ids(value)
    elif action in ("remove-tag", "restore-tag", "ban-tag", "unban-tag"):
        fields[action.replace("-tag", "_tags").replace("-", "_")] = [_slug(value)]
    elif action == "takedown":
        fields["takedown"] = True
    elif action == "restore":
        fields["restore"] = True
    elif action == "move-embargo":
        if status_of(story, now) != "embargoed":
            raise ActionRefused(409, "only a story still under embargo can have it moved")
        fields["embargo_until"] = _when(value)
    return _request(story, session, correlation_id, **fields)


def _request(
    story: DeskStory, session: Session, correlation_id: str, **fields: object
) -> ArticleRepublishRequested:
    """An editor's republish request for `story`, carrying `fields` (its edits)."""
    return ArticleRepublishRequested(
        article_id=story.article_id,
        guid=story.guid,
        version=story.version,
        correlation_id=correlation_id,
        reason="editor",
        requested_by=session.user,
        **fields,
    )


def tag_wide_commands(
    stories: Sequence[DeskStory], slug: str, ban: bool, session: Session, job_id: str
) -> list[ArticleRepublishRequested]:
    """A tag banned (or let back) outright: every story carrying it, republished with the ban
    so each one's enrichment applies it whichever replica takes it."""
    key = "ban_tags" if ban else "unban_tags"
    return [_request(story, session, job_id, **{key: [slug]}) for story in stories]


def republish_commands(
    stories: Sequence[DeskStory], session: Session, job_id: str
) -> list[ArticleRepublishRequested]:
    return [_request(story, session, job_id) for story in stories if story.guid and story.version]


def describe(request: StoryAction) -> str:
    """The audit log's words for an action."""
    return f"{request.action} {request.value}".strip()[:500]


# --- machine tokens ----------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(name: str, role: str, now: float) -> tuple[str, MachineToken]:
    """A fresh token (shown once) and what is kept of it."""
    if role not in ROLES:
        raise ValueError(f"a role is one of {', '.join(ROLES)}")
    if not re.match(r"^[a-z0-9][a-z0-9._-]{1,63}$", name):
        raise ValueError("a token name is 2-64 of a-z, 0-9, '.', '_' and '-'")
    token = f"wpd_{secrets.token_urlsafe(32)}"
    return token, MachineToken(name, token_hash(token), role, now)


def machine_session(token: MachineToken) -> Session:
    return Session(
        user=f"token:{token.name}",
        role=token.role,
        issued_at=token.created_at,
        expires_at=float("inf"),
        nonce="",
        machine=True,
    )


# --- fronts ------------------------------------------------------------------------------------

FRONT_OPS: Mapping[str, str] = {
    "lead": "put the story first (on the home page: its top story)",
    "pin": "add the story after the pinned ones",
    "up": "move the story up one place",
    "unpin": "let the newest stories fill its place again",
}
HOME_FRONT = "home"


def front_name(front: str, sections: Mapping[str, str]) -> str:
    """A front as the site names it: `home`, or `section/<slug>` for a section the site has."""
    if front == HOME_FRONT:
        return front
    slug = front.removeprefix("section/")
    if front.startswith("section/") and slug in sections:
        return front
    raise ActionRefused(400, f"no front {front[:80]!r}: home, or section/<slug> of a section")


def front_command(
    front: str, op: str, story: DeskStory, session: Session, correlation_id: str, now: float
) -> FrontChangeRequested:
    """The command that does `op` with `story` on `front` (render applies it to its pins)."""
    if op not in FRONT_OPS:
        raise ActionRefused(400, f"a front op is one of {', '.join(FRONT_OPS)}")
    if front != HOME_FRONT and front != f"section/{story.section_slug}":
        raise ActionRefused(409, "a story leads only the home page or its own section's front")
    if op in ("lead", "pin") and status_of(story, now) not in ("live", "corrected"):
        raise ActionRefused(409, "only a story on the site can lead a front")
    return FrontChangeRequested(
        article_id="site",
        guid="site",
        version="1",
        front=front,
        op=op,
        story=story.article_id,
        correlation_id=correlation_id,
        requested_by=session.user,
    )
