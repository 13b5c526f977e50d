"""Tests for minhash: shingles against pure-Python references, signatures against datasketch."""

import re

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from newsfold import minhash
from newsfold.minhash import (
    MinHasher,
    Shingles,
    _least_passing_intersection,
    band_keys,
    bucket_pairs,
    candidate_pairs,
    char_keys,
    char_shingles,
    containment,
    encode_texts,
    intersection_sizes,
    jaccard,
    key_fingerprints,
    line_spans,
    lsh_params,
    text_fingerprints,
    utf8_bound,
    verified_bucket_groups,
    word_shingles,
)
from newsfold.unionfind import connected_groups

M64 = (1 << 64) - 1

# ---- pure-Python references: they pin the hash functions, which persisted signatures rely on ---


def fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M64
    return h ^ (h >> 33)


def token_hash(token: str) -> int:
    h = 0xCBF29CE484222325
    for ch in token:
        h = ((h ^ ord(ch)) * 0x100000001B3) & M64
    return fmix64(h)


def ngram_hashes(units: list[int], ngram: int) -> set[int]:
    if not units:
        return set()
    width = min(ngram, len(units))
    out = set()
    for i in range(len(units) - width + 1):
        h = 0x27D4EB2F165667C5 + width
        for unit in units[i : i + width]:
            h = (h * 0x9E3779B97F4A7C15 + unit) & M64
        out.add(fmix64(h) >> 32)
    return out


def reference_word_shingles(text: str, ngram: int) -> set[int]:
    return ngram_hashes([token_hash(t) for t in re.findall(r"\w+", text.lower())], ngram)


def reference_char_shingles(text: str, ngram: int) -> set[int]:
    key = re.sub(r"[\W_]+", " ", text.lower()).strip()
    return ngram_hashes([ord(c) for c in key], ngram)


def as_sets(shingles: Shingles) -> list[set[int]]:
    return [
        set(shingles.hashes[a:b].tolist())
        for a, b in zip(shingles.offsets[:-1], shingles.offsets[1:], strict=True)
    ]


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def reference_signatures(shingles: Shingles, num_perm: int, seed: int) -> np.ndarray:
    """The affine32 scheme in plain numpy broadcasting (uint32 arithmetic wraps mod 2^32)."""
    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    out = np.full((len(shingles), num_perm), 0xFFFFFFFF, dtype=np.uint32)
    for d in range(len(shingles)):
        h = fmix32(shingles.hashes[shingles.offsets[d] : shingles.offsets[d + 1]])
        if h.size:
            out[d] = (h[:, None] * a[None, :] + b[None, :]).min(axis=0)
    return out


ODD_TEXTS = [
    "",
    "   \n\t ",
    "!!! ... ???",
    "one",
    "Two words",
    "The quick brown fox jumps over the lazy dog. The quick brown fox!",
    "ÉCOLE Élève naïve_snake_case 東京タワー ДОМ ǅemal ẞ straße ﬁne Ⅻ ①",
    "İstanbul ΣΟΦΟΣ ΛΌΓΟΣ Σ σς",
    "emoji 😀 between 🇫🇷 words and\u00a0nbsp\u2003em-space",
    "lone surrogate \ud800 inside",
    "nul\x00byte \x7f control \ufffd replacement",
    "repeat repeat repeat repeat repeat",
]

texts_strategy = st.lists(st.text(max_size=80), max_size=6)


# ---- shingles ------------------------------------------------------------------------------


@pytest.mark.parametrize("ngram", [1, 2, 3, 5])
def test_word_shingles_match_reference(ngram: int) -> None:
    shingles = word_shingles(ODD_TEXTS, ngram)
    assert as_sets(shingles) == [reference_word_shingles(t, ngram) for t in ODD_TEXTS]


@pytest.mark.parametrize("ngram", [1, 3, 5])
def test_char_shingles_match_reference(ngram: int) -> None:
    shingles = char_shingles(ODD_TEXTS, ngram)
    assert as_sets(shingles) == [reference_char_shingles(t, ngram) for t in ODD_TEXTS]


@settings(max_examples=200, deadline=None)
@given(texts=texts_strategy, ngram=st.integers(1, 4))
def test_shingles_match_reference_on_any_text(texts: list[str], ngram: int) -> None:
    assert as_sets(word_shingles(texts, ngram)) == [reference_word_shingles(t, ngram) for t in texts]
    assert as_sets(char_shingles(texts, ngram)) == [reference_char_shingles(t, ngram) for t in texts]


