"""From a ranking to the links a page shows: READ ALSO inserts placed in the body, and Related
Posts at its foot, with the editor's pins and bans."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from services.enrich.relevance import params
from services.enrich.relevance.features import StoryFeatures
from services.enrich.relevance.index import RelatedIndex
from services.enrich.relevance.text import analyze


class LinkReason(NamedTuple):
    """Why a story was picked, for editors: pinned, or its score, the tags and the most
    characteristic terms (stems) it shares with the story."""

    pinned: bool
    score: float | None
    shared_tags: tuple[str, ...]
    shared_terms: tuple[str, ...]


class LinkPicks(NamedTuple):
    read_also: list[tuple[str, int]]  # (story id, insert after paragraph index)
    related: list[str]
    reasons: Mapping[str, LinkReason] = {}


#: Terms named in a link's reason.
REASON_TERMS = 5


def link_reason(
    index: RelatedIndex, features: StoryFeatures, story_id: str, score: float
) -> LinkReason:
    """What a pick shares with the story: its tags, and its key terms the story uses too,
    strongest first."""
    own_terms = set(features.title_tf) | set(features.body_tf)
    key = index.key_terms(story_id)
    shared = [t for t, _ in sorted(key.items(), key=lambda kv: -kv[1]) if t in own_terms]
    tags = [t for t in index.tags_of(story_id) if t in set(features.tags)]
    pinned = math.isinf(score)
    return LinkReason(
        pinned=pinned,
        score=None if pinned else round(score, 3),
        shared_tags=tuple(tags),
        shared_terms=tuple(shared[:REASON_TERMS]),
    )


def place_read_also(
    paragraphs: Sequence[str] | Sequence[Sequence[str]],
    candidates: Sequence[tuple[str, Mapping[str, float]]],
    max_inserts: int = 2,
) -> list[tuple[str, int]]:
    """Place up to ``max_inserts`` READ ALSO boxes, each after the paragraph it relates to most.

    ``paragraphs`` are raw paragraph texts or already-analysed term sequences; ``candidates`` are
    (story id, term weights) best first. Inserts go after paragraph 0 at the earliest (the lead
    stays intact) and never after the last paragraph (a box at the very end would collide with
    Related Posts); two boxes never share a paragraph and, when the article is long enough, are
    at least two paragraphs apart. Among those positions the pair maximising the summed term
    overlap wins; with no overlap at all a box sits a third (or two thirds) into the article.
    """
    para_sets = [set(analyze(p)) if isinstance(p, str) else set(p) for p in paragraphs]
    slots = list(range(len(para_sets) - 1))  # after paragraph i, i in [0, n-2]
    if not slots or not candidates:
        return []
    cands = list(candidates[:max_inserts])

    def affinity(weights: Mapping[str, float]) -> list[float]:
        return [sum(w for t, w in weights.items() if t in para_sets[i]) for i in slots]

    aff = [affinity(w) for _, w in cands]
    n_slots = len(slots)

    def default(j: int, of: int) -> int:
        return min(n_slots - 1, max(0, round((j + 1) * len(para_sets) / (of + 1)) - 1))

    def tie_break(i: int, j: int, of: int) -> float:
        # Prefer, at equal overlap, the positions a third / two thirds into the article.
        return -abs(i - default(j, of)) * 1e-6

    if len(cands) == 1 or n_slots == 1:
        i = max(range(n_slots), key=lambda i: aff[0][i] + tie_break(i, 0, 1))
        return [(cands[0][0], slots[i])]
    min_gap = 2 if n_slots >= 4 else 1
    best: tuple[float, int, int] | None = None
    for i in range(n_slots):
        for j in range(n_slots):
            if abs(i - j) < min_gap:
                continue
            s = aff[0][i] + aff[1][j] + tie_break(i, 0, 2) + tie_break(j, 1, 2)
            if best is None or s > best[0]:
                best = (s, i, j)
    assert best is not None
    _, i, j = best
    return sorted([(cands[0][0], slots[i]), (cands[1][0], slots[j])], key=lambda x: x[1])


def pick_links(
    index: RelatedIndex,
    features: StoryFeatures,
    read_also: int = 2,
    related_posts: int = 5,
    pinned: Sequence[str] = (),
    banned: Collection[str] = frozenset(),
) -> LinkPicks:
    """READ ALSO inserts and Related Posts for one story, never repeating a story between them.

    Order of preference: editor-pinned ids (in the editor's order; skipped if banned, the story
    itself or one of its versions), then the ranking. READ ALSO takes the best ``read_also``
    ranked stories that clear READ_ALSO_MIN_RELATIVE_SCORE (pins always qualify), Related Posts
    the next ``related_posts``. A reader who just saw a story inline should not see it again at
    the foot of the page, so the two lists are disjoint.
    """
    banned_set = set(banned)
    own = {features.story_id}
    pins: list[str] = []
    for sid in pinned:
        if sid in banned_set or sid in own or sid in pins:
            continue
        if index.group_of(sid) == features.group_key:
            continue
        pins.append(sid)
    want = read_also + related_posts
    ranked = index.query(features, k=want, exclude=banned_set | set(pins))
    ordered: list[tuple[str, float]] = [(sid, math.inf) for sid in pins]
    ordered += [(s.story_id, s.direct) for s in ranked]
    ordered = ordered[:want]

    ra_ids: list[str] = []
    rest: list[str] = []
    for sid, score in ordered:
        if len(ra_ids) < read_also and score >= params.READ_ALSO_MIN_RELATIVE_SCORE:
            ra_ids.append(sid)
        else:
            rest.append(sid)
    placed = place_read_also(
        features.paragraphs, [(sid, index.key_terms(sid)) for sid in ra_ids], read_also
    )
    placed_ids = {sid for sid, _ in placed}
    # A READ ALSO pick that could not be placed (too few paragraphs) falls back to Related Posts.
    related = [sid for sid in ra_ids if sid not in placed_ids] + rest
    related = related[:related_posts]
    scores = dict(ordered)
    reasons = {
        sid: link_reason(index, features, sid, scores[sid]) for sid in [*placed_ids, *related]
    }
    return LinkPicks(read_also=placed, related=related, reasons=reasons)
