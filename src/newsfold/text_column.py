"""Texts held as one UTF-8 buffer and decoded only where one is read (the cleaned article bodies)."""

import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from numba import njit

from newsfold.minhash import EncodedTexts, encode_texts, gather_into, in_threads, thread_parts
from newsfold.store import string_arrays, text_array


class TextColumn(Sequence[str]):
    """A sequence of texts over their encoding, as minhash.encode_texts gives it.

    The stages after shared text read the cleaned bodies through their encoding (signatures,
    TF-IDF), a few of them as strings (a candidate pair's alignment check), and the output
    needs them as an arrow column. Decoding every body into a string in between cost one core
    11.6 s and ~3.8 GB at 10^6 articles, and arrow's column encoded them all again. Here a
    text is decoded when it is read, its length is counted in the buffer, and the arrow column
    is the buffer itself.

    encode_texts lower-cases a text that contains "İ" or "Σ" (see minhash._CONTEXTUAL_LOWER),
    so such a text's bytes are not its own: those texts are kept as strings too (`exact`, by
    row), and win wherever a text is read.
    """

    __slots__ = ("_exact", "_view", "encoded")

    def __init__(self, encoded: EncodedTexts, exact: Mapping[int, str] | None = None) -> None:
        self.encoded = encoded
        self._exact = dict(exact) if exact else {}
        self._view = encoded.data.data  # slices of a memoryview decode without a copy to bytes

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> "TextColumn":
        """The texts encoded (tests and callers that have strings)."""
        return cls(encode_texts(texts), {i: t for i, t in enumerate(texts) if _lowered(t)})

    def __len__(self) -> int:
        return len(self.encoded)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> "TextColumn": ...

    def __getitem__(self, i: int | slice) -> "str | TextColumn":
        n = len(self)
        if isinstance(i, slice):
            lo, hi, step = i.indices(n)
            if step != 1:
                raise ValueError("a TextColumn is sliced with step 1 only")
            hi = max(hi, lo)
            exact = {row - lo: text for row, text in self._exact.items() if lo <= row < hi}
            return TextColumn(self.encoded.slice(lo, hi), exact)
        row = operator.index(i)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError(f"text {i} of {n}")
        text = self._exact.get(row)
        if text is not None:
            return text
        offsets = self.encoded.offsets
        return str(self._view[offsets[row] : offsets[row + 1]], "utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        view, exact = self._view, self._exact
        offsets = self.encoded.offsets.tolist()
        for row in range(len(self)):
            text = exact.get(row)
            if text is None:
                text = str(view[offsets[row] : offsets[row + 1]], "utf-8", "surrogatepass")
            yield text

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same strings (a list of them, as well)."""
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequences are not hashable

    def __repr__(self) -> str:
        return f"TextColumn({len(self)} texts, {self.encoded.data.size} bytes)"

    def take(self, index: npt.NDArray[np.int64]) -> "TextColumn":
        """The texts at `index`, their bytes copied into a buffer of their own (none decoded)."""
        index = np.asarray(index, dtype=np.int64)
        return TextColumn(self.encoded.take(index), dict(self._exact_at(index)))

    def lengths(self) -> npt.NDArray[np.int64]:
        """Each text's length in characters (len), counted in the buffer in threads."""
        offsets = self.encoded.offsets
        out = np.empty(len(self), dtype=np.int64)

        def work(lo: int, hi: int) -> None:
            _count_chars(self.encoded.data, offsets[lo : hi + 1], out[lo:hi])

        in_threads(work, thread_parts(np.diff(offsets)))
        for row, text in self._exact.items():
            out[row] = len(text)
        return out

    def prefixes(self, max_chars: int, index: npt.NDArray[np.int64] | None = None) -> list[str]:
        """``[self[i][:max_chars] for i in index]`` (default: every text), decoding only the
        bytes of the first max_chars characters."""
        rows = np.arange(len(self)) if index is None else np.asarray(index, dtype=np.int64)
        starts = self.encoded.offsets[:-1][rows]
        ends = self.encoded.offsets[1:][rows]
        cut = np.empty(len(rows), dtype=np.int64)

        def work(lo: int, hi: int) -> None:
            _prefix_ends(self.encoded.data, starts[lo:hi], ends[lo:hi], max_chars, cut[lo:hi])

        in_threads(work, thread_parts(np.minimum(ends - starts, 4 * max_chars)))
        view = self._view
        where = zip(starts.tolist(), cut.tolist(), strict=True)
        texts = [str(view[s:e], "utf-8", "surrogatepass") for s, e in where]
        for at, text in self._exact_at(rows):
            texts[at] = text[:max_chars]
        return texts

    def _exact_at(self, index: npt.NDArray[np.int64]) -> list[tuple[int, str]]:
        """(position in index, text) of the rows of `index` kept as strings."""
        if not self._exact:
            return []
        special = np.fromiter(self._exact, dtype=np.int64, count=len(self._exact))
        return [(at, self._exact[int(index[at])]) for at in np.flatnonzero(np.isin(index, special)).tolist()]

    def arrow(self) -> pa.Array | pa.ChunkedArray:
        """``pa.array(list(self), pa.string())`` over the buffer itself (no copy of its bytes),
        in chunks past 2 GB (store.string_arrays). A text with a lone surrogate is not valid
        UTF-8: the column is then made by store.text_array, which says which text it is."""
        data, offsets = self.encoded.data, self.encoded.offsets
        if self._exact:
            data, offsets = _patched(data, offsets, {row: t.encode() for row, t in self._exact.items()})

        def work(lo: int, hi: int) -> bool:
            return bool(_has_surrogate(data[offsets[lo] : offsets[hi]]))

        if any(in_threads(work, thread_parts(np.diff(offsets)))):
            return text_array(list(self))  # raises UnicodeEncodeError, as arrow's conversion does
        pieces = string_arrays(data, offsets)
        if len(pieces) == 1:
            return pieces[0]
        return pa.chunked_array(pieces, type=pa.string())


def _lowered(text: str) -> bool:
    """Whether encode_texts encodes `text` lower-cased (minhash._encode_one)."""
    return "\u0130" in text or "\u03a3" in text


def _patched(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], fresh: Mapping[int, bytes]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The buffer with the texts of rows `fresh` replaced by the given bytes, as a new buffer."""
    n = len(offsets) - 1
    starts, ends = offsets[:-1].copy(), offsets[1:].copy()
    rows = np.array(sorted(fresh), dtype=np.int64)
    fresh_bytes = [fresh[row] for row in rows.tolist()]
    sizes = np.array([len(b) for b in fresh_bytes], dtype=np.int64)
    ends[rows] = np.cumsum(sizes)
    starts[rows] = ends[rows] - sizes
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=out_offsets[1:])
    out = np.empty(int(out_offsets[-1]), dtype=np.uint8)
    from_buffer = np.ones(n, dtype=bool)
    from_buffer[rows] = False
    for which, buffer in (
        (np.flatnonzero(from_buffer), data),
        (rows, np.frombuffer(b"".join(fresh_bytes), dtype=np.uint8)),
    ):
        gather_into(buffer, starts[which], ends[which], out_offsets[which], out)
    return out, out_offsets


def patched_column(encoded: EncodedTexts, fresh: Mapping[int, bytes], exact: Mapping[int, str]) -> TextColumn:
    """A TextColumn of `encoded` with the rows `fresh` re-encoded (their new bytes given)."""
    if not fresh:
        return TextColumn(encoded, exact)
    data, offsets = _patched(encoded.data, encoded.offsets, fresh)
    return TextColumn(EncodedTexts(data, offsets), exact)


@njit(cache=True, nogil=True)
def _count_chars(data, offsets, out):  # pragma: no cover - compiled
    """Characters of each text: its bytes that are not UTF-8 continuation bytes (10xxxxxx)."""
    for i in range(out.size):
        count = 0
        for j in range(offsets[i], offsets[i + 1]):
            count += (data[j] & 0xC0) != 0x80
        out[i] = count


@njit(cache=True, nogil=True)
def _prefix_ends(data, starts, ends, max_chars, out):  # pragma: no cover - compiled
    """Where each text's first max_chars characters end in the buffer (its end if shorter)."""
    for i in range(starts.size):
        out[i] = ends[i]
        seen = 0
        for j in range(starts[i], ends[i]):
            if (data[j] & 0xC0) != 0x80:
                if seen == max_chars:
                    out[i] = j
                    break
                seen += 1


@njit(cache=True, nogil=True)
def _has_surrogate(data):  # pragma: no cover - compiled
    """Whether the bytes hold an encoded surrogate (ED A0..BF ..), which "surrogatepass" writes
    and strict UTF-8 forbids."""
    found = False
    for j in range(data.size - 1):
        if data[j] == 0xED and data[j + 1] >= 0xA0:
            found = True
            break
    return found


def char_lengths(texts: Sequence[str] | TextColumn) -> npt.NDArray[np.int64]:
    """Each text's len(), from the buffer for a TextColumn."""
    if isinstance(texts, TextColumn):
        return texts.lengths()
    return np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
