"""Texts held as one UTF-8 buffer and decoded only where one is read (the cleaned article bodies)."""

import itertools
import mmap
import operator
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from newsfold.encoding import encode_text, is_lowered
from newsfold.jit import njit
from newsfold.minhash import (
    EncodedTexts,
    encode_texts,
    gather,
    gather_into,
    in_threads,
    thread_parts,
)
from newsfold.store import string_arrays, text_array

_SPILL_CHUNK = 64 * 2**20  # bytes per write of TextColumn.spilled


class TextColumn(Sequence[str]):
    """A sequence of texts over their encoding, as minhash.encode_texts gives it.

    The stages after shared text read the cleaned bodies through their encoding (signatures,
    TF-IDF), a few of them as strings (a candidate pair's alignment check), and the output
    needs them as an arrow column. Decoding every body into a string in between cost one core
    11.6 s and ~3.8 GB at 10^6 articles, and arrow's column encoded them all again. Here a
    text is decoded when it is read, its length is counted in the buffer, and the arrow column
    is the buffer itself.

    encode_texts lower-cases a text that contains "İ" or "Σ" (see newsfold.encoding),
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
        """The texts encoded (a TextColumn is returned as it is)."""
        if isinstance(texts, TextColumn):
            return texts
        return cls(encode_texts(texts), {i: t for i, t in enumerate(texts) if is_lowered(t)})

    @classmethod
    def from_arrow(cls, texts: pa.ChunkedArray) -> "TextColumn":
        """The texts of a string column (the inverse of :meth:`arrow`), over its bytes as they
        are (joined into one buffer when in chunks), except those encode_texts lower-cases.

        Raises:
            ValueError: A text is null.
        """
        # 64-bit offsets before the chunks are joined: a corpus's texts pass 2 GB (10^6 articles: 3.6).
        texts = texts.cast(pa.large_string())
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
        if texts.null_count:
            raise ValueError("a text is null")
        _, offsets_buffer, data_buffer = texts.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
        )
        data = data[offsets[0] : offsets[-1]]  # over arrow's buffer (read-only), which it keeps alive
        lowered = pc.or_(pc.match_substring(texts, "\u0130"), pc.match_substring(texts, "\u03a3"))
        exact = {
            row: texts[row].as_py() for row in np.flatnonzero(lowered.to_numpy(zero_copy_only=False)).tolist()
        }
        fresh = {row: encode_text(text) for row, text in exact.items()}
        return patched_column(EncodedTexts(data, offsets - offsets[0]), fresh, exact)

    @classmethod
    def concat(cls, columns: Iterable["TextColumn"]) -> "TextColumn":
        """The columns one after the other, in one buffer (one column: itself).

        Each column's bytes are copied as it comes into a buffer grown in place, so that the
        reading processes' results are merged as they arrive while the processes read on
        (ingest.merge_results): copying the 380 MB of 10^5 articles once all had come took 0.7 s.
        """
        rest = iter(columns)
        first = next(rest, None)
        if first is None:
            return cls.from_texts([])
        second = next(rest, None)
        if second is None:
            return first
        data = np.empty(0, dtype=np.uint8)
        ends = [np.zeros(1, dtype=np.int64)]
        exact: dict[int, str] = {}
        size = rows = 0
        for column in itertools.chain((first, second), rest):
            part = column.encoded
            span = part.data[part.offsets[0] : part.offsets[-1]]
            if size + span.size > data.size:
                # realloc grows it in place, and numpy zeroes (faults in) what it adds: by an
                # eighth, not a half, the merge of 10^6 articles' 3.3 GiB peaked at 4.8 GiB, not 7.0.
                data.resize(max(size + span.size, data.size + data.size // 8), refcheck=False)
            data[size : size + span.size] = span
            ends.append(part.offsets[1:] - part.offsets[0] + size)
            exact.update((rows + row, text) for row, text in column._exact.items())
            size += span.size
            rows += len(part)
        data.resize(size, refcheck=False)
        return cls(EncodedTexts(data, np.concatenate(ends)), exact)

    def spilled(self, directory: Path) -> EncodedTexts:
        """This column's buffer written to an unlinked file under `directory`, and that file
        mapped read-only: the same bytes, which the kernel's page cache holds (and can drop and
        read back) instead of this process (see :meth:`move_to`). Safe to call from a thread
        while the column is read.

        Raises:
            OSError: The file cannot be written (the column is unchanged).
        """
        data, offsets = self.encoded.data, self.encoded.offsets
        span = data[offsets[0] : offsets[-1]]
        if span.size == 0:  # an empty file cannot be mapped
            return EncodedTexts(np.empty(0, dtype=np.uint8), offsets - offsets[0])
        with tempfile.TemporaryFile(dir=directory) as fh:  # unlinked: gone with its last mapping
            for lo in range(0, span.size, _SPILL_CHUNK):
                fh.write(span[lo : lo + _SPILL_CHUNK].data)
            fh.flush()
            mapped = mmap.mmap(fh.fileno(), span.size, prot=mmap.PROT_READ)
        return EncodedTexts(np.frombuffer(mapped, dtype=np.uint8), offsets - offsets[0])

    def move_to(self, encoded: EncodedTexts) -> None:
        """Hold the texts in `encoded` from now on (the same bytes elsewhere, as :meth:`spilled`
        gives them): every holder of this column reads the new buffer, and the old one goes
        with its other references.

        Raises:
            ValueError: `encoded` has other texts' offsets (its bytes are not read: reading them
                would bring a spilled buffer back into memory).
        """
        old = self.encoded
        if not np.array_equal(encoded.offsets, old.offsets - old.offsets[0]):
            raise ValueError("move_to: the new buffer has other offsets")
        self.encoded = encoded
        self._view = encoded.data.data

    @property
    def exact(self) -> Mapping[int, str]:
        """The texts kept as strings, by row (those encode_texts lower-cases)."""
        return MappingProxyType(self._exact)

    def __reduce__(self) -> tuple[Any, ...]:
        # The memoryview over the buffer does not pickle (reading processes send their columns).
        return TextColumn, (self.encoded, self._exact)

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

    def take(self, index: npt.NDArray[np.int64], max_chars: int | None = None) -> "TextColumn":
        """The texts at `index` (their first max_chars characters, if given), their bytes copied
        into a buffer of their own; none is decoded."""
        index = np.asarray(index, dtype=np.int64)
        if max_chars is None:
            return TextColumn(self.encoded.take(index), dict(self._exact_at(index)))
        starts, cuts = self._prefix_spans(index, max_chars)
        # A text kept as a string is encoded lower-cased, and "İ" lower-cases to two characters,
        # so the first max_chars characters of its bytes need not be its prefix's: re-encoded.
        exact = {at: text[:max_chars] for at, text in self._exact_at(index)}
        fresh = {at: encode_text(text) for at, text in exact.items()}
        return patched_column(gather(self.encoded.data, starts, cuts), fresh, exact)

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
        starts, cuts = self._prefix_spans(rows, max_chars)
        view = self._view
        where = zip(starts.tolist(), cuts.tolist(), strict=True)
        texts = [str(view[s:e], "utf-8", "surrogatepass") for s, e in where]
        for at, text in self._exact_at(rows):
            texts[at] = text[:max_chars]
        return texts

    def headed(
        self, titles: Sequence[str | None], max_chars: int, rows: npt.NDArray[np.int64] | None = None
    ) -> "TextColumn":
        """Each text's first max_chars characters under its title: ``f"{title}\\n{text[:max_chars]}"``
        where the title is a non-empty string, else ``text[:max_chars]``; of the texts `rows`
        only, if given (one title each). The bytes are gathered from the titles' encoding and
        this buffer in threads; no text is decoded."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        n = len(rows)
        if len(titles) != n:
            raise ValueError(f"{len(titles)} titles for {n} texts")
        heads = [title if isinstance(title, str) else "" for title in titles]
        head = encode_texts(heads)
        head_starts, head_ends = head.offsets[:-1], head.offsets[1:]
        starts, cuts = self._prefix_spans(rows, max_chars)
        head_sizes = head_ends - head_starts
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(head_sizes + (head_sizes > 0) + cuts - starts, out=offsets[1:])
        out = np.empty(int(offsets[-1]), dtype=np.uint8)

        def work(lo: int, hi: int) -> None:
            _join_kernel(
                head.data, head_starts[lo:hi], head_ends[lo:hi], self.encoded.data, starts[lo:hi],
                cuts[lo:hi], out, offsets[lo:hi],
            )  # fmt: skip

        in_threads(work, thread_parts(np.diff(offsets)))
        # A doc with "İ" or "Σ" is encoded lower-cased as a whole (its bytes are not the two
        # parts' joined): made as a string, and kept as one.
        exact: dict[int, str] = {}
        for at in sorted(
            {
                *(at for at, _ in self._exact_at(rows)),
                *(i for i, title in enumerate(heads) if is_lowered(title)),
            }
        ):
            body = self[int(rows[at])][:max_chars]
            exact[at] = f"{heads[at]}\n{body}" if heads[at] else body
        fresh = {row: encode_text(doc) for row, doc in exact.items()}
        return patched_column(EncodedTexts(out, offsets), fresh, exact)

    def _prefix_spans(
        self, rows: npt.NDArray[np.int64], max_chars: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Where the first max_chars characters of the texts `rows` start and end in the buffer
        (found in threads)."""
        starts = self.encoded.offsets[:-1][rows]
        ends = self.encoded.offsets[1:][rows]
        cuts = np.empty(len(rows), dtype=np.int64)

        def work(lo: int, hi: int) -> None:
            _prefix_ends(self.encoded.data, starts[lo:hi], ends[lo:hi], max_chars, cuts[lo:hi])

        in_threads(work, thread_parts(np.minimum(ends - starts, 4 * max_chars)))
        return starts, cuts

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
def _join_kernel(
    head_data, head_starts, head_ends, body_data, body_starts, body_ends, out, out_starts
):  # pragma: no cover - compiled
    """Doc i at out_starts[i]: its head's bytes, a newline if it has a head, its body's bytes."""
    for i in range(head_starts.size):
        k = out_starts[i]
        for j in range(head_starts[i], head_ends[i]):
            out[k] = head_data[j]
            k += 1
        if head_ends[i] > head_starts[i]:
            out[k] = 10
            k += 1
        for j in range(body_starts[i], body_ends[i]):
            out[k] = body_data[j]
            k += 1


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
