"""The parquet dataset on disk: explicit schemas, staged writes and an atomic switch of versions.

Layout of an output directory::

    OUT/.versions/<run_id>/{articles,stories,shared_text,quarantine}/  + manifest.json
    OUT/.versions/<run_id>/state/   the incremental state the version was built with
    OUT/current        -> .versions/<run_id>        (one symlink, replaced atomically)
    OUT/articles       -> current/articles          (stable names analysts open)
    OUT/stories, OUT/shared_text, OUT/quarantine, OUT/manifest.json  likewise

A run writes its whole version into a staging directory, renames it into ``.versions`` and
then swaps ``current`` with ``os.replace``: a reader sees the old dataset or the new one, and
a crash at any point leaves the previous version (with its state) in place. A reader that
resolves ``current`` once (:func:`read_table`) reads one whole version. A reader of the stable
names resolves the link at every step of its listing, so at the instant of a switch it may fail
or miss a partition; data files are named after their run (``part-<run_id>-0.parquet``), so it
never reads rows of two versions.
"""

import itertools
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from newsfold.minhash import encode_all, utf8_bound
from newsfold.records import DATASET_SCHEMAS

STATE_DIR = "state"
STATE_INFO = "state.json"

VERSIONS_DIR = ".versions"
CURRENT = "current"
MANIFEST = "manifest.json"
# Older versions kept after a switch, so that a reader that opened one just before still finds
# its files; anything older is deleted.
KEEP_VERSIONS = 3
# Partition column of the articles dataset (hive style: published_month=2017-01/).
PARTITION_COLUMN = "published_month"
_ROWS_PER_FILE = 1_000_000
_WRITE_THREADS = 2  # partition files written at once
_FSYNC_THREADS = 8  # files flushed at once (the threads wait on the disk, not on a core)
_ROWS_PER_GROUP = 100_000  # parquet row group of the articles dataset
_PIECE_BYTES = 1 << 30  # strings gathered into one array at a time (a string array holds 2 GB)
_MAX_STRING_BYTES = 2**31 - 1  # what a string array's int32 offsets reach


class OutputError(RuntimeError):
    """The output directory cannot be used (e.g. a stable name is a real directory, not ours)."""


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique id for one run: UTC time plus a random suffix."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"


def text_array(texts: Sequence[str]) -> pa.Array | pa.ChunkedArray:
    """``pa.array(texts, pa.string())`` of texts without None, their bytes encoded by Python
    into one buffer that the array then uses as it is.

    Arrow's own conversion takes each string's UTF-8 from the string object, and for a
    non-ASCII string CPython keeps that UTF-8 inside the object from then on
    (PyUnicode_AsUTF8AndSize): a second copy of every article's text, for as long as the
    strings live. Past 2 GB of bytes the array comes in chunks, as pa.array's does.
    """
    encoded = encode_all(texts, utf8_bound(texts), str.encode)  # strict: as arrow's
    pieces = string_arrays(encoded.data, encoded.offsets)
    if len(pieces) > 1:
        return pa.chunked_array(pieces, type=pa.string())
    return pieces[0] if pieces else pa.array([], type=pa.string())


def string_arrays(data: np.ndarray, offsets: np.ndarray) -> list[pa.StringArray]:
    """The UTF-8 texts data[offsets[i]:offsets[i + 1]] as string arrays over that buffer (no
    copy of the bytes), a new array wherever the next text would take one past the 2 GB that
    its 32-bit offsets reach (a longer text alone)."""
    bounds = [0]
    while bounds[-1] < len(offsets) - 1:
        start = bounds[-1]
        end = int(np.searchsorted(offsets, offsets[start] + _MAX_STRING_BYTES, side="right")) - 1
        bounds.append(max(end, start + 1))
    return [
        pa.StringArray.from_buffers(
            hi - lo,
            pa.py_buffer((offsets[lo : hi + 1] - offsets[lo]).astype(np.int32)),
            pa.py_buffer(data[offsets[lo] : offsets[hi]]),
        )
        for lo, hi in itertools.pairwise(bounds)
    ]


