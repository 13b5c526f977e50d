"""TF-IDF vectors equal to scikit-learn's TfidfVectorizer, tokenised in one compiled pass.

`tfidf_vectors` returns exactly what ``TfidfVectorizer(lowercase=True, stop_words="english",
sublinear_tf=True, min_df=..., max_df=..., dtype=...).fit_transform(texts)`` returns, and the
same vocabulary in the same (alphabetical) column order, at a fraction of the cost: scikit-learn
tokenises with `re.findall` and counts in Python dicts, ~60 µs per 2,000-character article, the
largest cost of story clustering and shared-text relatedness at 10^5 articles. Here tokens
(maximal runs of two or more `\\w` characters of the lower-cased text, i.e. scikit-learn's
default `(?u)\\b\\w\\w+\\b`) are hashed while the UTF-8 buffer is decoded, counted through a
hash table, and only the kept vocabulary is turned back into strings (to sort the columns).
The weights follow scikit-learn's TfidfTransformer step by step (its idf formula, numpy's log,
each step rounded to the dtype, its normalisation's float64 sums in storage order), to the bit.

Terms are identified by a 64-bit hash; two distinct terms of one corpus colliding (probability
~ V² / 2^65, 3e-8 for a vocabulary of a million) would be counted as one.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from newsfold.jit import njit
from newsfold.minhash import (
    _SORT_COUNTS,
    _WORD,
    EncodedTexts,
    _char_table,
    _fmix64,
    _next_char,
    _sort_u32,
    encode_texts,
    in_threads,
    join_parts,
    thread_parts,
)

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_STOP = np.int64(-2)  # table value of a stop word
_EMPTY_SLOT = np.int64(-1)
# Below this many tokens the rows are counted in one thread (a thread costs more than it saves).
_MIN_THREAD_TOKENS = 1_000_000
# ... and below this many bytes (~1 M tokens of English at ~7 bytes a token) the docs are
# tokenised in one.
_MIN_THREAD_BYTES = 7_000_000


def _token_bounds(offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """At most how many tokens each doc has: a token is two or more characters (at least one
    byte each) followed by a character that is not a word character, or by the doc's end."""
    return np.diff(offsets) // 3 + 1


@njit(cache=True, nogil=True, inline="always")
def _insert(keys, values, h, value):  # pragma: no cover - compiled
    """Slot of h in an open-addressing table (linear probing), inserting (h, value) if absent."""
    mask = np.uint64(keys.size - 1)
    slot = np.int64(h & mask)
    while True:
        if values[slot] == _EMPTY_SLOT:
            keys[slot] = h
            values[slot] = value
            return slot, True
        if keys[slot] == h:
            return slot, False
        slot = np.int64((np.uint64(slot) + np.uint64(1)) & mask)


@njit(cache=True, nogil=True)
def _rehash(keys, values, new_keys, new_values):  # pragma: no cover - compiled
    for s in range(keys.size):
        if values[s] != _EMPTY_SLOT:
            _insert(new_keys, new_values, keys[s], values[s])


