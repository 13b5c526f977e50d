"""Near-duplicate articles: fingerprint -> candidates -> verify -> groups -> canonical."""

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from newsfold.arrays import dense_ranks, unique, unique_rows
from newsfold.config import DedupConfig, MinHashConfig
from newsfold.jit import njit
from newsfold.minhash import (
    EncodedTexts,
    MinHasher,
    Shingles,
    band_keys,
    bucket_pairs,
    char_keys,
    char_shingles,
    encode_code_points,
    encode_texts,
    in_threads,
    intersection_sizes,
    key_code_points,
    line_spans,
    lsh_params,
    text_fingerprints,
    thread_parts,
    word_shingles,
)
from newsfold.text_column import TextColumn, char_lengths
from newsfold.unionfind import component_blocks, connected_groups

# Candidates come from two LSH indexes. Over whole texts at config.threshold: near-copies. A
# truncated reprint keeping half of its original has a Jaccard of only ~0.5 with it, and banding
# for that level (3 rows) lets through a share of the chance pairs that grows with the square of
# the corpus (character 7-grams of unrelated articles overlap 2-10 %: 98,000 candidates for
# 20,000 synthetic articles, against 6,800 at 0.6); so reprints are found by a second index over
# the texts' first config.prefix_chars characters, which a truncated copy shares with its original
# (the alignment check demands that anyway).
# Pairs per block of the alignment check: a block's line keys, windows and their shingles are a
# transient ~4x copy of its texts (0.6 GB for all the pairs of 10^5 synthetic articles at once).
_ALIGN_BLOCK = 4096
# Texts per block of sketch_texts and confirm_candidates: ~130 MB of shingle sets at a time for
# 4 KB articles (sketch_texts builds sets for word shingles only).
_SKETCH_BLOCK = 8192


@dataclasses.dataclass(frozen=True)
class DuplicateResult:
    """Duplicate groups of a batch of articles.

    Attributes:
        group: (n,) int64, the index of the canonical article of each article's duplicate group.
        is_canonical: (n,) bool, True for the one article kept per group.
        pairs: (m, 2) int64 verified near-duplicate pairs (i < j) between distinct normalised
            texts; exact copies are grouped by fingerprint and not listed.
        signatures: (n, num_perm) uint32 MinHash signatures of the shingles chosen by
            DedupConfig.shingles (scheme "affine32").
        text_hashes: (n, 2) uint64 minhash.text_fingerprints of the texts.
    """

    group: npt.NDArray[np.int64]
    is_canonical: npt.NDArray[np.bool_]
    pairs: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]
    text_hashes: npt.NDArray[np.uint64]


def shingle_texts(texts: Sequence[str] | EncodedTexts, config: DedupConfig) -> Shingles:
    """The shingle sets dedup compares: character or word n-grams, as config.shingles says."""
    if config.shingles == "char":
        return char_shingles(texts, config.char_ngram)
    return word_shingles(texts, config.word_ngram)


def lsh_threshold(config: DedupConfig) -> float:
    """The Jaccard level the whole-text LSH must recall (reprints: see find_reprint_candidates)."""
    return config.threshold