@settings(max_examples=100, deadline=None)
@given(texts=texts_strategy)
def test_shingles_are_sorted_unique_csr(texts: list[str]) -> None:
    shingles = word_shingles(texts, 3)
    assert shingles.hashes.dtype == np.uint32
    assert shingles.offsets.dtype == np.int64
    assert len(shingles) == len(texts) and shingles.offsets[0] == 0
    assert shingles.offsets[-1] == len(shingles.hashes)
    for a, b in zip(shingles.offsets[:-1], shingles.offsets[1:], strict=True):
        assert np.all(np.diff(shingles.hashes[a:b].astype(np.int64)) > 0)


def reference_key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


@settings(max_examples=200, deadline=None)
@given(texts=texts_strategy)
def test_char_keys_are_the_regex_keys_and_what_char_shingles_shingles(texts: list[str]) -> None:
    keys = char_keys(texts)
    assert keys == [reference_key(t) for t in texts]
    assert as_sets(char_shingles(keys, 3)) == as_sets(char_shingles(texts, 3))


def test_char_keys_of_odd_texts() -> None:
    assert char_keys(ODD_TEXTS) == [reference_key(t) for t in ODD_TEXTS]
    assert char_keys(encode_texts(["Ab_c  D!", ""])) == ["ab c d", ""]


LINE_PIECES = ["\n", "\n\n", "a", "Bé ", "İx", "ΣΑΣ", "😀", "\ud800", " \t", "x_y."]
lines_strategy = st.lists(st.lists(st.sampled_from(LINE_PIECES), max_size=12).map("".join), max_size=6)


def reference_lines(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"[^\n]+", text)]


@settings(max_examples=200, deadline=None)
@given(texts=lines_strategy)
def test_line_spans_are_the_regex_lines_and_their_keys(texts: list[str]) -> None:
    lines = line_spans(texts)
    expected = [(d, s, e) for d, t in enumerate(texts) for s, e in reference_lines(t)]
    got = list(zip(lines.doc.tolist(), lines.char_start.tolist(), lines.char_end.tolist(), strict=True))
    assert got == expected
    assert np.diff(lines.doc_offsets).tolist() == [len(reference_lines(t)) for t in texts]
    strings = [texts[d][s:e] for d, s, e in expected]
    # The byte spans stand for the lines: same keys, fingerprints and shingles.
    assert char_keys(lines.spans) == char_keys(strings)
    lengths, fingerprints = key_fingerprints(lines.spans)
    want_lengths, want_fingerprints = key_fingerprints(strings)
    assert lengths.tolist() == want_lengths.tolist()
    assert np.array_equal(fingerprints, want_fingerprints)
    assert as_sets(char_shingles(lines.spans, 3)) == as_sets(char_shingles(strings, 3))
    picked = np.arange(len(strings))[::-2]
    assert char_keys(lines.spans.take(picked)) == char_keys([strings[i] for i in picked])


@settings(max_examples=200, deadline=None)
@given(texts=lines_strategy)
def test_line_spans_of_encoded_texts_read_their_buffer(texts: list[str]) -> None:
    # Encoded texts give the same lines as their strings, over their own buffer (no copy), with
    # the offsets of the encoded text: that of lower() for a text with "İ" or "Σ".
    encoded = encode_texts(texts)
    lines, want = line_spans(encoded), line_spans(texts)
    assert lines.spans.data is encoded.data
    assert np.array_equal(lines.doc, want.doc)
    assert np.array_equal(lines.spans.starts, want.spans.starts)
    assert np.array_equal(lines.spans.ends, want.spans.ends)
    as_encoded = [t.lower() if "\u0130" in t or "\u03a3" in t else t for t in texts]
    expected = [(d, s, e) for d, t in enumerate(as_encoded) for s, e in reference_lines(t)]
    got = list(zip(lines.doc.tolist(), lines.char_start.tolist(), lines.char_end.tolist(), strict=True))
    assert got == expected


