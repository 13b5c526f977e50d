"""Shingles and MinHash signatures, vectorised and compatible with datasketch's "affine32" scheme."""

import ctypes
import dataclasses
import functools
import itertools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from datasketch import LeanMinHash, MinHash

from newsfold.arrays import unique
from newsfold.encoding import encode_text
from newsfold.jit import njit
from newsfold.unionfind import component_blocks, connected_groups

SCHEME = "affine32"

# Character classes of a code point: exactly what Python's `re` means by `\w` (isalnum or "_"),
# alphanumeric (isalnum) and whitespace (isspace, the separators of str.split()).
_WORD = np.int32(1)
_ALNUM = np.int32(2)
_SPACE = np.int32(4)
_CLASS_SHIFT = np.int32(24)
_CODE_POINT_MASK = np.int32(0x1FFFFF)
_N_CODE_POINTS = 0x110000
# A text containing "İ" or "Σ" is lower-cased by Python before encoding (encoding.encode_text);
# every other text is lower-cased by table lookup while it is decoded, which saves the ~20 µs per
# 500-word article that str.lower() costs on non-ASCII text.
_LINE = re.compile(r"[^\n]+")
_ENCODE_CHUNK = 8192  # texts per encode_texts call in char_keys (one chunk's keys at a time)

# Shingling and signatures split the docs into this many consecutive ranges run in threads (the
# kernels release the GIL): the target machine has two cores. Below ~10^6 units of work (a few
# hundred articles) a thread costs more than it saves.
_THREADS = min(2, os.cpu_count() or 1)
_T = TypeVar("_T")
_MIN_PARALLEL_WORK = 1_000_000
_EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's initial hash value: the signature of an empty set
_SORT_BITS = 16  # _sort_u32 buckets by at most this many top bits
_SORT_COUNTS = 1 << _SORT_BITS
_MAX_BUCKET = 32  # _sort_u32 falls back to LSD radix past this many values in a bucket
_FREE_SLOT = np.uint64(1 << 32)  # an empty slot of _distinct_up_to's set (no 32-bit hash equals it)
# Token hash: FNV-1a 64 over the code points, then fmix64. Shingle hash: a Horner chain over the
# token hashes (or code points) with a golden-ratio multiplier, seeded with the n-gram width,
# then fmix64, top 32 bits. These define persisted signatures: tests pin them to a pure-Python
# reference, and changing them means re-computing every stored signature.
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_PRIME_2 = np.uint64(0x9E3779B97F4A7C15)
_NGRAM_SEED = np.uint64(0x27D4EB2F165667C5)
# Text fingerprint: xxHash64's primes 1 and 2 and two arbitrary seeds, one per 64-bit lane.
_XXH_PRIME_1 = np.uint64(0x9E3779B185EBCA87)
_XXH_PRIME_2 = np.uint64(0xC2B2AE3D27D4EB4F)
_XXH_SEED_1 = np.uint64(0x165667B19E3779F9)
_XXH_SEED_2 = np.uint64(0x85EBCA77C2B2AE63)