def write_table(table: pa.Table, directory: Path, name: str, run_id: str = "0") -> None:
    """Write one dataset into ``directory/name``; the articles dataset is partitioned by month.

    File names carry run_id, so that no two versions have a data file of the same name.
    """
    schema = DATASET_SCHEMAS[name]
    table = table.select(schema.names).cast(schema)
    target = directory / name
    if name == "articles" and table.num_rows:
        _write_partitioned(table, target, run_id)
        return
    target.mkdir(parents=True)
    if name == "articles":
        # No rows: one empty file keeps the schema readable (partition column included).
        pq.write_table(table, target / f"part-{run_id}-0.parquet")
        return
    pq.write_table(table, target / f"part-{run_id}-0.parquet", row_group_size=100_000)
    _fsync(target / f"part-{run_id}-0.parquet")


def _write_partitioned(table: pa.Table, target: Path, run_id: str) -> None:
    """The articles as a hive-partitioned dataset, one folder per month (PARTITION_COLUMN=value,
    the column itself only in the path), rows sorted by month then article_id, so that every
    run writes the same rows in the same order. A partition at a time is gathered: sorting the
    table and handing it to pyarrow.dataset.write_dataset held ~3 copies of every text."""
    order = pc.sort_indices(
        table.select([PARTITION_COLUMN, "article_id"]),
        sort_keys=[(PARTITION_COLUMN, "ascending"), ("article_id", "ascending")],
    ).to_numpy()
    month = pc.dictionary_encode(table.column(PARTITION_COLUMN)).combine_chunks()
    codes = month.indices.to_numpy(zero_copy_only=False)[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    body = table.drop_columns([PARTITION_COLUMN])
    files: list[tuple[Path, int, int]] = []  # (file, first, last) positions in the sorted order
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        folder = target / f"{PARTITION_COLUMN}={quote(str(month.dictionary[codes[lo]]), safe='')}"
        folder.mkdir(parents=True)
        for start in range(lo, hi, _ROWS_PER_FILE):
            name = f"part-{run_id}-{len(files)}.parquet"
            files.append((folder / name, start, min(start + _ROWS_PER_FILE, hi)))
    rows = _RowGatherer(body)

    def write(file: Path, first: int, last: int) -> None:
        with pq.ParquetWriter(file, body.schema) as writer:
            for piece in rows.pieces(order[first:last]):
                writer.write_table(rows.take(piece), row_group_size=_ROWS_PER_GROUP)
        _fsync(file)  # while the other thread still encodes (see _fsync_tree)

    # Parquet encoding and compression release the GIL: two files at a time use both cores.
    with ThreadPoolExecutor(max_workers=_WRITE_THREADS) as pool:
        for done in [pool.submit(write, *f) for f in files]:
            done.result()


class _RowGatherer:
    """Rows of a chunked table in any order, gathered chunk by chunk.

    ``Table.take`` concatenates every chunk of a column first: past 2 GB of text in one string
    column (10^6 articles) that fails, and below it the whole table is copied on every call.
    Here each chunk gives its own rows, and only the gathered rows (at most ``_PIECE_BYTES`` of
    strings, see :meth:`pieces`) are put into one array and reordered.
    """

    def __init__(self, table: pa.Table) -> None:
        self._batches = table.to_batches()
        self._schema = table.schema
        self._bounds = np.cumsum([0] + [b.num_rows for b in self._batches])
        strings = [
            name
            for name, field in zip(table.column_names, table.schema, strict=True)
            if pa.types.is_string(field.type) or pa.types.is_binary(field.type)
        ]
        self._row_bytes = np.zeros(table.num_rows, dtype=np.int64)
        for name in strings:
            lengths = pc.fill_null(pc.binary_length(table.column(name)), 0)
            self._row_bytes += lengths.to_numpy().astype(np.int64)

    def pieces(self, rows: np.ndarray) -> Iterator[np.ndarray]:
        """``rows`` in consecutive pieces of at most _ROWS_PER_GROUP rows and _PIECE_BYTES of
        strings (a row larger than that alone)."""
        start = 0
        while start < len(rows):
            end = min(start + _ROWS_PER_GROUP, len(rows))
            within = np.cumsum(self._row_bytes[rows[start:end]]) <= _PIECE_BYTES
            end = start + max(1, int(np.count_nonzero(within)))
            yield rows[start:end]
            start = end

    def take(self, rows: np.ndarray) -> pa.Table:
        """The rows, in the order given."""
        rows = rows.astype(np.int64, copy=False)
        chunk = np.searchsorted(self._bounds, rows, side="right") - 1
        by_chunk = np.argsort(chunk, kind="stable")
        cuts = np.flatnonzero(np.diff(chunk[by_chunk])) + 1
        gathered = [
            self._batches[chunk[run[0]]].take(pa.array(rows[run] - self._bounds[chunk[run[0]]]))
            for run in np.split(by_chunk, cuts)
        ]
        table = pa.Table.from_batches(gathered, schema=self._schema).combine_chunks()
        # gathered row k is rows[by_chunk[k]]: the inverse permutation restores the given order.
        return table.take(pa.array(np.argsort(by_chunk)))


def write_version(
    out_dir: Path,
    tables: Mapping[str, pa.Table],
    manifest: dict[str, Any],
    state: tuple[Mapping[str, pa.Table], dict[str, Any]] | None = None,
) -> Path:
    """Write all datasets and the manifest as a new version and make it current atomically.

    Args:
        out_dir: The output directory.
        tables: Datasets by name (see records.DATASET_SCHEMAS).
        manifest: The run's manifest; its ``run_id`` names the version.
        state: Incremental state to keep with the version: tables written as
            ``state/NAME.parquet`` with their own schemas, and ``state/state.json``.

    Returns:
        The directory of the new version.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_stable_names(out_dir)
    run_id = manifest["run_id"]
    staging = out_dir / f".staging-{run_id}"
    try:
        staging.mkdir()
        # The state is written in a thread while the datasets are: its inputs file is one
        # parquet encoder, a core at most, and the articles' files leave room beside it (at 10^6
        # articles the two took 10.7 and 10.9 s one after the other). The pool is left (and the
        # thread done) before the staging directory is renamed or removed.
        with ThreadPoolExecutor(max_workers=1) as pool:
            state_written = pool.submit(_write_state, staging, state) if state is not None else None
            for name, table in tables.items():
                write_table(table, staging, name, run_id)
            if state_written is not None:
                state_written.result()
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
        _fsync_tree(staging)
        versions = out_dir / VERSIONS_DIR
        versions.mkdir(exist_ok=True)
        final = versions / run_id
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _switch_current(out_dir, final)
    _link_stable_names(out_dir, [*tables, MANIFEST])
    prune_versions(out_dir)
    return final


def _write_state(staging: Path, state: tuple[Mapping[str, pa.Table], dict[str, Any]]) -> None:
    """The state's tables as ``state/NAME.parquet`` (a chunked one a chunk at a time) and its info
    as ``state/state.json``, under staging."""
    state_tables, state_info = state
    (staging / STATE_DIR).mkdir()
    for name, table in state_tables.items():
        path = staging / STATE_DIR / f"{name}.parquet"
        if isinstance(table, pa.Table):
            pq.write_table(table, path, row_group_size=100_000)
        else:
            _write_chunks(path, table)
        _fsync(path)
    (staging / STATE_DIR / STATE_INFO).write_text(json.dumps(state_info, indent=2, sort_keys=True) + "\n")


class _Chunked(Protocol):
    """A table built a chunk at a time as it is iterated (state.InputChunks), and how to write it
    (pyarrow.parquet.ParquetWriter's options)."""

    schema: pa.Schema
    write_options: Mapping[str, Any]

    def __iter__(self) -> Iterator[pa.Table]: ...


def _write_chunks(path: Path, chunks: _Chunked) -> None:
    """A table that comes in chunks (each built as it is asked for, e.g. state.InputChunks) as
    one parquet file, a row group per chunk. Building a chunk from Python objects holds the GIL
    and encoding one into parquet does not: each chunk is written in a thread while the next
    one is built."""
    with (
        pq.ParquetWriter(path, chunks.schema, **chunks.write_options) as writer,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        pending = None
        for chunk in chunks:
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_table, chunk, row_group_size=chunk.num_rows or 1)
        if pending is not None:
            pending.result()


def _check_stable_names(out_dir: Path) -> None:
    for name in [*DATASET_SCHEMAS, MANIFEST, CURRENT]:
        path = out_dir / name
        if path.exists() and not path.is_symlink():
            raise OutputError(
                f"{path} exists and is not a newsfold link; choose an empty output directory or remove it"
            )


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory under root (and root) to disk before it is renamed.

    Files are flushed several at a time (the waits overlap, and the file system can commit them
    together), then the directories, deepest first, so that a directory is flushed after the
    entries it holds. The data files were flushed by the threads that wrote them, each as soon
    as it was complete, while other files were still being encoded (at 10^5 articles the flush
    here took ~0.55 s of 0.15 cores); flushing them again finds nothing left to write.
    """
    paths = sorted(root.rglob("*"))
    files = [p for p in paths if not p.is_dir()]
    directories = sorted((p for p in paths if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
    with ThreadPoolExecutor(max_workers=_FSYNC_THREADS) as pool:
        list(pool.map(_fsync, files))
    for path in [*directories, root]:
        _fsync(path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _switch_current(out_dir: Path, version: Path) -> None:
    tmp = out_dir / f".{CURRENT}.tmp-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(version, out_dir), tmp)
    os.replace(tmp, out_dir / CURRENT)
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_stable_names(out_dir: Path, names: list[str]) -> None:
    for name in names:
        link = out_dir / name
        if not link.is_symlink():
            tmp = out_dir / f".{name}.tmp-{uuid.uuid4().hex[:8]}"
            os.symlink(f"{CURRENT}/{name}", tmp)
            os.replace(tmp, link)


def current_version(out_dir: Path) -> Path | None:
    """The directory of the current version, or None when nothing was written yet."""
    link = out_dir / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def prune_versions(out_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    """Delete old versions (never the current one) and staging left by crashed runs."""
    current = current_version(out_dir)
    versions = sorted((out_dir / VERSIONS_DIR).glob("*")) if (out_dir / VERSIONS_DIR).is_dir() else []
    for old in versions[:-keep]:
        if old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)
    for stale in out_dir.glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    # Temporary links of a switch interrupted between symlink() and replace().
    for link in out_dir.glob(".*.tmp-*"):
        if link.is_symlink():
            link.unlink(missing_ok=True)


def read_table(out_dir: Path, name: str) -> pa.Table:
    """Read one dataset of the current version with its declared schema."""
    version = current_version(out_dir)
    if version is None:
        raise OutputError(f"no newsfold dataset in {out_dir}")
    return read_version_table(version, name)


def read_version_table(version: Path, name: str) -> pa.Table:
    """Read one dataset of a given version directory with its declared schema."""
    schema = DATASET_SCHEMAS[name]
    dataset = ds.dataset(version / name, format="parquet", schema=schema, partitioning="hive")
    return dataset.to_table()


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """The manifest of the current version."""
    version = current_version(out_dir)
    if version is None:
        raise OutputError(f"no newsfold dataset in {out_dir}")
    data: dict[str, Any] = json.loads((version / MANIFEST).read_text())
    return data