@pytest.mark.parametrize(("bands", "rows"), [(1, 1), (4, 3), (38, 5), (47, 4), (11, 4)])
def test_band_keys_are_the_polynomial_of_each_band(bands, rows, monkeypatch) -> None:
    # The kernel's keys, in two threads, equal numpy's uint64 polynomial over whole columns
    # (wrapping modulo 2^64), for signatures up to the largest uint32.
    monkeypatch.setattr(minhash, "_MIN_PARALLEL_WORK", 0)
    rng = np.random.default_rng(bands * rows)
    signatures = rng.integers(0, 2**32, size=(101, 256), dtype=np.uint32)
    signatures[0] = np.iinfo(np.uint32).max
    cells = signatures[:, : bands * rows].reshape(len(signatures), bands, rows).astype(np.uint64)
    want = np.full((len(signatures), bands), minhash._NGRAM_SEED, dtype=np.uint64)
    for r in range(rows):
        want *= minhash._PRIME_2
        want += cells[:, :, r]
    assert np.array_equal(band_keys(signatures, bands, rows), want)
    assert np.array_equal(band_keys(signatures[:0], bands, rows), want[:0])
    at = np.array([5, 0, 100, 5, 37])  # rows picked in place, in any order, repeated
    assert np.array_equal(band_keys(signatures, bands, rows, at=at), want[at])


def test_bucket_pairs_from_band_keys_are_candidate_pairs() -> None:
    rng = np.random.default_rng(0)
    signatures = rng.integers(0, 4, size=(300, 12), dtype=np.uint32)
    keys = band_keys(signatures, 4, 3)
    assert keys.shape == (300, 4)
    assert np.array_equal(bucket_pairs(keys), candidate_pairs(signatures, 4, 3))
    assert np.array_equal(bucket_pairs(keys, max_bucket=5), candidate_pairs(signatures, 4, 3, max_bucket=5))


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(i)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("block", [1, 7, 1 << 18])
@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("max_bucket", [2, 5, 1000])
def test_verified_bucket_groups_are_the_components_of_the_verified_bucket_pairs(
    max_bucket, split, block, monkeypatch
) -> None:
    # Families of near-identical texts (edits of a few templates) fill buckets with pairs that
    # pass and pairs that fail; the union-find walk must give the components of those passing.
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)]
    templates = [rng.choice(words, size=12) for _ in range(6)]
    texts = []
    for _ in range(400):
        t = templates[rng.integers(len(templates))].copy()
        edits = rng.integers(0, 5)
        t[rng.integers(0, len(t), size=edits)] = rng.choice(words, size=edits)
        texts.append(" ".join(t))
    texts += ["", ""]  # two empty sets: Jaccard 0, never linked
    shingles = char_shingles(texts, 4)
    signatures = MinHasher(num_perm=32, seed=1).signatures(shingles)
    keys = band_keys(signatures, 8, 4)
    threshold = 0.7
    pairs = bucket_pairs(keys, max_bucket=max_bucket)
    want = connected_groups(len(texts), pairs[jaccard(shingles, pairs) >= threshold])
    asked = []

    def shingles_of(idx):
        asked.append(idx)
        return char_shingles([texts[i] for i in idx], 4)

    if split:  # the bands walked in two threads, each over a union-find of its own
        monkeypatch.setattr(minhash, "_MIN_PARALLEL_WORK", 0)
        monkeypatch.setattr(minhash, "_THREADS", 2)
        assert len(minhash.thread_parts(np.ones(keys.shape[1], dtype=np.int64))) == 2
    got = verified_bucket_groups(keys, threshold, shingles_of, max_bucket=max_bucket, block=block)
    assert np.array_equal(got, want)  # both label a group by its smallest member
    assert 1 < len(_partition(got)) < len(texts) - 50
    # Only docs in some bucket are shingled, each once, a block of whole co-bucket components at
    # a time: no bucket has members in two blocks.
    assert np.array_equal(np.sort(np.concatenate(asked)), np.unique(pairs))
    block_of = np.full(len(texts), -1)
    for k, idx in enumerate(asked):
        assert np.array_equal(idx, np.sort(idx))
        block_of[idx] = k
    assert np.all(block_of[pairs[:, 0]] == block_of[pairs[:, 1]])
    if block == 1 << 18:
        assert len(asked) == 1
    elif block == 1:
        assert len(asked) == len(np.unique(connected_groups(len(texts), pairs)[np.unique(pairs)]))


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1 / 3])
def test_the_bucket_walk_stops_a_merge_only_below_the_least_passing_intersection(threshold) -> None:
    # The walk gives up on a pair once the intersection cannot reach this; it must be the least
    # k whose float64 Jaccard k / (total - k) passes, rounding at exact bounds (0.7 at 17) included.
    for total in range(1, 400):
        passing = [k for k in range(total) if k / (total - k) >= threshold]
        want = passing[0] if passing else total
        assert _least_passing_intersection(total, threshold) == want


