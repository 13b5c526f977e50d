import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsfold import store
from newsfold.records import QUARANTINE_SCHEMA, STORIES_SCHEMA


def tables(n_stories=2):
    stories = pa.table(
        {
            "story_id": [f"story_{i}" for i in range(n_stories)],
            "headline": ["h"] * n_stories,
            "n_articles": [1] * n_stories,
            "first_published": pa.array([None] * n_stories, pa.timestamp("us", tz="UTC")),
            "last_published": pa.array([None] * n_stories, pa.timestamp("us", tz="UTC")),
            "top_terms": [["a", "b"]] * n_stories,
            "merged_into": pa.array([None] * n_stories, pa.string()),
        },
        schema=STORIES_SCHEMA,
    )
    return {"stories": stories, "quarantine": QUARANTINE_SCHEMA.empty_table()}


def write(out, n_stories=2):
    return store.write_version(out, tables(n_stories), {"run_id": store.new_run_id()})


def test_round_trip_keeps_schema_and_rows(tmp_path):
    write(tmp_path)
    table = store.read_table(tmp_path, "stories")
    assert table.schema.equals(STORIES_SCHEMA, check_metadata=False)
    assert table.column("story_id").to_pylist() == ["story_0", "story_1"]
    assert store.read_table(tmp_path, "quarantine").num_rows == 0
    assert (tmp_path / "stories").is_symlink() and (tmp_path / "manifest.json").is_symlink()


def test_new_version_replaces_current_and_old_versions_are_pruned(tmp_path):
    for n in range(1, 6):
        write(tmp_path, n)
    assert store.read_table(tmp_path, "stories").num_rows == 5
    assert len(list((tmp_path / store.VERSIONS_DIR).iterdir())) == store.KEEP_VERSIONS


def test_failed_write_leaves_previous_version_and_no_staging(tmp_path):
    write(tmp_path, 3)
    broken = tables()
    broken["stories"] = pa.table({"story_id": ["x"]})  # missing columns: the write fails
    with pytest.raises(KeyError):
        store.write_version(tmp_path, broken, {"run_id": store.new_run_id()})
    assert store.read_table(tmp_path, "stories").num_rows == 3
    assert not list(tmp_path.glob(".staging-*"))


def test_refuses_to_overwrite_a_real_directory(tmp_path):
    (tmp_path / "stories").mkdir()
    with pytest.raises(store.OutputError, match="not a newsfold link"):
        write(tmp_path)


def test_reading_an_empty_directory_is_a_clear_error(tmp_path):
    with pytest.raises(store.OutputError, match="no newsfold dataset"):
        store.read_table(tmp_path, "stories")


def test_current_is_a_relative_link(tmp_path):
    write(tmp_path)
    assert not os.path.isabs(os.readlink(tmp_path / "current"))


def test_data_files_are_named_after_their_run(tmp_path):
    """No two versions share a data file name: a reader that listed one version's files cannot
    open another version's file of the same name after a switch."""
    first, second = write(tmp_path), write(tmp_path)
    names = {p.name for p in first.rglob("*.parquet")}
    assert names and all(first.name in n for n in names)
    assert not names & {p.name for p in second.rglob("*.parquet")}


def test_prune_removes_links_of_an_interrupted_switch(tmp_path):
    write(tmp_path)
    os.symlink(".versions/gone", tmp_path / ".current.tmp-deadbeef")
    write(tmp_path)
    assert not list(tmp_path.glob(".*.tmp-*"))


def _articles(index, text, month) -> pa.Table:
    """Articles a<index> with these texts and months (and nothing else known)."""
    from newsfold.records import ARTICLES_SCHEMA

    ids = [f"a{i:05d}" for i in index]
    n = len(ids)
    columns = {
        "article_id": ids,
        "source_file": ["f.jsonl"] * n,
        "title": [None] * n,
        "published_at": [None] * n,
        "source": [None] * n,
        "url": [None] * n,
        "text": text,
        "duplicate_group": ids,
        "is_canonical": [True] * n,
        "duplicate_of": [None] * n,
        "story_id": ids,
        "extra": [None] * n,
        "published_month": month,
    }
    return pa.table(columns, schema=ARTICLES_SCHEMA)


def test_articles_past_the_2_gb_string_limit_are_written_in_pieces(tmp_path, monkeypatch):
    # At 10**6 articles the text column holds 3.4 GB in chunks; Table.take would concatenate it.
    import pyarrow.parquet as pq

    piece = "x" * (1 << 20)
    n = 2_200  # 2.3 GB of text in three chunks, in two months, rows shuffled
    order = np.random.default_rng(0).permutation(n)
    months = ["2026-01", "2026-02"]
    chunks = [
        _articles(rows, [piece] * len(rows), [months[i % 2] for i in rows])
        for rows in np.split(order, [800, 1600])
    ]
    table = pa.concat_tables(chunks)
    assert sum(c.nbytes for c in table.column("text").chunks) > 2**31
    monkeypatch.setattr(store, "_PIECE_BYTES", 1 << 28)  # the limit is the table's, not the piece's
    store.write_table(table, tmp_path, "articles")
    files = sorted((tmp_path / "articles").rglob("*.parquet"))
    assert [f.parent.name for f in files] == ["published_month=2026-01", "published_month=2026-02"]
    ids = [pq.read_table(f, columns=["article_id"]).column(0).to_pylist() for f in files]
    assert ids == [[f"a{i:05d}" for i in range(m, n, 2)] for m in (0, 1)]
    # No more than _PIECE_BYTES of text per row group: each row group is one gathered piece.
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.num_row_groups > 1 and meta.num_rows == n // 2
    last = pq.ParquetFile(files[1]).read_row_group(meta.num_row_groups - 1, columns=["text"])
    assert last.column(0)[-1].as_py() == piece


