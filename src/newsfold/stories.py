"""Story-event clustering: sparse TF-IDF, a time-windowed kNN graph, centroid agglomeration."""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.preprocessing import normalize

from newsfold.arrays import unique
from newsfold.config import StoryConfig
from newsfold.jit import njit
from newsfold.minhash import in_threads, thread_parts
from newsfold.text_column import TextColumn
from newsfold.tfidf import tfidf_vectors

# Rows per block of the neighbour search: each block allocates an n-sized accumulator (0.8 MB
# at 10^5 articles), and 2,048 rows amortise it while leaving dozens of blocks to balance.
_CHUNK_ROWS = 2048
# Rows per block of _top_rows: its output (16 bytes per kept entry, max_terms a row) is sized
# for the block, and each block zeroes accumulators as wide as the vocabulary.
_TOP_ROWS = 16_384
# The neighbour search runs in two threads: the target machine has two cores.
_THREADS = 2
# A term must be in more than this many articles (as well as in more than `max_df` of them) to
# be dropped as background, so a corpus of a handful of articles about one event keeps its words.
_MIN_BACKGROUND_DOCS = 10
_DAY_US = 86_400 * 1_000_000


class StoryClusterer:
    """Cluster articles into stories (events), following scikit-learn's estimator conventions.

    Articles (their first `max_chars` characters) become sparse TF-IDF vectors cut to their
    `max_terms` heaviest terms. Each article links to its `n_neighbors` most similar articles
    published within `window_days` (an inverted-index search; no n×n matrix is ever built).
    Every vector is then expanded with the mean of its neighbours' vectors (weight `expansion`),
    which gives two short texts on one event the words they lack. Finally clusters are
    agglomerated in rounds: two clusters adjacent in the graph merge when each is the other's
    most similar neighbour and the cosine of their mean vectors is at least `threshold`. A
    centroid, unlike a single link, has to stay on topic as a cluster grows, so one global cut
    serves both a tight event and a broad topic; the mean of many members also smooths the noise
    of short texts, so cluster pairs are judged more surely than article pairs. Two guards: the
    clusters' unexpanded means must be `background_ratio` times more alike than an article and
    unrelated ones are (expansion alone would pair off lone articles with their weak nearest
    neighbour), and no story may hold dated articles more than `window_days` apart.

    Attributes set by `fit`:
        labels_: int64 (n,), each article's story label: the smallest index of its members.
        top_terms_: story label -> its heaviest terms (up to 8).
        n_rounds_: agglomeration rounds run.
    """

    def __init__(
        self,
        threshold: float = 0.2,
        n_neighbors: int = 10,
        window_days: float = 7.0,
        max_df: float = 0.5,
        min_df: int = 2,
        max_terms: int = 64,
        expansion: float = 1.0,
        max_chars: int = 2000,
        background_ratio: float = 6.0,
        random_state: int = 0,
    ) -> None:
        self.threshold = threshold
        self.n_neighbors = n_neighbors
        self.window_days = window_days
        self.max_df = max_df
        self.min_df = min_df
        self.max_terms = max_terms
        self.expansion = expansion
        self.max_chars = max_chars
        self.background_ratio = background_ratio
        # Nothing here is random (ties break on content order); kept for the estimator API.
        self.random_state = random_state

    def fit(
        self,
        texts: Sequence[str],
        titles: Sequence[str | None] | None = None,
        published: npt.NDArray[np.datetime64] | None = None,
        must_link: npt.NDArray[np.integer] | None = None,
        rows: npt.NDArray[np.integer] | None = None,
    ) -> "StoryClusterer":
        """Cluster `texts` into stories.

        Args:
            texts: article bodies (any case, with or without stopwords).
            titles: optional titles, prepended to the bodies.
            published: optional datetime64 publication times, NaT where unknown; articles
                further apart than `window_days` are never linked nor in one story.
            must_link: optional (m, 2) index pairs known to be one story (a shared headline or
                syndicated passage); honoured unless the window forbids them.
            rows: optional indices of the texts to cluster (default: all); the other arguments
                and the labels are then per row. The docs are made from `texts` at those rows
                directly, so a caller's TextColumn needs no copy of its own (the canonical
                articles' prefixes were 1.5 GB at 10^6 articles, held through the whole fit).

        Returns:
            self, with `labels_` and `top_terms_` set.
        """
        self._check_params()
        if rows is not None and not isinstance(texts, TextColumn):
            texts, rows = [texts[i] for i in np.asarray(rows, dtype=np.int64).tolist()], None
        n = len(texts) if rows is None else len(rows)
        if titles is not None and len(titles) != n:
            raise ValueError(f"titles has {len(titles)} entries for {n} texts")
        days = _to_days(published, n)
        pairs = _check_pairs(must_link, n)

        # Each doc is the title over the body's first max_chars characters, held as its encoding
        # (a TextColumn: decoded only where two docs of one date are compared).
        cap = self.max_chars
        heads = titles if titles is not None else [None] * n
        column = texts if isinstance(texts, TextColumn) else TextColumn.from_texts([t or "" for t in texts])
        docs = column.headed(heads, cap, None if rows is None else np.asarray(rows, dtype=np.int64))
        del column  # made here from a list: only the docs are read from now on
        # Canonical order (date, then content): every tie below breaks on position in this
        # order, so the partition does not depend on the order the articles came in.
        order = _canonical_order(docs, days)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        docs = docs.take(order)
        days = days[order]
        pairs = rank[pairs]
        if n == 0:
            self.labels_, self.top_terms_, self.n_rounds_ = np.empty(0, dtype=np.int64), {}, 0
            return self

        x, vocabulary = self._vectorize(docs)
        # Nothing below reads the docs: their buffer (1.5 GB at 10^6 articles) goes now, not
        # when fit returns, so it is not held beside the rows' cut, the neighbour search and
        # agglomeration.
        del docs
        if x.shape[1]:  # no usable term: every article is its own story
            x = _top_rows(x, None, 0.0, self.max_terms)
        window = float(self.window_days)
        graph = _neighbour_graph(x, days, self.n_neighbors, window)
        background = _background_cosine(x, graph)
        if len(pairs):
            known = ~np.isnan(days[pairs[:, 0]]) & ~np.isnan(days[pairs[:, 1]])
            gap = np.abs(days[pairs[:, 0]] - days[pairs[:, 1]])
            pairs = pairs[~known | (gap <= window)]
        links = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        # Expansion reads each article's own neighbours (and must-links); merging may follow an
        # edge either way.
        graph = graph.maximum(links).maximum(links.T).tocsr()
        adjacency = graph.maximum(graph.T).tocsr()

        _, initial = connected_components(links, directed=False)
        del links
        # Merges also need the clusters' own (unexpanded) means to be clearly more alike than
        # unrelated articles are; capped at the threshold so that a corpus about a single story,
        # whose "unrelated" articles are all related, can still merge.
        min_raw = min(float(self.background_ratio) * background, float(self.threshold))
        # The expanded rows are made in the call, so that agglomeration holds the only
        # reference and drops them once its cluster means have copied them.
        canonical_labels, self.n_rounds_ = _agglomerate(
            self._expand(x, graph), x, adjacency, initial, float(self.threshold), min_raw, days, window
        )

        labels = np.empty(n, dtype=np.int64)
        labels[order] = canonical_labels
        self.labels_ = _smallest_member(labels)
        self.top_terms_ = _story_terms(x, canonical_labels, self.labels_[order], vocabulary, 8)
        return self

    def top_terms(self, label: int, k: int = 8) -> list[str]:
        """The heaviest terms of story `label` (at most min(k, 8))."""
        return self.top_terms_[label][:k]

    def _check_params(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        if not self.window_days > 0:
            raise ValueError(f"window_days must be positive, got {self.window_days}")
        if not 0.0 < self.max_df <= 1.0:
            raise ValueError(f"max_df must be in (0, 1], got {self.max_df}")
        if self.min_df < 1:
            raise ValueError(f"min_df must be >= 1, got {self.min_df}")
        if self.max_terms < 1:
            raise ValueError(f"max_terms must be >= 1, got {self.max_terms}")
        if self.expansion < 0:
            raise ValueError(f"expansion must be >= 0, got {self.expansion}")
        if self.max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {self.max_chars}")
        if self.background_ratio < 0:
            raise ValueError(f"background_ratio must be >= 0, got {self.background_ratio}")

    def _expand(self, x: sp.csr_matrix, graph: sp.csr_matrix) -> sp.csr_matrix:
        """Each row plus `expansion` times the mean of its neighbours' rows in `graph`, cut to its
        `max_terms` heaviest terms and normalised (x itself without expansion)."""
        if self.expansion > 0 and x.shape[1] > 0:
            return _top_rows(x, normalize(graph, norm="l1"), self.expansion, self.max_terms)
        return x

    def _vectorize(self, docs: TextColumn) -> tuple[sp.csr_matrix, npt.NDArray[np.str_]]:
        """L2-normalised TF-IDF rows (fit cuts them to their `max_terms` heaviest terms), and the
        vocabulary."""
        n = len(docs)
        max_df_docs = max(int(self.max_df * n), _MIN_BACKGROUND_DOCS)
        try:
            # Equal to TfidfVectorizer(lowercase=True, stop_words="english", sublinear_tf=True,
            # min_df, max_df, dtype=float64), ~10x faster (tokenised in compiled code).
            x, vocabulary = tfidf_vectors(
                docs.encoded, min_df=min(self.min_df, max(n, 1)), max_df=max_df_docs, dtype=np.float64
            )
        except ValueError:  # no document has a usable term: every article is its own story
            return sp.csr_matrix((n, 0)), np.array([], dtype=str)
        return x, vocabulary


def cluster_stories(
    texts: Sequence[str],
    titles: Sequence[str | None] | None,
    published: npt.NDArray[np.datetime64] | None,
    must_link: npt.NDArray[np.integer] | None,
    config: StoryConfig,
    rows: npt.NDArray[np.integer] | None = None,
) -> tuple[npt.NDArray[np.int64], dict[int, list[str]]]:
    """Story labels (smallest member index) and each story's top terms, as the pipeline needs
    (of the texts `rows` only, if given: see StoryClusterer.fit)."""
    clusterer = StoryClusterer(
        threshold=config.threshold,
        n_neighbors=config.n_neighbors,
        window_days=config.window_days,
        max_df=config.max_df,
        min_df=config.min_df,
        max_terms=config.max_terms,
        expansion=config.expansion,
        max_chars=config.max_chars,
        background_ratio=config.background_ratio,
        random_state=config.random_state,
    ).fit(texts, titles, published, must_link, rows)
    return clusterer.labels_, clusterer.top_terms_


# ---- helpers ------------------------------------------------------------------------------------


def _to_days(published: npt.NDArray[np.datetime64] | None, n: int) -> npt.NDArray[np.float64]:
    """Publication times as float days since the epoch, NaN where unknown."""
    if published is None:
        return np.full(n, np.nan)
    stamps = np.asarray(published).astype("datetime64[us]")
    if stamps.shape != (n,):
        raise ValueError(f"published has shape {stamps.shape}, expected ({n},)")
    days = stamps.astype(np.int64) / _DAY_US
    days[np.isnat(stamps)] = np.nan
    return days


def _check_pairs(must_link: npt.NDArray[np.integer] | None, n: int) -> npt.NDArray[np.int64]:
    if must_link is None or len(must_link) == 0:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.asarray(must_link)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
        raise ValueError(f"must_link must be an (m, 2) integer array, got {pairs.dtype} {pairs.shape}")
    if pairs.min() < 0 or pairs.max() >= n:
        raise ValueError(f"must_link indices must be in [0, {n})")
    return pairs.astype(np.int64)


def _canonical_order(docs: Sequence[str], days: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Dated articles by date then text, undated ones after them by text (stable for equal keys):
    ``sorted(range(n), key=lambda i: (0, days[i], docs[i]) if dated else (1, 0.0, docs[i]))``,
    with the dates sorted in numpy and only runs of equal dates ordered by text in Python (a
    tuple a document took 0.7 s at 3*10^5 articles)."""
    undated = np.isnan(days)
    order = np.lexsort((np.where(undated, 0.0, days), undated))
    key_days = np.where(undated, np.inf, days)[order]  # the undated: one run, after every date
    same = np.r_[0, (key_days[1:] == key_days[:-1]).astype(np.int8), 0]
    edges = np.flatnonzero(np.diff(same))  # where runs of equal keys start and end, in turn
    for lo, hi in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        run = order[lo : hi + 1].tolist()  # in index order: lexsort is stable
        order[lo : hi + 1] = sorted(run, key=docs.__getitem__)
    return order.astype(np.int64)


def _smallest_member(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Relabel a partition so that each label is the smallest index among its members."""
    if len(labels) == 0:
        return labels.astype(np.int64)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    return first[inverse].astype(np.int64)


def _top_rows(x: sp.csr_matrix, weights: sp.csr_matrix | None, expansion: float, m: int) -> sp.csr_matrix:
    """``normalize(top_m(x + expansion * (weights @ x)))`` (x alone when weights is None) to the
    bit, for top_m each row's m largest entries (ties: the smaller column), in one compiled pass
    per row and in two threads.

    The scipy expression built every intermediate matrix whole: a row has up to n_neighbors ×
    max_terms entries before the cut (~700; 7·10^7 at 10^5 articles), summed, sorted, cut and
    normalised in four passes. Here a row's sums go to a dense accumulator in scipy's order (the
    product accumulates over the weight row's entries in storage order; the sum adds x once),
    and only the kept entries are written.
    """
    x = sp.csr_matrix(x)
    n, n_cols = x.shape
    weights = sp.csr_matrix((n, n)) if weights is None else sp.csr_matrix(weights)
    x_indptr, w_indptr = x.indptr.astype(np.int64), weights.indptr.astype(np.int64)
    x_data, w_data = x.data.astype(np.float64, copy=False), weights.data.astype(np.float64, copy=False)

    def block(start: int, stop: int) -> sp.csr_matrix:
        out_indices = np.empty((stop - start) * m, dtype=np.int64)
        out_data = np.empty((stop - start) * m, dtype=np.float64)
        counts = np.zeros(stop - start, dtype=np.int64)
        _top_rows_kernel(
            x_indptr, x.indices, x_data, w_indptr, weights.indices, w_data, float(expansion), m,
            n_cols, start, stop, out_indices, out_data, counts,
        )  # fmt: skip
        indptr = np.zeros(stop - start + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        keep = (np.arange(m)[None, :] < counts[:, None]).ravel()
        return sp.csr_matrix((out_data[keep], out_indices[keep], indptr), shape=(stop - start, n_cols))

    return _row_blocks(x, block, _TOP_ROWS)


def _row_blocks(x: sp.csr_matrix, work: Callable[[int, int], sp.csr_matrix], rows: int) -> sp.csr_matrix:
    """work(start, stop) for blocks of `rows` rows of x, stacked: for row-wise steps, the rows
    the whole matrix would give. The kernels release the GIL: blocks run in two threads."""
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        starts = range(0, x.shape[0], rows)
        blocks = list(pool.map(lambda lo: work(lo, min(lo + rows, x.shape[0])), starts))
    return sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix(x.shape)


def _background_cosine(x: sp.csr_matrix, graph: sp.csr_matrix) -> float:
    """Mean cosine between an article and the articles outside its graph neighbours.

    What an article shares with unrelated news: high in a small corpus whose IDF cannot yet
    tell generic words ("town", "said") from telling ones, near 0 for short texts. Computed in
    O(nnz): x_i · Σ_j x_j, minus itself and its neighbours, over the remaining count.
    """
    n = x.shape[0]
    total = np.asarray(x.sum(axis=0)).ravel()
    own = np.asarray(x.multiply(x).sum(axis=1)).ravel()
    near = np.asarray(graph.sum(axis=1)).ravel()
    rest = n - 1 - np.diff(graph.tocsr().indptr)
    ok = rest > 0
    if not ok.any():
        return 0.0
    return float(np.mean(((x @ total) - own - near)[ok] / rest[ok]))


def _neighbour_graph(x: sp.csr_matrix, days: npt.NDArray[np.float64], k: int, window: float) -> sp.csr_matrix:
    """Each row's k most similar other rows (cosine > 0) published within `window` days.

    An inverted-index search: a row's similarities accumulate over the posting lists of its
    terms, then its best k are kept, so no similarity matrix is ever built. Rows are in
    canonical order (dated ones sorted by date, then the undated), so a dated row only scans the
    slice of each posting list inside its window, plus the undated tail. Blocks of rows run in
    two threads (the kernel releases the GIL).
    """
    n = x.shape[0]
    x = x.tocsr()
    xt = x.T.tocsr()
    xt.sort_indices()
    n_dated = int(np.count_nonzero(~np.isnan(days)))
    dated = days[:n_dated]
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, n_dated, dtype=np.int64)
    lo[:n_dated] = np.searchsorted(dated, dated - window, side="left")
    hi[:n_dated] = np.searchsorted(dated, dated + window, side="right")
    # where each posting list's undated tail starts (postings are sorted by row)
    dated_end = xt.indptr[:-1] + np.bincount(x.indices[: x.indptr[n_dated]], minlength=x.shape[1])
    blocks = [(s, min(s + _CHUNK_ROWS, n)) for s in range(0, n, _CHUNK_ROWS)]

    def run(block: tuple[int, int]) -> tuple[npt.NDArray[np.int64], ...]:
        return _knn_block(
            x.indptr, x.indices, x.data, xt.indptr, xt.indices, xt.data, dated_end, lo, hi, n_dated, k,
            *block,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        parts = list(pool.map(run, blocks))
    if not parts:
        return sp.csr_matrix((n, n))
    rows, cols, vals = (np.concatenate([p[i] for p in parts]) for i in range(3))
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def _agglomerate(
    x: sp.csr_matrix,
    raw: sp.csr_matrix,
    graph: sp.csr_matrix,
    initial: npt.NDArray[np.integer],
    threshold: float,
    min_raw: float,
    days: npt.NDArray[np.float64],
    window: float,
) -> tuple[npt.NDArray[np.int64], int]:
    """Merge mutually most similar adjacent clusters while the cosine of their means >= threshold.

    Centroid-linkage agglomeration restricted to pairs of clusters joined by a graph edge, run in
    rounds. Every cluster picks its most similar neighbour (ties: smaller index); mutual picks
    merge, and so does each cluster whose pick is one of a merging pair (a "follower") provided
    it is still >= threshold to the merged group's mean without itself. Followers let a large
    cluster take in all the fragments that chose it in one round instead of one per round (a
    long-running story otherwise needs a round per fragment). No merge may leave a story whose
    dated articles span more than `window` days.

    `x` holds the expanded vectors the threshold applies to; `raw` the articles' own. Expansion
    lends every article some of its neighbours' words, even when its neighbours are merely the
    least unrelated articles around, so it also makes two such articles look alike. A merge
    therefore also needs the cosine of the two clusters' raw means to be at least `min_raw`.

    Only pairs passing these tests are kept between rounds, and only the pairs of changed
    clusters are recomputed.
    """
    n = x.shape[0]
    labels = np.unique(initial, return_inverse=True)[1].astype(np.int64)
    if n < 2 or x.shape[1] == 0:
        return labels, 0
    k = int(labels.max()) + 1
    membership = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    size = np.asarray(membership.sum(axis=1)).ravel()
    store, sq = _mean_store(x, membership, size)
    del x  # the caller made the expanded rows for this call: they go now (0.8 GB at 10^6)
    raw_store, raw_sq = _mean_store(raw, membership, size)
    del membership
    graph = graph.tocsr()
    # each cluster's first and last publication day (±inf while it has no dated article)
    first_day = np.full(k, np.inf)
    last_day = np.full(k, -np.inf)
    np.minimum.at(first_day, labels, np.where(np.isnan(days), np.inf, days))
    np.maximum.at(last_day, labels, np.where(np.isnan(days), -np.inf, days))

    def span(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Days between the first and last dated article of a ∪ b (-inf if none is dated)."""
        return np.maximum(last_day[a], last_day[b]) - np.minimum(first_day[a], first_day[b])

    def cosine(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        # a must-linked text without terms has a zero mean: guard the division
        return store.dots(a, b) / np.sqrt(np.maximum(sq[a] * sq[b], 1e-24))

    def raw_cosine(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return raw_store.dots(a, b) / np.sqrt(np.maximum(raw_sq[a] * raw_sq[b], 1e-24))

    def similar_pairs(
        docs: npt.NDArray[np.int64],
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Cluster pairs joined by an edge from one of `docs`, with similarity >= threshold."""
        sub = graph[docs]
        a = labels[np.repeat(docs, np.diff(sub.indptr))]
        b = labels[sub.indices]
        a, b = np.minimum(a, b), np.maximum(a, b)
        keys = unique(a[a != b] * k + b[a != b])
        a, b = keys // k, keys % k
        in_span = span(a, b) <= window
        a, b = a[in_span], b[in_span]
        sim = cosine(a, b)
        ok = sim >= threshold
        a, b, sim = a[ok], b[ok], sim[ok]
        ok = raw_cosine(a, b) >= min_raw
        return a[ok], b[ok], sim[ok]

    pair_a, pair_b, pair_sim = similar_pairs(np.arange(n))
    rounds = 0
    # A round's work is its pairs' clusters, not all k (late rounds merge a handful of clusters;
    # at 4*10^5 articles there were ~90 rounds): the scratch arrays below are kept across rounds
    # and put back where a round wrote, and each cluster's articles are a linked list, so that
    # relabelling and finding the changed clusters' articles walk those articles only.
    best = np.full(k, -1, dtype=np.int64)
    in_pair = np.zeros(k, dtype=bool)
    root = np.arange(k)
    changed = np.zeros(k, dtype=bool)
    first_doc, last_doc, next_doc = _member_lists(labels, k)
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        while len(pair_a):
            src = np.concatenate([pair_a, pair_b])
            dst = np.concatenate([pair_b, pair_a])
            order = np.lexsort((dst, -np.concatenate([pair_sim, pair_sim]), src))
            src, dst = src[order], dst[order]
            first = np.concatenate([[True], src[1:] != src[:-1]])
            has = src[first]  # ascending; every pair's clusters (each is the source of an edge)
            best[has] = dst[first]
            in_pair[has[best[best[has]] == has]] = True  # the best pair overall is always mutual
            paired = has[in_pair[has]]
            root[paired] = np.minimum(paired, best[paired])
            followers = has[~in_pair[has] & in_pair[best[has]]]
            root[followers] = root[best[followers]]
            if len(followers):
                # cosine of each follower with its group's mean leaving the follower out:
                # |S - s·m|² = |S|² - 2·s·(m·S) + s²·|m|² for group sum S, follower mean m, size s
                sums, heads = store.group_sums(has[root[has] != has], root, size)
                group = np.searchsorted(heads, root[followers])
                sums_sq = np.asarray(sums.multiply(sums).sum(axis=1)).ravel()[group]
                s_f, sq_f = size[followers], sq[followers]
                dot_full = store.dots_with(followers, sums, group)
                rest_sq = np.maximum(sums_sq - 2 * s_f * dot_full + s_f**2 * sq_f, 1e-24)
                sim = (dot_full - s_f * sq_f) / np.sqrt(np.maximum(sq_f * rest_sq, 1e-24))
                rejected = followers[sim < threshold]
                root[rejected] = rejected
                # followers on both sides of their group in time may stretch it past the window
                # (a group's clusters are all in `has`, its head among them)
                group = np.searchsorted(has, root[has])
                group_first, group_last = first_day[has], last_day[has]
                np.minimum.at(group_first, group, first_day[has])
                np.maximum.at(group_last, group, last_day[has])
                group = np.searchsorted(has, root[followers])
                too_long = followers[group_last[group] - group_first[group] > window]
                root[too_long] = too_long
            merged = has[root[has] != has]
            heads = unique(root[merged])
            # sizes count articles: sums of whole numbers, exact in any order
            head_size: npt.NDArray[np.float64] = size[heads] + np.bincount(
                np.searchsorted(heads, root[merged]), weights=size[merged], minlength=len(heads)
            )
            # The expanded and the raw means are independent: two threads (scipy releases the GIL).
            for job in [
                pool.submit(_merge_means, row_store, row_sq, merged, root, size, heads, head_size)
                for row_store, row_sq in ((store, sq), (raw_store, raw_sq))
            ]:
                job.result()
            size[merged] = 0
            size[heads] = head_size
            np.minimum.at(first_day, root[merged], first_day[merged])
            np.maximum.at(last_day, root[merged], last_day[merged])
            _relabel(merged, root, labels, first_doc, last_doc, next_doc)
            changed[merged] = changed[heads] = True
            stale = changed[pair_a] | changed[pair_b]
            # the changed clusters' articles: the merged ones' are the heads' now
            docs = _members(heads, first_doc, next_doc, int(head_size.sum()))
            new_a, new_b, new_sim = similar_pairs(docs)
            pair_a = np.concatenate([pair_a[~stale], new_a])
            pair_b = np.concatenate([pair_b[~stale], new_b])
            pair_sim = np.concatenate([pair_sim[~stale], new_sim])
            changed[merged] = changed[heads] = False
            best[has], in_pair[has], root[has] = -1, False, has
            rounds += 1
    return np.unique(labels, return_inverse=True)[1].astype(np.int64), rounds


def _mean_store(
    x: sp.csr_matrix, membership: sp.csr_matrix, size: npt.NDArray[np.float64]
) -> tuple["_RowStore", npt.NDArray[np.float64]]:
    """The clusters' mean rows of x in a store, and their squared norms: the store of
    ``means = diags(1 / size) @ (membership @ x)`` and ``means.multiply(means).sum(axis=1)`` of
    its rows sorted by column (as the scipy code this replaces summed them, once its store had
    sorted them in place), to the bit, in one compiled pass over the members' rows in two
    threads (_means_kernel).

    scipy's products, the store's sorting of each row's columns and its copies in its own types
    ran on one core: 6.3 idle core-s of the 10^6 profile (835ba78), for means that are nearly
    all a single article's row.
    """
    x = x.tocsr()
    n_clusters = membership.shape[0]
    m_indptr = membership.indptr.astype(np.int64)
    members = np.diff(m_indptr)
    row_nnz = np.diff(x.indptr).astype(np.int64)
    bound = np.zeros(n_clusters, dtype=np.int64)  # a mean has at most its members' entries
    filled = np.flatnonzero(members)
    if len(filled):
        bound[filled] = np.add.reduceat(row_nnz[membership.indices], m_indptr[filled])
    region = np.zeros(n_clusters + 1, dtype=np.int64)
    np.cumsum(bound, out=region[1:])
    start = np.zeros(n_clusters, dtype=np.int64)
    length = np.zeros(n_clusters, dtype=np.int64)
    indices = np.empty(int(region[-1]), dtype=np.int32)
    data = np.empty(int(region[-1]), dtype=np.float64)
    sq = np.zeros(n_clusters, dtype=np.float64)
    args = (m_indptr, membership.indices, x.indptr.astype(np.int64), x.indices, x.data.astype(np.float64))
    inv_size = 1.0 / np.asarray(size, dtype=np.float64)

    def work(lo: int, hi: int) -> None:
        # A part's rows are packed from its region's start on; their squares are summed as
        # scipy sums a row (np.add.reduceat over the sorted row: pairwise, so over exactly it).
        used = _means_kernel(*args, inv_size, lo, hi, x.shape[1], region[lo], start, length, indices, data)
        squares = data[region[lo] : region[lo] + used] ** 2
        begin = start[lo:hi] - region[lo]
        nonzero = squares != 0.0
        if not nonzero.all():  # multiply() drops a square that underflows to 0
            before = np.zeros(len(squares) + 1, dtype=np.int64)
            np.cumsum(nonzero, out=before[1:])
            squares, begin = squares[nonzero], before[begin]
        counts = np.diff(np.r_[begin, len(squares)])
        rows = np.flatnonzero((length[lo:hi] > 0) & (counts > 0))
        if len(rows):
            sq[lo + rows] = np.add.reduceat(squares, begin[rows])

    in_threads(work, thread_parts(bound))
    return _RowStore(x.shape[1], start, length, indices, data), sq


@njit(cache=True, nogil=True, inline="always")
def _sum_rows(rows, x_indptr, x_indices, x_data, sums, following):  # pragma: no cover - compiled
    """Add the rows `rows` of x into the dense `sums` as scipy's product does (rows in order,
    each entry times 1.0), pushing each column touched first on the list held in `following`
    (-1: not on it); returns the list's head (the column first touched last; -2: empty) and
    its length."""
    head = -2
    touched = 0
    for j in rows:
        for kk in range(x_indptr[j], x_indptr[j + 1]):
            k = x_indices[kk]
            sums[k] += 1.0 * x_data[kk]
            if following[k] == -1:
                following[k] = head
                head = k
                touched += 1
    return head, touched


@njit(cache=True, nogil=True)
def _means_kernel(
    m_indptr,
    m_indices,
    x_indptr,
    x_indices,
    x_data,
    inv_size,
    lo,
    hi,
    n_cols,
    first,
    start,
    length,
    out_indices,
    out_data,
):  # pragma: no cover - compiled
    """Mean rows lo..hi-1 as scipy computes ``diags(inv_size) @ (membership @ x)``, each written
    sorted by column from `first` on (start, length); returns the entries written.

    scipy's product sums a cluster's member rows into a dense row (members in storage order)
    and lists the columns in reverse order of first touch, zero sums dropped; the diagonal's
    product multiplies each by 1/size (dropping zeros again) and reverses the order back.
    """
    sums = np.zeros(n_cols, dtype=np.float64)
    following = np.full(n_cols, -1, dtype=np.int64)
    cols = np.empty(n_cols, dtype=np.int64)
    vals = np.empty(n_cols, dtype=np.float64)
    end = first
    for g in range(lo, hi):
        head, touched = _sum_rows(
            m_indices[m_indptr[g] : m_indptr[g + 1]], x_indptr, x_indices, x_data, sums, following
        )
        # The list runs in reverse order of first touch: filled from the back, the columns are
        # in first-touch order, the diagonal product's.
        position = touched
        while head != -2:
            position -= 1
            cols[position] = head
            vals[position] = sums[head]
            temp = head
            head = following[temp]
            following[temp] = -1
            sums[temp] = 0.0
        n = 0
        for t in range(touched):
            v = vals[t]
            if v != 0.0:
                v = inv_size[g] * v
                if v != 0.0:
                    cols[n] = cols[t]
                    vals[n] = v
                    n += 1
        order = np.argsort(cols[:n])
        start[g] = end
        length[g] = n
        for t in range(n):
            out_indices[end + t] = cols[order[t]]
            out_data[end + t] = vals[order[t]]
        end += n
    return end - first


def _merge_means(
    row_store: "_RowStore",
    row_sq: npt.NDArray[np.float64],
    moving: npt.NDArray[np.int64],
    root: npt.NDArray[np.int64],
    size: npt.NDArray[np.float64],
    heads: npt.NDArray[np.int64],
    head_size: npt.NDArray[np.float64],
) -> None:
    """One round's merges into a store of cluster means (and their squared norms in row_sq):
    each head r (ascending) gets the size-weighted mean of {r} ∪ {i in moving : root[i] = r},
    of head_size articles; the moving clusters' rows become empty."""
    sums, _ = row_store.group_sums(moving, root, size)
    means = (sp.diags(1.0 / head_size) @ sums).tocsr()
    row_store.replace(heads, moving, means)
    row_sq[heads] = np.asarray(means.multiply(means).sum(axis=1)).ravel()


@njit(cache=True, nogil=True)
def _relabel(merged, root, labels, first_doc, last_doc, next_doc):  # pragma: no cover - compiled
    """Cluster m of `merged` into root[m]: its articles relabelled and its list appended to the
    root's."""
    for m in merged:
        r = root[m]
        d = first_doc[m]
        while d != -1:
            labels[d] = r
            d = next_doc[d]
        next_doc[last_doc[r]] = first_doc[m]
        last_doc[r] = last_doc[m]
        first_doc[m] = last_doc[m] = -1


@njit(cache=True, nogil=True)
def _members(clusters, first_doc, next_doc, total):  # pragma: no cover - compiled
    """The articles of `clusters` (`total` of them), cluster by cluster."""
    out = np.empty(total, dtype=np.int64)
    n = 0
    for c in clusters:
        d = first_doc[c]
        while d != -1:
            out[n] = d
            n += 1
            d = next_doc[d]
    return out


def _member_lists(
    labels: npt.NDArray[np.int64], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each cluster's articles as a linked list (first, last and next article; -1 ends a list)."""
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    first_doc = np.full(k, -1, dtype=np.int64)
    last_doc = np.full(k, -1, dtype=np.int64)
    first_doc[ordered[starts]] = order[starts]
    last_doc[ordered[starts]] = order[ends]
    next_doc = np.full(len(labels), -1, dtype=np.int64)
    same = ordered[1:] == ordered[:-1]
    next_doc[order[:-1][same]] = order[1:][same]
    return first_doc, last_doc, next_doc


class _RowStore:
    """Cluster mean rows (sorted column indices) in append-only buffers; a merge appends rows."""

    def __init__(
        self,
        n_cols: int,
        start: npt.NDArray[np.int64],
        length: npt.NDArray[np.int64],
        indices: npt.NDArray[np.int32],
        data: npt.NDArray[np.float64],
    ) -> None:
        """A store over buffers laid out already (each row's columns sorted; gaps are garbage):
        row r is indices/data[start[r] : start[r] + length[r]]. The store owns the buffers
        (replace() resizes them in place)."""
        self.n_cols, self.start, self.length = n_cols, start, length
        self.indices, self.data, self.used = indices, data, len(data)

    def rows(self, ids: npt.NDArray[np.int64]) -> sp.csr_matrix:
        """The rows `ids` as a CSR matrix."""
        lengths = self.length[ids]
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        positions = np.repeat(self.start[ids] - indptr[:-1], lengths) + np.arange(indptr[-1])
        return sp.csr_matrix(
            (self.data[positions], self.indices[positions], indptr), shape=(len(ids), self.n_cols)
        )

    def group_sums(
        self, moving: npt.NDArray[np.int64], root: npt.NDArray[np.int64], size: npt.NDArray[np.float64]
    ) -> tuple[sp.csr_matrix, npt.NDArray[np.int64]]:
        """Size-weighted row sums of each group {r} ∪ {i in moving : root[i] = r}, for the heads
        r = root[moving] (ascending, returned too): row g is head g's group, its members added in
        ascending order."""
        heads = unique(root[moving])
        involved = unique(np.concatenate([moving, heads]))
        weights = sp.csr_matrix(
            (size[involved], (np.searchsorted(heads, root[involved]), np.arange(len(involved)))),
            shape=(len(heads), len(involved)),
        )
        return (weights @ self.rows(involved)).tocsr(), heads

    def dots(self, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Dot products of stored rows a[i] and b[i].

        The longer row of each pair is scattered into a dense buffer once for all its pairs and
        the shorter one read against it, so a large cluster's mean (thousands of terms) costs
        its length once per round, not once per neighbour.
        """
        swap = self.length[a] < self.length[b]
        long, short = np.where(swap, b, a), np.where(swap, a, b)
        order = np.argsort(long, kind="stable")
        out = np.empty(len(a), dtype=np.float64)
        out[order] = _pair_dots(
            self.start,
            self.length,
            self.indices,
            self.data,
            long[order],
            self.start,
            self.length,
            self.indices,
            self.data,
            short[order],
            self.n_cols,
        )
        return out

    def dots_with(
        self, a: npt.NDArray[np.int64], other: sp.csr_matrix, other_rows: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Dot product of stored row a[i] with row other_rows[i] of `other` (each row of
        `other` is scattered once for all the pairs that use it)."""
        other = other.tocsr()
        order = np.argsort(other_rows, kind="stable")
        out = np.empty(len(a), dtype=np.float64)
        out[order] = _pair_dots(
            other.indptr[:-1].astype(np.int64),
            np.diff(other.indptr).astype(np.int64),
            other.indices.astype(np.int64),
            other.data.astype(np.float64),
            other_rows[order],
            self.start,
            self.length,
            self.indices,
            self.data,
            a[order],
            self.n_cols,
        )
        return out

    def replace(self, ids: npt.NDArray[np.int64], dead: npt.NDArray[np.int64], rows: sp.csr_matrix) -> None:
        """Rows `ids` become `rows` (appended to the buffers); rows `dead` become empty."""
        rows = rows.tocsr()
        rows.sort_indices()
        self.length[dead] = 0
        self.length[ids] = 0  # their old rows are garbage from here on
        need = self.used + rows.nnz
        if need > len(self.data):
            # Full: the live rows are moved down over the garbage in place when that frees a
            # quarter of the buffer (so each move is paid for by as many appends), and the
            # buffer grows by half in place otherwise (realloc, which moves pages rather than
            # bytes; np.resize built a copy twice the old size and took 1-3 s a time at 4*10^5
            # articles). Neither changes a row's values.
            live = int(self.length.sum())
            if self.used - live >= len(self.data) // 4:
                order = np.flatnonzero(self.length)
                order = order[np.argsort(self.start[order], kind="stable")]
                self.used = _compact_rows(order, self.start, self.length, self.indices, self.data)
                need = self.used + rows.nnz
            if need > len(self.data):
                capacity = max(need, len(self.data) + len(self.data) // 2)
                self.indices.resize(capacity, refcheck=False)  # the store holds the only reference
                self.data.resize(capacity, refcheck=False)
        self.indices[self.used : need] = rows.indices
        self.data[self.used : need] = rows.data
        self.start[ids] = self.used + rows.indptr[:-1]
        self.length[ids] = np.diff(rows.indptr)
        self.used = need


@njit(cache=True, nogil=True)
def _compact_rows(order, start, length, indices, data):  # pragma: no cover - compiled
    """Rows `order` (live, by ascending start) moved down to the front of the buffers, in that
    order, each row's start updated; returns the entries they fill."""
    end = 0
    for r in order:
        s = start[r]
        if s != end:
            for t in range(length[r]):  # forward: a row only moves down
                indices[end + t] = indices[s + t]
                data[end + t] = data[s + t]
            start[r] = end
        end += length[r]
    return end


def _story_terms(
    x: sp.csr_matrix,
    canonical_labels: npt.NDArray[np.int64],
    story_labels: npt.NDArray[np.int64],
    vocabulary: npt.NDArray[np.str_],
    k: int,
) -> dict[int, list[str]]:
    """Each story's k heaviest terms in the sum of its members' TF-IDF vectors (ties: the term
    first in the vocabulary), heaviest first.

    The sums of ``membership @ x`` and their top k, in one compiled pass in two threads
    (_story_columns): scipy's product, a sort of every story's row and a lexsort per story ran
    on one core, 4.3 s at 10^6 articles (profile_cores, cc69fef).
    """
    n = x.shape[0]
    if n == 0:
        return {}
    x = x.tocsr()
    stories, first = np.unique(canonical_labels, return_index=True)
    members = np.argsort(canonical_labels, kind="stable")  # each story's members, ascending
    m_indptr = np.zeros(len(stories) + 1, dtype=np.int64)
    np.cumsum(
        np.bincount(np.searchsorted(stories, canonical_labels), minlength=len(stories)), out=m_indptr[1:]
    )
    columns = np.full((len(stories), k), -1, dtype=np.int64)
    weights = np.add.reduceat(np.diff(x.indptr).astype(np.int64)[members], m_indptr[:-1])
    x_indptr, x_data = x.indptr.astype(np.int64), x.data.astype(np.float64, copy=False)

    def work(lo: int, hi: int) -> None:
        _story_columns(m_indptr, members, x_indptr, x.indices, x_data, x.shape[1], lo, hi, columns)

    in_threads(work, thread_parts(weights))
    counts = (columns >= 0).sum(axis=1).tolist()
    names = vocabulary[np.maximum(columns, 0)].tolist() if len(vocabulary) else [[]] * len(stories)
    labels = story_labels[first].tolist()
    return {int(label): row[:c] for label, row, c in zip(labels, names, counts, strict=True)}


# ---- numba kernels ----------------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _insert_top(top_v, top_c, m, v, c):  # pragma: no cover - compiled
    """Insert (v, c), which belongs among the best, into the best-first buffers top_v, top_c
    holding m entries: by value, ties to the smaller c, the last dropped once they are full;
    returns how many they hold."""
    k = top_v.size
    j = m if m < k else k - 1
    while j > 0 and (top_v[j - 1] < v or (top_v[j - 1] == v and top_c[j - 1] > c)):
        if j < k:
            top_v[j] = top_v[j - 1]
            top_c[j] = top_c[j - 1]
        j -= 1
    top_v[j] = v
    top_c[j] = c
    return m + 1 if m < k else m


@njit(cache=True, nogil=True)
def _story_columns(m_indptr, members, x_indptr, x_indices, x_data, n_cols, lo, hi, out):  # pragma: no cover
    """Rows lo..hi-1 of out: each story's k = out.shape[1] heaviest columns in the sum of its
    members' rows (summed as scipy's product does, members in order; zero sums dropped), by
    value then smaller column, -1 past the last."""
    k = out.shape[1]
    sums = np.zeros(n_cols, dtype=np.float64)
    following = np.full(n_cols, -1, dtype=np.int64)
    top_c = np.empty(k, dtype=np.int64)
    top_v = np.empty(k, dtype=np.float64)
    for g in range(lo, hi):
        head, _ = _sum_rows(
            members[m_indptr[g] : m_indptr[g + 1]], x_indptr, x_indices, x_data, sums, following
        )
        m = 0
        while head != -2:  # the best k do not depend on the order the columns come in
            c = head
            head = following[c]
            following[c] = -1
            v = sums[c]
            sums[c] = 0.0
            if v == 0.0:
                continue
            if m == k and (v < top_v[k - 1] or (v == top_v[k - 1] and c > top_c[k - 1])):
                continue  # not among the best k (the common case: checked here, inline)
            m = _insert_top(top_v, top_c, m, v, c)
        for j in range(m):
            out[g, j] = top_c[j]


@njit(cache=True, nogil=True)
def _knn_block(
    indptr, indices, data, t_indptr, t_indices, t_data, dated_end, lo, hi, n_dated, k, start, stop
):  # pragma: no cover - compiled
    """Top-k neighbours (cosine > 0) of rows start..stop-1 by inverted-index accumulation.

    Row i may pair with rows lo[i]..hi[i]-1 (its date window among the dated rows) and with
    the undated rows n_dated..n-1; an undated row has lo = 0, hi = n_dated. Posting list t's
    undated tail starts at dated_end[t]. Ties keep the smaller column. The best k are kept by
    insertion into a sorted buffer.

    A dated row's window never starts or ends before the previous row's (rows are by date), so
    each posting list keeps its window's bounds from the last row of the block that used it and
    moves them forward; only its first use in a block searches (three binary searches per term
    and row were most of the time).
    """
    n = len(indptr) - 1
    n_terms = len(t_indptr) - 1
    acc = np.zeros(n, dtype=np.float64)
    touched = np.empty(n, dtype=np.int64)
    seen = np.zeros(n_terms, dtype=np.bool_)
    window_start = np.empty(n_terms, dtype=np.int64)
    window_end = np.empty(n_terms, dtype=np.int64)
    out_r = np.empty((stop - start) * k, dtype=np.int64)
    out_c = np.empty((stop - start) * k, dtype=np.int64)
    out_v = np.empty((stop - start) * k, dtype=np.float64)
    top_c = np.empty(k, dtype=np.int64)
    top_v = np.empty(k, dtype=np.float64)
    n_out = 0
    for i in range(start, stop):
        n_touched = 0
        for p in range(indptr[i], indptr[i + 1]):
            term, w = indices[p], data[p]
            q_start, q_dated, q_end = t_indptr[term], dated_end[term], t_indptr[term + 1]
            # the window slice of this posting list, then its undated tail
            if i >= n_dated:
                a, b = q_start, q_dated
            elif seen[term]:
                a = window_start[term]
                while a < q_dated and t_indices[a] < lo[i]:
                    a += 1
                b = max(window_end[term], a)
                while b < q_dated and t_indices[b] < hi[i]:
                    b += 1
            else:
                a = q_start + np.searchsorted(t_indices[q_start:q_dated], lo[i])
                b = q_start + np.searchsorted(t_indices[q_start:q_dated], hi[i])
                seen[term] = True
            window_start[term] = a
            window_end[term] = b
            for part in range(2):
                q0, q1 = (a, b) if part == 0 else (q_dated, q_end)
                for q in range(q0, q1):
                    j = t_indices[q]
                    if acc[j] == 0.0:
                        touched[n_touched] = j
                        n_touched += 1
                    acc[j] += w * t_data[q]
        m = 0
        for t in range(n_touched):
            c = touched[t]
            v = acc[c]
            acc[c] = 0.0
            if c == i or v <= 0.0:
                continue
            if m == k and (v < top_v[k - 1] or (v == top_v[k - 1] and c > top_c[k - 1])):
                continue  # not among the best k (the common case: checked here, inline)
            m = _insert_top(top_v, top_c, m, v, c)
        for j in range(m):
            out_r[n_out] = i
            out_c[n_out] = top_c[j]
            out_v[n_out] = top_v[j]
            n_out += 1
    return out_r[:n_out], out_c[:n_out], out_v[:n_out]


@njit(cache=True, nogil=True)
def _pair_dots(a_start, a_len, a_ind, a_dat, a, b_start, b_len, b_ind, b_dat, b, n_cols):
    """Dot products of rows a[i] (of store A) and b[i] (of store B), pairs grouped by a: each
    row a is scattered into a dense buffer once and every row b of its group read against it."""
    work = np.zeros(n_cols, dtype=np.float64)
    out = np.zeros(len(a), dtype=np.float64)
    i = 0
    while i < len(a):
        r = a[i]
        for p in range(a_start[r], a_start[r] + a_len[r]):
            work[a_ind[p]] = a_dat[p]
        j = i
        while j < len(a) and a[j] == r:
            s = 0.0
            for q in range(b_start[b[j]], b_start[b[j]] + b_len[b[j]]):
                s += work[b_ind[q]] * b_dat[q]
            out[j] = s
            j += 1
        for p in range(a_start[r], a_start[r] + a_len[r]):
            work[a_ind[p]] = 0.0
        i = j
    return out


@njit(cache=True, nogil=True)
def _top_rows_kernel(
    x_indptr,
    x_indices,
    x_data,
    w_indptr,
    w_indices,
    w_data,
    expansion,
    m,
    n_cols,
    start,
    stop,
    out_indices,
    out_data,
    counts,
):  # pragma: no cover - compiled
    """Rows start..stop-1 of _top_rows: row i's kept columns (ascending) and values go to
    out_*[(i - start) * m:], their number to counts[i - start].

    As scipy: the product's sums start at 0 and add w_ik · x_kc over the weight row's entries in
    storage order, a zero sum is no entry; the expanded value is x_ic + expansion · sum, a zero
    result no entry. The m largest, ties to the smaller column (_select_top). As sklearn's
    normalize: the squares summed in column order, each value divided by their root.

    A column's sum and the row that last touched it share a cache line (sums[c, 0], sums[c, 1]):
    the accumulator is as wide as the vocabulary, and each of a row's ~700 products lands in a
    random place of it.
    """
    sums = np.zeros((n_cols, 2), dtype=np.float64)
    touched = np.empty(n_cols, dtype=np.int64)
    cand_col = np.empty(n_cols, dtype=np.int64)
    cand_val = np.empty(n_cols, dtype=np.float64)
    for i in range(start, stop):
        mark = float(i + 1)
        t = 0
        for jj in range(w_indptr[i], w_indptr[i + 1]):
            v = w_data[jj]
            k = w_indices[jj]
            for kk in range(x_indptr[k], x_indptr[k + 1]):
                c = x_indices[kk]
                if sums[c, 1] != mark:
                    sums[c, 1] = mark
                    sums[c, 0] = v * x_data[kk]  # 0 + v·x, as scipy starts
                    touched[t] = c
                    t += 1
                else:
                    sums[c, 0] += v * x_data[kk]
        n_cand = 0
        for kk in range(x_indptr[i], x_indptr[i + 1]):
            c = x_indices[kk]
            value = x_data[kk]
            if sums[c, 1] == mark:
                sums[c, 1] = -mark  # taken here, not again below
                if sums[c, 0] != 0.0:
                    value = value + expansion * sums[c, 0]
            if value != 0.0:
                cand_col[n_cand] = c
                cand_val[n_cand] = value
                n_cand += 1
        for j in range(t):
            c = touched[j]
            if sums[c, 1] == mark and sums[c, 0] != 0.0:
                value = expansion * sums[c, 0]
                if value != 0.0:
                    cand_col[n_cand] = c
                    cand_val[n_cand] = value
                    n_cand += 1
        base = (i - start) * m
        n_kept = _select_top(
            cand_col[:n_cand], cand_val[:n_cand], m, out_indices[base : base + m], out_data[base : base + m]
        )
        total = 0.0
        for j in range(n_kept):
            total += out_data[base + j] * out_data[base + j]
        if total != 0.0:
            root = np.sqrt(total)
            for j in range(n_kept):
                out_data[base + j] /= root
        counts[i - start] = n_kept


@njit(cache=True, nogil=True)
def _select_top(cols, values, m, out_cols, out_values):  # pragma: no cover - compiled
    """The m largest values (ties: the smaller columns), written in column order; returns how
    many (min(m, len))."""
    n = cols.size
    if n <= m:
        chosen = np.arange(n)
    else:
        cut = -np.partition(-values, m - 1)[m - 1]
        chosen = np.empty(m, dtype=np.int64)
        n_above = 0
        n_ties = 0
        ties = np.empty(n, dtype=np.int64)
        for j in range(n):
            if values[j] > cut:
                chosen[n_above] = j
                n_above += 1
            elif values[j] == cut:
                ties[n_ties] = j
                n_ties += 1
        tie_order = np.argsort(cols[ties[:n_ties]], kind="mergesort")
        for j in range(m - n_above):
            chosen[n_above + j] = ties[tie_order[j]]
    by_column = chosen[np.argsort(cols[chosen])]
    for j in range(by_column.size):
        out_cols[j] = cols[by_column[j]]
        out_values[j] = values[by_column[j]]
    return by_column.size