def test_taken_shingle_sets_are_those_of_the_taken_texts() -> None:
    texts = ["alpha beta gamma", "", "beta gamma delta epsilon", "x", "alpha beta gamma"]
    shingles = char_shingles(texts, 3)
    for index in ([4, 0, 2], [1], [], [3, 3, 0]):
        want = char_shingles([texts[i] for i in index], 3)
        got = shingles.take(np.array(index, dtype=np.int64))
        assert np.array_equal(got.offsets, want.offsets)
        assert np.array_equal(got.hashes, want.hashes)


def test_short_docs_get_one_shingle_and_empty_docs_none() -> None:
    shingles = word_shingles(["", "...", "a", "a b", "a b c", "a b c d"], 3)
    assert shingles.sizes().tolist() == [0, 0, 1, 1, 1, 2]
    assert char_shingles(["", "--", "ab", "a b!", "abcdef"], 5).sizes().tolist() == [0, 0, 1, 1, 2]


def test_tokens_are_case_and_punctuation_insensitive() -> None:
    a, b, c = as_sets(word_shingles(["The Cat sat.", "the cat, SAT", "the cat sits"], 2))
    assert a == b != c


def test_lower_casing_table_equals_str_lower() -> None:
    # Every code point lower-cases on its own as str.lower() does, except the two that the
    # encoder hands to str.lower() (a two-character result, and the context-dependent sigma).
    every_char = "".join(chr(c) for c in range(0x110000) if c not in (0x130, 0x3A3))
    chunks = [every_char[i : i + 5000] for i in range(0, len(every_char), 5000)]
    encoded = encode_texts(chunks)
    assert not any("\u0130" in c or "\u03a3" in c for c in chunks)
    # one fingerprint per chunk equals that of the Python-lowered chunk
    expected = text_fingerprints([c.lower() for c in chunks])
    assert np.array_equal(text_fingerprints(encoded), expected)
    assert as_sets(char_shingles(encoded, 3)) == [reference_char_shingles(c, 3) for c in chunks]


@given(st.lists(st.text(alphabet="aZ \u00e9\u0130\u03a3\U0001f600", max_size=12), max_size=8))
def test_utf8_bound_holds_every_encoding(texts: list[str]) -> None:
    assert utf8_bound(texts) == sum(len(t) if t.isascii() else 4 * len(t) for t in texts)
    assert utf8_bound(texts) >= len(encode_texts(texts).data)


def test_encoded_texts_are_reused() -> None:
    encoded = encode_texts(ODD_TEXTS)
    assert encode_texts(encoded) is encoded
    assert as_sets(word_shingles(encoded, 3)) == as_sets(word_shingles(ODD_TEXTS, 3))
    assert len(encoded) == len(ODD_TEXTS)


def test_encoded_texts_slice_and_take_are_the_subsets_encoded() -> None:
    encoded = encode_texts(ODD_TEXTS)
    for lo, hi in [(0, len(ODD_TEXTS)), (1, 3), (2, 2), (len(ODD_TEXTS) - 1, len(ODD_TEXTS))]:
        part, expected = encoded.slice(lo, hi), encode_texts(ODD_TEXTS[lo:hi])
        assert np.array_equal(part.offsets, expected.offsets) and np.array_equal(part.data, expected.data)
    index = np.array([3, 0, 3, len(ODD_TEXTS) - 1], dtype=np.int64)  # any order, repeats
    taken, expected = encoded.take(index), encode_texts([ODD_TEXTS[i] for i in index.tolist()])
    assert np.array_equal(taken.offsets, expected.offsets) and np.array_equal(taken.data, expected.data)
    assert len(encoded.take(np.zeros(0, dtype=np.int64))) == 0


def test_move_left_copies_overlapping_ranges_without_a_temporary() -> None:
    for shift in (1, 3, 500):
        buffer = np.arange(1_000, dtype=np.uint32)
        expected = buffer.copy()
        expected[0 : 1_000 - shift] = np.arange(shift, 1_000)
        minhash.move_left(buffer, shift, 0, 1_000 - shift)
        assert np.array_equal(buffer, expected)
    with pytest.raises(ValueError, match="moves left only"):
        minhash.move_left(np.zeros(4, np.uint8), 0, 1, 2)
    with pytest.raises(ValueError, match="past the buffer"):
        minhash.move_left(np.zeros(4, np.uint8), 2, 0, 3)
    with pytest.raises(ValueError, match="contiguous"):
        minhash.move_left(np.zeros(8, np.uint8)[::2], 1, 0, 2)


