"""Tests for dedup: tiny corpora whose duplicate groups follow from how they were built."""

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsfold import dedup, minhash
from newsfold.config import DedupConfig, MinHashConfig
from newsfold.dedup import (
    DuplicateResult,
    find_duplicates,
    find_reprint_candidates,
    lsh_threshold,
    prefix_band_keys,
    shingle_texts,
    sketch_texts,
    verify_pairs,
)
from newsfold.minhash import MinHasher, encode_texts, text_fingerprints

CONFIG = DedupConfig()
MINHASH = MinHashConfig()
RNG_VOCAB = np.random.default_rng(42)
VOCAB = [
    "".join(RNG_VOCAB.choice(list("abcdefghijklmnopqrstuvwxyz"), size=int(length)))
    for length in RNG_VOCAB.integers(2, 10, size=3000)
]


def paragraphs(seed: int, n_paragraphs: int = 5, words: int = 60) -> list[str]:
    """An article body: paragraphs of random words (Zipf-ish, so common words recur)."""
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.3, size=n_paragraphs * words), len(VOCAB)) - 1
    tokens = [VOCAB[r] for r in ranks]
    return [" ".join(tokens[i * words : (i + 1) * words]).capitalize() + "." for i in range(n_paragraphs)]


def article(seed: int, **kwargs: int) -> str:
    return "\n\n".join(paragraphs(seed, **kwargs))


def run(
    texts: list[str], published: list[str | None] | None = None, ids: list[str] | None = None
) -> DuplicateResult:
    n = len(texts)
    times = np.array(published if published is not None else [None] * n, dtype="datetime64[us]")
    return find_duplicates(texts, ids or [f"a{i:03d}" for i in range(n)], times, CONFIG, MINHASH)


def groups(result: DuplicateResult) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(result.group == g).tolist()) for g in np.unique(result.group)}


