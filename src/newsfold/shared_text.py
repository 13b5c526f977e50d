"""Shared text: find segments recurring near-verbatim across articles, classify them and strip them.

Steps, each a function below: split articles into segments (non-empty lines) → group segments
that are the same text (exact key, then MinHash LSH over character shingles, verified by exact
Jaccard) → describe each group (how many articles, where it stands, how related its articles
are) → classify it as headline, boilerplate or syndicated → strip headlines and boilerplate.
"""

import dataclasses
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
import xxhash

from newsfold.arrays import dense_ranks, unique, unique_rows
from newsfold.config import MinHashConfig, SharedTextConfig
from newsfold.encoding import encode_text
from newsfold.jit import njit
from newsfold.minhash import (
    _THREADS,
    EncodedTexts,
    MinHasher,
    TextSpans,
    band_keys,
    char_keys,
    char_shingles,
    gather,
    in_threads,
    key_fingerprints,
    line_spans,
    lsh_params,
    move_left,
    split_counts,
    thread_parts,
    verified_bucket_groups,
)
from newsfold.normalize import collapse_blank_lines
from newsfold.store import string_arrays
from newsfold.text_column import TextColumn, patched_column
from newsfold.tfidf import Tokens, tfidf_rows, tokenize

# Lines that announce themselves as site furniture. Matching one makes a shared segment
# boilerplate whatever its articles are about: a copyright notice or a newsletter plug is
# never the story's headline, even when every article carrying it is about one event.
_BOILERPLATE_MARKERS = re.compile(
    r"©|\(c\)\s*\d{4}|copyright|all rights reserved|subscribe|sign up|newsletter|read more|"
    r"follow us|click here|cookie|advertisement|https?://|www\.",
    re.IGNORECASE,
)
# The same markers for lower-cased text, where re.IGNORECASE costs ~5x the search.
_ASCII_MARKERS = re.compile(_BOILERPLATE_MARKERS.pattern)
# The markers that are plain words (all but the "(c) 2024" and URL patterns).
_MARKER_WORDS = (
    "©", "copyright", "all rights reserved", "subscribe", "sign up", "newsletter", "read more",
    "follow us", "click here", "cookie", "advertisement", "www.",
)  # fmt: skip
_SENTENCE_END = re.compile(r"[.;:,]['\"’”)]?$")
# Share of its characters an article must keep without its shared lines to be measured on its
# own text (see find_shared_text): a third leaves room for an outlet's stack of header and footer
# lines around a short article, while a reprint made of shared paragraphs keeps almost nothing.
_MIN_OWN_TEXT = 1 / 3


@dataclasses.dataclass(frozen=True)
class Segments:
    """All candidate segments of a corpus, one row each (parallel arrays)."""

    article: np.ndarray  # int64 index of the article
    start: np.ndarray  # int64 character offsets in the article's normalised text
    end: np.ndarray
    is_edge: np.ndarray  # bool: the article's first or last segment
    fingerprints: np.ndarray  # (n, 2) uint64: equal rows <=> equal keys (see segment_key)
    spans: TextSpans  # each segment's bytes in the encoded corpus
    source: TextColumn  # the article texts the offsets refer to (over that encoding)
    doc_bytes: np.ndarray  # int64: article a is spans.data[doc_bytes[a]:doc_bytes[a + 1]]

    def __len__(self) -> int:
        return len(self.article)

    def text(self, i: int) -> str:
        """Segment i as it stands in its article."""
        return self.texts_at([i])[0]

    def texts_at(self, index: Sequence[int] | np.ndarray) -> list[str]:
        """The segments at `index` as they stand in their articles, decoded from their bytes;
        cut from the article's string where the article was encoded lower-cased (see
        minhash.encode_texts)."""
        index = np.asarray(index, dtype=np.int64)
        view = self.spans.data.data  # slices of a memoryview decode without a copy to bytes
        where = zip(self.spans.starts[index].tolist(), self.spans.ends[index].tolist(), strict=True)
        texts = [str(view[s:e], "utf-8", "surrogatepass") for s, e in where]
        exact = self.source.exact
        if exact:
            lowered = np.fromiter(exact, dtype=np.int64, count=len(exact))
            for at in np.flatnonzero(np.isin(self.article[index], lowered)).tolist():
                i = int(index[at])
                texts[at] = exact[int(self.article[i])][int(self.start[i]) : int(self.end[i])]
        return texts

    def texts_array(self, index: np.ndarray) -> pa.ChunkedArray:
        """texts_at as an arrow string column, its bytes gathered from the encoded corpus in one
        compiled pass (no Python string per segment: a 10^5-article corpus has ~5*10^5 shared
        occurrences), in arrays of at most 2 GB each (store.string_arrays).
        Where an article was encoded lower-cased (it contains "İ" or "Σ", see
        minhash.encode_texts), from texts_at."""
        index = np.asarray(index, dtype=np.int64)
        exact = self.source.exact
        if exact and np.isin(self.article[index], np.fromiter(exact, dtype=np.int64, count=len(exact))).any():
            texts = pa.array(self.texts_at(index), type=pa.string())
            return texts if isinstance(texts, pa.ChunkedArray) else pa.chunked_array([texts])
        gathered = gather(self.spans.data, self.spans.starts[index], self.spans.ends[index])
        return pa.chunked_array(string_arrays(gathered.data, gathered.offsets), type=pa.string())

    @property
    def texts(self) -> list[str]:
        """Every segment's text (the stage itself only builds the few strings it outputs)."""
        return self.texts_at(np.arange(len(self)))