def test_join_parts_moves_each_part_after_the_one_before_and_shrinks_the_buffers() -> None:
    # Two regions of two buffers, each part written from its region's start with room to spare.
    values = np.full(10, 99, dtype=np.uint32)
    counts = np.full(10, 99, dtype=np.int32)
    values[[0, 1, 2, 6, 7]] = [1, 2, 3, 4, 5]
    counts[[0, 1, 2, 6, 7]] = [10, 20, 30, 40, 50]
    part_offsets = [np.array([0, 2, 3]), np.array([0, 0, 2])]  # the second part's first item is empty
    offsets = minhash.join_parts([values, counts], [0, 6], part_offsets)
    assert offsets.tolist() == [0, 2, 3, 3, 5]
    assert values.tolist() == [1, 2, 3, 4, 5] and counts.tolist() == [10, 20, 30, 40, 50]


def test_empty_batch() -> None:
    for shingles in (word_shingles([], 3), char_shingles([], 5)):
        assert len(shingles) == 0 and shingles.hashes.size == 0
    assert MinHasher(16).signatures(word_shingles([], 3)).shape == (0, 16)
    assert text_fingerprints([]).shape == (0, 2)


def test_bad_ngram() -> None:
    with pytest.raises(ValueError, match="ngram"):
        word_shingles(["a"], 0)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=60),
    spaces=st.lists(st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u2003"]), min_size=1),
)
def test_fingerprints_equal_iff_normalised_texts_equal(text: str, spaces: list[str]) -> None:
    words = text.split()
    respaced = spaces[0] + "".join(w + spaces[i % len(spaces)] for i, w in enumerate(words))
    upper = text.upper()
    fingerprints = text_fingerprints([text, respaced, upper, " ".join(words) + "x"])

    def normalise(t: str) -> str:
        return " ".join(t.lower().split())

    assert np.array_equal(fingerprints[0], fingerprints[1])
    assert np.array_equal(fingerprints[0], fingerprints[2]) == (normalise(text) == normalise(upper))
    assert not np.array_equal(fingerprints[0], fingerprints[3])


# ---- signatures ----------------------------------------------------------------------------


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (17, 12345)])
def test_signatures_equal_datasketch(num_perm: int, seed: int) -> None:
    shingles = word_shingles(ODD_TEXTS, 2)
    signatures = MinHasher(num_perm=num_perm, seed=seed).signatures(shingles)
    for d, hashes in enumerate(as_sets(shingles)):
        expected = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda h: h)
        expected.update_batch(sorted(hashes))
        assert signatures[d].dtype == expected.hashvalues.dtype == np.uint32
        assert np.array_equal(signatures[d], expected.hashvalues)


def test_kernel_equals_numpy_reference() -> None:
    rng = np.random.default_rng(0)
    parts = [np.unique(rng.integers(0, 2**32, size).astype(np.uint32)) for size in rng.integers(0, 300, 50)]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    shingles = Shingles(hashes=np.concatenate(parts), offsets=offsets)
    assert np.array_equal(MinHasher(96, 3).signatures(shingles), reference_signatures(shingles, 96, 3))


def test_empty_doc_signature_is_all_max() -> None:
    signatures = MinHasher(32).signatures(word_shingles(["", "text here"], 3))
    assert np.all(signatures[0] == 0xFFFFFFFF) and not np.all(signatures[1] == 0xFFFFFFFF)


@settings(max_examples=30, deadline=None)
@given(texts=texts_strategy, seed=st.integers(0, 2**32 - 1), num_perm=st.integers(16, 64))
def test_equal_seeds_give_equal_signatures(texts: list[str], seed: int, num_perm: int) -> None:
    shingles = word_shingles(texts, 3)
    first = MinHasher(num_perm=num_perm, seed=seed).signatures(shingles)
    second = MinHasher(num_perm=num_perm, seed=seed).signatures(word_shingles(list(texts), 3))
    assert np.array_equal(first, second)


def test_different_seeds_give_different_signatures() -> None:
    shingles = word_shingles(["a longer text with several distinct words in it"], 3)
    assert not np.array_equal(MinHasher(64, 1).signatures(shingles), MinHasher(64, 2).signatures(shingles))


def test_to_minhash_interoperates_with_datasketch() -> None:
    hasher = MinHasher(128, 1)
    base = " ".join(f"w{i}" for i in range(200))
    shingles = word_shingles([base, base + " " + " ".join(f"x{i}" for i in range(50))], 3)
    signatures = hasher.signatures(shingles)
    first, second = hasher.to_minhash(signatures[0]), hasher.to_minhash(signatures[1])
    assert isinstance(first, LeanMinHash) and first.scheme == "affine32" and first.seed == 1
    exact = jaccard(shingles, np.array([[0, 1]]))[0]
    assert abs(first.jaccard(second) - exact) < 0.15
    with pytest.raises(ValueError, match="shape"):
        hasher.to_minhash(signatures[0][:10])