def edit_words(text: str, every: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    words = text.split(" ")
    for i in range(every // 2, len(words), every):
        words[i] = str(rng.choice(VOCAB)) + "z"
    return " ".join(words)


# ---- what is and is not a duplicate -------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(text=st.text(min_size=1, max_size=300))
def test_a_text_is_its_own_duplicate(text: str) -> None:
    result = run([text, text])
    assert groups(result) == {frozenset({0, 1})}


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda a: edit_words(a, every=25, seed=1), id="word-edits"),
        pytest.param(lambda a: " ".join(a.split(" ")[: len(a.split(" ")) // 2]), id="first-half"),
        pytest.param(lambda a: a + "\n\n" + article(99, n_paragraphs=1, words=40), id="footer"),
        pytest.param(lambda a: "\n\n".join(np.array(a.split("\n\n"))[[3, 0, 4, 1, 2]]), id="reorder"),
        pytest.param(lambda a: a.upper().replace(" ", "  "), id="case-and-spacing"),
        pytest.param(lambda a: a.replace(".", "!").replace(" ", ", ", 20), id="punctuation"),
    ],
)
def test_variants_are_duplicates(variant: Callable[[str], str]) -> None:
    original = article(1)
    result = run([article(2), original, variant(original), article(3)])
    assert groups(result) == {frozenset({0}), frozenset({1, 2}), frozenset({3})}


def test_truncated_reprint_is_verified_by_containment_not_jaccard() -> None:
    original = article(1)
    half = " ".join(original.split(" ")[:150])
    result = run([original, half])
    assert result.pairs.tolist() == [[0, 1]]
    assert lsh_threshold(CONFIG) == CONFIG.threshold > 0.5  # found through the prefix index


def test_articles_sharing_a_quote_are_not_duplicates() -> None:
    quote = '"' + paragraphs(7, n_paragraphs=1)[0] + '" the minister said.'
    first = [*paragraphs(11)[:2], quote, *paragraphs(11)[2:]]
    second = [*paragraphs(12)[:3], quote, *paragraphs(12)[3:]]
    result = run(["\n\n".join(first), "\n\n".join(second)])
    assert groups(result) == {frozenset({0}), frozenset({1})}
    assert result.pairs.size == 0


def test_short_snippet_is_not_contained_in_an_article() -> None:
    body = article(5)
    snippet = " ".join(body.split(" ")[:20])  # 18 shingles < min_containment_shingles
    assert groups(run([body, snippet])) == {frozenset({0}), frozenset({1})}


def test_texts_without_words() -> None:
    result = run(["!!!", "???", "!!!", "", "   ", "\x00\x01"])
    assert groups(result) == {frozenset({0, 2}), frozenset({1}), frozenset({3, 4}), frozenset({5})}


def test_mixed_corpus_partition() -> None:
    texts, truth = [], []
    for story in range(12):
        base = article(100 + story)
        copies = [base, edit_words(base, 30, story), base + " Read more at example.com today."]
        members = []
        for copy in copies[: 1 + story % 3]:
            members.append(len(texts))
            texts.append(copy)
        truth.append(frozenset(members))
    result = run(texts)
    assert groups(result) == set(truth)
    assert result.signatures.shape == (len(texts), MINHASH.num_perm)
    assert result.signatures.dtype == np.uint32
    # The texts passed already encoded (as shared text does) give the same result.
    times = np.array([None] * len(texts), dtype="datetime64[us]")
    ids = [f"a{i:03d}" for i in range(len(texts))]
    given = find_duplicates(texts, ids, times, CONFIG, MINHASH, encoded=encode_texts(texts))
    assert np.array_equal(given.group, result.group) and np.array_equal(given.pairs, result.pairs)
    assert np.array_equal(given.signatures, result.signatures)
    with pytest.raises(ValueError, match="encoded must hold"):
        find_duplicates(texts, ids, times, CONFIG, MINHASH, encoded=encode_texts(texts[1:]))


def test_transitive_chain_is_one_group() -> None:
    # 0 ~ 1 and 1 ~ 2 by edits at different places: union-find puts all three together.
    base = article(8)
    first = edit_words(base, 20, 1)
    second = edit_words(first, 19, 2)
    assert groups(run([base, first, second])) == {frozenset({0, 1, 2})}


# ---- canonical choice ---------------------------------------------------------------------


def test_canonical_is_earliest_published() -> None:
    text = article(1)
    result = run([text, text, text], published=["2024-05-02T10:00", "2024-05-01T09:00", None])
    assert result.group.tolist() == [1, 1, 1]
    assert result.is_canonical.tolist() == [False, True, False]


def test_unknown_dates_come_last() -> None:
    text = article(1)
    result = run([text, text], published=[None, "2030-01-01"])
    assert result.group.tolist() == [1, 1]


def test_then_longest_text() -> None:
    text = article(1)
    longer = text + " Footer words here."
    result = run([text, longer, text], published=["2024-05-01", "2024-05-01", "2024-05-01"])
    assert result.group.tolist() == [1, 1, 1]
    assert run([text, longer]).group.tolist() == [1, 1]  # both dates unknown


def test_then_smallest_article_id() -> None:
    text = article(1)
    result = run([text, text, text], ids=["b", "c", "a"])
    assert result.group.tolist() == [2, 2, 2]
    assert result.is_canonical.tolist() == [False, False, True]


def test_group_label_is_canonical_index() -> None:
    a, b = article(1), article(2)
    result = run([a, b, b, a], published=["2024-01-03", "2024-01-02", "2024-01-01", "2024-01-01"])
    assert result.group.tolist() == [3, 2, 2, 3]
    assert np.array_equal(result.group[result.group], result.group)
    assert result.is_canonical.sum() == len(groups(result))


# ---- input handling -----------------------------------------------------------------------


def test_empty_batch() -> None:
    result = run([])
    assert result.group.size == 0 and result.pairs.shape == (0, 2)
    assert result.signatures.shape == (0, MINHASH.num_perm)


def test_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        find_duplicates(["a"], ["x", "y"], np.array(["NaT"], dtype="datetime64[us]"), CONFIG, MINHASH)


def test_duplicate_ids_do_not_break_the_canonical_choice() -> None:
    text = article(1)
    result = run([text, text], ids=["same", "same"])
    assert result.group.tolist() == [0, 0]


@pytest.mark.parametrize("block", [1000, 4])  # one block, or blocks written into the whole arrays
@pytest.mark.parametrize("shingles", ["char", "word"])
def test_sketches_are_those_of_the_separate_passes(
    shingles: str, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedup, "_SKETCH_BLOCK", block)
    config = DedupConfig(shingles=shingles, prefix_chars=120)
    texts = [article(seed) for seed in range(6)] + ["", "Short.", article(1)[:150] + "!!! more"]
    sketches = sketch_texts(texts, config, MINHASH)
    shingle_sets = shingle_texts(texts, config)
    hasher = MinHasher(MINHASH.num_perm, MINHASH.seed)
    assert np.array_equal(sketches.signatures, hasher.signatures(shingle_sets))
    assert np.array_equal(sketches.text_hashes, text_fingerprints(texts))
    sizes = shingle_sets.sizes()  # counted up to what exact_copy_keys asks (char shingles)
    expected = np.minimum(sizes, config.min_containment_shingles) if shingles == "char" else sizes
    assert sketches.sizes.tolist() == expected.tolist()
    assert np.array_equal(sketches.prefix_bands, prefix_band_keys(texts, config, MINHASH))
    # The prefix index finds a truncated reprint: text 8 begins as text 1 does.
    assert [1, 8] in find_reprint_candidates(sketches.prefix_bands, np.arange(len(texts))).tolist()


def test_verified_pairs_are_the_same_in_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ranges of pairs of about equal merge work go to two threads: the verdicts are those of
    # one pass, for texts of very different lengths.
    texts = [article(seed, n_paragraphs=1 + seed % 7) for seed in range(12)]
    texts += [edit_words(t, every=9, seed=3) for t in texts] + [" ".join(texts[0].split()[:40])]
    shingles = shingle_texts(texts, CONFIG)
    pairs = np.array([(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))])
    one = verify_pairs(shingles, pairs, CONFIG)
    monkeypatch.setattr(minhash, "_MIN_PARALLEL_WORK", 0)
    assert minhash.thread_parts(np.ones(len(pairs), dtype=np.int64)) != [(0, len(pairs))]
    assert np.array_equal(verify_pairs(shingles, pairs, CONFIG), one)
    assert 10 <= one.sum() < len(one)  # most texts and their edited copies, and nothing else
