"""Dedup beyond the set rules: alignment of copies along their length, and titles of short texts."""

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PROJECT
from newsfold import dedup
from newsfold.config import DedupConfig, MinHashConfig
from newsfold.dedup import check_alignment, exact_copy_keys, find_duplicates, shingle_texts, uncovered_shares
from newsfold.minhash import text_fingerprints
from newsfold.text_column import TextColumn

CONFIG = DedupConfig()
ARTICLES = {a["id"]: a for a in json.loads((PROJECT / "tests/fixtures/quality/articles.json").read_text())}
VOLCANO = ARTICLES["volcano-2"]["text"]
PARAGRAPHS = VOLCANO.split("\n\n")
NEW_LEAD = (
    "Lava from Mount Oren cut the coast road on Isla Corva on Wednesday, isolating three villages "
    "whose residents had refused to leave, as the eruption went into its fourth day."
)
NEW_PARAGRAPH = (
    "Engineers from the power company said the island's main line to the south had been "
    "switched off, leaving the evacuated towns and their pumping stations without electricity."
)


def aligned(first: str, second: str) -> bool:
    texts = [first, second]
    return bool(check_alignment(texts, shingle_texts(texts, CONFIG), np.array([[0, 1]]), CONFIG)[0])


def shares(first: str, second: str) -> np.ndarray:
    texts = [first, second]
    return uncovered_shares(texts, shingle_texts(texts, CONFIG), np.array([[0, 1]]), CONFIG)[0]


def groups(texts, titles=None):
    n = len(texts)
    result = find_duplicates(
        texts,
        [f"a{i}" for i in range(n)],
        np.full(n, "NaT", dtype="datetime64[us]"),
        CONFIG,
        MinHashConfig(),
        titles,
    )
    return {frozenset(np.flatnonzero(result.group == g).tolist()) for g in np.unique(result.group)}


def test_a_text_is_aligned_with_itself_and_its_noisy_copy():
    assert shares(VOLCANO, VOLCANO).tolist() == [0.0, 0.0, 0.0, 0.0]
    noisy = VOLCANO.replace("about", "abont").replace("the", "tbe", 3).replace("eleven", "11")
    assert aligned(VOLCANO, noisy)


def test_truncated_reprint_and_copy_with_a_paragraph_cut_are_aligned():
    assert aligned("\n\n".join(PARAGRAPHS[:2]), VOLCANO)
    assert aligned("\n\n".join(PARAGRAPHS[:2] + PARAGRAPHS[3:]), VOLCANO)


def test_added_byline_headline_and_footer_lines_are_not_differences():
    furnished = f"Lava nears the coast\n\nBy Ana Reis, Island Press\n\n{VOLCANO}\n\n(Editing by Tom Fry)"
    assert shares(VOLCANO, furnished).tolist() == [0.0, 0.0, 0.0, 0.0]


def test_follow_ups_under_a_new_lead_are_not_copies():
    # All of the earlier article reused, under a new lead and with a new paragraph inside.
    follow_up = "\n\n".join([NEW_LEAD, *PARAGRAPHS[:2], NEW_PARAGRAPH, *PARAGRAPHS[2:]])
    assert not aligned(VOLCANO, follow_up)
    # Its middle reused between a new lead and a new ending: the earlier lead is missing.
    follow_up = "\n\n".join([NEW_LEAD, *PARAGRAPHS[1:3], NEW_PARAGRAPH])
    assert shares(VOLCANO, follow_up)[2] == 1.0
    assert not aligned(VOLCANO, follow_up)
    assert groups([VOLCANO, follow_up]) == {frozenset({0}), frozenset({1})}


def test_a_reordered_copy_is_aligned():
    assert aligned(VOLCANO, "\n\n".join(PARAGRAPHS[::-1]))


def test_short_texts_under_different_titles_are_different_articles():
    stub = "View Comments"
    caption = (
        "Each week we publish a gallery of readers' pictures on a set theme. This week it is fences, "
        "next week it is winter light."
    )
    other_caption = caption.replace("fences", "broken resolutions")
    texts = [stub, stub, stub, caption, other_caption]
    titles = [
        "Vote count live",
        "Ireland win Grand Slam",
        "Vote count live",
        "Your pictures: Fences",
        "Your pictures: Broken",
    ]
    assert groups(texts, titles) == {frozenset({0, 2}), frozenset({1}), frozenset({3}), frozenset({4})}
    assert groups(texts) == {frozenset({0, 1, 2}), frozenset({3, 4})}  # without titles: text only
    assert groups(texts, [None] * 5) == {frozenset({0, 1, 2}), frozenset({3, 4})}


def test_headlines_a_word_apart_are_not_copies():
    assert groups(["best black friday deal", "best black friday apps", "best black friday deal"]) == {
        frozenset({0, 2}),
        frozenset({1}),
    }


def test_a_long_copy_under_a_new_title_is_still_a_copy():
    assert groups([VOLCANO, VOLCANO, VOLCANO + " Officials said."], ["A", "B", "C"]) == {frozenset({0, 1, 2})}


def test_word_shingles_remain_available():
    config = DedupConfig(
        shingles="word", threshold=0.7, containment=0.9, min_containment_shingles=30, min_shingles=10
    )
    edited = VOLCANO.replace("about eleven thousand", "some 11,000")
    result = find_duplicates(
        [VOLCANO, edited, ARTICLES["chess"]["text"]],
        ["a", "b", "c"],
        np.full(3, "NaT", dtype="datetime64[us]"),
        config,
        MinHashConfig(),
    )
    assert result.group.tolist() == [0, 0, 2]