# ---- LSH -----------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.3, 0.4286, 0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_lsh_params_recall_at_threshold(threshold: float, num_perm: int) -> None:
    bands, rows = lsh_params(threshold, num_perm)
    assert bands * rows <= num_perm
    recall = 1.0 - (1.0 - threshold**rows) ** bands  # the S-curve at the threshold
    assert recall >= 0.95


@pytest.mark.parametrize("threshold", [0.4286, 0.5, 0.7, 0.9])
def test_lsh_params_keep_unrelated_docs_apart(threshold: float) -> None:
    bands, rows = lsh_params(threshold, 128)
    assert 1.0 - (1.0 - 0.05**rows) ** bands < 0.01  # news articles on other stories: J ~ 0.05


def test_lsh_params_validation() -> None:
    with pytest.raises(ValueError):
        lsh_params(0.0, 128)
    with pytest.raises(ValueError):
        lsh_params(0.5, 1)


def brute_force_pairs(signatures: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    n = len(signatures)
    out = set()
    for i in range(n):
        for j in range(i + 1, n):
            for band in range(bands):
                cols = slice(band * rows, (band + 1) * rows)
                if np.array_equal(signatures[i, cols], signatures[j, cols]):
                    out.add((i, j))
                    break
    return out


def test_candidate_pairs_equal_brute_force() -> None:
    rng = np.random.default_rng(1)
    # Few distinct values per cell so that many bands collide.
    signatures = rng.integers(0, 3, size=(40, 12)).astype(np.uint32)
    pairs = candidate_pairs(signatures, bands=4, rows=3)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert set(map(tuple, pairs.tolist())) == brute_force_pairs(signatures, 4, 3)
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert np.array_equal(pairs, np.unique(pairs, axis=0))  # unique and sorted


def test_candidate_pairs_of_similar_docs() -> None:
    base = " ".join(f"word{i}" for i in range(300))
    edited = base.replace("word150", "changed")
    other = " ".join(f"other{i}" for i in range(300))
    signatures = MinHasher(128).signatures(word_shingles([base, other, edited], 3))
    assert candidate_pairs(signatures, *lsh_params(0.7, 128)).tolist() == [[0, 2]]


def test_degenerate_bucket_stays_linear() -> None:
    n = 20_000
    signatures = np.full((n, 128), 0xFFFFFFFF, dtype=np.uint32)  # e.g. all-empty docs
    signatures[-1] = 7  # one different doc
    pairs = candidate_pairs(signatures, bands=32, rows=4, max_bucket=1000)
    # a star on the first member, not n^2 / 2 = 2e8 pairs
    assert pairs.tolist() == [[0, j] for j in range(1, n - 1)]


def test_bucket_at_max_size_is_all_pairs() -> None:
    signatures = np.zeros((5, 8), dtype=np.uint32)
    assert len(candidate_pairs(signatures, 2, 4, max_bucket=5)) == 10
    assert len(candidate_pairs(signatures, 2, 4, max_bucket=4)) == 4


def test_candidate_pairs_validation() -> None:
    signatures = np.zeros((3, 8), dtype=np.uint32)
    with pytest.raises(ValueError):
        candidate_pairs(signatures, 3, 3)
    assert candidate_pairs(signatures[:1], 2, 4).shape == (0, 2)


# ---- exact similarity ----------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(sets=st.lists(st.frozensets(st.integers(0, 30), max_size=20), min_size=2, max_size=6))
def test_jaccard_and_containment_equal_set_arithmetic(sets: list[frozenset[int]]) -> None:
    parts = [np.array(sorted(s), dtype=np.uint32) for s in sets]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    shingles = Shingles(hashes=np.concatenate(parts).astype(np.uint32), offsets=offsets)
    pairs = np.array([(i, j) for i in range(len(sets)) for j in range(i, len(sets))], dtype=np.int64)
    inter = [len(sets[i] & sets[j]) for i, j in pairs]
    union = [len(sets[i] | sets[j]) for i, j in pairs]
    smaller = [min(len(sets[i]), len(sets[j])) for i, j in pairs]
    assert intersection_sizes(shingles, pairs).tolist() == inter
    assert jaccard(shingles, pairs).tolist() == [
        x / u if u else 0.0 for x, u in zip(inter, union, strict=True)
    ]
    assert containment(shingles, pairs).tolist() == [
        x / m if m else 0.0 for x, m in zip(inter, smaller, strict=True)
    ]


def test_containment_of_a_truncation() -> None:
    words = [f"w{i}" for i in range(200)]
    shingles = word_shingles([" ".join(words), " ".join(words[:100])], 3)
    assert containment(shingles, np.array([[0, 1]]))[0] == 1.0
    assert jaccard(shingles, np.array([[0, 1]]))[0] == pytest.approx(98 / 198)


def test_pairs_out_of_range() -> None:
    with pytest.raises(ValueError, match="pair indices"):
        jaccard(word_shingles(["a b c"], 3), np.array([[0, 1]]))


def test_threads_give_the_serial_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import newsfold.minhash as minhash

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(500)]
    texts = [" ".join(rng.choice(words, int(rng.integers(0, 80)))) for _ in range(300)] + ["", "a"]
    texts += ["Ça, c'est   ÉTÉ!", "  ", "日本語 テキスト"]
    monkeypatch.setattr(minhash, "_THREADS", 1)
    serial = [word_shingles(texts, 3), minhash.char_shingles(texts, 5)]
    serial_signatures = MinHasher(64, 1).signatures(serial[1])
    serial_keys = minhash.key_code_points(texts)
    monkeypatch.setattr(minhash, "_THREADS", 3)
    monkeypatch.setattr(minhash, "_MIN_PARALLEL_WORK", 0)
    assert len(minhash.thread_parts(np.ones(len(texts), dtype=np.int64))) == 3
    threaded = [word_shingles(texts, 3), minhash.char_shingles(texts, 5)]
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a.hashes, b.hashes)
        np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(MinHasher(64, 1).signatures(threaded[1]), serial_signatures)
    for a, b in zip(serial_keys, minhash.key_code_points(texts), strict=True):
        np.testing.assert_array_equal(a, b)
    assert minhash.char_keys(texts) == [reference_key(t) for t in texts]