@dataclasses.dataclass(frozen=True)
class SharedText:
    """Result of the stage: shared segment occurrences, cleaned bodies, titles, story links."""

    # Occurrences (rows of the shared_text table, in its order: see find_shared_text)
    segment_id: pa.Array  # string
    article: np.ndarray  # int64 article index
    text: pa.ChunkedArray  # string: the occurrence as it stands in its article
    role: pa.Array  # string
    start: np.ndarray
    end: np.ndarray
    n_articles: np.ndarray
    cleaned_texts: TextColumn  # read through their encoding (minhash.encode_texts's)
    titles: list[str | None]  # given title, else the article's shared headline, else None
    must_link: np.ndarray  # (m, 2) article pairs sharing a headline or syndicated passage


def segment_key(text: str) -> str:
    """The matching key of a segment: lowercase words joined by single spaces (minhash.char_keys,
    which the stage calls on whole batches)."""
    return char_keys([text])[0]


def split_segments(texts: Sequence[str] | TextColumn, config: SharedTextConfig) -> Segments:
    """Split each article into lines; keep lines long enough to match, of multi-line articles.

    Lines are spans of the encoded corpus (`minhash.line_spans`), and one compiled pass over them
    gives each key's length (for `min_chars`) and fingerprint (to group equal keys): no string
    per line is built.
    """
    texts = TextColumn.from_texts(texts)
    lines = line_spans(texts.encoded, texts.exact)
    per_doc = np.diff(lines.doc_offsets)
    multi_line = np.repeat(per_doc >= 2, per_doc)  # a one-line article's only segment is itself
    is_edge = np.zeros(len(lines), dtype=bool)
    is_edge[lines.doc_offsets[:-1][per_doc > 0]] = True
    is_edge[lines.doc_offsets[1:][per_doc > 0] - 1] = True
    key_length, fingerprints = key_fingerprints(lines.spans)
    keep = np.flatnonzero(multi_line & (key_length >= config.min_chars))
    return Segments(
        article=lines.doc[keep],
        start=lines.char_start[keep],
        end=lines.char_end[keep],
        is_edge=is_edge[keep],
        fingerprints=fingerprints[keep],
        spans=lines.spans.take(keep),
        source=texts,
        doc_bytes=lines.doc_bytes,
    )


# Distinct segments are signed this many at a time, their shingle sets dropped once signed.
_SIGN_BLOCK = 1 << 16
# LSH buckets of more distinct segments than this link each to the bucket's first segment only
# (minhash.verified_bucket_groups), not all to all. Such buckets are families of near-identical lines that
# grow with the corpus (one footer template across outlets, a wire paragraph with per-copy
# edits): all pairs would grow with its square (at 10^6 articles, 100 s and 4 GB in pairs).
_MAX_BUCKET = 100
_CHUNK = 8192  # residual texts built and encoded at a time
_GROUP_BLOCK = 16_384  # groups whose TF-IDF sums are held at a time (_relatedness)