@njit(cache=True, nogil=True)
def _tokenize(
    data, offsets, table, first_doc, keys, values, n_terms, term_start, term_end, out, pos, out_start, out_end
):  # pragma: no cover - compiled
    """Term ids of every token, from doc first_doc on, written to out from out[pos] on, until
    the table is half full. out must have room for the docs' _token_bounds from pos on.

    Doc d's term ids go to out[out_start[d]:out_end[d]], the docs one after the other. New terms
    get the next id and remember where they first occur (byte span); stop words (pre-inserted
    with value _STOP) are dropped. Returns (next doc to do, number of terms, next free slot).

    A doc in two passes, both without a branch per character or per token: its tokens' hashes
    and spans (every character writes a slot, which only the end of a token of two or more
    characters keeps), then their table lookups (every term id is written, which only a word
    that is not a stop word keeps). Branching at each word boundary and lookup cost ~20% more.
    """
    n_docs = offsets.size - 1
    limit = keys.size // 2
    most = 1
    for d in range(first_doc, n_docs):
        most = max(most, (offsets[d + 1] - offsets[d]) // 3 + 2)  # tokens of >= 2 characters, +1
    hashes = np.empty(most, dtype=np.uint64)
    token_start = np.empty(most, dtype=np.int64)
    token_end = np.empty(most, dtype=np.int64)
    for d in range(first_doc, n_docs):
        if n_terms + (offsets[d + 1] - offsets[d]) // 3 + 1 > limit:
            return d, n_terms, pos  # this doc could fill the table past half: grow it first
        i, end = offsets[d], offsets[d + 1]
        h = _FNV_OFFSET
        run = 0  # word characters in a row, up to the one before i
        start = i
        k = 0
        while i < end:
            at = i
            cp, cls, i = _next_char(data, i, end, table)
            word = 1 if (cls & _WORD) != 0 else 0
            hashes[k] = h
            token_start[k] = start
            token_end[k] = at
            k += (1 - word) & (1 if run >= 2 else 0)  # a non-word character ends the token
            start = at if run == 0 else start
            h = ((h if run > 0 else _FNV_OFFSET) ^ np.uint64(cp)) * _FNV_PRIME
            run = (run + 1) * word
        hashes[k] = h
        token_start[k] = start
        token_end[k] = end
        k += 1 if run >= 2 else 0
        n = pos
        out_start[d] = pos
        for t in range(k):
            slot, new = _insert(keys, values, _fmix64(hashes[t]), n_terms)
            if new:
                term_start[n_terms] = token_start[t]
                term_end[n_terms] = token_end[t]
                n_terms += 1
            term = values[slot]
            out[n] = term  # within the doc's slots: a stop word's is taken by the next term
            n += 1 if term != _STOP else 0
        out_end[d] = n
        pos = n
    return n_docs, n_terms, pos


@njit(cache=True, nogil=True)
def _document_frequency(terms, starts, ends, n_terms):  # pragma: no cover - compiled
    df = np.zeros(n_terms, dtype=np.int64)
    last = np.full(n_terms, -1, dtype=np.int64)
    for d in range(starts.size):
        for p in range(starts[d], ends[d]):
            t = terms[p]
            if last[t] != d:
                last[t] = d
                df[t] += 1
    return df


def _document_frequencies(
    terms: npt.NDArray[np.int32], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], n_terms: int
) -> npt.NDArray[np.int64]:
    """Docs containing each term: _document_frequency over ranges of docs in threads, summed."""

    def work(lo: int, hi: int) -> npt.NDArray[np.int64]:
        return _document_frequency(terms, starts[lo:hi], ends[lo:hi], n_terms)

    parts = in_threads(work, thread_parts(ends - starts))
    return parts[0] if len(parts) == 1 else np.sum(parts, axis=0)


@njit(cache=True, nogil=True)
def _count_rows(terms, starts, ends, column, pos, indptr, indices, counts):  # pragma: no cover - compiled
    """CSR of term counts of each doc's kept terms (column >= 0), written from indices[pos] and
    counts[pos] on (room for a row per token of its doc); indptr[0] = pos. Returns the end.

    Within a row, entries are in the order of first occurrence in the corpus (term id), not of
    column: the storage order scikit-learn leaves (it sorts by first-seen id, then renumbers
    columns alphabetically), which the row norms are summed in, so the values match bit for bit.
    """
    n_docs = starts.size
    longest = 1
    for d in range(n_docs):
        longest = max(longest, ends[d] - starts[d])
    distinct = np.empty(longest, dtype=np.uint32)
    scratch = np.empty(longest, dtype=np.uint32)
    sort_counts = np.empty(_SORT_COUNTS, dtype=np.int64)
    # int32: half the cache lines of these random-access tables (a doc index and a count fit)
    seen_in = np.full(column.size, -1, dtype=np.int32)
    count = np.zeros(column.size, dtype=np.int32)
    nnz = pos
    indptr[0] = pos
    for d in range(n_docs):
        m = 0
        for p in range(starts[d], ends[d]):
            t = terms[p]
            if column[t] < 0:
                continue
            if seen_in[t] != d:
                seen_in[t] = d
                count[t] = 0
                distinct[m] = t
                m += 1
            count[t] += 1
        row = distinct[:m]
        _sort_u32(row, scratch, sort_counts)  # a row's ~300 ids come in random order
        for k in range(m):
            indices[nnz] = column[row[k]]
            counts[nnz] = count[row[k]]
            nnz += 1
        indptr[d + 1] = nnz
    return nnz