@settings(max_examples=100, deadline=None)
@given(texts=texts_strategy, ngram=st.integers(1, 6))
def test_fused_char_signatures_equal_signatures_of_the_shingle_sets(texts: list[str], ngram: int) -> None:
    hasher = MinHasher(num_perm=32, seed=3)
    expected = hasher.signatures(char_shingles(texts, ngram))
    assert np.array_equal(hasher.char_signatures(texts, ngram), expected)
    lines = line_spans(texts)
    strings = [texts[d][s:e] for d, s, e in zip(lines.doc, lines.char_start, lines.char_end, strict=True)]
    assert np.array_equal(
        hasher.char_signatures(lines.spans, ngram), hasher.signatures(char_shingles(strings, ngram))
    )


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="ab cİΣ!", max_size=60), max_size=6),
    ngram=st.integers(1, 6),
    count_up_to=st.integers(1, 40),
    prefix_chars=st.integers(1, 30),
)
def test_char_sketches_count_distinct_shingles_and_sign_the_key_prefixes(
    texts: list[str], ngram: int, count_up_to: int, prefix_chars: int
) -> None:
    hasher = MinHasher(num_perm=32, seed=3)
    sketches = hasher.char_sketches(texts, ngram, count_up_to, prefix_chars)
    shingles = char_shingles(texts, ngram)
    assert np.array_equal(sketches.signatures, hasher.signatures(shingles))
    assert sketches.distinct is not None and sketches.prefix_signatures is not None
    assert sketches.distinct.tolist() == np.minimum(shingles.sizes(), count_up_to).tolist()
    prefixes = [key[:prefix_chars] for key in char_keys(texts)]
    assert np.array_equal(sketches.prefix_signatures, hasher.signatures(char_shingles(prefixes, ngram)))
    # The prefixes alone (no whole signatures) are the same.
    alone = hasher.char_sketches(texts, ngram, prefix_chars=prefix_chars, whole=False)
    assert alone.signatures is None
    assert np.array_equal(alone.prefix_signatures, sketches.prefix_signatures)


def test_char_sketches_compute_only_what_is_asked() -> None:
    sketches = MinHasher(num_perm=16).char_sketches(["a text", "another"], 3)
    assert sketches.distinct is None and sketches.prefix_signatures is None
    with pytest.raises(ValueError, match="must be >= 0"):
        MinHasher(num_perm=16).char_sketches(["a"], 3, count_up_to=-1)


