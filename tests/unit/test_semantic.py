"""The archive's latent semantic model (services/enrich/relevance/semantic.py) and its use in
the ranking."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import numpy as np
import pytest

from services.enrich.relevance import RelatedIndex, StoryFeatures, params, semantic
from services.enrich.relevance.semantic import SemanticModel

pytestmark = pytest.mark.unit

# Eight subjects, each written with its own words (three of forty in each story); every story
# also carries six words from a large pool of subject-less ones (names, figures, places in real
# copy). A rare word shared by chance can outweigh the subject's words in BM25: the trap the
# model is for. The tests fit as many dimensions as there are subjects, so the structure is
# clear-cut; whether the model helps on real news is measured in bench/enrich.py.
SUBJECTS = {f"subject{s}": [f"s{s}word{i}" for i in range(40)] for s in range(8)}
NOISE = [f"rare{i}" for i in range(1000)]
DIMS = len(SUBJECTS)


def synthetic_corpus(stories_per_subject: int = 40, seed: int = 7) -> list[StoryFeatures]:
    rng = random.Random(seed)
    feats = []
    for subject, words in SUBJECTS.items():
        for i in range(stories_per_subject):
            body = Counter(rng.sample(words, 3) + rng.sample(NOISE, 6))
            feats.append(
                StoryFeatures(
                    story_id=f"{subject}-{i}",
                    title_tf={},
                    body_tf=dict(body),
                    published=None,
                    simhash=rng.getrandbits(64),  # no two stories are near-duplicates
                )
            )
    return feats


def subject_of(story_id: str) -> str:
    return story_id.split("-")[0]


def index_of(feats: list[StoryFeatures]) -> RelatedIndex:
    index = RelatedIndex()
    for f in feats:
        index.add(f)
    return index


def precision_at_5(index: RelatedIndex, feats: list[StoryFeatures]) -> float:
    hits = 0
    for f in feats:
        picks = index.query(f, k=5, min_score=0)
        hits += sum(subject_of(p.story_id) == subject_of(f.story_id) for p in picks)
    return hits / (5 * len(feats))


def fitted(feats: list[StoryFeatures]) -> tuple[RelatedIndex, SemanticModel]:
    index = index_of(feats)
    snapshot = index.term_snapshot()
    fit = semantic.fit(snapshot, now=1_000.0, dims=DIMS)
    assert fit is not None
    index.install_semantic(fit[0], snapshot.slots, fit[1])
    return index, fit[0]


def test_no_model_below_the_minimum_archive_size() -> None:
    index = index_of(synthetic_corpus(stories_per_subject=20))  # 160 < SEMANTIC_MIN_STORIES
    assert index.fit_semantic(now=0.0) is None
    assert index.semantic_model is None
    index = index_of(synthetic_corpus())
    model = index.fit_semantic(now=0.0)  # the service's own dimensions
    assert model is not None and model.dims == semantic.SEMANTIC_DIMS
    assert index.semantic_model is model


def test_the_model_puts_stories_of_one_subject_together_even_without_shared_words() -> None:
    _, model = fitted(synthetic_corpus())
    half = len(SUBJECTS["subject0"]) // 2
    first = model.fold_in({w: 1.0 for w in SUBJECTS["subject0"][:half]})
    second = model.fold_in({w: 1.0 for w in SUBJECTS["subject0"][half:]})
    other = model.fold_in({w: 1.0 for w in SUBJECTS["subject1"][half:]})
    assert first is not None and second is not None and other is not None
    assert float(first @ second) > 0.9
    assert float(first @ other) < 0.3


def test_the_blend_ranks_subject_mates_above_chance_word_matches() -> None:
    feats = synthetic_corpus()
    text_only = precision_at_5(index_of(feats), feats)
    index, _ = fitted(feats)
    with_model = precision_at_5(index, feats)
    assert with_model > text_only + 0.01, (text_only, with_model)


def test_fitting_is_deterministic_and_fold_in_matches_the_fit() -> None:
    feats = synthetic_corpus()
    index = index_of(feats)
    snapshot = index.term_snapshot()
    first = semantic.fit(snapshot, now=5.0, dims=DIMS)
    second = semantic.fit(snapshot, now=5.0, dims=DIMS)
    assert first is not None and second is not None
    (model, vectors), (again, _) = first, second
    assert model.terms == again.terms
    np.testing.assert_allclose(model.vectors, again.vectors, atol=1e-6)
    assert model.dims == DIMS
    assert model.stories == len(feats)
    # A story's vector is the same whether it came out of the fit, a batch projection, or was
    # folded in alone (as a story added after the fit is).
    projected = semantic.project(snapshot, model)
    for row, f in ((0, feats[0]), (200, feats[200])):
        alone = model.fold_in(f.terms)
        assert alone is not None
        assert float(alone @ vectors[row]) == pytest.approx(1.0, abs=1e-4)
        assert float(alone @ projected[row]) == pytest.approx(1.0, abs=1e-4)


def test_a_model_survives_storage_as_bytes() -> None:
    _, model = fitted(synthetic_corpus())
    fields = {k.encode(): v for k, v in model.to_fields().items()}
    loaded = SemanticModel.from_fields(fields)
    assert (loaded.model_id, loaded.terms, loaded.stories, loaded.fitted_at) == (
        model.model_id,
        model.terms,
        model.stories,
        model.fitted_at,
    )
    story = {w: 1.0 for w in SUBJECTS["subject2"][:8]}
    a, b = model.fold_in(story), loaded.fold_in(story)
    assert a is not None and b is not None
    assert float(a @ b) > 0.999  # float16 storage


def test_stories_added_after_the_fit_are_folded_in_and_removed_ones_drop_out() -> None:
    feats = synthetic_corpus()
    index, model = fitted(feats[:-1])
    late = feats[-1]  # a story the model never saw
    index.add(late)
    assert subject_of(index.query(late, k=1, min_score=0)[0].story_id) == subject_of(late.story_id)
    index.remove(feats[0].story_id)
    index.add(StoryFeatures(story_id="unknown-words", title_tf={}, body_tf={"zzz": 2}))
    assert model.fold_in({"zzz": 2.0}) is None  # no vector: ranked on text alone
    assert index.query(feats[1], k=5, min_score=0)  # still answers


def test_installing_a_model_covers_stories_added_since_its_snapshot() -> None:
    feats = synthetic_corpus()
    index = index_of(feats[:300])
    snapshot = index.term_snapshot()
    fit = semantic.fit(snapshot, now=1.0, dims=DIMS)
    assert fit is not None
    for f in feats[300:]:  # arrive while the fit runs in a worker thread
        index.add(f)
    index.install_semantic(fit[0], snapshot.slots, fit[1])
    assert index.semantic_model is fit[0]
    for f in feats[300:]:
        slot = index._slot_of[f.story_id]
        alone = fit[0].fold_in(f.terms)
        assert alone is not None and index._sem is not None and index._sem_ok.data[slot]
        assert float(index._sem.data[slot].astype(np.float32) @ alone) == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize(
    ("model_stories", "fitted_at", "live", "now", "due"),
    [
        (None, 0.0, semantic.SEMANTIC_MIN_STORIES - 1, 0.0, False),  # too small for a model
        (None, 0.0, semantic.SEMANTIC_MIN_STORIES, 0.0, True),  # first model
        (1000, 0.0, 1100, 60.0, False),  # grown 10 %
        (1000, 0.0, 1200, 60.0, True),  # grown 20 %
        (1000, 0.0, 1000, 2 * semantic.REFIT_AGE_S, False),  # old, but nothing changed
        (1000, 0.0, 1001, semantic.REFIT_AGE_S, True),  # old, and the archive changed
        # Fitted on a capped sample of a larger archive: growth counts from the archive's size.
        (semantic.SEMANTIC_MAX_STORIES, 0.0, 150_000, 60.0, False),
        (semantic.SEMANTIC_MAX_STORIES, 0.0, 150_000 * 6 // 5, 60.0, True),
    ],
)
def test_when_a_refit_is_due(
    model_stories: int | None, fitted_at: float, live: int, now: float, due: bool
) -> None:
    model = (
        None
        if model_stories is None
        else SemanticModel(
            model_id="m",
            terms=(),
            idf=np.zeros(0, np.float32),
            vectors=np.zeros((0, 4), np.float32),
            stories=model_stories,
            fitted_at=fitted_at,
            archive_stories=150_000
            if model_stories == semantic.SEMANTIC_MAX_STORIES
            else model_stories,
        )
    )
    assert semantic.refit_due(model, live, now) is due


def test_a_large_archive_is_fitted_on_its_latest_stories_and_the_rest_folded_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feats = synthetic_corpus()
    # Publication times out of index order, as after a restart (stories load in hash order).
    rng = random.Random(3)
    feats = [dataclasses.replace(f, published=float(rng.randrange(10**6))) for f in feats]
    index = index_of(feats)
    monkeypatch.setattr(semantic, "SEMANTIC_MAX_STORIES", 250)
    recent, rest = index.semantic_snapshots()
    assert len(recent.slots) == 250 and len(rest.slots) == len(feats) - 250
    newest = sorted(feats, key=lambda f: f.published or 0.0)[-250:]
    assert {index._ids[s] for s in recent.slots.tolist()} == {f.story_id for f in newest}
    fitted = semantic.fit_archive(recent, rest, now=9.0, dims=DIMS)
    assert fitted is not None
    model, slots, vectors = fitted
    assert (model.stories, model.archive_stories) == (250, len(feats))
    index.install_semantic(model, slots, vectors)
    for f in feats[:5]:  # fitted or folded in, every story has its vector
        alone = model.fold_in(f.terms)
        slot = index._slot_of[f.story_id]
        assert alone is not None and index._sem is not None and index._sem_ok.data[slot]
        assert float(index._sem.data[slot].astype(np.float32) @ alone) == pytest.approx(1, abs=1e-3)


def test_a_story_whose_terms_carry_no_weight_has_no_vector() -> None:
    _, model = fitted(synthetic_corpus())
    everywhere = SemanticModel(
        model_id="x",
        terms=("common",),
        idf=np.zeros(1, np.float32),
        vectors=np.ones((1, 2), np.float32),
        stories=300,
        archive_stories=300,
        fitted_at=0.0,
    )
    assert everywhere.fold_in({"common": 3.0}) is None
    assert model.fold_in({"never-seen": 1.0}) is None


def test_a_story_the_model_puts_far_away_is_not_linked_however_many_words_it_shares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feats = synthetic_corpus()
    index, model = fitted(feats)
    by_id = {f.story_id: f for f in feats}
    other = by_id["subject1-0"]
    # A subject-0 story that shares its chance (rare) words with one subject-1 story.
    chance = [w for w in other.body_tf if w.startswith("rare")]
    query = StoryFeatures(
        story_id="query",
        title_tf={},
        body_tf=dict(Counter(SUBJECTS["subject0"][:8] + chance[:3])),
        published=None,
        simhash=1,
    )
    q_vec = model.fold_in(query.terms)
    assert q_vec is not None

    def cosine(story_id: str) -> float:
        vec = model.fold_in(by_id[story_id].terms)
        assert vec is not None
        return float(vec @ q_vec)

    monkeypatch.setattr(params, "SEMANTIC_MIN_COSINE", -1.0)
    unfloored = [p.story_id for p in index.query(query, k=5)]
    assert "subject1-0" in unfloored
    floor = cosine("subject1-0") + 0.01
    monkeypatch.setattr(params, "SEMANTIC_MIN_COSINE", floor)
    picks = [p.story_id for p in index.query(query, k=5)]
    assert "subject1-0" not in picks
    assert picks and all(cosine(p) >= floor for p in picks)
    assert all(subject_of(p) == "subject0" for p in picks)