def test_articles_written_in_small_pieces_read_back_the_same(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    n = 500
    texts = ["w" * int(k) for k in rng.integers(1, 400, size=n)]
    months = [f"2026-{int(m):02d}" for m in rng.integers(1, 4, size=n)]
    table = pa.concat_tables([_articles(range(n), texts, months).slice(lo, 70) for lo in range(0, n, 70)])
    store.write_table(table, tmp_path / "whole", "articles")
    monkeypatch.setattr(store, "_PIECE_BYTES", 1_000)
    monkeypatch.setattr(store, "_ROWS_PER_GROUP", 9)
    store.write_table(table, tmp_path / "pieces", "articles")
    whole = store.read_version_table(tmp_path / "whole", "articles")
    pieces = store.read_version_table(tmp_path / "pieces", "articles")
    assert pieces.num_rows == n
    assert pieces.equals(whole)
    groups = [pq.ParquetFile(f).metadata for f in (tmp_path / "pieces").rglob("*.parquet")]
    assert sum(m.num_row_groups for m in groups) > n / 9


class _Chunks:
    """A table handed over in chunks, each built when it is asked for (as state.InputChunks)."""

    def __init__(self, n_chunks: int, rows: int) -> None:
        self.schema = pa.schema([("k", pa.int64()), ("text", pa.string())])
        self.n_chunks, self.rows, self.built = n_chunks, rows, 0
        self.write_options = {"use_dictionary": ["k"], "compression": {"k": "none", "text": "lz4"}}

    def __iter__(self):
        for c in range(self.n_chunks):
            self.built += 1
            keys = list(range(c * self.rows, (c + 1) * self.rows))
            yield pa.table({"k": keys, "text": [f"text {k}" for k in keys]}, schema=self.schema)


def test_a_state_table_in_chunks_is_written_whole_and_every_file_flushed(tmp_path, monkeypatch):
    flushed = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    chunks = _Chunks(n_chunks=4, rows=1_000)
    run_id = store.new_run_id()
    final = store.write_version(tmp_path, tables(), {"run_id": run_id}, state=({"inputs": chunks}, {}))
    written = pq.read_table(final / store.STATE_DIR / "inputs.parquet")
    assert chunks.built == 4 and written.num_rows == 4_000
    assert written.column("k").to_pylist() == list(range(4_000))
    assert written.column("text")[3_999].as_py() == "text 3999"
    # Written with the chunks' own options.
    columns = pq.ParquetFile(final / store.STATE_DIR / "inputs.parquet").metadata.row_group(0)
    assert [columns.column(i).compression for i in range(2)] == ["UNCOMPRESSED", "LZ4"]
    assert [columns.column(i).dictionary_page_offset is not None for i in range(2)] == [True, False]
    # Every file and directory of the new version was flushed before it was renamed into place,
    # and each directory after everything in it.
    staging = tmp_path / f".staging-{run_id}"
    everything = {str(staging / p.relative_to(final)) for p in [final, *final.rglob("*")]}
    assert everything <= set(flushed)
    order = {path: i for i, path in enumerate(flushed)}
    for path in everything:
        parent = str(Path(path).parent)
        if parent in order and path != str(staging):
            assert order[path] < order[parent]


def test_text_array_equals_arrows_own_conversion():
    texts = ["", "plain ascii", "Straße – “quoted”", "İstanbul ΣΑΣ", "emoji 🙂\nnew line", "x" * 10_000]
    array = store.text_array(texts * 3000)  # several of text_array's encoding chunks
    array.validate(full=True)
    assert array.equals(pa.array(texts * 3000, pa.string()))
    assert store.text_array([]).equals(pa.array([], pa.string()))


def test_text_array_leaves_no_utf8_copy_in_the_strings():
    # CPython keeps the UTF-8 of a non-ASCII string inside it once arrow has asked for it
    # (sys.getsizeof counts it): a second copy of every text for as long as the strings live.
    import sys

    ours, arrows = "".join(["é"] * 1000), "".join(["é"] * 1000)  # built, not interned constants
    size = sys.getsizeof(ours)
    store.text_array([ours])
    pa.array([arrows], pa.string())
    assert sys.getsizeof(ours) == size
    assert sys.getsizeof(arrows) > size  # the copy this avoids (the check measures what it claims)


def test_text_array_comes_in_chunks_past_the_string_limit(monkeypatch):
    monkeypatch.setattr(store, "_MAX_STRING_BYTES", 5)
    texts = ["abc", "de", "fgh", "", "a text longer than the limit", "é"]
    array = store.text_array(texts)
    assert isinstance(array, pa.ChunkedArray)
    assert [len(chunk) for chunk in array.chunks] == [2, 2, 1, 1]  # a longer text alone
    assert array.to_pylist() == texts


def test_text_array_refuses_what_arrow_refuses():
    with pytest.raises(UnicodeEncodeError):
        store.text_array(["a lone surrogate \ud800"])
