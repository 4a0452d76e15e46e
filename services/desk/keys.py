"""The desk's own Redis keys: no other service or tool reads them.

The story index lives under one hash tag (`{desk}`), so its intersections and unions run on one
shard when Redis is a cluster.
"""

from __future__ import annotations

# Editors: user name -> JSON {password_hash, role, created_at}.
USERS = "wirepress:desk:users"
# Failed sign-ins in the current window, per user name and per address (counters with a TTL).
FAILURES_PREFIX = "wirepress:desk:signin-failures:"
# Machine tokens: name -> JSON {sha256, role, created_at}; and sha256 -> name.
TOKENS = "wirepress:desk:tokens"
# Sessions signed out before they expired (by nonce, each kept until the session would end).
SIGNED_OUT_PREFIX = "wirepress:desk:signed-out:"
TOKEN_HASHES = "wirepress:desk:token-hashes"

_INDEX = "wirepress:{desk}:"
# Per story: its state (JSON) and its timeline (a capped list, newest first).
STORY_PREFIX = _INDEX + "story:"
TIMELINE_PREFIX = _INDEX + "timeline:"
# Sorted sets of article ids, scored by the time of the story's latest version: every story,
# and by status, section, tag and headline word; a lexicographic set of every word seen (for
# prefix search); cached query results.
ALL = _INDEX + "all"
MEMBER_PREFIX = _INDEX + "in:"
VOCABULARY = _INDEX + "vocabulary"
QUERY_PREFIX = _INDEX + "query:"
# Sections seen: slug -> name.
SECTIONS = _INDEX + "sections"
# The audit log (a stream), bulk republish jobs (a hash each, and a sorted set by start time).
AUDIT = _INDEX + "audit"
JOB_PREFIX = _INDEX + "job:"
JOBS = _INDEX + "jobs"
# Per tag banned outright: the stories that carried it, to give it back to if it is unbanned.
TAG_BAN_PREFIX = _INDEX + "tag-ban:"
# Set once every story enrich held when the desk first ran is in the index.
BACKFILLED = _INDEX + "backfilled"
# Per dead-letter stream: the last dead letter the desk has read.
DEAD_SEEN_PREFIX = _INDEX + "dead-seen:"


def failures_key(kind: str, who: str) -> str:
    return f"{FAILURES_PREFIX}{kind}:{who}"


def story_key(article_id: str) -> str:
    return STORY_PREFIX + article_id


def timeline_key(article_id: str) -> str:
    return TIMELINE_PREFIX + article_id


def member_key(membership: str) -> str:
    """`status:live`, `section:world`, `tag:place-kursk`, `word:kursk`."""
    return MEMBER_PREFIX + membership
