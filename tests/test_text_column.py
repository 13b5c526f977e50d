import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsfold import minhash
from newsfold.minhash import encode_texts
from newsfold.text_column import TextColumn, char_lengths

# "İ" lower-cases to two characters and "Σ" by context, so encode_texts lower-cases texts holding
# either: the column must still read, count and output them as they are.
_ALPHABET = "ab é€😀\nİΣς.ﬁ"


@settings(max_examples=80, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=_ALPHABET, max_size=40), max_size=12),
    max_chars=st.integers(min_value=0, max_value=12),
    data=st.data(),
)
def test_column_reads_as_the_list_of_its_texts(texts: list[str], max_chars: int, data) -> None:
    column = TextColumn.from_texts(texts)
    assert len(column) == len(texts)
    assert list(column) == texts
    assert [column[i] for i in range(-len(texts), len(texts))] == texts + texts
    assert column == texts
    assert column.lengths().tolist() == [len(text) for text in texts]
    assert char_lengths(column).tolist() == char_lengths(texts).tolist()
    assert column.prefixes(max_chars) == [text[:max_chars] for text in texts]
    rows = data.draw(st.lists(st.integers(0, len(texts) - 1))) if texts else []
    index = np.array(rows, dtype=np.int64)
    assert column.prefixes(max_chars, index) == [texts[i][:max_chars] for i in index.tolist()]
    taken = column.take(index)
    assert list(taken) == [texts[i] for i in index.tolist()]
    assert taken.lengths().tolist() == [len(texts[i]) for i in index.tolist()]
    cut = column.take(index, max_chars)
    assert list(cut) == [texts[i][:max_chars] for i in index.tolist()]
    expected = encode_texts([texts[i][:max_chars] for i in index.tolist()])
    assert np.array_equal(cut.encoded.offsets, expected.offsets)
    assert np.array_equal(cut.encoded.data, expected.data)
    # Docs for the story clusterer: the title over the body's first characters, encoded as
    # encode_texts encodes them (lower-cased where the doc holds "İ" or "Σ").
    titles = data.draw(
        st.lists(
            st.none() | st.text(alphabet=_ALPHABET, max_size=8), min_size=len(texts), max_size=len(texts)
        )
    )
    docs = [
        f"{title}\n{text[:max_chars]}" if title else text[:max_chars]
        for text, title in zip(texts, titles, strict=True)
    ]
    headed = column.headed(titles, max_chars)
    assert list(headed) == docs
    expected = encode_texts(docs)
    assert np.array_equal(headed.encoded.offsets, expected.offsets)
    assert np.array_equal(headed.encoded.data, expected.data)
    # Of some rows only (repeats and any order), a title each: the docs of those texts.
    row_titles = [titles[i] for i in index.tolist()]
    of_rows = column.headed(row_titles, max_chars, index)
    assert of_rows == column.take(index).headed(row_titles, max_chars)
    expected = encode_texts(list(of_rows))
    assert np.array_equal(of_rows.encoded.offsets, expected.offsets)
    assert np.array_equal(of_rows.encoded.data, expected.data)
    arrow = column.arrow()
    assert arrow.type == pa.string()
    assert arrow.to_pylist() == texts
    lo = data.draw(st.integers(0, len(texts)))
    hi = data.draw(st.integers(lo, len(texts)))
    part = column[lo:hi]
    assert isinstance(part, TextColumn)
    assert list(part) == texts[lo:hi]
    assert part.arrow().to_pylist() == texts[lo:hi]
    assert part.lengths().tolist() == [len(text) for text in texts[lo:hi]]


def test_column_is_its_encoding_and_its_arrow_column_shares_the_buffer() -> None:
    texts = ["Port reopens", "Straße gesperrt", "ΣΟΦΙΑ wins", ""]
    column = TextColumn.from_texts(texts)
    expected = encode_texts(texts)  # the kernels' view: the "Σ" text lower-cased
    assert np.array_equal(column.encoded.data, expected.data)
    assert np.array_equal(column.encoded.offsets, expected.offsets)
    plain = TextColumn.from_texts(texts[:2])
    arrow = plain.arrow()
    assert arrow.buffers()[2].address == plain.encoded.data.ctypes.data  # no copy of the bytes


def test_lengths_and_prefixes_split_work_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minhash, "_MIN_PARALLEL_WORK", 0)
    rng = np.random.default_rng(3)
    words = ["port", "Straße", "东京", "🙂", "İstanbul", "x"]
    texts = [" ".join(rng.choice(words, rng.integers(0, 9))) for _ in range(200)]
    column = TextColumn.from_texts(texts)
    assert column.lengths().tolist() == [len(text) for text in texts]
    assert column.prefixes(7) == [text[:7] for text in texts]
    titles = [None if i % 3 == 0 else f"Title {i} Straße" for i in range(len(texts))]
    docs = [f"{title}\n{text[:7]}" if title else text[:7] for text, title in zip(texts, titles, strict=True)]
    assert list(column.headed(titles, 7)) == docs


def test_index_out_of_range_and_stepped_slices_are_refused() -> None:
    column = TextColumn.from_texts(["a", "b"])
    with pytest.raises(IndexError):
        column[2]
    with pytest.raises(ValueError, match="step 1"):
        column[::2]


def test_a_lone_surrogate_fails_the_arrow_column_as_arrow_would() -> None:
    # "surrogatepass" encodes it for the kernels; strict UTF-8 (arrow, parquet) has no place for it.
    column = TextColumn.from_texts(["fine", "bad \ud800 text"])
    assert column[1] == "bad \ud800 text"
    assert column.lengths().tolist() == [4, 10]
    with pytest.raises(UnicodeEncodeError):
        column.arrow()
    with pytest.raises(UnicodeEncodeError):
        pa.array(list(column), type=pa.string())


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(st.text(alphabet=_ALPHABET, max_size=40), max_size=8), lo=st.integers(0, 3))
def test_a_column_moved_to_its_spilled_file_reads_the_same(
    tmp_path_factory, texts: list[str], lo: int
) -> None:
    # A slice too: its buffer is a view into the middle of another column's.
    column = TextColumn.from_texts(["before", *texts])[min(lo, len(texts)) :]
    expected = list(column)
    arrow = column.arrow()
    spilled = column.spilled(tmp_path_factory.mktemp("spill"))
    assert bytes(spilled.data) == bytes(
        column.encoded.data[column.encoded.offsets[0] : column.encoded.offsets[-1]]
    )
    column.move_to(spilled)
    assert column.encoded is spilled
    assert spilled.data.size == 0 or not spilled.data.flags.writeable  # the file is mapped read-only
    assert list(column) == expected and column.lengths().tolist() == [len(t) for t in expected]
    assert column.arrow().equals(arrow)
    assert list(column.take(np.arange(len(column))[::-1])) == expected[::-1]


def test_a_buffer_with_other_offsets_is_refused(tmp_path) -> None:
    column = TextColumn.from_texts(["one", "two"])
    other = TextColumn.from_texts(["on", "etwo"]).spilled(tmp_path)
    with pytest.raises(ValueError, match="other offsets"):
        column.move_to(other)
    assert list(column) == ["one", "two"]