def test_char_sketches_write_into_rows_of_a_given_array() -> None:
    hasher = MinHasher(num_perm=16, seed=5)
    texts = ["a text", "another one", "", "x"]
    whole = np.full((6, 16), 7, dtype=np.uint32)
    got = hasher.char_sketches(texts, 3, out=whole[1:5])
    assert got.signatures is not None and np.shares_memory(got.signatures, whole)
    assert np.array_equal(whole[1:5], hasher.char_sketches(texts, 3).signatures)
    assert (whole[[0, 5]] == 7).all()  # the rows around are left
    with pytest.raises(ValueError, match="C-contiguous uint32"):
        hasher.char_sketches(texts, 3, out=whole[:3])
    with pytest.raises(ValueError, match="C-contiguous uint32"):
        hasher.char_sketches(texts, 3, out=np.zeros((16, 4), dtype=np.uint32).T)


SPLIT_PIECES = [
    "a",
    "Bé",
    "İ",
    "ΣΑΣ",
    "😀",
    "\ud800",
    " ",
    "\t",
    "\n",
    "\u00a0",
    "\u2003",
    "\u3000",
    "\x1c",
    "\x85",
    "_.",
]


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(SPLIT_PIECES), max_size=14).map("".join), max_size=6))
def test_split_counts_are_the_words_str_split_finds(texts: list[str]) -> None:
    assert minhash.split_counts(texts).tolist() == [len(t.split()) for t in texts]
    lines = line_spans(texts)
    strings = [texts[d][s:e] for d, s, e in zip(lines.doc, lines.char_start, lines.char_end, strict=True)]
    assert minhash.split_counts(lines.spans).tolist() == [len(t.split()) for t in strings]


def test_the_table_s_whitespace_is_str_isspace() -> None:
    # split_counts reads whitespace from the table (re's \s of each lower-cased code point).
    space = (minhash._char_table() >> minhash._CLASS_SHIFT) & minhash._SPACE != 0
    every = np.arange(minhash._N_CODE_POINTS)
    want = np.array([chr(c).isspace() for c in every.tolist()])
    assert np.array_equal(space, want)


def test_the_character_table_is_python_s_own_lower_case_and_classes() -> None:
    table = minhash._char_table()
    rng = np.random.default_rng(0)
    # Every code point below U+0800, and a sample of the rest (surrogates included).
    points = np.r_[np.arange(0x800), rng.integers(0x800, 0x110000, 20_000)]
    for cp in points.tolist():
        char = chr(cp)
        entry = int(table[cp])
        if char not in "\u0130\u03a3":  # lower-cased before encoding, their entries unused
            assert entry & 0x1FFFFF == ord(char.lower()[0]), hex(cp)
        lower = chr(entry & 0x1FFFFF)
        classes = entry >> 24
        assert bool(classes & minhash._WORD) == (re.fullmatch(r"\w", lower) is not None), hex(cp)
        assert bool(classes & minhash._SPACE) == lower.isspace(), hex(cp)


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).integers(0, 2**32, 3_500, dtype=np.uint32),  # hashes: buckets
        np.random.default_rng(2).integers(0, 200_000, 300, dtype=np.uint32),  # term ids: their range
        np.random.default_rng(3).integers(0, 2**32, 40, dtype=np.uint32),  # short: insertion sort
        np.repeat(np.random.default_rng(4).integers(0, 2**32, 3, dtype=np.uint32), 200),  # few values
        np.zeros(100, dtype=np.uint32),
        np.r_[np.full(60, 2**32 - 1), np.arange(60)].astype(np.uint32),  # both ends of the range
        np.arange(1_000, dtype=np.uint32)[::-1].copy(),
    ],
)
def test_sort_u32_sorts_whatever_the_values(values: np.ndarray) -> None:
    """The bucket pass, its radix fallback (a bucket of many equal values) and insertion sort."""
    x = values.copy()
    minhash._sort_u32(x, np.empty(x.size, np.uint32), np.empty(minhash._SORT_COUNTS, np.int64))
    assert np.array_equal(x, np.sort(values))


@given(st.lists(st.integers(0, 2**32 - 1), max_size=300), st.integers(0, 31))
@settings(max_examples=200, deadline=None)
def test_sort_u32_matches_numpy(values: list[int], shift: int) -> None:
    x = (np.array(values, dtype=np.uint64) >> shift).astype(np.uint32)  # ranges of every width
    expected = np.sort(x)
    minhash._sort_u32(x, np.empty(x.size, np.uint32), np.empty(minhash._SORT_COUNTS, np.int64))
    assert np.array_equal(x, expected)