def group_segments(segments: Segments, config: SharedTextConfig, minhash: MinHashConfig) -> np.ndarray:
    """Label segments so that near-verbatim copies share a label (label = smallest member index).

    Identical keys are grouped by fingerprint first; MinHash LSH then runs over the distinct keys
    only, and candidate pairs are verified by the exact Jaccard of their shingle sets (those
    already connected are skipped: :func:`minhash.verified_bucket_groups`). The distinct
    segments are signed in blocks without building their shingle sets, and only their band keys
    kept; sets are built for the segments in some bucket only, so the stage never
    holds the shingles of every line (~2 GB of character 5-grams for the 10^6 lines of 10^5
    articles).
    """
    n = len(segments)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = unique_rows(segments.fingerprints)
    # char_shingles shingles a text's key, so a segment stands for its key.
    distinct = segments.spans.take(first)
    hasher = MinHasher(num_perm=config.num_perm, seed=minhash.seed)
    bands, rows = lsh_params(config.threshold, config.num_perm)
    keys = np.empty((len(distinct), bands), dtype=np.uint64)
    for lo in range(0, len(distinct), _SIGN_BLOCK):
        block = distinct.take(np.arange(lo, min(lo + _SIGN_BLOCK, len(distinct))))
        keys[lo : lo + len(block)] = band_keys(hasher.char_signatures(block, config.char_ngram), bands, rows)
    # The verified candidate pairs' groups; shingle sets are built for bucketed segments only.
    distinct_label = verified_bucket_groups(
        keys,
        config.threshold,
        lambda involved: char_shingles(distinct.take(involved), config.char_ngram),
        max_bucket=_MAX_BUCKET,
    )
    del keys
    # Back to segments: label each segment by the smallest segment index in its group.
    group_of_segment = distinct_label[inverse.ravel()]
    smallest = np.full(len(distinct), n, dtype=np.int64)
    np.minimum.at(smallest, group_of_segment, np.arange(n, dtype=np.int64))
    return smallest[group_of_segment]


