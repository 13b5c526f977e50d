"""Near-duplicate articles: fingerprint -> candidates -> verify -> groups -> canonical."""

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from newsfold.config import DedupConfig, MinHashConfig
from newsfold.minhash import (
    EncodedTexts,
    MinHasher,
    Shingles,
    candidate_pairs,
    encode_texts,
    intersection_sizes,
    lsh_params,
    text_fingerprints,
    word_shingles,
)
from newsfold.unionfind import connected_groups

# A truncated reprint is found through LSH only if its Jaccard with the original clears the LSH
# threshold. A reprint keeping a fraction rho of the original, with containment c, has
# J = c * rho / (1 + rho - c * rho); we size the LSH for reprints keeping at least half the
# article (rho = 1/2), i.e. J = c / (3 - c): 0.43 at the default containment 0.9. Shorter
# excerpts are left to the exact containment check of pairs that are candidates anyway.
_MIN_REPRINT_FRACTION = 0.5


@dataclasses.dataclass(frozen=True)
class DuplicateResult:
    """Duplicate groups of a batch of articles.

    Attributes:
        group: (n,) int64, the index of the canonical article of each article's duplicate group.
        is_canonical: (n,) bool, True for the one article kept per group.
        pairs: (m, 2) int64 verified near-duplicate pairs (i < j) between distinct normalised
            texts; exact copies are grouped by fingerprint and not listed.
        signatures: (n, num_perm) uint32 word-shingle MinHash signatures (scheme "affine32").
    """

    group: npt.NDArray[np.int64]
    is_canonical: npt.NDArray[np.bool_]
    pairs: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]


def lsh_threshold(config: DedupConfig) -> float:
    """The Jaccard level LSH must recall: config.threshold, or lower for truncated reprints."""
    rho, c = _MIN_REPRINT_FRACTION, config.containment
    return min(config.threshold, c * rho / (1.0 + rho - c * rho))


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
    pairs = candidate_pairs(signatures[representatives], bands, rows)
    return representatives[pairs]  # representatives are ascending, so i < j still holds


def verify_pairs(
    shingles: Shingles, pairs: npt.NDArray[np.int64], config: DedupConfig
) -> npt.NDArray[np.bool_]:
    """Which candidate pairs are near-duplicates, from their exact shingle sets.

    A pair is a duplicate when its Jaccard is >= config.threshold, or when >= config.containment
    of the smaller doc's shingles are in the larger and the smaller has at least
    config.min_containment_shingles shingles (a truncated or footed reprint).
    """
    inter = intersection_sizes(shingles, pairs)
    sizes = shingles.sizes()
    size_i, size_j = sizes[pairs[:, 0]], sizes[pairs[:, 1]]
    smaller = np.minimum(size_i, size_j)
    union = size_i + size_j - inter
    similar = inter >= config.threshold * union
    contained = (inter >= config.containment * smaller) & (smaller >= config.min_containment_shingles)
    return (similar | contained) & (inter > 0)


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
    _, id_rank = np.unique(np.asarray(article_ids, dtype=str), return_inverse=True)
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
) -> DuplicateResult:
    """Group exact and near-duplicate articles and choose one canonical article per group.

    Args:
        texts: Article texts.
        article_ids: One id per text (ties in the canonical choice go to the smallest).
        published: datetime64 publication times, NaT where unknown.
        config: Dedup thresholds.
        minhash: Signature parameters (num_perm, seed; scheme "affine32").

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

    encoded: EncodedTexts = encode_texts(texts)
    representative = group_exact_copies(text_fingerprints(encoded))
    shingles = word_shingles(encoded, config.word_ngram)
    signatures = MinHasher(num_perm=minhash.num_perm, seed=minhash.seed).signatures(shingles)

    representatives = np.flatnonzero(representative == np.arange(n))
    candidates = find_candidates(signatures, representatives, lsh_threshold(config))
    pairs = candidates[verify_pairs(shingles, candidates, config)]

    copies = np.flatnonzero(representative != np.arange(n))
    exact_pairs = np.stack([representative[copies], copies], axis=1)
    labels = connected_groups(n, np.concatenate([pairs, exact_pairs]))

    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    group = choose_canonical(labels, published, lengths, article_ids)
    return DuplicateResult(
        group=group,
        is_canonical=group == np.arange(n),
        pairs=pairs,
        signatures=signatures,
    )