def test_title_folding_leaves_long_texts_alone():
    texts = ["View Comments", VOLCANO]
    fingerprints = text_fingerprints(texts)
    keys = exact_copy_keys(fingerprints, ["A title", "Another"], shingle_texts(texts, CONFIG).sizes(), CONFIG)
    assert not np.array_equal(keys[0], fingerprints[0])
    assert np.array_equal(keys[1], fingerprints[1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shingles": "bytes"},
        {"char_ngram": 1},
        {"window_chars": 5},
        {"window_containment": 1.5},
        {"min_line_words": 0},
        {"max_uncovered_smaller": -0.1},
        {"max_uncovered_larger": 2.0},
        {"max_uncovered_new_lead": 1.1},
    ],
)
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match=r"dedup\."):
        DedupConfig(**kwargs)


def _reference_cut_windows(key: str, width: int) -> list[str]:
    """Pieces of a key of about `width` characters, each ending at the first space `width` or
    more characters after its start: the string version the compiled cut replaced."""
    pieces, start, n = [], 0, len(key)
    while start < n:
        end = key.find(" ", start + width)
        end = n if end < 0 else end
        pieces.append(key[start:end])
        start = end + 1
    return pieces


def _reference_prefix_windows(keys: list[str], budget: int, width: int, min_words: int) -> list[str]:
    """The windows of a text's first `budget` key characters, cut line by line from scratch."""
    out = []
    for key in keys:
        if budget <= 0:
            break
        part = key[:budget]
        budget -= len(key)
        if part.count(" ") + 1 >= min_words:
            out.extend(_reference_cut_windows(part, width))
    return out


WORDS = st.lists(
    st.sampled_from(["ab", "cde", "f", "ghij", "Straße", "東京", "naïve"]), min_size=1, max_size=20
)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(WORDS, max_size=6),
    other=st.lists(WORDS, max_size=3),
    budget=st.integers(0, 400),
    gaps=st.sampled_from(["\n", "\n\n", "\n--\n"]),
)
def test_prefix_windows_are_those_of_the_cut_lines(lines, other, budget, gaps) -> None:
    # Two texts (the windows of one must not leak into the other's ranges); lines apart by
    # blank or keyless lines, which have no windows.
    config = DedupConfig(window_chars=20, min_line_words=2)
    texts = [gaps.join(" ".join(words) for words in other), gaps.join(" ".join(words) for words in lines)]
    windows = dedup._TextWindows(texts, np.array([0, 1]), config)
    doc = windows.doc_of(np.array([1]))
    keys = [" ".join(words).lower() for words in lines]
    assert windows.budget[doc[0]] == sum(map(len, keys))
    whole_lo, whole_hi, short_lo, short_hi = windows.prefix_ranges(doc, np.array([budget]))
    got = windows.windows(int(whole_lo[0]), int(whole_hi[0]))
    got += windows.windows(int(short_lo[0]), int(short_hi[0]))
    assert got == _reference_prefix_windows(keys, budget, 20, 2)
    lo, hi = int(windows.range_lo[doc[0]]), int(windows.range_hi[doc[0]])
    assert windows.windows(lo, hi) == _reference_prefix_windows(keys, 10**9, 20, 2)
    assert windows.lengths[lo:hi].tolist() == [len(w) for w in windows.windows(lo, hi)]
    # The UTF-8 windows are the strings encoded.
    encoded = windows.encoded()
    every = windows.windows(0, len(windows.win_start))
    bounds = itertools.pairwise(encoded.offsets.tolist())
    assert [bytes(encoded.data[a:b]).decode() for a, b in bounds] == every


@settings(max_examples=200, deadline=None)
@given(
    windows=st.lists(st.sets(st.integers(0, 60), max_size=30), min_size=1, max_size=8),
    docs=st.lists(st.sets(st.integers(0, 60), max_size=50), min_size=1, max_size=3),
    containment=st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0]),
    data=st.data(),
)
def test_windows_covered_counts_until_the_answer_is_settled(windows, docs, containment, data) -> None:
    # The kernel stops counting once a window is covered or can no longer be: the verdicts are
    # those of the full count.
    other = np.array([data.draw(st.integers(0, len(docs) - 1)) for _ in windows], dtype=np.int64)
    w_hashes = np.array([h for w in windows for h in sorted(w)], dtype=np.uint32)
    w_offsets = np.cumsum([0] + [len(w) for w in windows])
    d_hashes = np.array([h for d in docs for h in sorted(d)], dtype=np.uint32)
    d_offsets = np.cumsum([0] + [len(d) for d in docs]).astype(np.int64)
    out = np.empty(len(windows), dtype=np.bool_)
    dedup._windows_covered(
        w_hashes, w_offsets[:-1], w_offsets[1:], d_hashes, d_offsets, other, containment, out
    )  # fmt: skip
    expected = [
        len(w & docs[d]) >= containment * len(w) for w, d in zip(windows, other.tolist(), strict=True)
    ]
    assert out.tolist() == expected


def test_shares_read_a_text_column_in_its_buffer() -> None:
    # The cleaned texts come as a TextColumn, whose candidates' lines are cut from its bytes:
    # the shares are those of the strings, a text with "İ" (kept as a string) included.
    texts = [VOLCANO, NEW_LEAD + "\n\n" + VOLCANO, "\n\n".join(PARAGRAPHS[:3]), "İSTANBUL\n\n" + VOLCANO]
    pairs = np.array([[0, 1], [2, 0], [3, 1], [3, 2]])
    column = TextColumn.from_texts(texts)
    got = uncovered_shares(column, shingle_texts(column, CONFIG), pairs, CONFIG)
    want = uncovered_shares(texts, shingle_texts(texts, CONFIG), pairs, CONFIG)
    assert np.array_equal(got, want)
    assert got[:, 1].max() > 0  # some windows are uncovered