def _relatedness(
    texts: EncodedTexts | Tokens, member_article: np.ndarray, member_group: np.ndarray, n_groups: int
) -> np.ndarray:
    """Mean pairwise cosine of the TF-IDF vectors of each group's articles (one value per group;
    0 for a group without members here). `texts` are those of np.unique(member_article), in order,
    or their tokens (tfidf.tokenize).

    Uses ||sum v||² = n + Σ_{i≠j} v_i·v_j for unit vectors, so the cost is linear in members.
    """
    articles = unique(member_article)
    try:
        # The rows of TfidfVectorizer(lowercase=True, stop_words="english", sublinear_tf=True,
        # min_df=1, dtype=float32), ~10x faster (tokenised in compiled code; the columns
        # unnamed and in another order, which the sums of rows below do not see).
        x = tfidf_rows(texts, min_df=1, dtype=np.float32)
    except ValueError:  # every text was stop words or empty
        return np.zeros(n_groups)
    row_of_article = np.searchsorted(articles, member_article)
    incidence = sp.csr_matrix(
        (np.ones(len(member_group), dtype=np.float32), (member_group, row_of_article)),
        shape=(n_groups, len(articles)),
    )
    # Group sums a block of groups at a time: all at once they hold a term row per group, which
    # with its square was the peak of the whole run (1 GB at 2*10^5 articles). Blocks run in
    # threads (the kernel releases the GIL).
    sq_norm = np.empty(n_groups, dtype=np.float32)
    row_nnz = np.diff(x.indptr)

    def block(lo: int) -> None:
        group = incidence[lo : lo + _GROUP_BLOCK]
        squares = np.empty(int(row_nnz[group.indices].sum()), dtype=np.float32)  # at most
        indptr = np.empty(group.shape[0] + 1, dtype=np.int64)
        args = (group.indptr, group.indices, group.data, x.indptr, x.indices, x.data, x.shape[1])
        n = _group_squares(*args, indptr, squares)
        # What scipy's (group @ x).sum(axis=1) does with the squares: np.add.reduceat over the
        # non-empty rows (its rounding, to the bit).
        rows = np.flatnonzero(np.diff(indptr))
        sq_norm[lo : lo + _GROUP_BLOCK] = 0
        if len(rows):
            sq_norm[lo + rows] = np.add.reduceat(squares[:n], indptr[rows])

    with ThreadPoolExecutor(_THREADS) as pool:
        list(pool.map(block, range(0, n_groups, _GROUP_BLOCK)))
    counts = np.asarray(incidence.sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (sq_norm - counts) / (counts * (counts - 1))
    return np.where(counts > 1, mean, 0.0)


@njit(cache=True, nogil=True)
def _group_squares(
    g_indptr, g_indices, g_data, x_indptr, x_indices, x_data, n_cols, out_indptr, out
):  # pragma: no cover - compiled
    """The squared entries of each group's sum of rows, (groups @ x).data ** 2 as scipy gives
    them, in its storage order: scipy's csr_matmat (sums in float32, a row's columns in reverse
    order of first touch, zero sums dropped), without its counting pass, column indices or
    second pass for the squares. Row g's squares are out[out_indptr[g]:out_indptr[g + 1]];
    returns their number."""
    following = np.full(n_cols, -1, dtype=np.int64)
    sums = np.zeros(n_cols, dtype=np.float32)
    nnz = 0
    out_indptr[0] = 0
    for g in range(g_indptr.size - 1):
        head = -2
        length = 0
        for jj in range(g_indptr[g], g_indptr[g + 1]):
            j = g_indices[jj]
            v = g_data[jj]
            for kk in range(x_indptr[j], x_indptr[j + 1]):
                k = x_indices[kk]
                sums[k] += v * x_data[kk]
                if following[k] == -1:
                    following[k] = head
                    head = k
                    length += 1
        for _ in range(length):
            if sums[head] != 0:
                out[nnz] = sums[head] * sums[head]
                nnz += 1
            temp = head
            head = following[head]
            following[temp] = -1
            sums[temp] = 0
        out_indptr[g + 1] = nnz
    return nnz


def _residual_texts(segments: Segments, occ: np.ndarray) -> EncodedTexts:
    """The articles with occurrences `occ` (in article order), without them, encoded; one left
    with less than _MIN_OWN_TEXT of its characters keeps its whole text.

    Cut from the encoded corpus in one compiled pass (_cut_kernel): no string per article. The
    share counts the characters left once ASCII whitespace is stripped from the ends (text.strip()
    also strips other Unicode spaces, which a normalised text has not at a line's ends).
    """
    return _cut_lines(segments, occ, _MIN_OWN_TEXT)[2]


def _cleaned_texts(segments: Segments, cut: np.ndarray) -> TextColumn:
    """The texts (segments.source) without the segments `cut` (ascending), the blank lines they
    leave collapsed and the ends stripped (as _cut_spans does); a text left empty is kept whole.
    They come as a TextColumn over their encoding as minhash.encode_texts gives it, which the
    stages after this one read.

    The bytes of every article are cut (or copied) in one compiled pass, and that buffer is the
    cleaned texts' encoding: no text is decoded to build them (decoding every changed article
    took one core 11.6 s at 10^6 articles). Encoded anew and patched in: a text that contains
    "İ" or "Σ" (minhash.encode_texts lower-cases it, so it is cut as a string, and kept as one);
    a cut text that str.strip() shortens further than the byte cut (only one that now starts or
    ends with a non-ASCII character can be: it is decoded to see); an uncut text that the copy
    changed (not normalised).
    """
    texts = segments.source
    n = len(texts)
    _, whole, encoded = _cut_lines(segments, cut, 0.0, every_article=True)
    article = segments.article[cut]
    is_changed = np.bincount(article, minlength=n) > 0
    run_start = np.searchsorted(article, np.arange(n + 1)).tolist()
    fresh: dict[int, bytes] = {}
    exact: dict[int, str] = {}
    for a, text in sorted(texts.exact.items()):
        if is_changed[a]:
            span = cut[run_start[a] : run_start[a + 1]]
            spans = zip(segments.start[span].tolist(), segments.end[span].tolist(), strict=True)
            text = _cut_spans(text, list(spans)) or text
        exact[a] = text
        fresh[a] = encode_text(text)
    data, offsets = encoded.data, encoded.offsets
    view = data.data  # slices of a memoryview decode without a copy to bytes
    cut_rows = np.flatnonzero(is_changed & ~whole)
    non_ascii_end = (data[offsets[cut_rows]] >= 0x80) | (data[offsets[cut_rows + 1] - 1] >= 0x80)
    for a in cut_rows[non_ascii_end].tolist():
        if a not in exact:
            raw = str(view[offsets[a] : offsets[a + 1]], "utf-8", "surrogatepass")
            body = raw.strip()
            if not body or len(body) != len(raw):
                fresh[a] = encode_text(body or texts[a])
    # An uncut article is copied as it is unless it has ASCII whitespace at an end or three
    # newlines in a row, which a normalised text has not.
    copy_changed = ~is_changed & (np.diff(offsets) != np.diff(segments.doc_bytes))
    for a in np.flatnonzero(copy_changed).tolist():
        if a not in exact:
            fresh[a] = encode_text(texts[a])
    return patched_column(encoded, fresh, exact)


def _cut_lines(
    segments: Segments, cut: np.ndarray, min_share: float, every_article: bool = False
) -> tuple[np.ndarray, np.ndarray, EncodedTexts]:
    """The articles of the segments `cut` (ascending segment indices), without them: (article
    indices, whether each kept its whole text, their encodings). An article keeps its whole text
    when what is left has no character or fewer than min_share of its characters. With
    every_article, all the articles, in order (those without a cut as the kernel copies them:
    ASCII whitespace stripped from the ends, runs of newlines cut to two)."""
    article = segments.article[cut]  # ascending, as cut is
    if every_article:
        articles = np.arange(len(segments.doc_bytes) - 1, dtype=np.int64)
        cut_offsets = np.searchsorted(article, np.arange(len(articles) + 1)).astype(np.int64)
    else:
        first = (
            np.flatnonzero(np.r_[True, article[1:] != article[:-1]]) if len(cut) else np.zeros(0, np.int64)
        )
        articles = article[first]
        cut_offsets = np.r_[first, len(cut)].astype(np.int64)
    cut_start, cut_end = segments.spans.starts[cut], segments.spans.ends[cut]
    doc_start, doc_end = segments.doc_bytes[articles], segments.doc_bytes[articles + 1]
    region = np.r_[0, np.cumsum(doc_end - doc_start)]  # an article's bytes at most
    out = np.empty(int(region[-1]), dtype=np.uint8)
    whole = np.zeros(len(articles), dtype=np.bool_)

    def work(lo: int, hi: int) -> np.ndarray:
        offsets = np.zeros(hi - lo + 1, dtype=np.int64)
        _cut_kernel(
            segments.spans.data, doc_start[lo:hi], doc_end[lo:hi], cut_offsets[lo : hi + 1],
            cut_start, cut_end, min_share, out[region[lo] : region[hi]], offsets, whole[lo:hi],
        )  # fmt: skip
        return offsets

    # The kernel releases the GIL: ranges of articles of about equal bytes in threads, each in
    # its region of the buffer, then moved up to the end of the one before.
    parts = thread_parts(doc_end - doc_start)
    results = in_threads(work, parts)
    out_offsets, end = [np.zeros(1, dtype=np.int64)], 0
    for (lo, _), offsets in zip(parts, results, strict=True):
        n = int(offsets[-1])
        move_left(out, int(region[lo]), end, n)
        out_offsets.append(offsets[1:] + end)
        end += n
    return articles, whole, EncodedTexts(out[:end], np.concatenate(out_offsets))


@njit(cache=True, nogil=True)
def _is_ascii_space(b):  # pragma: no cover - compiled
    return b == 32 or 9 <= b <= 13 or 28 <= b <= 31  # what str.strip() strips of ASCII


@njit(cache=True, nogil=True)
def _cut_kernel(
    data, doc_start, doc_end, cut_offsets, cut_start, cut_end, min_share, out, out_offsets, whole
):  # pragma: no cover - compiled
    """For each doc: its bytes without its cut spans (ascending, within the doc), every run of
    three or more newlines as two, and ASCII whitespace stripped from both ends; the whole doc
    when that leaves no character or fewer than min_share of the doc's characters. Characters
    are the bytes that are not UTF-8 continuation bytes (10xxxxxx)."""
    k = 0
    for d in range(doc_start.size):
        begin = k
        i = doc_start[d]
        for c in range(cut_offsets[d], cut_offsets[d + 1] + 1):  # the pieces between the cuts
            stop = cut_start[c] if c < cut_offsets[d + 1] else doc_end[d]
            for j in range(i, stop):
                b = data[j]
                if k == begin:
                    if _is_ascii_space(b):
                        continue  # leading whitespace
                elif b == 10 and out[k - 1] == 10 and k - begin >= 2 and out[k - 2] == 10:
                    continue  # a third newline in a row
                out[k] = b
                k += 1
            if c < cut_offsets[d + 1]:
                i = cut_end[c]
        while k > begin and _is_ascii_space(out[k - 1]):
            k -= 1
        kept = 0
        for j in range(begin, k):
            kept += (out[j] & 0xC0) != 0x80
        total = 0
        if min_share > 0:
            for j in range(doc_start[d], doc_end[d]):
                total += (data[j] & 0xC0) != 0x80
        if kept == 0 or kept < min_share * total:
            k = begin
            for j in range(doc_start[d], doc_end[d]):
                out[k] = data[j]
                k += 1
            whole[d] = True
        out_offsets[d + 1] = k


def _in_edge_block(segments: Segments, shared: np.ndarray) -> np.ndarray:
    """Per segment: it is shared and every segment before it, or every one after it, in its
    article is shared too (a stack of header or footer lines, not only the first or last)."""
    n = len(shared)
    if n == 0:
        return np.zeros(0, dtype=bool)
    article = segments.article
    starts = np.r_[0, np.flatnonzero(np.diff(article)) + 1]
    ends = np.r_[starts[1:], n]
    unshared = (~shared).astype(np.int64)
    before = np.cumsum(unshared) - unshared  # unshared segments before this one, corpus-wide
    run_start = np.repeat(starts, ends - starts)
    run_end = np.repeat(ends, ends - starts)
    total = np.cumsum(np.r_[0, unshared])
    none_before = before - total[run_start] == 0
    none_after = total[run_end] - total[np.arange(n) + 1] == 0
    return shared & (none_before | none_after | segments.is_edge)


def classify_groups(
    group_texts: Sequence[str],
    n_articles: np.ndarray,
    edge_share: np.ndarray,
    relatedness: np.ndarray,
    config: SharedTextConfig,
    single_source: np.ndarray | None = None,
) -> list[str]:
    """Give each shared group a role; the first rule that applies wins.

    1. boilerplate: the line reads as site furniture (copyright, newsletter, "read more", a URL)
       and is short enough to be furniture;
    2. boilerplate: its articles are unrelated to each other (a footer across stories);
    3. headline: short, not a sentence, in the top or bottom block of its articles;
    4. boilerplate: at least `boilerplate_min_same_source` articles, all from one known source,
       that are not copies of one article (relatedness below `boilerplate_max_related`): an
       outlet's own line, even where its articles are on related subjects;
    5. syndicated: a passage of at least `syndicated_min_words` words shared by related articles
       (a quote, wire copy): kept;
    6. boilerplate: a shorter line inside related articles (too short to be a quoted passage).

    Args:
        group_texts: One representative text per group.
        n_articles: Articles per group.
        edge_share: Share of a group's occurrences in the top or bottom block of their article.
        relatedness: Mean pairwise TF-IDF cosine of the group's articles.
        config: Thresholds.
        single_source: Per group, whether all its articles come from one known source (None:
            sources unknown).
    """
    words, title_like, furniture = _line_features(group_texts, config)
    return _assign_roles(
        words, title_like, furniture, n_articles, edge_share, relatedness, config, single_source
    )


def _line_features(
    group_texts: Sequence[str], config: SharedTextConfig, words: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Per group text: its word count (`words`, if counted already: minhash.split_counts),
    whether it reads as a title, whether it is furniture."""
    n = len(group_texts)
    if words is None:
        words = np.fromiter((len(t.split()) for t in group_texts), dtype=np.int64, count=n)
    # The sentence end is in the last two characters; markers only matter on short lines.
    sentence = np.fromiter(
        (_SENTENCE_END.search(t[-2:]) is not None for t in group_texts), dtype=bool, count=n
    )
    short = words <= config.marker_max_words
    marker = np.fromiter(
        (s and _has_marker(t) for t, s in zip(group_texts, short.tolist(), strict=True)),
        dtype=bool,
        count=n,
    )
    title_like = (words <= config.headline_max_words) & ~sentence
    furniture = (words <= config.marker_max_words) & marker
    return words, title_like, furniture


def _has_marker(text: str) -> bool:
    """Whether _BOILERPLATE_MARKERS.search(text) matches: 2.7 µs a line of the 10^5 bench's
    shared lines, against 5.1 µs for the lower-cased regex search and 27 µs for re.IGNORECASE.

    An ASCII letter of the pattern matches, ignoring case, exactly the characters that lower()
    turns into it, but for the four that re also folds to ASCII letters ("İ", "ı", "ſ", "K", as
    the re docs list them; lower() leaves "ı" and "ſ" non-ASCII and turns "İ" into two
    characters). A text without them is lower-cased, and most markers are plain words, each
    found by a substring test; the regex runs only where "(c)" or "http" is.
    """
    if not text.isascii() and ("\u0130" in text or "\u0131" in text or "\u017f" in text or "\u212a" in text):
        return _BOILERPLATE_MARKERS.search(text) is not None
    lowered = text.lower()
    for marker in _MARKER_WORDS:
        if marker in lowered:
            return True
    return ("(c)" in lowered or "http" in lowered) and _ASCII_MARKERS.search(lowered) is not None


def _assign_roles(
    words: np.ndarray,
    title_like: np.ndarray,
    furniture: np.ndarray,
    n_articles: np.ndarray,
    edge_share: np.ndarray,
    relatedness: np.ndarray,
    config: SharedTextConfig,
    single_source: np.ndarray | None,
) -> list[str]:
    """The rules of classify_groups, on precomputed line features (vectorised)."""
    one_source = np.zeros(len(words), dtype=bool) if single_source is None else single_source
    roles = np.select(
        [
            furniture | (relatedness < config.related_cosine),
            title_like & (edge_share >= 0.5),
            one_source
            & (n_articles >= config.boilerplate_min_same_source)
            & (relatedness < config.boilerplate_max_related),
            words >= config.syndicated_min_words,
        ],
        ["boilerplate", "headline", "boilerplate", "syndicated"],
        default="boilerplate",
    )
    return [str(r) for r in roles]


def _single_source(
    sources: Sequence[str | None] | None, group_article: np.ndarray, n_groups: int
) -> np.ndarray | None:
    """Per group: whether its articles all come from one source (None when no source is known)."""
    if sources is None or all(s is None for s in sources):
        return None
    codes, _ = pd.factorize(pd.Series(list(sources), dtype=object))  # None -> -1
    code = codes[group_article[:, 1]]
    known = code >= 0
    g = group_article[known, 0]
    c = code[known]
    lo = np.full(n_groups, np.iinfo(np.int64).max)
    hi = np.full(n_groups, -1)
    np.minimum.at(lo, g, c)
    np.maximum.at(hi, g, c)
    n_known = np.bincount(g, minlength=n_groups)
    # Every article of the group must have a known source, and it must be the same one.
    n_members = np.bincount(group_article[:, 0], minlength=n_groups)
    return (n_known == n_members) & (lo == hi)


def find_shared_text(
    texts: Sequence[str] | TextColumn,
    titles: Sequence[str | None],
    config: SharedTextConfig,
    minhash: MinHashConfig,
    sources: Sequence[str | None] | None = None,
    article_rank: np.ndarray | None = None,
) -> SharedText:
    """Find, classify and strip shared segments of a corpus of normalised article texts.

    Args:
        texts: Normalised article texts (as strings, or a TextColumn read as it is).
        titles: Given titles (None where unknown); a shared headline fills a missing one.
        config: Thresholds.
        minhash: Seed of the segment signatures.
        sources: Each article's outlet (None where unknown), for the same-source rule.
        article_rank: Each article's place in the order of the occurrences (default: the order
            of `texts`). Occurrences come by segment_id, then article, then offset.
    """
    texts = TextColumn.from_texts(texts)
    segments = split_segments(texts, config)
    label = group_segments(segments, config, minhash)
    # A group is shared when it spans at least two distinct articles.
    pair_keys = unique_rows(np.stack([label, segments.article], axis=1))[0] if len(label) else None
    if pair_keys is None or len(pair_keys) == 0:
        return _nothing_shared(texts, titles)
    group_ids, articles_per_group = np.unique(pair_keys[:, 0], return_counts=True)
    shared_groups = group_ids[articles_per_group >= 2]
    is_shared = np.isin(label, shared_groups)
    if not is_shared.any():
        return _nothing_shared(texts, titles)
    occ = np.flatnonzero(is_shared)
    occ_label = label[occ]
    # Dense group numbering 0..g-1 in order of the representative (smallest) segment index.
    reps, group = np.unique(occ_label, return_inverse=True)
    group = group.ravel()
    occ_article = segments.article[occ]
    group_article = unique_rows(np.stack([group, occ_article], axis=1))[0]
    n_articles = np.bincount(group_article[:, 0], minlength=len(reps)).astype(np.int64)
    in_edge_block = _in_edge_block(segments, is_shared)[occ]
    edge_share = np.bincount(group, weights=in_edge_block, minlength=len(reps)) / np.bincount(
        group, minlength=len(reps)
    )
    rep_texts = segments.texts_at(reps)
    single_source = _single_source(sources, group_article, len(reps))
    # Relatedness is measured on each article's own text, without any shared line: an outlet's
    # footer, plug and byline would otherwise make its unrelated articles look alike (on the
    # demo corpus a footer and a plug lift the mean cosine of eight unrelated articles from 0.04
    # to 0.12), and a line shared by two articles would count towards its own relatedness. An
    # article left with less than `_MIN_OWN_TEXT` of its text is a copy of shared paragraphs
    # (a reprint of a wire story) and is measured whole, so copies stay related.
    # Word counts and keys come from the lines' bytes (1.2 M lines at 10^6 articles: split()
    # and encoding the strings again for their keys took one core ~2.5 s).
    rep_spans = segments.spans.take(reps)
    words, title_like, furniture = _line_features(rep_texts, config, split_counts(rep_spans))
    # Their tokens only: the residual texts go once tokenised (~3.3 GB at 10^6 articles).
    relatedness = _relatedness(tokenize(_residual_texts(segments, occ)), occ_article, group, len(reps))
    roles = _assign_roles(
        words, title_like, furniture, n_articles, edge_share, relatedness, config, single_source
    )
    # A segment's id is its key's 64-bit hash in 16 hex digits: ids sort as their hashes do, which
    # numpy ranks as integers (ranking the 1.2 M id strings at 10^6 articles took 1.1 s).
    hashes = np.fromiter(
        (xxhash.xxh3_64_intdigest(key.encode()) for key in char_keys(rep_spans)),
        dtype=np.uint64,
        count=len(reps),
    )
    segment_ids = [f"seg_{h:016x}" for h in hashes.tolist()]

    occ_roles = np.array(roles)[group]
    strip = occ_roles != "syndicated"
    cleaned = _cleaned_texts(segments, occ[strip])
    # An article without a title takes its first shared headline (occurrences are in article
    # and line order).
    new_titles = list(titles)
    for i in np.flatnonzero(occ_roles == "headline").tolist():
        a = int(occ_article[i])
        if new_titles[a] is None:
            new_titles[a] = segments.text(occ[i])
    linking = np.isin(occ_roles, ["headline", "syndicated"])
    must_link = _star_pairs(group[linking], occ_article[linking])
    # The occurrences in the order they are output: each column is gathered once, in that order
    # (arrow's take of the finished table gathered every column again: 6.8 s of one core at 10^6
    # articles), and per-segment strings are taken by group, not listed per occurrence.
    rank = np.arange(len(texts)) if article_rank is None else np.asarray(article_rank)
    segment_rank = dense_ranks(hashes)[group]
    out = np.lexsort((segments.start[occ], rank[occ_article], segment_rank))
    out_group = pa.array(group[out])
    return SharedText(
        segment_id=pa.array(segment_ids, type=pa.string()).take(out_group),
        article=occ_article[out],
        text=segments.texts_array(occ[out]),
        role=pa.array(roles, type=pa.string()).take(out_group),
        start=segments.start[occ[out]],
        end=segments.end[occ[out]],
        n_articles=n_articles[group[out]],
        cleaned_texts=cleaned,
        titles=new_titles,
        must_link=must_link,
    )


def _nothing_shared(texts: TextColumn, titles: Sequence[str | None]) -> SharedText:
    empty = np.zeros(0, dtype=np.int64)
    none = pa.array([], type=pa.string())
    return SharedText(
        none, empty, pa.chunked_array([none]), none, empty, empty, empty,
        texts, list(titles), empty.reshape(0, 2),
    )  # fmt: skip


def _runs(keys: np.ndarray, values: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Split ``values`` (sorted by ``keys``) into runs of equal key."""
    if len(keys) == 0:
        return []
    bounds = np.flatnonzero(np.diff(keys)) + 1
    return [(int(k[0]), v) for k, v in zip(np.split(keys, bounds), np.split(values, bounds), strict=True)]


def _cut_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """Remove line spans from text and tidy the blank lines they leave behind."""
    parts, pos = [], 0
    for s, e in sorted(spans):
        parts.append(text[pos:s])
        pos = e
    parts.append(text[pos:])
    joined = "".join(parts)
    return collapse_blank_lines(joined).strip()


def _star_pairs(group: np.ndarray, article: np.ndarray) -> np.ndarray:
    """Link every article of a group to the group's first article (enough for connectivity)."""
    if len(group) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    order = np.lexsort((article, group))
    g, a = group[order], article[order]
    first = np.r_[True, g[1:] != g[:-1]]
    head = np.maximum.accumulate(np.where(first, np.arange(len(g)), 0))
    pairs = np.stack([a[head], a], axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return unique_rows(np.sort(pairs, axis=1))[0]