def group_exact_copies(fingerprints: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """For each text, the smallest index of a text with the same fingerprint (itself if none)."""
    n = len(fingerprints)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((fingerprints[:, 1], fingerprints[:, 0]))  # stable: index order in a run
    ordered = fingerprints[order]
    is_first = np.ones(n, dtype=bool)
    is_first[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    run = np.cumsum(is_first) - 1
    representative = np.empty(n, dtype=np.int64)
    representative[order] = order[is_first][run]
    return representative


def find_candidates(
    signatures: npt.NDArray[np.uint32], representatives: npt.NDArray[np.int64], threshold: float
) -> npt.NDArray[np.int64]:
    """LSH candidate pairs among the representatives of exact-copy groups (original indices).

    Exact copies are left out so that a story reprinted verbatim a thousand times does not make
    a thousand-member bucket in every band.
    """
    bands, rows = lsh_params(threshold, signatures.shape[1])
    if len(representatives) < 2:
        return np.empty((0, 2), dtype=np.int64)
    # candidate_pairs of signatures[representatives], without that copy of their signatures
    pairs = bucket_pairs(band_keys(signatures, bands, rows, at=representatives))
    return representatives[pairs]  # representatives are ascending, so i < j still holds


def prefix_band_keys(
    texts: Sequence[str] | EncodedTexts, config: DedupConfig, minhash: MinHashConfig
) -> npt.NDArray[np.uint64]:
    """The index find_reprint_candidates searches: LSH band keys (at config.prefix_threshold) of
    the signatures of each text's first config.prefix_chars key characters (see
    minhash.char_keys), a block of texts at a time (texts: strings, or as encode_texts gives
    them)."""
    hasher = MinHasher(num_perm=minhash.num_perm, seed=minhash.seed)
    bands, rows = lsh_params(config.prefix_threshold, minhash.num_perm)
    keys = [np.zeros((0, bands), dtype=np.uint64)]
    for lo in range(0, len(texts), _SKETCH_BLOCK):
        block = _encoded_block(texts, lo, lo + _SKETCH_BLOCK)
        keys.append(band_keys(_prefix_signatures(hasher, block, config), bands, rows))
    return np.concatenate(keys)


def _encoded_block(texts: Sequence[str] | EncodedTexts, lo: int, hi: int) -> EncodedTexts:
    """Texts lo..hi-1 encoded: a view when they come encoded, else encoded now."""
    hi = min(hi, len(texts))
    return texts.slice(lo, hi) if isinstance(texts, EncodedTexts) else encode_texts(texts[lo:hi])


def _prefix_signatures(
    hasher: MinHasher, texts: Sequence[str] | EncodedTexts, config: DedupConfig
) -> npt.NDArray[np.uint32]:
    if config.shingles == "char":  # the same signatures, without building the keys or shingle sets
        sketches = hasher.char_sketches(
            texts, config.char_ngram, prefix_chars=config.prefix_chars, whole=False
        )
        assert sketches.prefix_signatures is not None
        return sketches.prefix_signatures
    keys = [key[: config.prefix_chars] for key in char_keys(texts)]
    return hasher.signatures(shingle_texts(keys, config))


def find_reprint_candidates(
    prefix_bands: npt.NDArray[np.uint64], representatives: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """LSH candidate pairs among the representatives whose beginnings are alike: truncated
    reprints and their originals (`prefix_bands`: prefix_band_keys of all texts)."""
    return representatives[bucket_pairs(prefix_bands[representatives])]


def find_all_candidates(
    signatures: npt.NDArray[np.uint32],
    prefix_bands: npt.NDArray[np.uint64],
    representatives: npt.NDArray[np.int64],
    config: DedupConfig,
) -> npt.NDArray[np.int64]:
    """Candidates from the whole-text and the prefix LSH indexes, unique, i < j."""
    pairs = np.concatenate(
        [
            find_candidates(signatures, representatives, lsh_threshold(config)),
            find_reprint_candidates(prefix_bands, representatives),
        ]
    )
    return unique_rows(pairs)[0] if len(pairs) else pairs.reshape(0, 2)


def verify_pairs(
    shingles: Shingles, pairs: npt.NDArray[np.int64], config: DedupConfig
) -> npt.NDArray[np.bool_]:
    """Which candidate pairs are near-duplicates, from their exact shingle sets.

    A pair is a duplicate when its Jaccard is >= config.threshold, or when >= config.containment
    of the smaller doc's shingles are in the larger and the smaller has at least
    config.min_containment_shingles shingles (a truncated or footed reprint).
    """
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    sizes = shingles.sizes()
    size_i, size_j = sizes[pairs[:, 0]], sizes[pairs[:, 1]]
    smaller = np.minimum(size_i, size_j)
    # Most candidates are chance collisions far below either bar: the merge stops as soon as
    # the shingles left cannot reach the smaller of the two intersections the rules need
    # (J >= t  <=>  inter >= t (a + b) / (1 + t)), less one for rounding; those pairs get -1.
    # Pairs merged to the end get their exact intersection and the rules below, unchanged.
    t, c = config.threshold, config.containment
    need = (t * (size_i + size_j)) / (1.0 + t)
    need = np.where(smaller >= config.min_containment_shingles, np.minimum(need, c * smaller), need)
    inter = np.empty(len(pairs), dtype=np.int64)
    bound = np.floor(need).astype(np.int64) - 1

    def work(lo: int, hi: int) -> None:
        _bounded_intersections(shingles.hashes, shingles.offsets, pairs[lo:hi], bound[lo:hi], inter[lo:hi])

    # The kernel releases the GIL: ranges of pairs of about equal merge work (the two sets'
    # sizes) run in two threads; halves by count left one thread with most of the long texts
    # (1.24 cores over 3.9 s at 10^6 articles, profile_cores at cc69fef).
    in_threads(work, thread_parts(size_i + size_j))
    union = size_i + size_j - inter
    similar = inter >= config.threshold * union
    contained = (inter >= config.containment * smaller) & (smaller >= config.min_containment_shingles)
    return (similar | contained) & (inter > 0)


@njit(cache=True, nogil=True)
def _bounded_intersections(hashes, offsets, pairs, need, out):  # pragma: no cover - compiled
    """|A ∩ B| of each pair by a branch-free merge of the sorted sets, or -1 as soon as even
    every remaining shingle matching could not bring it to need[p]."""
    for p in range(pairs.shape[0]):
        i, i_end = offsets[pairs[p, 0]], offsets[pairs[p, 0] + 1]
        j, j_end = offsets[pairs[p, 1]], offsets[pairs[p, 1] + 1]
        n = 0
        steps = 0
        while i < i_end and j < j_end:
            x, y = hashes[i], hashes[j]
            n += x == y
            i += x <= y
            j += y <= x
            steps += 1
            if steps & 63 == 0 and n + min(i_end - i, j_end - j) < need[p]:
                n = -1
                break
        out[p] = n


@dataclasses.dataclass(frozen=True)
class Sketches:
    """What dedup keeps of every text: fingerprint, number of shingles, MinHash signature, and
    the band keys of its beginning."""

    text_hashes: npt.NDArray[np.uint64]  # (n, 2) minhash.text_fingerprints
    # (n,) distinct shingles, counted up to config.min_containment_shingles: all that
    # exact_copy_keys asks of them (is a text short?).
    sizes: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]  # (n, num_perm)
    prefix_bands: npt.NDArray[np.uint64]  # (n, bands) prefix_band_keys


def sketch_texts(
    texts: Sequence[str], config: DedupConfig, minhash: MinHashConfig, encoded: EncodedTexts | None = None
) -> Sketches:
    """Fingerprints, shingle counts, signatures and prefix band keys of texts, in blocks of
    _SKETCH_BLOCK texts (encoded a block at a time, unless `encoded`, the texts as
    minhash.encode_texts gives them, is passed: then blocks of that).

    Character shingles are neither stored nor sorted: signature, count and prefix signature
    come from one pass (MinHasher.char_sketches; sorting every text's shingles cost twice the
    signatures). Only the texts of candidate pairs need their sets (confirm_candidates), so the
    stage never holds the shingles of the whole corpus (1.4 GB of character 7-grams for 10^5
    articles).
    """
    hasher = MinHasher(num_perm=minhash.num_perm, seed=minhash.seed)
    bands, rows = lsh_params(config.prefix_threshold, minhash.num_perm)
    n = len(texts)
    # Each block writes its rows of the whole arrays: a list of blocks joined at the end held
    # two copies of the signatures (1 GB at 10^6 articles) and copied them on one core.
    hashes = np.empty((n, 2), dtype=np.uint64)
    sizes = np.empty(n, dtype=np.int64)
    signatures = np.empty((n, minhash.num_perm), dtype=np.uint32)
    prefix_bands = np.empty((n, bands), dtype=np.uint64)
    for lo in range(0, n, _SKETCH_BLOCK):
        hi = min(lo + _SKETCH_BLOCK, n)
        block = _encoded_block(texts if encoded is None else encoded, lo, hi)
        hashes[lo:hi] = text_fingerprints(block)
        if config.shingles == "char":
            sketches = hasher.char_sketches(
                block,
                config.char_ngram,
                config.min_containment_shingles,
                config.prefix_chars,
                out=signatures[lo:hi],
            )
            assert sketches.distinct is not None and sketches.prefix_signatures is not None
            sizes[lo:hi] = sketches.distinct
            prefix = sketches.prefix_signatures
        else:
            shingles = shingle_texts(block, config)
            sizes[lo:hi] = shingles.sizes()
            signatures[lo:hi] = hasher.signatures(shingles)
            prefix = _prefix_signatures(hasher, block, config)
        prefix_bands[lo:hi] = band_keys(prefix, bands, rows)
    return Sketches(text_hashes=hashes, sizes=sizes, signatures=signatures, prefix_bands=prefix_bands)


def confirm_candidates(
    texts: Sequence[str],
    titles: Sequence[str | None] | None,
    candidates: npt.NDArray[np.int64],
    config: DedupConfig,
    encoded: EncodedTexts | None = None,
) -> npt.NDArray[np.int64]:
    """confirm_pairs, shingling only the texts that are in a candidate pair, a block at a time.

    A pair's verdict depends on its two texts only, so the candidate graph is cut into blocks of
    whole connected components (about _SKETCH_BLOCK texts each): every text is shingled once,
    and the shingle sets of one block are alive at a time (not those of every candidate text:
    ~0.7 GB of character 7-grams at 10^5 articles).

    Returns:
        The confirmed pairs, sorted.
    """
    candidates = np.ascontiguousarray(candidates, dtype=np.int64).reshape(-1, 2)
    if len(candidates) == 0:
        return candidates
    involved = unique(candidates)
    local = np.searchsorted(involved, candidates)
    block_of_text = component_blocks(connected_groups(len(involved), local), _SKETCH_BLOCK)
    pair_block = block_of_text[local[:, 0]]
    confirmed = [np.zeros((0, 2), dtype=np.int64)]
    for block in unique(pair_block).tolist():
        members = np.flatnonzero(block_of_text == block)  # ascending: local stays i < j
        chosen = involved[members].tolist()
        sub_titles = None if titles is None else [titles[i] for i in chosen]
        pairs = np.searchsorted(members, local[pair_block == block])
        sub_texts: Sequence[str]
        if isinstance(texts, TextColumn):  # only the texts that alignment reads are decoded
            sub_texts = texts.take(involved[members])
            shingles = shingle_texts(sub_texts.encoded, config)
        else:
            sub_texts = [texts[i] for i in chosen]
            sub_encoded = sub_texts if encoded is None else encoded.take(involved[members])
            shingles = shingle_texts(sub_encoded, config)
        kept = confirm_pairs(sub_texts, sub_titles, shingles, pairs, config)
        confirmed.append(involved[members[kept]])
    return unique_rows(np.concatenate(confirmed))[0]


def confirm_pairs(
    texts: Sequence[str],
    titles: Sequence[str | None] | None,
    shingles: Shingles,
    candidates: npt.NDArray[np.int64],
    config: DedupConfig,
) -> npt.NDArray[np.int64]:
    """The candidate pairs that are near-duplicates: size, set rules, alignment, then titles.

    Texts of fewer than config.min_shingles shingles are only ever exact copies; then
    verify_pairs (Jaccard or containment), check_alignment (copies along their length), and for
    a short text (fewer than config.min_containment_shingles shingles, ~40 words) the titles: two
    such texts with different known titles are different articles (a stub like "View
    Comments", a gallery caption template), because a few words of body cannot outweigh them.
    """
    pairs = np.ascontiguousarray(candidates, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return pairs
    sizes = shingles.sizes()
    pairs = pairs[np.minimum(sizes[pairs[:, 0]], sizes[pairs[:, 1]]) >= config.min_shingles]
    pairs = pairs[verify_pairs(shingles, pairs, config)]
    pairs = pairs[check_alignment(texts, shingles, pairs, config)]
    if titles is not None and len(pairs):
        short = shingles.sizes() < config.min_containment_shingles
        check = short[pairs[:, 0]] | short[pairs[:, 1]]
        a, b = _title_keys(titles, pairs[check, 0]), _title_keys(titles, pairs[check, 1])
        differ = np.zeros(len(pairs), dtype=bool)
        differ[check] = (a != "") & (b != "") & (a != b)
        pairs = pairs[~differ]
    return pairs


def exact_copy_keys(
    fingerprints: npt.NDArray[np.uint64],
    titles: Sequence[str | None] | None,
    sizes: npt.NDArray[np.int64],
    config: DedupConfig,
) -> npt.NDArray[np.uint64]:
    """Keys for group_exact_copies: the text fingerprint, with the title folded in for short texts
    (fewer than config.min_containment_shingles shingles; `sizes` is each text's number).

    As in confirm_pairs, identical short texts under different titles are different articles;
    a long text is a copy whatever its headline.
    """
    if titles is None:
        return fingerprints
    short = np.flatnonzero(sizes < config.min_containment_shingles)
    keys = _title_keys(titles, short)
    fold = short[keys != ""]
    if not len(fold):
        return fingerprints
    out = fingerprints.copy()
    out[fold] ^= text_fingerprints(keys[keys != ""].tolist())
    return out


def _title_keys(titles: Sequence[str | None], which: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """Lower-case alphanumeric key of the titles at `which` ("" when unknown)."""
    keys = char_keys([titles[i] or "" for i in which.tolist()])
    return np.array(keys, dtype=str) if keys else np.zeros(0, dtype=str)


def check_alignment(
    texts: Sequence[str], shingles: Shingles, pairs: npt.NDArray[np.int64], config: DedupConfig
) -> npt.NDArray[np.bool_]:
    """Which pairs are copies along their length (see uncovered_shares and DedupConfig).

    The smaller text must be (almost) all in the larger, its lead included; the start of the
    larger may hold more text the smaller lacks when it begins as the smaller does (a copy an
    editor cut a paragraph from) than when it begins with text of its own (a follow-up under a
    new lead). A follow-up or update whose lead is new is a different article, whatever it
    reuses.

    A window left uncovered lacks more than (1 - window_containment) of its shingles in the
    other text, so a pair where each side lacks fewer shingles than that times its smallest
    allowed share of the smaller text, and than that times a window, passes without cutting
    windows: the near-exact copies that make up most pairs in a big cluster of reprints.
    """
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    sizes = shingles.sizes()
    size_a, size_b = sizes[pairs[:, 0]], sizes[pairs[:, 1]]
    smaller, larger = np.minimum(size_a, size_b), np.maximum(size_a, size_b)
    inter = intersection_sizes(shingles, pairs)
    # Fewer missing shingles than that also leave no window, the lead included, uncovered.
    window = (1.0 - config.window_containment) * config.window_chars
    slack = (1.0 - config.window_containment) * smaller
    aligned = (smaller - inter < np.minimum(slack * config.max_uncovered_smaller, window)) & (
        larger - inter < np.minimum(slack * config.max_uncovered_new_lead, window)
    )
    rest = np.flatnonzero(~aligned)
    shares = np.concatenate(
        [np.zeros((0, 4))]
        + [
            uncovered_shares(texts, shingles, pairs[rest[lo : lo + _ALIGN_BLOCK]], config)
            for lo in range(0, len(rest), _ALIGN_BLOCK)
        ]
    )
    small_ok = (shares[:, 0] <= config.max_uncovered_smaller) & (shares[:, 2] == 0)
    large_ok = (shares[:, 1] <= config.max_uncovered_new_lead) | (
        (shares[:, 1] <= config.max_uncovered_larger) & (shares[:, 3] == 0)
    )
    aligned[rest] = small_ok & large_ok
    return aligned


def uncovered_shares(
    texts: Sequence[str], shingles: Shingles, pairs: npt.NDArray[np.int64], config: DedupConfig
) -> npt.NDArray[np.float64]:
    """How far each pair is from being a copy along its length, as shares of characters.

    Set similarity cannot tell a copy with noise spread thinly over it from a follow-up that
    reuses an earlier article under a new lead or with new paragraphs. Here the smaller text (by
    shingles), and as many characters from the start of the larger, are cut into windows of
    ~config.window_chars characters of their keys; a window is covered when at least
    config.window_containment of its shingles are in the other text. Windows never span two
    lines, and lines of fewer than config.min_line_words words are left out: a byline, headline
    or footer that a reprint adds or drops is not a difference of text. Looking at the start of
    the larger text lets a truncated reprint (a copy of the beginning) pass, but not an article
    that puts a new lead or new paragraphs before the text it shares.

    Args:
        texts: All texts (pairs index into them).
        shingles: Their shingle sets, as shingle_texts made them.
        pairs: (m, 2) pairs to check.
        config: Window size and window threshold.

    Returns:
        (m, 4) float64: per pair, the share of characters in uncovered windows of the smaller
        text, the same of the start of the larger, and for each 1.0 if its first window (its
        lead) is uncovered, else 0.0.
    """
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return np.zeros((0, 4), dtype=np.float64)
    sizes = shingles.sizes()
    swap = sizes[pairs[:, 0]] > sizes[pairs[:, 1]]
    small = np.where(swap, pairs[:, 1], pairs[:, 0])
    large = np.where(swap, pairs[:, 0], pairs[:, 1])
    cut = _TextWindows(texts, unique(pairs), config)
    # Per pair, three ranges of cut's windows: the smaller text's (side 2p, against the larger),
    # then those of the larger's first `budget` key characters (side 2p + 1, against the
    # smaller): its whole lines', and the line the budget ends in, cut short.
    s_doc, t_doc = cut.doc_of(small), cut.doc_of(large)
    whole_lo, whole_hi, short_lo, short_hi = cut.prefix_ranges(t_doc, cut.budget[s_doc])
    starts = np.stack([cut.range_lo[s_doc], whole_lo, short_lo], axis=1).ravel()
    ends = np.stack([cut.range_hi[s_doc], whole_hi, short_hi], axis=1).ravel()
    side = (2 * np.arange(len(pairs))[:, None] + np.array([0, 1, 1])).ravel()
    other = np.stack([large, small, small], axis=1).ravel()
    counts = ends - starts
    if counts.sum() == 0:
        return np.zeros((len(pairs), 4), dtype=np.float64)
    window = np.repeat(starts - np.cumsum(counts) + counts, counts)
    window += np.arange(len(window))
    owner = np.repeat(side, counts)
    against = np.repeat(other, counts)
    window_shingles = shingle_texts(cut.encoded(), config)
    w_offsets = window_shingles.offsets
    covered = np.empty(len(window), dtype=np.bool_)

    def work(lo: int, hi: int) -> None:
        _windows_covered(
            window_shingles.hashes, w_offsets[window[lo:hi]], w_offsets[window[lo:hi] + 1],
            shingles.hashes, shingles.offsets, against[lo:hi], config.window_containment, covered[lo:hi],
        )  # fmt: skip

    # The kernel releases the GIL: the two halves of the windows run in two threads.
    half = len(window) // 2
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda part: work(*part), [(0, half), (half, len(window))]))
    uncovered = ~covered
    length = cut.lengths[window]
    total = np.bincount(owner, weights=length, minlength=2 * len(pairs))
    missing = np.bincount(owner, weights=length * uncovered, minlength=2 * len(pairs))
    shares = np.divide(missing, total, out=np.zeros_like(missing), where=total > 0).reshape(-1, 2)
    # Windows of one side are consecutive, so each side's first window is its lead.
    first = np.r_[True, owner[1:] != owner[:-1]]
    lead = np.zeros(2 * len(pairs))
    lead[owner[first]] = uncovered[first]
    return np.column_stack([shares, lead.reshape(-1, 2)])


class _TextWindows:
    """The windows of each text's lines, cut once however many pairs the text is in.

    A window is a span of the code points of a line's key (minhash.key_code_points); a text's
    windows are consecutive, line by line (lines of fewer than config.min_line_words words have
    none). `prefix_ranges` gives the windows of texts' first `budget` key characters: those of
    their whole lines, then those of the line the budget cuts, cut short (made on demand and
    appended). Lines, keys and windows are cut in compiled passes over the encoded texts: no
    string per line or window.
    """

    def __init__(self, texts: Sequence[str], which: npt.NDArray[np.int64], config: DedupConfig) -> None:
        self.config = config
        self.which = which  # ascending indices of the texts
        # Only the lines' bytes are read (their keys' code points), so a TextColumn's texts are
        # taken as bytes: decoding them to strings to encode them again cost one core 4-7 s at
        # 10^6 articles.
        picked = (
            texts.take(which).encoded if isinstance(texts, TextColumn) else [texts[i] for i in which.tolist()]
        )
        lines = line_spans(picked)
        code_points, offsets = key_code_points(lines.spans)
        keep = np.diff(offsets) > 0  # lines without a key character have no key
        self.code_points = code_points
        self.line_lo, self.line_hi = offsets[:-1][keep], offsets[1:][keep]
        line_doc = lines.doc[keep]
        per_doc = np.bincount(line_doc, minlength=len(which))
        self.doc_lines = np.zeros(len(which) + 1, dtype=np.int64)  # doc d's lines: [d], [d + 1]
        np.cumsum(per_doc, out=self.doc_lines[1:])
        before = np.r_[0, np.cumsum(self.line_hi - self.line_lo)]  # key characters before a line
        self.line_end = before[1:] - np.repeat(before[self.doc_lines[:-1]], per_doc)  # within its doc
        self._end_before = np.r_[0, self.line_end]  # line_end of the line before each line
        self.budget = before[self.doc_lines[1:]] - before[self.doc_lines[:-1]]  # key characters
        self._big = int(self.budget.max(initial=0)) + 1
        self._line_key = line_doc * self._big + self.line_end  # ascending
        self.win_start, self.win_end, self.line_windows_end = self._cut(self.line_lo, self.line_hi, 0)
        self._windows_before = np.r_[0, self.line_windows_end]  # windows before each line
        self.range_lo = self._windows_before[self.doc_lines[:-1]]
        self.range_hi = self._windows_before[self.doc_lines[1:]]

    def doc_of(self, texts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The positions in `which` of texts (indices of the texts, each in `which`)."""
        return np.searchsorted(self.which, texts)

    def _cut(
        self, lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64], done: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Windows of the key spans [lo, hi): (starts, ends, windows up to the end of each span),
        numbered after the `done` windows already cut."""
        width = self.config.window_chars
        capacity = int(((hi - lo) // width + 1).sum())  # a window but the last takes width + 1
        starts, ends = np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64)
        span_end = np.empty(len(lo), dtype=np.int64)
        n = _cut_windows_kernel(
            self.code_points, lo, hi, width, self.config.min_line_words, starts, ends, span_end
        )
        return starts[:n], ends[:n], span_end + done

    def prefix_ranges(
        self, docs: npt.NDArray[np.int64], budgets: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], ...]:
        """Windows of the first budgets[k] key characters of each doc docs[k]: (lo, hi) of those of
        its whole lines, then (lo, hi) of the line the budget ends in, cut short (empty if none)."""
        first, last = self.doc_lines[docs], self.doc_lines[docs + 1]
        # Lines ending within the budget: line_end ascends within a doc, _line_key across docs.
        budgets = np.minimum(budgets, self._big - 1)
        whole = np.searchsorted(self._line_key, docs * self._big + budgets, side="right") - first
        whole_lo = self.range_lo[docs]
        whole_hi = self._windows_before[first + whole]
        used = np.where(whole > 0, self._end_before[first + whole], 0)
        short = np.flatnonzero((first + whole < last) & (budgets > used))
        line = (first + whole)[short]
        lo = self.line_lo[line]
        starts, ends, span_end = self._cut(lo, lo + (budgets - used)[short], len(self.win_start))
        short_lo, short_hi = np.zeros(len(docs), dtype=np.int64), np.zeros(len(docs), dtype=np.int64)
        short_hi[short] = span_end
        short_lo[short] = np.r_[len(self.win_start), span_end[:-1]]
        self.win_start = np.concatenate([self.win_start, starts])
        self.win_end = np.concatenate([self.win_end, ends])
        return whole_lo, whole_hi, short_lo, short_hi

    @property
    def lengths(self) -> npt.NDArray[np.float64]:
        """Characters of each window."""
        return (self.win_end - self.win_start).astype(np.float64)

    def encoded(self) -> EncodedTexts:
        """Every window as UTF-8 text."""
        return encode_code_points(self.code_points, self.win_start, self.win_end)

    def windows(self, lo: int, hi: int) -> list[str]:
        """Windows lo..hi-1 as strings."""
        spans = zip(self.win_start[lo:hi].tolist(), self.win_end[lo:hi].tolist(), strict=True)
        return [self.code_points[a:b].tobytes().decode("utf-32-le") for a, b in spans]


@njit(cache=True, nogil=True)
def _cut_windows_kernel(code_points, lo, hi, width, min_words, starts, ends, span_end):  # pragma: no cover
    """Windows of each key span [lo[l], hi[l]) of at least min_words words: consecutive pieces
    of about `width` characters, each ending at the first space `width` or more characters
    after its start (or at the span's end); words stay whole. Returns the number of windows;
    span_end[l] is the number up to the end of span l."""
    n = 0
    for s in range(lo.size):
        a, b = lo[s], hi[s]
        spaces = 0
        for j in range(a, b):
            spaces += code_points[j] == 32
        if spaces + 1 >= min_words:
            start = a
            while start < b:
                end = b
                for j in range(start + width, b):
                    if code_points[j] == 32:
                        end = j
                        break
                starts[n] = start
                ends[n] = end
                n += 1
                start = end + 1
        span_end[s] = n
    return n


@njit(cache=True, nogil=True)
def _windows_covered(
    w_hashes, w_starts, w_ends, d_hashes, d_offsets, other, containment, out
):  # pragma: no cover
    """For each window, whether at least `containment` of its (sorted) shingles are in its other
    text's sorted set (a window without shingles is covered).

    A window has ~300 shingles against a text's thousands, so each is looked up by galloping
    (exponential, then binary search) forward from the previous one's place. The count stops as
    soon as it settles the verdict: once `containment` of the window's shingles are found (most
    windows of a copy), or once too few are left to reach that share.
    """
    for w in range(out.shape[0]):
        j, j_end = d_offsets[other[w]], d_offsets[other[w] + 1]
        need = containment * (w_ends[w] - w_starts[w])
        n = 0
        for i in range(w_starts[w], w_ends[w]):
            if n >= need or n + (w_ends[w] - i) < need:
                break
            x = w_hashes[i]
            step = 1
            while j + step < j_end and d_hashes[j + step] < x:
                step *= 2
            lo, hi = j, min(j + step, j_end)  # d_hashes[lo:hi] holds the first value >= x, if any
            while lo < hi:
                mid = (lo + hi) // 2
                if d_hashes[mid] < x:
                    lo = mid + 1
                else:
                    hi = mid
            j = lo
            if j == j_end:
                break
            if d_hashes[j] == x:
                n += 1
        out[w] = n >= need


def choose_canonical(
    labels: npt.NDArray[np.int64],
    published: npt.NDArray[np.datetime64],
    lengths: npt.NDArray[np.int64],
    article_ids: Sequence[str],
) -> npt.NDArray[np.int64]:
    """For each article, the index of its group's canonical article.

    The canonical article is the earliest published (unknown dates last), then the longest
    text, then the smallest article_id (then the smallest index, should ids repeat).
    """
    n = len(labels)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    published_us = published.astype("datetime64[us]")
    time_key = published_us.view(np.int64).copy()
    time_key[np.isnat(published_us)] = np.iinfo(np.int64).max
    id_rank = dense_ranks(np.asarray(article_ids, dtype=str))
    index = np.arange(n)
    order = np.lexsort((index, id_rank, -lengths, time_key, labels))
    is_first = np.ones(n, dtype=bool)
    is_first[1:] = labels[order[1:]] != labels[order[:-1]]
    canonical_of_label = np.empty(n, dtype=np.int64)
    canonical_of_label[labels[order[is_first]]] = order[is_first]
    return canonical_of_label[labels]


def find_duplicates(
    texts: Sequence[str],
    article_ids: Sequence[str],
    published: npt.NDArray[np.datetime64],
    config: DedupConfig,
    minhash: MinHashConfig,
    titles: Sequence[str | None] | None = None,
    encoded: EncodedTexts | None = None,
) -> DuplicateResult:
    """Group exact and near-duplicate articles and choose one canonical article per group.

    Args:
        texts: Article texts.
        article_ids: One id per text (ties in the canonical choice go to the smallest).
        published: datetime64 publication times, NaT where unknown.
        config: Dedup thresholds.
        minhash: Signature parameters (num_perm, seed; scheme "affine32").
        titles: Article titles (None where unknown); short texts under different titles are
            not copies (see confirm_pairs). None: titles are not used.
        encoded: The texts as minhash.encode_texts gives them, if the caller has them (shared
            text does): they are then not encoded again.

    Returns:
        The duplicate groups, verified pairs and signatures of the batch.
    """
    n = len(texts)
    if len(article_ids) != n or len(published) != n:
        raise ValueError(
            f"texts, article_ids and published must have equal lengths, "
            f"got {n}, {len(article_ids)}, {len(published)}"
        )
    published = np.asarray(published)
    if n and not np.issubdtype(published.dtype, np.datetime64):
        raise ValueError(f"published must be datetime64, got {published.dtype}")

    if titles is not None and len(titles) != n:
        raise ValueError(f"titles must have {n} items, got {len(titles)}")

    if encoded is not None and len(encoded) != n:
        raise ValueError(f"encoded must hold {n} texts, got {len(encoded)}")
    sketches = sketch_texts(texts, config, minhash, encoded)
    representative = group_exact_copies(exact_copy_keys(sketches.text_hashes, titles, sketches.sizes, config))
    representatives = np.flatnonzero(representative == np.arange(n))
    candidates = find_all_candidates(sketches.signatures, sketches.prefix_bands, representatives, config)
    pairs = confirm_candidates(texts, titles, candidates, config, encoded)

    copies = np.flatnonzero(representative != np.arange(n))
    exact_pairs = np.stack([representative[copies], copies], axis=1)
    labels = connected_groups(n, np.concatenate([pairs, exact_pairs]))

    lengths = char_lengths(texts)  # counted in the buffer for a TextColumn
    group = choose_canonical(labels, published, lengths, article_ids)
    return DuplicateResult(
        group=group,
        is_canonical=group == np.arange(n),
        pairs=pairs,
        signatures=sketches.signatures,
        text_hashes=sketches.text_hashes,
    )