@functools.cache
def _char_table() -> npt.NDArray[np.int32]:
    """For every code point: its lower-case code point, and the class bits of that (<< 24).

    Built once per process (~0.1 s) from str.lower() and `re` themselves, so it follows the
    running Python's Unicode database exactly.
    """
    # Every code point, decoded from UTF-32 at once (joining 1.1 million chr() took 0.14 s).
    every_char = np.arange(_N_CODE_POINTS, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    classes = np.zeros(_N_CODE_POINTS, dtype=np.int32)
    for pattern, bit in ((r"\w+", _WORD), (r"[^\W_]+", _ALNUM), (r"\s+", _SPACE)):
        for match in re.finditer(pattern, every_char):
            classes[match.start() : match.end()] |= bit
    lowered = np.frombuffer(every_char.lower().encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # "İ".lower() == "i̇": drop the combining dot so that position = code point again. The
    # entries of "İ" and "Σ" go unused: texts containing them arrive lower-cased already.
    lower = np.delete(lowered, 0x130 + 1).astype(np.int32)
    if lower.size != _N_CODE_POINTS:
        raise RuntimeError("str.lower() maps more code points to several than newsfold expects")
    return lower | (classes[lower] << _CLASS_SHIFT)


@dataclasses.dataclass(frozen=True)
class EncodedTexts:
    """Texts as one UTF-8 buffer: text i is data[offsets[i]:offsets[i+1]].

    The kernels lower-case while decoding, so every function here sees `text.lower()`. Encoding
    is the one per-text Python step: encode a batch once and pass this to each function.
    """

    data: npt.NDArray[np.uint8]
    offsets: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def spans(self) -> "TextSpans":
        """Each text as a span of the buffer."""
        return TextSpans(self.data, self.offsets[:-1], self.offsets[1:])

    def slice(self, lo: int, hi: int) -> "EncodedTexts":
        """Texts lo..hi-1, over a view of the same buffer."""
        return EncodedTexts(
            self.data[self.offsets[lo] : self.offsets[hi]], self.offsets[lo : hi + 1] - self.offsets[lo]
        )

    def take(self, index: npt.NDArray[np.int64]) -> "EncodedTexts":
        """The texts at `index`, copied into a buffer of their own (no encoding again)."""
        index = np.asarray(index, dtype=np.int64)
        return gather(self.data, self.offsets[:-1][index], self.offsets[1:][index])


def gather(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> EncodedTexts:
    """The spans data[starts[i]:ends[i]], one after the other in a new buffer."""
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    gather_into(data, starts, ends, offsets, out)
    return EncodedTexts(out, offsets)


def gather_into(
    data: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    out_starts: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint8],
) -> None:
    """Copy each span data[starts[i]:ends[i]] to out from out_starts[i] on (spans that do not
    overlap in out), ranges of spans of about equal bytes in threads (faulting in the fresh pages
    of `out` is much of a copy's time here; 89 MB: 121-173 ms in one thread, 103-130 in two)."""

    def work(lo: int, hi: int) -> None:
        _gather_kernel(data, starts[lo:hi], ends[lo:hi], out_starts[lo:hi], out)

    in_threads(work, thread_parts(ends - starts))


@njit(cache=True, nogil=True)
def _gather_kernel(data, starts, ends, out_starts, out):  # pragma: no cover - compiled
    """Copy each span data[starts[i]:ends[i]] to out from out_starts[i] on."""
    for i in range(starts.size):
        k = out_starts[i]
        for j in range(starts[i], ends[i]):
            out[k] = data[j]
            k += 1


@dataclasses.dataclass(frozen=True)
class TextSpans:
    """Texts as spans of one UTF-8 buffer: text i is data[starts[i]:ends[i]].

    Spans may leave gaps and need not be in order: the lines of a corpus are spans of the
    buffer of its articles (see `line_spans`), so shingling lines needs no copy of their bytes.
    """

    data: npt.NDArray[np.uint8]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.starts)

    def take(self, index: npt.NDArray[np.int64]) -> "TextSpans":
        """The spans at `index`, over the same buffer."""
        return TextSpans(self.data, self.starts[index], self.ends[index])


_Texts = Sequence[str] | EncodedTexts | TextSpans


def _as_spans(texts: _Texts) -> TextSpans:
    if isinstance(texts, TextSpans):
        return texts
    return encode_texts(texts).spans()


def encode_texts(texts: Sequence[str] | EncodedTexts) -> EncodedTexts:
    """UTF-8 encode a batch of texts into one buffer (lone surrogates pass through)."""
    if isinstance(texts, EncodedTexts):
        return texts
    return encode_all(texts, utf8_bound(texts))


def utf8_bound(texts: Sequence[str]) -> int:
    """An upper bound of the texts' UTF-8 bytes, without encoding them."""
    # A character is at most 4 bytes ("İ", lower-cased first, is 2 characters in 3 bytes), and an
    # ASCII one exactly 1 (isascii() is a flag lookup). Pages past the end are never touched.
    # map and filter keep the loop in C: 2/3 of a generator's time on millions of short texts.
    ascii_chars = sum(map(len, filter(str.isascii, texts)))
    return ascii_chars + 4 * (sum(map(len, texts)) - ascii_chars)


def encode_all(
    texts: Iterable[str], capacity: int = 0, encode: Callable[[str], bytes] = encode_text
) -> EncodedTexts:
    """`encode_texts` of texts, holding one text's bytes at a time (the bytes objects of a whole
    corpus would double its peak). The buffer starts at `capacity` bytes and grows by half in
    place (realloc) when a text does not fit. `encode` gives each text's bytes (by default as
    the kernels read them: see EncodedTexts).

    Each text's bytes go straight into the buffer through a memoryview: joining chunks of 8,192
    texts' bytes first and copying the joined bytes in touched every byte twice more (20,000
    articles: ~220 -> ~100-160 ms; 233,000 lines: ~380 -> ~330 ms).
    """
    data = np.empty(max(capacity, 1), dtype=np.uint8)
    view = data.data  # a memoryview of the buffer
    ends: list[int] = [0]
    end = 0
    for text in texts:
        encoded = encode(text)
        size = len(encoded)
        if end + size > data.size:
            view.release()  # numpy resizes in place only without views of the buffer
            data.resize(max(end + size, data.size + data.size // 2), refcheck=False)
            view = data.data  # a memoryview of the buffer
        view[end : end + size] = encoded
        end += size
        ends.append(end)
    view.release()
    data.resize(end, refcheck=False)  # in place: nothing else refers to the buffer yet
    return EncodedTexts(data=data, offsets=np.array(ends, dtype=np.int64))


@dataclasses.dataclass(frozen=True)
class Shingles:
    """Shingle hash sets in CSR layout: doc i's shingles are hashes[offsets[i]:offsets[i+1]].

    Within a doc the hashes are sorted and unique, so set operations are linear merges.
    """

    hashes: npt.NDArray[np.uint32]
    offsets: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sizes(self) -> npt.NDArray[np.int64]:
        """Number of distinct shingles of each doc."""
        return np.diff(self.offsets)

    def take(self, index: npt.NDArray[np.int64]) -> "Shingles":
        """The sets of the docs at `index`, in that order."""
        sizes = self.sizes()[index]
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        gather = np.repeat(self.offsets[:-1][index] - offsets[:-1], sizes) + np.arange(offsets[-1])
        return Shingles(self.hashes[gather], offsets)


# ---- numba kernels: serial and GIL-free, so callers can run batches in threads -----------------
# Serial on purpose: a prange signature kernel measured no faster on the 2 shared cores here,
# and numba's threading layers available here are either not thread-safe (workqueue: aborts
# when two threads launch kernels) or not fork-safe (GNU OpenMP), which a flow mapping batches
# over threads or processes would hit.


@njit(cache=True, nogil=True, inline="always")
def _decode(data, i, end):
    """Decode the UTF-8 code point at data[i]; returns (code point, next index)."""
    c = np.int64(data[i])
    if c < 0x80:
        return c, i + 1
    if c >= 0xF0 and i + 3 < end:
        cp = ((c & 0x07) << 18) | ((np.int64(data[i + 1]) & 0x3F) << 12)
        cp |= ((np.int64(data[i + 2]) & 0x3F) << 6) | (np.int64(data[i + 3]) & 0x3F)
        return (cp if cp < _N_CODE_POINTS else 0xFFFD), i + 4
    if c >= 0xE0 and i + 2 < end:
        cp = ((c & 0x0F) << 12) | ((np.int64(data[i + 1]) & 0x3F) << 6) | (np.int64(data[i + 2]) & 0x3F)
        return cp, i + 3
    if c >= 0xC0 and i + 1 < end:
        return ((c & 0x1F) << 6) | (np.int64(data[i + 1]) & 0x3F), i + 2
    return 0xFFFD, i + 1  # a stray continuation or truncated sequence: never a word character


@njit(cache=True, nogil=True, inline="always")
def _next_char(data, i, end, table):
    """Decode and lower-case the character at data[i]; returns (code point, class bits, next i)."""
    cp, i = _decode(data, i, end)
    entry = table[cp]
    return entry & _CODE_POINT_MASK, entry >> _CLASS_SHIFT, i


@njit(cache=True, nogil=True, inline="always")
def _fmix64(h):
    """MurmurHash3's 64-bit finaliser (an avalanching bijection)."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@njit(cache=True, nogil=True, inline="always")
def _fmix32(x):
    """MurmurHash3's 32-bit finaliser, as datasketch's `_fmix(hv, 32)`."""
    h = np.uint32(x)
    h ^= h >> np.uint32(16)
    h = np.uint32(h * np.uint32(0x85EBCA6B))
    h ^= h >> np.uint32(13)
    h = np.uint32(h * np.uint32(0xC2B2AE35))
    h ^= h >> np.uint32(16)
    return h


@njit(cache=True, nogil=True)
def _radix_pass(src, dst, n, shift, counts):
    total = 0
    for c in range(256):
        count = counts[c]
        counts[c] = total
        total += count
    for i in range(n):
        v = src[i]
        key = (v >> shift) & np.uint32(255)
        dst[counts[key]] = v
        counts[key] += 1


@njit(cache=True, nogil=True, inline="always")
def _insertion_sort(x):
    for i in range(1, x.size):
        v = x[i]
        j = i - 1
        while j >= 0 and x[j] > v:
            x[j + 1] = x[j]
            j -= 1
        x[j + 1] = v


@njit(cache=True, nogil=True)
def _radix_sort_u32(x, scratch, histogram):
    """LSD radix sort in place, 4 byte-passes; histogram is (4, 256)."""
    n = x.size
    histogram[:, :] = 0
    for i in range(n):
        v = x[i]
        histogram[0, v & np.uint32(255)] += 1
        histogram[1, (v >> np.uint32(8)) & np.uint32(255)] += 1
        histogram[2, (v >> np.uint32(16)) & np.uint32(255)] += 1
        histogram[3, v >> np.uint32(24)] += 1
    tmp = scratch[:n]
    _radix_pass(x, tmp, n, np.uint32(0), histogram[0])
    _radix_pass(tmp, x, n, np.uint32(8), histogram[1])
    _radix_pass(x, tmp, n, np.uint32(16), histogram[2])
    _radix_pass(tmp, x, n, np.uint32(24), histogram[3])


@njit(cache=True, nogil=True)
def _sort_u32(x, scratch, counts):
    """Sort x in place (scratch: at least x.size values; counts: _SORT_COUNTS int64).

    Short arrays by insertion sort. Otherwise one counting-sort pass on the top bits of the
    values' range, about one bucket per value, then insertion sort, which only moves a value
    within its bucket: for hashes or ids spread evenly, 0.66x the time of a 4-pass LSD radix
    sort on 3,500 values (15.2 -> 10.0 ns a value) and 0.9x on 300. A bucket of more than
    _MAX_BUCKET values (many equal or clustered values) would make insertion sort quadratic:
    then the LSD radix sort does it all, linear whatever the values.
    """
    n = x.size
    if n < 48:
        _insertion_sort(x)
        return
    top = np.uint32(0)
    for i in range(n):
        top = max(top, x[i])
    bits = 1
    while (1 << bits) < n and bits < _SORT_BITS:
        bits += 1
    span = 1
    while span < 32 and (top >> np.uint32(span)) != 0:
        span += 1  # the values fit in `span` bits
    shift = np.uint32(max(span - bits, 0))
    buckets = counts[: (top >> shift) + 1]
    buckets[:] = 0
    for i in range(n):
        buckets[x[i] >> shift] += 1
    total = 0
    biggest = 0
    for b in range(buckets.size):
        k = buckets[b]
        biggest = max(biggest, k)
        buckets[b] = total
        total += k
    if biggest > _MAX_BUCKET:
        _radix_sort_u32(x, scratch, counts[:1024].reshape((4, 256)))
        return
    tmp = scratch[:n]
    for i in range(n):
        v = x[i]
        b = v >> shift
        tmp[buckets[b]] = v
        buckets[b] += 1
    x[:] = tmp
    _insertion_sort(x)


@njit(cache=True, nogil=True)
def _hash_ngrams(units, n_units, ngram, out, scratch, sort_counts):
    """Hash the n-grams of units[:n_units] into out, then sort and deduplicate; returns the count."""
    n_out = _ngram_hash_values(units, n_units, ngram, out)
    if n_out == 0:
        return 0
    _sort_u32(out[:n_out], scratch, sort_counts)
    n_unique = 1
    for i in range(1, n_out):
        if out[i] != out[n_unique - 1]:
            out[n_unique] = out[i]
            n_unique += 1
    return n_unique


@njit(cache=True, nogil=True)
def _ngram_hash_values(units, n_units, ngram, out):
    """Hash the n-grams of units[:n_units] into out (in order, repeats kept); returns the count.

    An n-gram's hash is fmix64 of the Horner chain h = seed; h = h * P + unit (mod 2^64), taking
    the top 32 bits. The chain of the n-gram at i + 1 is that of the n-gram at i rolled on by
    one unit: (h - units[i] * P^(w-1)) * P + units[i + w], exact mod 2^64. (Summing the
    expanded terms over all positions, w - 1 passes of vectorised 64-bit multiplies, took 7.1 ns
    a character for 7-grams; rolling takes 3.0.)
    """
    width = min(ngram, n_units)
    n_out = n_units - width + 1 if n_units > 0 else 0
    if n_out == 0:
        return 0
    acc = np.uint64(0)
    power = np.uint64(1)  # P^(width-1): what the unit leaving the window weighs in the chain
    for j in range(width):
        acc = acc * _PRIME_2 + units[j]
        if j > 0:
            power *= _PRIME_2
    seed_term = (_NGRAM_SEED + np.uint64(width)) * power * _PRIME_2
    out[0] = np.uint32(_fmix64(acc + seed_term) >> np.uint64(32))
    for i in range(1, n_out):
        acc = (acc - units[i - 1] * power) * _PRIME_2 + units[i + width - 1]
        out[i] = np.uint32(_fmix64(acc + seed_term) >> np.uint64(32))
    return n_out


@njit(cache=True, nogil=True)
def _count_words(data, starts, ends, table):
    n_docs = starts.size
    counts = np.zeros(n_docs, dtype=np.int64)
    for d in range(n_docs):
        i, end = starts[d], ends[d]
        in_word = False
        n = 0
        while i < end:
            _, cls, i = _next_char(data, i, end, table)
            is_word = (cls & _WORD) != 0
            if is_word and not in_word:
                n += 1
            in_word = is_word
        counts[d] = n
    return counts


@njit(cache=True, nogil=True)
def _count_split_words(data, starts, ends, table, out):  # pragma: no cover - compiled
    """out[d]: the runs of non-whitespace characters of text d (len(text.split()))."""
    for d in range(starts.size):
        i, end = starts[d], ends[d]
        in_word = False
        n = 0
        while i < end:
            _, cls, i = _next_char(data, i, end, table)
            is_word = (cls & _SPACE) == 0
            if is_word and not in_word:
                n += 1
            in_word = is_word
        out[d] = n


@njit(cache=True, nogil=True)
def _word_shingle_kernel(data, starts, ends, table, n_words, ngram, out, out_offsets):
    """Word tokens (FNV-1a 64 of their code points, finalised) -> n-gram hashes, per doc."""
    n_docs = starts.size
    out_offsets[0] = 0
    units = np.empty(max(n_words.max(), 1) if n_docs else 1, dtype=np.uint64)
    scratch = np.empty(units.size, dtype=np.uint32)
    sort_counts = np.empty(_SORT_COUNTS, dtype=np.int64)
    for d in range(n_docs):
        i, end = starts[d], ends[d]
        n = 0
        h = _FNV_OFFSET
        in_word = False
        while i < end:
            cp, cls, i = _next_char(data, i, end, table)
            if (cls & _WORD) != 0:
                h = (h ^ np.uint64(cp)) * _FNV_PRIME
                in_word = True
            elif in_word:
                units[n] = _fmix64(h)
                n += 1
                h = _FNV_OFFSET
                in_word = False
        if in_word:
            units[n] = _fmix64(h)
            n += 1
        kept = _hash_ngrams(units, n, ngram, out[out_offsets[d] :], scratch, sort_counts)
        out_offsets[d + 1] = out_offsets[d] + kept


@njit(cache=True, nogil=True)
def _key_kernel(data, starts, ends, table, pos, out_offsets, out):
    """Write each doc's key (alphanumeric runs joined by one space) as code points into out, one
    after the other from out[pos] on (room for a code point per byte): key d is
    out[pos + out_offsets[d]:pos + out_offsets[d + 1]], out_offsets[0] = 0."""
    k = pos
    out_offsets[0] = 0
    for d in range(starts.size):
        first = k
        gap = False
        i, end = starts[d], ends[d]
        while i < end:
            cp, cls, i = _next_char(data, i, end, table)
            if (cls & _ALNUM) != 0:
                if gap:
                    out[k] = 32
                    k += 1
                    gap = False
                out[k] = cp
                k += 1
            elif k > first:
                gap = True
        out_offsets[d + 1] = k - pos


@njit(cache=True, nogil=True, inline="always")
def _key_units(data, i, end, table, units):
    """The code points of a text's key (alphanumeric runs joined by one space) into units;
    returns their number."""
    n = 0
    gap = 0  # 1 after a non-alphanumeric character that follows some key
    # Branch-free: a word boundary every ~6 characters mispredicted often enough to cost 40%
    # (4.1 -> 2.5 ns a character). A space is written at n every time and kept only before a
    # character that follows a gap; n never passes the characters read, so units is big enough.
    while i < end:
        cp, cls, i = _next_char(data, i, end, table)
        alnum = 1 if (cls & _ALNUM) != 0 else 0
        units[n] = np.uint64(32)
        n += alnum & gap
        units[n] = np.uint64(cp)
        n += alnum
        gap = (1 - alnum) & (gap | (1 if n > 0 else 0))
    return n


@njit(cache=True, nogil=True)
def _char_shingle_kernel(data, starts, ends, table, n_chars, ngram, out, out_offsets):
    """Key (alphanumeric runs joined by one space) -> code-point n-gram hashes, per doc."""
    n_docs = starts.size
    out_offsets[0] = 0
    units = np.empty(max(n_chars.max(), 1) if n_docs else 1, dtype=np.uint64)
    scratch = np.empty(units.size, dtype=np.uint32)
    sort_counts = np.empty(_SORT_COUNTS, dtype=np.int64)
    for d in range(n_docs):
        n = _key_units(data, starts[d], ends[d], table, units)
        kept = _hash_ngrams(units, n, ngram, out[out_offsets[d] :], scratch, sort_counts)
        out_offsets[d + 1] = out_offsets[d] + kept


@njit(cache=True, nogil=True, inline="always")
def _distinct_up_to(hashes, n, cap, table):
    """The number of distinct values among hashes[:n], counted up to `cap` (then it stops).

    An open-addressing set of len(table) >= 2 * cap slots (a power of two), cleared first; a
    typical article's first `cap` shingles are all distinct, so this reads ~cap of them.
    """
    table[:] = _FREE_SLOT
    mask = np.uint64(table.size - 1)
    found = 0
    for s in range(n):
        v = np.uint64(hashes[s])
        slot = (v * _PRIME_2) >> np.uint64(40) & mask
        while table[slot] != _FREE_SLOT and table[slot] != v:
            slot = (slot + np.uint64(1)) & mask
        if table[slot] == _FREE_SLOT:
            table[slot] = v
            found += 1
            if found >= cap:
                break
    return found


@njit(cache=True, nogil=True, inline="always")
def _signature_row(mixed, n, a, b, out, d):
    """out[d] = the affine32 signature of the fmix32-mixed shingle hashes mixed[:n]."""
    for k in range(a.size):
        a_k, b_k = a[k], b[k]
        low = _EMPTY
        for s in range(n):
            low = min(low, np.uint32(a_k * mixed[s] + b_k))
        out[d, k] = low


@njit(cache=True, nogil=True)
def _char_signature_kernel(
    data, starts, ends, table, n_chars, ngram, a, b, whole, out, cap, distinct, slots, prefix, prefix_out
):  # pragma: no cover - compiled
    """`_char_shingle_kernel` then `_signature_kernel`, fused: a signature is a minimum, which
    repeated shingles do not change, so the shingles are neither sorted nor deduplicated nor
    stored (shared text signs ~10^6 lines of ~300 characters per 10^5 articles).

    With whole, out[d] is doc d's signature (not computed otherwise). With cap > 0, distinct[d]
    is its number of distinct shingles counted up to cap (_distinct_up_to, in the set `slots`).
    With prefix > 0, prefix_out[d] is the signature of the key of the first `prefix` characters
    of its key: the n-grams of a prefix are the first ones of the key, so only the minimum is
    taken again (the prefix's one shingle when it is shorter than an n-gram).
    """
    n_docs = starts.size
    size = max(n_chars.max(), 1) if n_docs else 1
    units = np.empty(size, dtype=np.uint64)
    hashes = np.empty(size, dtype=np.uint32)
    for d in range(n_docs):
        n = _key_units(data, starts[d], ends[d], table, units)
        n_out = _ngram_hash_values(units, n, ngram, hashes)
        if cap > 0:
            distinct[d] = _distinct_up_to(hashes, n_out, cap, slots)
        for s in range(n_out):
            hashes[s] = _fmix32(hashes[s])
        # The prefix is a key too: one cut after a space loses it, as a key has none at its end.
        m = prefix - 1 if n > prefix and units[prefix - 1] == 32 else min(n, prefix)
        if prefix > 0 and m < n and m >= ngram:
            # The prefix's n-grams are the key's first ones: the whole signature goes on from
            # the prefix's minima instead of taking them again.
            _signature_row(hashes, m - ngram + 1, a, b, prefix_out, d)
            if whole:
                _signature_row(hashes[m - ngram + 1 :], n_out - (m - ngram + 1), a, b, out, d)
                for k in range(a.size):
                    out[d, k] = min(out[d, k], prefix_out[d, k])
            continue
        if whole:
            _signature_row(hashes, n_out, a, b, out, d)
        if prefix > 0:
            if m == n and whole:
                prefix_out[d] = out[d]
            elif m == n:
                _signature_row(hashes, n_out, a, b, prefix_out, d)
            else:
                short = np.empty(1, dtype=np.uint32)
                _ngram_hash_values(units, m, ngram, short)
                short[0] = _fmix32(short[0])
                _signature_row(short, 1, a, b, prefix_out, d)


@njit(cache=True, nogil=True, inline="always")
def _xxh_round(acc, lane, prime_1, prime_2):
    """xxHash64's accumulator round: acc = rotl(acc + lane * prime_2, 31) * prime_1."""
    acc += lane * prime_2
    acc = (acc << np.uint64(31)) | (acc >> np.uint64(33))
    return acc * prime_1


@njit(cache=True, nogil=True, inline="always")
def _push_unit(unit, lane, in_lane, h1, h2):
    lane = (lane << np.uint64(21)) | unit
    in_lane += 1
    if in_lane == 3:
        h1 = _xxh_round(h1, lane, _XXH_PRIME_1, _XXH_PRIME_2)
        h2 = _xxh_round(h2, lane, _XXH_PRIME_2, _XXH_PRIME_1)
        lane = np.uint64(0)
        in_lane = 0
    return lane, in_lane, h1, h2


@njit(cache=True, nogil=True)
def _fingerprint_kernel(data, offsets, table, out):
    """Two independently seeded 64-bit hashes of each text with whitespace runs collapsed to
    one space and stripped. Code points (21 bits) are packed three to a 64-bit lane, so the
    dependent multiply chain runs once per three characters."""
    for d in range(offsets.size - 1):
        i, end = offsets[d], offsets[d + 1]
        h1 = _XXH_SEED_1
        h2 = _XXH_SEED_2
        lane = np.uint64(0)
        in_lane = 0
        n = 0
        gap = False
        while i < end:
            cp, cls, i = _next_char(data, i, end, table)
            if (cls & _SPACE) != 0:
                gap = n != 0
                continue
            if gap:
                lane, in_lane, h1, h2 = _push_unit(np.uint64(32), lane, in_lane, h1, h2)
                n += 1
                gap = False
            lane, in_lane, h1, h2 = _push_unit(np.uint64(cp), lane, in_lane, h1, h2)
            n += 1
        h1 = _xxh_round(h1, lane, _XXH_PRIME_1, _XXH_PRIME_2)
        h2 = _xxh_round(h2, lane, _XXH_PRIME_2, _XXH_PRIME_1)
        out[d, 0] = _fmix64(h1 ^ np.uint64(n))
        out[d, 1] = _fmix64(h2 + np.uint64(n))


@njit(cache=True, nogil=True)
def _key_fingerprint_kernel(data, starts, ends, table, lengths, out):
    """Length and fingerprint of each text's key (alphanumeric runs joined by one space): what
    `_fingerprint_kernel` gives the key string itself, without building it."""
    for d in range(starts.size):
        i, end = starts[d], ends[d]
        h1 = _XXH_SEED_1
        h2 = _XXH_SEED_2
        lane = np.uint64(0)
        in_lane = 0
        n = 0
        gap = False
        while i < end:
            cp, cls, i = _next_char(data, i, end, table)
            if (cls & _ALNUM) == 0:
                gap = n != 0
                continue
            if gap:
                lane, in_lane, h1, h2 = _push_unit(np.uint64(32), lane, in_lane, h1, h2)
                n += 1
                gap = False
            lane, in_lane, h1, h2 = _push_unit(np.uint64(cp), lane, in_lane, h1, h2)
            n += 1
        h1 = _xxh_round(h1, lane, _XXH_PRIME_1, _XXH_PRIME_2)
        h2 = _xxh_round(h2, lane, _XXH_PRIME_2, _XXH_PRIME_1)
        lengths[d] = n
        out[d, 0] = _fmix64(h1 ^ np.uint64(n))
        out[d, 1] = _fmix64(h2 + np.uint64(n))


@njit(cache=True, nogil=True)
def _signature_kernel(hashes, offsets, a, b, out):
    """affine32: phv_k = a_k * fmix32(h) + b_k mod 2^32, minimised over a doc's shingles.

    The loop over shingles is innermost so that it compiles to a vectorised min-reduction
    (vpmulld/vpaddd/vpminud); with permutations innermost instead, the signature row is loaded
    and stored for every shingle and the kernel runs ~1.7x slower.
    """
    n_max = 1
    for d in range(offsets.size - 1):
        n_max = max(n_max, offsets[d + 1] - offsets[d])
    mixed = np.empty(n_max, dtype=np.uint32)
    for d in range(offsets.size - 1):
        start, n = offsets[d], offsets[d + 1] - offsets[d]
        for s in range(n):
            mixed[s] = _fmix32(hashes[start + s])
        _signature_row(mixed, n, a, b, out, d)


@njit(cache=True, nogil=True)
def _intersection_kernel(hashes, offsets, pairs, out):
    for p in range(pairs.shape[0]):
        i, i_end = offsets[pairs[p, 0]], offsets[pairs[p, 0] + 1]
        j, j_end = offsets[pairs[p, 1]], offsets[pairs[p, 1] + 1]
        n = 0
        while i < i_end and j < j_end:
            x, y = hashes[i], hashes[j]
            if x == y:
                n += 1
                i += 1
                j += 1
            elif x < y:
                i += 1
            else:
                j += 1
        out[p] = n


# ---- shingles --------------------------------------------------------------------------------


def _check_ngram(ngram: int) -> None:
    if ngram < 1:
        raise ValueError(f"ngram must be >= 1, got {ngram}")


def thread_parts(weights: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """Consecutive doc ranges of about equal total weight, one per thread (one range when the
    work is too small for a thread to pay off)."""
    n = len(weights)
    total = int(weights.sum())
    k = min(_THREADS, n) if total >= _MIN_PARALLEL_WORK else 1
    if k <= 1:
        return [(0, n)]
    cuts = np.searchsorted(np.cumsum(weights), total * np.arange(1, k) / k)
    bounds = [0, *sorted(set(np.clip(cuts, 1, n - 1).tolist())), n]
    return list(itertools.pairwise(bounds))


def in_threads(work: Callable[[int, int], _T], parts: list[tuple[int, int]]) -> list[_T]:
    """work(lo, hi) for every part, in threads (the kernels release the GIL)."""
    if len(parts) == 1:
        return [work(*parts[0])]
    with ThreadPoolExecutor(len(parts)) as pool:
        return list(pool.map(lambda part: work(*part), parts))


def _shingles_from(
    spans: TextSpans,
    counts: npt.NDArray[np.int64],
    ngram: int,
    kernel: Callable[..., None],
) -> Shingles:
    # Docs are processed in order, each writing its unique shingles right after the previous
    # doc's, into a buffer sized for the shingles before deduplication. Consecutive ranges of
    # docs run in threads, each in its own region of the buffer; the regions are then moved
    # together and the buffer shrunk in place (realloc), so the peak is the buffer alone (1.5 GB
    # for 10^5 articles of character 7-grams), not the buffer plus a compacted copy.
    n_shingles = np.where(counts >= ngram, counts - ngram + 1, np.minimum(counts, 1))
    table = _char_table()
    buffer = np.empty(int(n_shingles.sum()), dtype=np.uint32)
    region = np.concatenate([[0], np.cumsum(n_shingles)])

    def work(lo: int, hi: int) -> npt.NDArray[np.int64]:
        offsets = np.empty(hi - lo + 1, dtype=np.int64)
        out = buffer[region[lo] : region[hi]]
        kernel(spans.data, spans.starts[lo:hi], spans.ends[lo:hi], table, counts[lo:hi], ngram, out, offsets)
        return offsets

    parts = thread_parts(n_shingles)
    offsets = join_parts([buffer], [int(region[lo]) for lo, _ in parts], in_threads(work, parts))
    return Shingles(hashes=buffer[: offsets[-1]], offsets=offsets)


def join_parts(
    buffers: Sequence[npt.NDArray[Any]], starts: Sequence[int], part_offsets: Sequence[npt.NDArray[np.int64]]
) -> npt.NDArray[np.int64]:
    """Join what threads wrote into regions of the same buffers: part k's item i is at
    buffers[.][starts[k] + part_offsets[k][i]] (part_offsets[k][0] == 0). Each part is moved left
    to follow the one before, and each buffer shrunk in place (realloc) to the items when nothing
    else refers to it; returns the offsets of the joined items, one array over all parts."""
    end = 0
    joined = [np.zeros(1, dtype=np.int64)]
    for start, offsets in zip(starts, part_offsets, strict=True):
        n = int(offsets[-1])
        for buffer in buffers:
            move_left(buffer, start, end, n)
        joined.append(offsets[1:] + end)
        end += n
    for buffer in buffers:
        if buffer.flags.owndata and buffer.base is None and end < buffer.size:
            buffer.resize(end, refcheck=False)  # no views of it are left: the writers are done
    return np.concatenate(joined)


def move_left(buffer: npt.NDArray[Any], src: int, dst: int, n: int) -> None:
    """buffer[dst:dst+n] = buffer[src:src+n] for dst <= src, without a temporary copy: an
    overlapping assignment makes numpy copy the whole source range first (1.7 GB at 10^6
    articles). libc's memmove copies overlapping ranges as they are, ~10 GB/s here against
    0.7 GB/s for a compiled loop of element copies, and ctypes releases the GIL around it."""
    if src < dst:
        raise ValueError(f"move_left moves left only, got src {src} < dst {dst}")
    if not buffer.flags.c_contiguous or buffer.ndim != 1:
        raise ValueError("move_left needs a contiguous one-dimensional buffer")
    if src + n > buffer.size:
        raise ValueError(f"move_left: {n} items from {src} run past the buffer's {buffer.size}")
    if src != dst and n > 0:
        base, size = buffer.ctypes.data, buffer.itemsize
        ctypes.memmove(base + dst * size, base + src * size, n * size)


def word_shingles(texts: _Texts, ngram: int) -> Shingles:
    """Hashed word n-grams of each text.

    Tokens are the lower-cased Unicode word runs (`\\w+`, exactly as Python's `re`); a shingle is
    `ngram` consecutive tokens. A text with 1..ngram-1 tokens gets one shingle of all its tokens;
    a text without tokens gets none. Tokenising and hashing run in one compiled pass over the
    UTF-8 buffer: measured on 500-word articles, `re.findall` plus factorising the tokens alone
    cost ~0.25 ms per article, most of the pipeline's budget, against ~0.02 ms here.

    Args:
        texts: The texts, or the same texts already passed through `encode_texts`, or spans.
        ngram: Tokens per shingle.

    Returns:
        The 32-bit shingle hashes of every text, sorted and unique within a text.
    """
    _check_ngram(ngram)
    spans = _as_spans(texts)
    counts = _count_words(spans.data, spans.starts, spans.ends, _char_table())
    return _shingles_from(spans, counts, ngram, _word_shingle_kernel)


def char_shingles(texts: _Texts, ngram: int) -> Shingles:
    """Hashed character n-grams of each text's key.

    The key is the lower-cased text with every run of non-alphanumeric characters replaced by one
    space, stripped. Shingles are n-grams of its code points (so a 5-gram is five characters in
    any script); a key shorter than `ngram` is one shingle, an empty key none.

    Args:
        texts: The texts, or the same texts already passed through `encode_texts`, or spans.
        ngram: Characters per shingle.

    Returns:
        The 32-bit shingle hashes of every text, sorted and unique within a text.
    """
    _check_ngram(ngram)
    spans = _as_spans(texts)
    # Bytes bound the key's characters: the buffer is sized by them, the unused end given back.
    return _shingles_from(spans, spans.ends - spans.starts, ngram, _char_shingle_kernel)


def text_fingerprints(texts: Sequence[str] | EncodedTexts) -> npt.NDArray[np.uint64]:
    """A 128-bit hash (two uint64 columns) of each lower-cased text with its whitespace normalised.

    Equal rows mean equal `" ".join(text.lower().split())`, up to hash collisions (~2^-128).
    """
    encoded = encode_texts(texts)
    out = np.empty((len(encoded), 2), dtype=np.uint64)
    table = _char_table()

    def work(lo: int, hi: int) -> None:
        _fingerprint_kernel(encoded.data, encoded.offsets[lo : hi + 1], table, out[lo:hi])

    in_threads(work, thread_parts(np.diff(encoded.offsets)))
    return out


def char_keys(texts: _Texts) -> list[str]:
    """Each text's key, the string `char_shingles` shingles: the lower-cased text with every
    run of non-alphanumeric characters replaced by one space, stripped.

    Equal to ``re.sub(r"[\\W_]+", " ", text.lower()).strip()`` (the tests check it), built in
    one compiled pass and one decode per block of texts: ~4x faster than the regex per text.
    Blocks keep the code-point buffer (4 bytes a character) to a block's texts.
    """
    if not isinstance(texts, TextSpans | EncodedTexts):
        keys: list[str] = []
        for lo in range(0, len(texts), _ENCODE_CHUNK):
            keys.extend(_char_keys(encode_texts(texts[lo : lo + _ENCODE_CHUNK]).spans()))
        return keys
    return _char_keys(_as_spans(texts))


def _char_keys(spans: TextSpans) -> list[str]:
    code_points, offsets = key_code_points(spans)
    joined = code_points.tobytes().decode("utf-32-le")
    bounds = offsets.tolist()
    return [joined[lo:hi] for lo, hi in itertools.pairwise(bounds)]


def split_counts(texts: _Texts) -> npt.NDArray[np.int64]:
    """``len(text.split())`` of each text, counted in its bytes in threads (no string per text;
    whitespace as str.split finds it: the table's class of re's ``\\s``, which the tests hold to
    str.isspace over every code point)."""
    spans = _as_spans(texts)
    out = np.empty(len(spans), dtype=np.int64)
    table = _char_table()

    def work(lo: int, hi: int) -> None:
        _count_split_words(spans.data, spans.starts[lo:hi], spans.ends[lo:hi], table, out[lo:hi])

    in_threads(work, thread_parts(spans.ends - spans.starts))
    return out


def key_code_points(texts: _Texts) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """The keys of `char_keys` as code points: key i is out[offsets[i]:offsets[i+1]].

    A key has at most a code point per byte of its text: ranges of texts run in threads, each
    from its first text's first byte on in a buffer sized by bytes, are moved together and the
    buffer shrunk in place (pages past what a range writes are never touched), instead of a
    pass that counted every key's characters first.
    """
    spans = _as_spans(texts)
    table = _char_table()
    size = spans.ends - spans.starts
    region = np.zeros(len(spans) + 1, dtype=np.int64)
    np.cumsum(size, out=region[1:])
    out = np.empty(int(region[-1]), dtype=np.uint32)

    def work(lo: int, hi: int) -> npt.NDArray[np.int64]:
        offsets = np.empty(hi - lo + 1, dtype=np.int64)
        _key_kernel(spans.data, spans.starts[lo:hi], spans.ends[lo:hi], table, region[lo], offsets, out)
        return offsets

    parts = thread_parts(size)
    offsets = join_parts([out], [int(region[lo]) for lo, _ in parts], in_threads(work, parts))
    return out, offsets


def encode_code_points(
    code_points: npt.NDArray[np.uint32], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> EncodedTexts:
    """The spans code_points[starts[i]:ends[i]] as UTF-8 texts (what `encode_texts` gives for the
    strings they spell, when those contain no "İ" or "Σ": a key never does)."""
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    ends = np.ascontiguousarray(ends, dtype=np.int64)
    out = np.empty(4 * int((ends - starts).sum()), dtype=np.uint8)
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    _utf8_kernel(code_points, starts, ends, out, offsets)
    return EncodedTexts(out[: offsets[-1]], offsets)


@njit(cache=True, nogil=True)
def _utf8_kernel(code_points, starts, ends, out, offsets):  # pragma: no cover - compiled
    k = 0
    for w in range(starts.size):
        for j in range(starts[w], ends[w]):
            c = np.int64(code_points[j])
            if c < 0x80:
                out[k] = c
                k += 1
            elif c < 0x800:
                out[k] = 0xC0 | (c >> 6)
                out[k + 1] = 0x80 | (c & 0x3F)
                k += 2
            elif c < 0x10000:
                out[k] = 0xE0 | (c >> 12)
                out[k + 1] = 0x80 | ((c >> 6) & 0x3F)
                out[k + 2] = 0x80 | (c & 0x3F)
                k += 3
            else:
                out[k] = 0xF0 | (c >> 18)
                out[k + 1] = 0x80 | ((c >> 12) & 0x3F)
                out[k + 2] = 0x80 | ((c >> 6) & 0x3F)
                out[k + 3] = 0x80 | (c & 0x3F)
                k += 4
        offsets[w + 1] = k


def key_fingerprints(texts: _Texts) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Length (in characters) and fingerprint of each text's key, without building the keys.

    The key is the lower-cased text with every run of non-alphanumeric characters replaced by
    one space, stripped (what `char_shingles` shingles). The fingerprint equals
    `text_fingerprints(key)`; the length equals `len(key)`.
    """
    spans = _as_spans(texts)
    lengths = np.empty(len(spans), dtype=np.int64)
    out = np.empty((len(spans), 2), dtype=np.uint64)
    table = _char_table()

    def work(lo: int, hi: int) -> None:
        _key_fingerprint_kernel(
            spans.data, spans.starts[lo:hi], spans.ends[lo:hi], table, lengths[lo:hi], out[lo:hi]
        )

    in_threads(work, thread_parts(spans.ends - spans.starts))
    return lengths, out


# ---- lines -----------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _count_lines(data, offsets):
    """Lines (non-empty runs of bytes other than "\n") per doc."""
    n_docs = offsets.size - 1
    counts = np.zeros(n_docs, dtype=np.int64)
    for d in range(n_docs):
        n = 0
        in_line = False
        for i in range(offsets[d], offsets[d + 1]):
            if data[i] == 10:
                in_line = False
            elif not in_line:
                n += 1
                in_line = True
        counts[d] = n
    return counts


@njit(cache=True, nogil=True)
def _line_kernel(data, offsets, line_offsets, byte_start, byte_end, char_start, char_end):
    """Byte span and character span of every line. UTF-8 never has byte 10 inside a multi-byte
    sequence, and a character starts at every byte that is not a continuation byte (10xxxxxx)."""
    for d in range(offsets.size - 1):
        k = line_offsets[d]
        chars = 0
        in_line = False
        for i in range(offsets[d], offsets[d + 1]):
            b = data[i]
            if b == 10:
                if in_line:
                    byte_end[k] = i
                    char_end[k] = chars
                    k += 1
                in_line = False
            elif not in_line:
                byte_start[k] = i
                char_start[k] = chars
                in_line = True
            if (b & 0xC0) != 0x80:
                chars += 1
        if in_line:
            byte_end[k] = offsets[d + 1]
            char_end[k] = chars


@dataclasses.dataclass(frozen=True)
class Lines:
    """The lines of a corpus (non-empty runs of characters other than "\n", as the regex
    ``[^\n]+`` finds them), in order: doc d's lines are rows doc_offsets[d]:doc_offsets[d+1]."""

    spans: TextSpans  # each line's bytes in the encoded corpus
    doc: npt.NDArray[np.int64]
    char_start: npt.NDArray[np.int64]  # character offsets of the line in its doc's text
    char_end: npt.NDArray[np.int64]
    doc_offsets: npt.NDArray[np.int64]
    doc_bytes: npt.NDArray[np.int64]  # doc d is spans.data[doc_bytes[d]:doc_bytes[d+1]]

    def __len__(self) -> int:
        return len(self.doc)


def line_spans(texts: Sequence[str] | EncodedTexts, exact: Mapping[int, str] | None = None) -> Lines:
    """Every line of every text, found in one compiled pass over the encoded corpus: no Python
    string per line (a 10^5-article corpus has ~10^6 lines). The spans index the buffer of
    `encode_texts(texts)`, so `char_shingles` and `key_fingerprints` take lines as they are.

    Texts given encoded are read as they are (no copy); their character offsets are then those
    of the encoded text, which for a text containing "İ" is its lower() (see EncodedTexts):
    where such offsets matter, pass the strings, or with the encoded texts those of the texts
    encoded lower-cased (`exact`, by index: TextColumn.exact)."""
    encoded = encode_texts(texts)
    parts = thread_parts(np.diff(encoded.offsets))  # both passes: ranges of docs in threads
    counts = np.empty(len(encoded), dtype=np.int64)

    def count(lo: int, hi: int) -> None:
        counts[lo:hi] = _count_lines(encoded.data, encoded.offsets[lo : hi + 1])

    in_threads(count, parts)
    doc_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=doc_offsets[1:])
    n = int(doc_offsets[-1])
    byte_start, byte_end = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    char_start, char_end = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)

    def cut(lo: int, hi: int) -> None:
        _line_kernel(
            encoded.data, encoded.offsets[lo : hi + 1], doc_offsets[lo : hi + 1],
            byte_start, byte_end, char_start, char_end,
        )  # fmt: skip

    in_threads(cut, parts)
    # "İ" lower-cases to two characters, and encode_texts lower-cases a text containing it: its
    # character offsets come from the text itself (lower() adds and removes no "\n").
    strings = (exact or {}).items() if isinstance(texts, EncodedTexts) else enumerate(texts)
    for d, text in strings:
        if "\u0130" in text:
            bounds = np.array([m.span() for m in _LINE.finditer(text)], dtype=np.int64).reshape(-1, 2)
            char_start[doc_offsets[d] : doc_offsets[d + 1]] = bounds[:, 0]
            char_end[doc_offsets[d] : doc_offsets[d + 1]] = bounds[:, 1]
    doc = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    spans = TextSpans(encoded.data, byte_start, byte_end)
    return Lines(spans, doc, char_start, char_end, doc_offsets, encoded.offsets)


# ---- signatures ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CharSketches:
    """What MinHasher.char_sketches computes in one pass over the texts."""

    signatures: npt.NDArray[np.uint32] | None  # (n, num_perm), of the whole keys
    distinct: npt.NDArray[np.int64] | None  # (n,) distinct shingles, up to count_up_to
    prefix_signatures: npt.NDArray[np.uint32] | None  # (n, num_perm), of the keys' prefixes


class MinHasher:
    """MinHash signatures for many shingle sets at once, equal to datasketch's for the same seed.

    Each signature equals `datasketch.MinHash(num_perm, seed, hashfunc=lambda h: h)` updated with
    the doc's shingle hashes: the permutations are taken from datasketch itself and the kernel
    applies its "affine32" scheme (MurmurHash3 fmix32 pre-mix, then a_k * h + b_k mod 2^32).
    """

    scheme = SCHEME

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        if num_perm < 1:
            raise ValueError(f"num_perm must be >= 1, got {num_perm}")
        self.num_perm = num_perm
        self.seed = seed
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
        self._a = np.ascontiguousarray(a, dtype=np.uint32)
        self._b = np.ascontiguousarray(b, dtype=np.uint32)

    def signatures(self, shingles: Shingles) -> npt.NDArray[np.uint32]:
        """Signatures of shape (n_docs, num_perm); a doc without shingles gets all 0xFFFFFFFF."""
        out = np.empty((len(shingles), self.num_perm), dtype=np.uint32)
        hashes = np.ascontiguousarray(shingles.hashes, dtype=np.uint32)
        offsets = np.ascontiguousarray(shingles.offsets, dtype=np.int64)

        def work(lo: int, hi: int) -> None:
            _signature_kernel(hashes, offsets[lo : hi + 1], self._a, self._b, out[lo:hi])

        in_threads(work, thread_parts(np.diff(offsets) * self.num_perm))
        return out

    def char_signatures(self, texts: _Texts, ngram: int) -> npt.NDArray[np.uint32]:
        """``signatures(char_shingles(texts, ngram))`` in one pass that keeps no shingle set."""
        signatures = self.char_sketches(texts, ngram).signatures
        assert signatures is not None
        return signatures

    def char_sketches(
        self,
        texts: _Texts,
        ngram: int,
        count_up_to: int = 0,
        prefix_chars: int = 0,
        whole: bool = True,
        out: npt.NDArray[np.uint32] | None = None,
    ) -> CharSketches:
        """`char_signatures` (unless whole is False: then signatures is None), written into
        `out` if given (a C-contiguous (n, num_perm) uint32 array, such as rows of a larger
        one), and in the same pass (without building the shingle sets):

        - with count_up_to > 0, each text's number of distinct shingles counted up to it
          (``min(char_shingles(texts, ngram).sizes(), count_up_to)``);
        - with prefix_chars > 0, the signatures of the first prefix_chars characters of each
          text's key (``char_signatures([k[:prefix_chars] for k in char_keys(texts)], ngram)``,
          which shingles the key of each prefix: one cut after a space is without it).
        """
        _check_ngram(ngram)
        if count_up_to < 0 or prefix_chars < 0:
            raise ValueError(f"count_up_to and prefix_chars must be >= 0, got {count_up_to}, {prefix_chars}")
        spans = _as_spans(texts)
        table = _char_table()
        # A key has at most as many characters as its text has bytes: enough to size the
        # kernel's buffers and weigh the threads' shares, without a counting pass.
        counts = spans.ends - spans.starts
        n = len(spans)
        if out is None or not whole:
            out = np.empty((n if whole else 0, self.num_perm), dtype=np.uint32)
        elif out.shape != (n, self.num_perm) or out.dtype != np.uint32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous uint32 array of shape ({n}, {self.num_perm})")
        distinct = np.zeros(n, dtype=np.int64)
        prefix_out = np.empty((n if prefix_chars else 0, self.num_perm), dtype=np.uint32)
        slots = 1 << max(1, (2 * count_up_to - 1).bit_length())  # a power of two >= 2 * count_up_to
        work_per_doc = (counts if whole else 0) + np.minimum(counts, prefix_chars)

        def work(lo: int, hi: int) -> None:
            _char_signature_kernel(
                spans.data, spans.starts[lo:hi], spans.ends[lo:hi], table, counts[lo:hi], ngram,
                self._a, self._b, whole, out[lo:hi] if whole else out, count_up_to, distinct[lo:hi],
                np.empty(slots, np.uint64), prefix_chars, prefix_out[lo:hi] if prefix_chars else prefix_out,
            )  # fmt: skip

        in_threads(work, thread_parts(work_per_doc * self.num_perm))
        return CharSketches(
            out if whole else None, distinct if count_up_to else None, prefix_out if prefix_chars else None
        )

    def to_minhash(self, signature: npt.NDArray[np.uint32]) -> LeanMinHash:
        """One signature as a datasketch LeanMinHash (e.g. to query a MinHashLSH index)."""
        if signature.shape != (self.num_perm,):
            raise ValueError(f"signature must have shape ({self.num_perm},), got {signature.shape}")
        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme=SCHEME)


# ---- LSH -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def lsh_params(
    threshold: float,
    num_perm: int,
    false_negative_weight: float = 0.9,
    min_recall: float = 0.95,
) -> tuple[int, int]:
    """LSH (bands, rows) with bands * rows <= num_perm, tuned for high recall at `threshold`.

    As datasketch's `_optimal_param`, integrate the S-curve P(s) = 1 - (1 - s^rows)^bands: the
    false-positive area below `threshold` and the false-negative area above it, and minimise
    0.1 * FP + 0.9 * FN, because every candidate is verified exactly (a false positive costs one
    merge of two sorted arrays, a false negative loses a duplicate for good). The weighting alone
    leaves P(threshold) ~0.92, so the search is restricted to parameters with
    P(threshold) >= `min_recall` (the constraint binds: the result sits just above it). At 128
    permutations, threshold 0.43 (dedup's candidate level) gives (37, 3): P(0.43) = 0.952,
    P(0.3) = 0.64, P(0.2) = 0.26, P(0.1) = 0.036, P(0.05) = 0.005; threshold 0.7 gives (17, 5):
    P(0.7) = 0.956, P(0.3) = 0.04.

    Args:
        threshold: Jaccard similarity to be recalled.
        num_perm: Permutations per signature.
        false_negative_weight: Weight of the false-negative area (the rest weighs false positives).
        min_recall: Smallest acceptable probability that a pair at exactly `threshold` is a candidate.

    Returns:
        (bands, rows).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if num_perm < 2:
        raise ValueError(f"num_perm must be >= 2, got {num_perm}")
    bands, rows = np.array(
        [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)], dtype=np.float64
    ).T
    bands, rows = bands[:, None], rows[:, None]

    def candidate_probability(s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return 1.0 - (1.0 - s[None, :] ** rows) ** bands

    below = np.linspace(0.0, threshold, 513)
    above = np.linspace(threshold, 1.0, 513)
    false_positive = np.trapezoid(candidate_probability(below), below, axis=1)
    false_negative = np.trapezoid(1.0 - candidate_probability(above), above, axis=1)
    error = (1.0 - false_negative_weight) * false_positive + false_negative_weight * false_negative
    recall = candidate_probability(np.array([threshold]))[:, 0]
    # rows = 1, bands = num_perm always qualifies for any sensible min_recall and threshold.
    error = np.where(recall >= min_recall, error, np.inf)
    best = int(np.argmin(error))
    return int(bands[best, 0]), int(rows[best, 0])


def band_keys(
    signatures: npt.NDArray[np.uint32], bands: int, rows: int, at: npt.NDArray[np.int64] | None = None
) -> npt.NDArray[np.uint64]:
    """One uint64 per (doc, band): a polynomial hash of the band's rows (collisions only add
    candidates, which are verified anyway), key = (..((seed·P + r0)·P + r1)..)·P + r_last modulo
    2^64; of the signatures' rows `at` only, if given (``band_keys(signatures[at], ...)``
    without that copy: 0.8 GB for dedup's representatives at 10^6 articles). Computed in
    threads, a doc's bands at a time: numpy's passes over whole columns, with the signatures
    widened to uint64 first, took one core 7 s at 10^6 articles (dedup's 38 bands of 5 rows)."""
    at = np.arange(signatures.shape[0], dtype=np.int64) if at is None else np.asarray(at, dtype=np.int64)
    n = len(at)
    keys = np.empty((n, bands), dtype=np.uint64)

    def work(lo: int, hi: int) -> None:
        _band_keys_kernel(signatures, at[lo:hi], bands, rows, _NGRAM_SEED, _PRIME_2, keys[lo:hi])

    in_threads(work, thread_parts(np.full(n, bands * rows, dtype=np.int64)))
    return keys


@njit(cache=True, nogil=True)
def _band_keys_kernel(signatures, at, bands, rows, seed, prime, out):  # pragma: no cover - compiled
    for i in range(out.shape[0]):
        row = at[i]
        for b in range(bands):
            key = seed
            for r in range(rows):
                key = key * prime + np.uint64(signatures[row, b * rows + r])
            out[i, b] = key


def candidate_pairs(
    signatures: npt.NDArray[np.uint32], bands: int, rows: int, max_bucket: int = 1000
) -> npt.NDArray[np.int64]:
    """Pairs of docs that share a whole band of their signatures (banded MinHash LSH).

    Each band's keys are sorted with numpy and equal runs are buckets. A bucket of k <= max_bucket
    docs gives its k(k-1)/2 pairs. A bucket larger than `max_bucket` is a degenerate key (e.g.
    many near-empty docs) whose all-pairs would be quadratic; its members are linked only to its
    first (lowest-index) member: a star keeps the bucket connected for union-find in k - 1 pairs.

    Args:
        signatures: (n_docs, num_perm) uint32 signatures.
        bands: Number of bands.
        rows: Signature rows per band; bands * rows <= num_perm.
        max_bucket: Largest bucket expanded to all pairs.

    Returns:
        (m, 2) int64 pairs with i < j, unique, sorted.
    """
    n, num_perm = signatures.shape
    if bands < 1 or rows < 1 or bands * rows > num_perm:
        raise ValueError(f"need 1 <= bands * rows <= {num_perm}, got bands={bands}, rows={rows}")
    if max_bucket < 2:
        raise ValueError(f"max_bucket must be >= 2, got {max_bucket}")
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    return bucket_pairs(band_keys(signatures, bands, rows), max_bucket)


def bucket_pairs(keys: npt.NDArray[np.uint64], max_bucket: int = 1000) -> npt.NDArray[np.int64]:
    """The pairs of `candidate_pairs` from the band keys of the docs, (n_docs, bands) `band_keys`
    (a caller signing docs in blocks keeps only these: 8 bytes a band, not 4 a permutation)."""
    n = keys.shape[0]
    if max_bucket < 2:
        raise ValueError(f"max_bucket must be >= 2, got {max_bucket}")
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    # A band at a time in each thread: the temporaries are a band's (n slots), not all bands'
    # (n x bands: 4 GB for the 10^7 distinct lines of 10^6 articles); pairs met in several
    # bands are merged last.
    codes = [np.zeros(0, dtype=np.int64)]
    codes += _per_band(keys, lambda column: _band_pair_codes(column, max_bucket))
    merged = unique(np.concatenate(codes))
    return np.stack([merged // n, merged % n], axis=1)


def _per_band(keys: npt.NDArray[np.uint64], work: Callable[[npt.NDArray[np.uint64]], _T]) -> list[_T]:
    """work(column of band b) for every band b in order, bands in threads (numpy's sorts release
    the GIL); each thread copies out the column it works on, so a band's temporaries are alive
    per thread, not all bands' at once."""
    bands = range(keys.shape[1])

    def one(band: int) -> _T:
        return work(np.ascontiguousarray(keys[:, band]))

    if _THREADS == 1 or keys.shape[0] * keys.shape[1] < _MIN_PARALLEL_WORK:
        return [one(band) for band in bands]
    with ThreadPoolExecutor(_THREADS) as pool:
        return list(pool.map(one, bands))


def _band_pair_codes(column: npt.NDArray[np.uint64], max_bucket: int) -> npt.NDArray[np.int64]:
    """The pairs (as i * n + j, i < j, unique) of the buckets of one band's keys."""
    n = column.size
    # Members of a bucket are in index order, so pairs come out with i < j.
    members, first, sizes = _band_buckets(column)
    if sizes.size == 0:
        return np.zeros(0, dtype=np.int64)
    # Each member pairs with the members after it (all-pairs), or only the first member pairs
    # with all others (star). Positions of members within their bucket:
    rank = np.arange(members.size) - np.repeat(first, sizes)
    size = np.repeat(sizes, sizes)
    star = np.repeat(sizes > max_bucket, sizes)
    partners = np.where(star, np.where(rank == 0, size - 1, 0), size - 1 - rank)
    left = np.repeat(np.arange(members.size), partners)
    right = left + 1 + (np.arange(left.size) - np.repeat(np.cumsum(partners) - partners, partners))
    return unique(members[left] * np.int64(n) + members[right])


def verified_bucket_groups(
    keys: npt.NDArray[np.uint64],
    threshold: float,
    shingles_of: Callable[[npt.NDArray[np.int64]], Shingles],
    max_bucket: int = 1000,
    block: int = 1 << 18,
) -> npt.NDArray[np.int64]:
    """``connected_groups(n, p)`` for ``p`` the pairs of ``bucket_pairs(keys, max_bucket)`` whose
    exact Jaccard is at least ``threshold``, without listing the pairs.

    A family of near-identical docs fills its buckets with all its pairs (up to max_bucket²/2
    a bucket), though a handful of them connect it. The buckets are walked in a compiled loop
    over a union-find: a pair already connected is skipped, any other is verified there and
    then, and a bucket is left once all its members are connected. The components are those of
    the verified pairs whatever the order, so the result is the same; a bucket of near-copies
    costs a verification and two lookups per member, not a verification per pair.

    Every bucket lies inside one component of the graph that links each bucket's members (its
    co-bucket components, most of them a few docs), so the walk runs a block of whole such
    components at a time, with the shingle sets of that block's docs only: all the bucketed
    docs' sets at once were the largest allocation of a run (~7 GB at 10^6 articles, the shared
    lines' character 5-grams). How much that saves depends on the components: at 10^6 articles
    one of them held 64% of the bucketed lines (false candidates chain families of alike lines),
    at 10^5 the largest held 1%.

    Args:
        keys: (n_docs, bands) band keys (:func:`band_keys`).
        threshold: Least Jaccard of a verified pair.
        shingles_of: The shingle sets of the docs at the given (sorted) indices; only the docs
            in some bucket of two or more are asked for, each once.
        max_bucket: Buckets of more docs link each to the bucket's first only (a star).
        block: Bucketed docs whose shingle sets are held at a time (a larger co-bucket
            component is walked whole).

    Returns:
        (n_docs,) labels, each the smallest doc index of its group.
    """
    n = keys.shape[0]
    if max_bucket < 2:
        raise ValueError(f"max_bucket must be >= 2, got {max_bucket}")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    buckets = [b for b in _per_band(keys, _band_buckets) if b[0].size]
    if not buckets:
        return np.arange(n, dtype=np.int64)
    # The bucketed items and each one's place among them, through arrays as long as the items:
    # sorting every band's members together and a binary search per member cost 0.3 s at 10^5
    # articles and 21 s at 10^6 (millions of members, searched in an array past the caches).
    is_involved = np.zeros(n, dtype=bool)
    for members, _, _ in buckets:
        is_involved[members] = True
    involved = np.flatnonzero(is_involved)
    del is_involved
    place = np.empty(n, dtype=np.int64)
    place[involved] = np.arange(len(involved))
    local = [place[members] for members, _, _ in buckets]
    del place
    # Blocks of whole co-bucket components, about `block` docs each.
    component = np.arange(len(involved), dtype=np.int64)
    for (_, starts, sizes), members in zip(buckets, local, strict=True):
        _link_buckets(members, starts, sizes, component)
    _roots(component, component)
    block_of = component_blocks(component, block)
    del component
    in_block, block_start, by_rank = _ranks_within(block_of)
    # Each band's buckets sorted by block, so a block's are one slice of them.
    by_block = [
        _buckets_by_block(members, starts, sizes, block_of, len(block_start) - 1)
        for members, (_, starts, sizes) in zip(local, buckets, strict=True)
    ]
    del buckets, local
    linked = []
    for b in range(len(block_start) - 1):
        if block_start[b] == block_start[b + 1]:
            continue  # a component larger than a block covers the numbers after its own
        chosen = by_rank[block_start[b] : block_start[b + 1]]  # ascending, as involved is
        shingles = shingles_of(involved[chosen])
        runs = []
        for members, starts, sizes, bounds in by_block:
            lo, hi = bounds[b], bounds[b + 1]
            if hi > lo:
                m_lo, m_hi = starts[lo], starts[hi - 1] + sizes[hi - 1]
                runs.append((in_block[members[m_lo:m_hi]], starts[lo:hi] - m_lo, sizes[lo:hi]))
        linked.append(_walk(runs, len(chosen), max_bucket, shingles, threshold, involved[chosen]))
        del shingles
    return connected_groups(n, np.concatenate(linked))


def _walk(
    runs: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]],
    n_docs: int,
    max_bucket: int,
    shingles: Shingles,
    threshold: float,
    docs: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """The verified links of the buckets `runs` (members as places among `docs`, bucket starts
    and sizes, one run per band with buckets in the block: at least one, as every doc of a block
    is in some bucket), as (doc, its root) pairs."""
    # The walk is serial, so the bands are split into runs of about equal pairs, each walked in a
    # thread over a union-find of its own: the union of the two forests has the components of
    # all verified pairs (a thread skips only pairs its own links connect, which verify the same).
    pairs = [np.where(sizes > max_bucket, sizes - 1, sizes * (sizes - 1) // 2).sum() for _, _, sizes in runs]

    def walk(lo: int, hi: int) -> npt.NDArray[np.int64]:
        parent = np.arange(n_docs, dtype=np.int64)
        for members, starts, sizes in runs[lo:hi]:
            _link_verified(
                members, starts, sizes, max_bucket, shingles.hashes, shingles.offsets, threshold, parent
            )
        roots = np.empty(n_docs, dtype=np.int64)
        _roots(parent, roots)
        return np.stack([docs, docs[roots]], axis=1)

    return np.concatenate(in_threads(walk, thread_parts(np.array(pairs, dtype=np.int64))))


def _ranks_within(
    block_of: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each item's rank among the items of its block (in index order), where each block starts
    in the items sorted by block, and that order (stable)."""
    counts = np.bincount(block_of)
    block_start = np.r_[0, np.cumsum(counts)]
    order = np.argsort(block_of, kind="stable")
    rank = np.empty(len(block_of), dtype=np.int64)
    rank[order] = np.arange(len(block_of)) - block_start[block_of[order]]
    return rank, block_start, order


def _buckets_by_block(
    members: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    block_of: npt.NDArray[np.int64],
    n_blocks: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """One band's buckets reordered by the block of their members (a bucket's members are all in
    one block; within a block the buckets keep their order): (members, starts, sizes, each
    block's first bucket)."""
    bucket_block = block_of[members[starts]]
    order = np.argsort(bucket_block, kind="stable")
    sizes = sizes[order]
    new_starts = np.cumsum(sizes) - sizes
    within = np.arange(int(sizes.sum())) - np.repeat(new_starts, sizes)
    members = members[np.repeat(starts[order], sizes) + within]
    bounds = np.searchsorted(bucket_block[order], np.arange(n_blocks + 1))
    return members, new_starts, sizes, bounds


def _band_buckets(
    column: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """One band's buckets of two or more docs: their members (in index order within a bucket,
    kept by the stable sort), and each bucket's start in them and size."""
    n = column.size
    members = np.argsort(column, kind="stable")
    sorted_keys = column[members]
    is_start = np.ones(n, dtype=bool)
    is_start[1:] = sorted_keys[1:] != sorted_keys[:-1]
    starts = np.flatnonzero(is_start)
    sizes = np.diff(np.append(starts, n))
    starts, sizes = starts[sizes > 1], sizes[sizes > 1]
    first = np.cumsum(sizes) - sizes
    within = np.arange(int(sizes.sum())) - np.repeat(first, sizes)
    return members[np.repeat(starts, sizes) + within], first, sizes


@njit(cache=True, nogil=True, inline="always")
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def _roots(parent, out):
    for i in range(parent.size):
        out[i] = _find(parent, i)


@njit(cache=True, nogil=True)
def _link_buckets(members, starts, sizes, parent):  # pragma: no cover - compiled
    """Link every member of each bucket to the bucket's first, unverified (co-bucket components)."""
    for b in range(starts.size):
        r = _find(parent, members[starts[b]])
        for x in range(starts[b] + 1, starts[b] + sizes[b]):
            q = _find(parent, members[x])
            if q != r:
                parent[q] = r


@njit(cache=True, nogil=True)
def _link_verified(members, starts, sizes, max_bucket, hashes, offsets, threshold, parent):
    for b in range(starts.size):
        s, m = starts[b], sizes[b]
        heads = 1 if m > max_bucket else m - 1  # a star pairs only its first member
        for x in range(heads):
            i = members[s + x]
            linked = False
            for y in range(x + 1, m):
                j = members[s + y]
                ri, rj = _find(parent, i), _find(parent, j)
                if ri == rj:
                    continue
                p, p_end = offsets[i], offsets[i + 1]
                q, q_end = offsets[j], offsets[j + 1]
                a, b = p_end - p, q_end - q
                # J <= min(a, b) / max(a, b), and rounding keeps the order: sets this unequal
                # cannot pass (nor can two empty ones).
                if max(a, b) == 0 or min(a, b) / max(a, b) < threshold:
                    continue
                # The merge stops once the shingles left cannot lift the intersection to `need`,
                # the least one that passes: most pairs in a bucket fail, and fail early.
                need = _least_passing_intersection(a + b, threshold)
                inter = 0
                while p < p_end and q < q_end:
                    if hashes[p] == hashes[q]:
                        inter += 1
                        p += 1
                        q += 1
                    else:
                        if hashes[p] < hashes[q]:
                            p += 1
                        else:
                            q += 1
                        if inter + min(p_end - p, q_end - q) < need:
                            break
                union = a + b - inter
                # As jaccard(): a float64 ratio, 0 for two empty sets.
                if union > 0 and inter / union >= threshold:
                    parent[ri] = rj
                    linked = True
            # A bucket whose members are all connected has no pair left to verify (a family of
            # near-copies usually is after its first row: ~2m lookups, not m²/2).
            if linked and _all_connected(parent, members, s, m):
                break


@njit(cache=True, nogil=True, inline="always")
def _least_passing_intersection(total, threshold):
    """The least k with k / (total - k) >= threshold as _link_verified computes it in float64
    (total = |A| + |B|, so k / (total - k) is the Jaccard of sets sharing k): the ratio grows
    with k, and starting just below the exact bound t * total / (1 + t) leaves only rounding."""
    k = max(int(threshold * total / (1.0 + threshold)) - 1, 0)
    while k < total and k / (total - k) < threshold:
        k += 1
    return k


@njit(cache=True, nogil=True)
def _all_connected(parent, members, s, m):
    root = _find(parent, members[s])
    for y in range(s + 1, s + m):  # noqa: SIM110 (a loop: numba compiles no generator in all())
        if _find(parent, members[y]) != root:
            return False
    return True


# ---- exact verification ----------------------------------------------------------------------


def _check_pairs(shingles: Shingles, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    pairs = np.ascontiguousarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= len(shingles)):
        raise ValueError(f"pair indices must be in [0, {len(shingles)})")
    return pairs


def intersection_sizes(shingles: Shingles, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """|A ∩ B| for each pair of docs, by merging their sorted shingle sets (ranges of pairs of
    about equal merge work in threads)."""
    pairs = _check_pairs(shingles, pairs)
    out = np.empty(len(pairs), dtype=np.int64)
    sizes = shingles.sizes()

    def work(lo: int, hi: int) -> None:
        _intersection_kernel(shingles.hashes, shingles.offsets, pairs[lo:hi], out[lo:hi])

    in_threads(work, thread_parts(sizes[pairs[:, 0]] + sizes[pairs[:, 1]]))
    return out


def _ratio(numerator: npt.NDArray[np.int64], denominator: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """numerator / denominator, 0.0 where the denominator is 0 (empty sets share no evidence)."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def jaccard(shingles: Shingles, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Exact Jaccard similarity |A ∩ B| / |A ∪ B| of each pair (0.0 for two empty sets)."""
    pairs = _check_pairs(shingles, pairs)
    inter = intersection_sizes(shingles, pairs)
    sizes = shingles.sizes()
    return _ratio(inter, sizes[pairs[:, 0]] + sizes[pairs[:, 1]] - inter)


def containment(shingles: Shingles, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """|A ∩ B| / min(|A|, |B|) of each pair: how much of the smaller doc is in the larger."""
    pairs = _check_pairs(shingles, pairs)
    inter = intersection_sizes(shingles, pairs)
    sizes = shingles.sizes()
    return _ratio(inter, np.minimum(sizes[pairs[:, 0]], sizes[pairs[:, 1]]))