class _Vocabulary:
    """The term table of a range of docs: hash -> term id (first-occurrence order), and where
    each term first occurs (byte span in the corpus buffer)."""

    def __init__(self, stop: npt.NDArray[np.uint64]) -> None:
        capacity = 1 << max(12, (4 * len(stop)).bit_length())
        self.keys = np.zeros(capacity, dtype=np.uint64)
        self.values = np.full(capacity, _EMPTY_SLOT, dtype=np.int64)
        for h in stop.tolist():  # stop words take no id: their tokens are dropped
            slot = int(h) & (capacity - 1)
            while self.values[slot] != _EMPTY_SLOT:
                slot = (slot + 1) & (capacity - 1)
            self.keys[slot], self.values[slot] = h, _STOP
        self.term_start = np.empty(capacity // 2, dtype=np.int64)
        self.term_end = np.empty(capacity // 2, dtype=np.int64)
        self.n_terms = 0

    def tokenize(
        self,
        encoded: EncodedTexts,
        table: npt.NDArray[np.int32],
        lo: int,
        hi: int,
        terms: npt.NDArray[np.int32],
        pos: int,
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
    ) -> int:
        """Term ids of the tokens of docs lo..hi-1 into terms[starts[d]:ends[d]], one doc after
        the other from terms[pos] on; terms has room for their _token_bounds. Returns the end of
        the last doc's."""
        offsets = encoded.offsets[lo : hi + 1]
        done = 0
        while True:
            done, self.n_terms, pos = _tokenize(
                encoded.data, offsets, table, done, self.keys, self.values, self.n_terms,
                self.term_start, self.term_end, terms, pos, starts[lo:hi], ends[lo:hi],
            )  # fmt: skip
            if done == hi - lo:
                return pos
            # Grow the table (and the first-occurrence arrays) so that the next doc fits below half.
            need = self.n_terms + int(offsets[done + 1] - offsets[done]) // 3 + 1
            capacity = self.keys.size
            while need > capacity // 2:
                capacity *= 2
            new_keys = np.zeros(capacity, dtype=np.uint64)
            new_values = np.full(capacity, _EMPTY_SLOT, dtype=np.int64)
            _rehash(self.keys, self.values, new_keys, new_values)
            self.keys, self.values = new_keys, new_values
            self.term_start = np.resize(self.term_start, capacity // 2)
            self.term_end = np.resize(self.term_end, capacity // 2)

    def hashes(self) -> npt.NDArray[np.uint64]:
        """The hash of each term id."""
        kept = self.values >= 0
        out = np.empty(self.n_terms, dtype=np.uint64)
        out[self.values[kept]] = self.keys[kept]
        return out


@njit(cache=True, nogil=True)
def _lookup(keys, values, hashes, out):  # pragma: no cover - compiled
    """The id of each hash in an open-addressing table, or -1 if absent."""
    mask = np.uint64(keys.size - 1)
    for i in range(hashes.size):
        h = hashes[i]
        slot = np.int64(h & mask)
        out[i] = -1
        while values[slot] != _EMPTY_SLOT:
            if keys[slot] == h:
                out[i] = values[slot]
                break
            slot = np.int64((np.uint64(slot) + np.uint64(1)) & mask)


@njit(cache=True, nogil=True)
def _remap_terms(terms, starts, ends, remap):  # pragma: no cover - compiled
    for d in range(starts.size):
        for p in range(starts[d], ends[d]):
            terms[p] = remap[terms[p]]


class Tokens(NamedTuple):
    """Every doc's term ids, terms[starts[d]:ends[d]], and each term's first occurrence (the
    byte span term_start[t]:term_end[t] of the corpus buffer, which they do not hold)."""

    terms: npt.NDArray[np.int32]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    n_terms: int
    term_start: npt.NDArray[np.int64]
    term_end: npt.NDArray[np.int64]


def _tokenize_in_threads(encoded: EncodedTexts, table: npt.NDArray[np.int32]) -> Tokens:
    """Tokenise the two halves of the docs (by bytes) in two threads, each with its own table,
    then give the second half's terms the ids one pass over all docs would: a term the first
    half has keeps that id, the others follow in their order of first occurrence.

    The term ids go to one buffer sized for every doc's _token_bounds, the second half's from
    the end of the first half's bounds on, and stay there: each doc's terms are where its
    starts and ends say, which is all the passes after this one read. Pages of the buffer past
    what a thread writes are never touched, so the bound costs address space, not memory;
    counting the tokens in a pass of its own first cost ~30% of tokenising, and moving the
    second half's terms up to the first half's (as one array) cost one core 11.7 s at 10^6
    articles in a slow hour.
    """
    n_docs = len(encoded)
    stop = _stop_hashes()
    bounds = _token_bounds(encoded.offsets)
    first_slot = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(bounds, out=first_slot[1:])
    terms = np.empty(int(first_slot[-1]), dtype=np.int32)  # term ids: half the bytes of int64
    starts = np.empty(n_docs, dtype=np.int64)
    ends = np.empty(n_docs, dtype=np.int64)
    total = int(encoded.offsets[-1] - encoded.offsets[0])
    half = encoded.offsets[0] + total / 2
    cut = int(np.searchsorted(encoded.offsets[1:], half)) if total > _MIN_THREAD_BYTES else 0
    if not 0 < cut < n_docs:
        single = _Vocabulary(stop)
        end = single.tokenize(encoded, table, 0, n_docs, terms, 0, starts, ends)
        terms.resize(end, refcheck=False)  # in place: nothing else refers to the buffer yet
        return Tokens(terms, starts, ends, single.n_terms, single.term_start, single.term_end)
    first, second = _Vocabulary(stop), _Vocabulary(stop)
    with ThreadPoolExecutor(2) as pool:
        jobs = [(first, 0, cut, 0), (second, cut, n_docs, int(first_slot[cut]))]

        def tokenize(job: tuple[_Vocabulary, int, int, int]) -> int:
            vocabulary, lo, hi, slot = job
            return vocabulary.tokenize(encoded, table, lo, hi, terms, slot, starts, ends)

        list(pool.map(tokenize, jobs))
    known = np.empty(second.n_terms, dtype=np.int64)
    _lookup(first.keys, first.values, second.hashes(), known)
    fresh = known < 0
    remap = known.copy()
    remap[fresh] = first.n_terms + np.arange(int(fresh.sum()))
    _remap_terms(terms, starts[cut:], ends[cut:], remap)
    n_terms = first.n_terms + int(fresh.sum())
    a, b = first.n_terms, second.n_terms
    term_start = np.concatenate([first.term_start[:a], second.term_start[:b][fresh]])
    term_end = np.concatenate([first.term_end[:a], second.term_end[:b][fresh]])
    return Tokens(terms, starts, ends, n_terms, term_start, term_end)


def _rows_in_threads(
    terms: npt.NDArray[np.int32],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    column: npt.NDArray[np.int64],
    dtype: type,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[Any]]:
    """_count_rows over two halves of the docs in two threads (rows are independent), joined:
    (indptr, indices, counts) of the CSR, the counts in `dtype` (whole numbers, exact in a float:
    no integer copy of them to convert).

    A row has at most as many entries as its doc has tokens, so the two arrays are sized by
    tokens; each half writes its rows from its first doc's first token on, the second half is
    moved up after the first, and the arrays are cut to the entries. Pages past what a half
    writes are never touched: sizing them by tokens costs address space (8 bytes a token), not
    memory, where counting each row's entries in a pass of its own cost half the time.
    """
    n_docs = len(starts)
    first_slot = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=first_slot[1:])
    total = int(first_slot[-1])
    cut = int(np.searchsorted(first_slot[1:], total / 2)) if total > _MIN_THREAD_TOKENS else 0
    parts = [(0, cut), (cut, n_docs)] if 0 < cut < n_docs else [(0, n_docs)]
    indices = np.empty(total, dtype=np.int32)  # columns
    counts: npt.NDArray[Any] = np.empty(total, dtype=dtype)
    indptrs = [np.empty(hi - lo + 1, dtype=np.int64) for lo, hi in parts]

    def work(k: int) -> npt.NDArray[np.int64]:
        lo, hi = parts[k]
        _count_rows(terms, starts[lo:hi], ends[lo:hi], column, first_slot[lo], indptrs[k], indices, counts)
        return indptrs[k] - first_slot[lo]  # the part's rows from its first slot

    with ThreadPoolExecutor(len(parts)) as pool:
        part_offsets = list(pool.map(work, range(len(parts))))
    indptr = join_parts([indices, counts], [int(first_slot[lo]) for lo, _ in parts], part_offsets)
    return indptr, indices, counts


def _term_hashes(words: list[str]) -> npt.NDArray[np.uint64]:
    """The table keys of single-token strings (as _tokenize hashes them)."""
    encoded = encode_texts(words)
    table = _char_table()
    keys = np.zeros(1 << max(4, (4 * len(words)).bit_length()), dtype=np.uint64)
    values = np.full(keys.size, _EMPTY_SLOT, dtype=np.int64)
    out = np.empty(int(_token_bounds(encoded.offsets).sum()), dtype=np.int32)
    out_start = np.empty(len(words), dtype=np.int64)
    out_end = np.empty(len(words), dtype=np.int64)
    first = np.empty(keys.size // 2, dtype=np.int64)
    last = np.empty(keys.size // 2, dtype=np.int64)
    args = (first, last, out, 0, out_start, out_end)
    _, n_terms, _ = _tokenize(encoded.data, encoded.offsets, table, 0, keys, values, 0, *args)
    if n_terms != len(words):
        raise ValueError("every stop word must be one token of two or more word characters")
    return keys[values >= 0][np.argsort(values[values >= 0])]


_STOP_HASHES: npt.NDArray[np.uint64] | None = None


def _stop_hashes() -> npt.NDArray[np.uint64]:
    global _STOP_HASHES
    if _STOP_HASHES is None:
        _STOP_HASHES = _term_hashes(sorted(w for w in ENGLISH_STOP_WORDS if len(w) >= 2))
    return _STOP_HASHES


def _term_strings(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> list[str]:
    """The lower-cased strings of byte spans of data, gathered into one NUL-separated buffer and
    decoded, lower-cased and split at once (a decode per span costs ~3 µs, most of it slicing).
    NUL never occurs in a token, and as a non-letter it leaves str.lower()'s final-sigma rule
    the same as at the end of a lone token."""
    if len(starts) == 0:
        return []
    lengths = ends - starts
    slot = np.cumsum(lengths + 1) - (lengths + 1)  # where each span starts in the buffer
    total = int(slot[-1] + lengths[-1] + 1)
    source = np.repeat(starts - slot, lengths + 1) + np.arange(total)
    joined = data[np.minimum(source, len(data) - 1)]
    joined[slot + lengths] = 0
    return joined.tobytes().decode("utf-8", "surrogatepass").lower().split("\x00")[:-1]


def tokenize(texts: list[str] | EncodedTexts) -> Tokens:
    """The texts' tokens as tfidf_rows reads them (in place of the texts): the texts themselves
    can go once this returns. Relatedness in the shared-text stage tokenises the articles cut
    without their shared lines, a copy of most of the corpus (~3.3 GB at 10^6 articles) that was
    otherwise held through the counting and weighting that follow."""
    return _tokenize_in_threads(encode_texts(texts), _char_table())


def count_terms(
    texts: list[str] | EncodedTexts, min_df: int = 1, max_df: int | float = 1.0, dtype: type = np.float64
) -> tuple[sp.csr_matrix, npt.NDArray[np.str_]]:
    """Term counts and vocabulary, as CountVectorizer(lowercase=True, stop_words="english")
    with the same min_df / max_df (an int is a number of docs, a float a fraction).

    Returns:
        (n_docs, n_terms) counts of type dtype and the terms, sorted (column j is term j).

    Raises:
        ValueError: no term at all (only stop words), or none left after pruning, with
            scikit-learn's messages.
    """
    x, vocabulary, _ = _count_terms(texts, min_df, max_df, dtype, vocabulary=True)
    assert vocabulary is not None
    return x, vocabulary


def _count_terms(
    texts: list[str] | EncodedTexts | Tokens, min_df: int, max_df: int | float, dtype: type, vocabulary: bool
) -> tuple[sp.csr_matrix, npt.NDArray[np.str_] | None, npt.NDArray[np.int64]]:
    """count_terms, and each column's document frequency; with vocabulary=False the terms are
    neither turned into strings nor sorted: the columns are in order of first occurrence (a
    permutation of CountVectorizer's) and the vocabulary is None. The texts may come as their
    Tokens (vocabulary=False only: the terms' strings are in the texts)."""
    if isinstance(texts, Tokens):
        if vocabulary:
            raise ValueError("the vocabulary needs the texts, not their tokens")
        tokens, data = texts, None
    else:
        encoded = encode_texts(texts)
        tokens, data = _tokenize_in_threads(encoded, _char_table()), encoded.data
    terms, starts, ends, n_terms, term_start, term_end = tokens
    n_docs = len(starts)
    if n_terms == 0:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    df = _document_frequencies(terms, starts, ends, n_terms)
    max_count = max_df if isinstance(max_df, int) else max_df * n_docs
    if max_count < min_df:
        raise ValueError("max_df corresponds to < documents than min_df")
    keep = (df >= min_df) & (df <= max_count)
    if not keep.any():
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    kept = np.flatnonzero(keep)
    if vocabulary:
        assert data is not None
        words = _term_strings(data, term_start[kept], term_end[kept])
        order = sorted(range(len(words)), key=words.__getitem__)
    else:
        order = list(range(len(kept)))
    column = np.full(n_terms, -1, dtype=np.int64)
    column[kept[order]] = np.arange(len(order))
    indptr, indices, values = _rows_in_threads(terms, starts, ends, column, dtype)
    # The rows are all that is read from here on: the term ids (4 bytes a token; 1.3 GB for the
    # stories' docs at 10^6 articles) go before the rows are put together.
    del tokens, terms
    index_dtype = np.int32 if len(indices) <= np.iinfo(np.int32).max else np.int64
    indices = indices.astype(index_dtype, copy=False)
    x = sp.csr_matrix((values, indices, indptr.astype(index_dtype)), shape=(n_docs, len(order)))
    terms_out = np.array([words[i] for i in order], dtype=str) if vocabulary else None
    return x, terms_out, df[kept[order]]


def tfidf_vectors(
    texts: list[str] | EncodedTexts,
    min_df: int = 1,
    max_df: int | float = 1.0,
    dtype: type = np.float64,
) -> tuple[sp.csr_matrix, npt.NDArray[np.str_]]:
    """``TfidfVectorizer(lowercase=True, stop_words="english", sublinear_tf=True, min_df=min_df,
    max_df=max_df, dtype=dtype).fit_transform(texts)``, and its feature names.

    Raises:
        ValueError: as TfidfVectorizer: no term, or none left after pruning.
    """
    counts, vocabulary, df = _count_terms(texts, min_df, max_df, dtype, vocabulary=True)
    assert vocabulary is not None
    return _tfidf(counts, df), vocabulary


def tfidf_rows(
    texts: list[str] | EncodedTexts | Tokens,
    min_df: int = 1,
    max_df: int | float = 1.0,
    dtype: type = np.float64,
) -> sp.csr_matrix:
    """The rows of tfidf_vectors without the vocabulary: its columns in order of first
    occurrence, not alphabetical, so no term is turned into a string or sorted. A row's values
    in their storage order are those of tfidf_vectors (stored by first occurrence either way,
    see _count_rows): norms, dot products and sums of rows are the same to the bit. The texts
    may come as their tokens (:func:`tokenize`).

    Raises:
        ValueError: as tfidf_vectors.
    """
    counts, _, df = _count_terms(texts, min_df, max_df, dtype, vocabulary=False)
    return _tfidf(counts, df)


def _tfidf(counts: sp.csr_matrix, df: npt.NDArray[np.int64]) -> sp.csr_matrix:
    """``TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True)
    .fit_transform(counts)`` to the bit, in place (the counts are built in their dtype: scipy's
    astype would sort the indices, see _count_rows), given each column's document frequency
    (counted with the terms: the transformer's own count of the stored entries).

    scikit-learn makes six serial passes over the entries (two validations, log, +1, idf,
    normalisation); here the idf is its own (per term) and the entries are weighed in one
    compiled pass per range of rows, in threads, after numpy's log of the range.
    """
    n_docs = counts.shape[0]
    dtype = counts.dtype.type
    # TfidfTransformer.fit, step by step in the data's dtype
    smoothed = df.astype(dtype)
    smoothed += 1.0
    idf = np.full_like(smoothed, fill_value=n_docs + 1, dtype=dtype)
    idf /= smoothed
    np.log(idf, out=idf)
    idf += 1.0
    indptr = counts.indptr

    def work(lo: int, hi: int) -> None:
        entries = counts.data[indptr[lo] : indptr[hi]]
        np.log(entries, out=entries)  # numpy's own log, as scikit-learn takes it
        _weigh_rows(counts.data, counts.indices, indptr, idf, lo, hi)

    in_threads(work, thread_parts(np.diff(indptr).astype(np.int64)))
    return counts


@njit(cache=True, nogil=True)
def _weigh_rows(data, indices, indptr, idf, lo, hi):  # pragma: no cover - compiled
    """Rows lo..hi-1 of log-counts: +1, times the idf, divided by the row's L2 norm, each step
    rounded to the data's dtype as scikit-learn's passes are, the squares summed in float64
    in storage order as its inplace_csr_row_normalize_l2 does (an all-zero row is left)."""
    for i in range(lo, hi):
        total = 0.0
        for j in range(indptr[i], indptr[i + 1]):
            data[j] = data[j] + 1.0
            data[j] = data[j] * idf[indices[j]]
            total += data[j] * data[j]
        if total == 0.0:
            continue
        norm = np.sqrt(total)
        for j in range(indptr[i], indptr[i + 1]):
            data[j] = data[j] / norm
