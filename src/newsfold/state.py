"""Incremental state: the input-file manifest, persisted article inputs and signatures, stable ids.

A run that finds a previous version in its output directory reads only the input files that
are new or changed since, and folds their articles into the stored ones. Everything it needs
from the earlier runs lives next to that version's datasets, under ``state/``, so that the
dataset and the state it was built from are switched together, atomically:

    state/files.parquet       one row per input file: size, mtime, ctime and content hash
    state/inputs.parquet      every article's normalised input (as ingest made it), its cleaned
                              text's fingerprint and its dedup MinHash signature
    state/quarantine.parquet  quarantine records with the input file they came from
    state/state.json          the signature settings (num_perm, seed, scheme, shingles, n-grams)

The functions below that assign ids (:func:`assign_duplicate_groups`, :func:`assign_stories`)
keep every existing article's duplicate group, canonical and story: new articles join what is
there, and two stories the new clustering joins are recorded as a merge, not renamed.
"""

import dataclasses
import json
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from newsfold.arrays import dense_ranks
from newsfold.config import PipelineConfig
from newsfold.corpus import Corpus
from newsfold.records import QuarantineRecord
from newsfold.store import STATE_DIR, STATE_INFO

# Version of the layout of state/; a state written with another layout is not read (full rebuild).
STATE_FORMAT = 1
_HASH_CHUNK = 1 << 20

FILES_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("ctime_ns", pa.int64(), nullable=False),
        # xxh3-128 of the content (with the sidecar's, for NAME.txt); null when it was not read
        # (not a regular file, unreadable, outside the input directory or over max_file_bytes).
        pa.field("content_hash", pa.string()),
    ]
)

STATE_QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("input_file", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
    ]
)


def inputs_schema(num_perm: int) -> pa.Schema:
    """Schema of state/inputs.parquet for signatures of num_perm permutations."""
    return pa.schema(
        [
            pa.field("article_id", pa.string(), nullable=False),
            pa.field("source_file", pa.string(), nullable=False),
            pa.field("text", pa.string(), nullable=False),
            pa.field("title", pa.string()),
            pa.field("published_at", pa.timestamp("us", tz="UTC")),
            pa.field("source", pa.string()),
            pa.field("url", pa.string()),
            pa.field("extra", pa.string()),
            # Fingerprint of the cleaned text the signature was computed from: a signature is
            # reused only while the article's cleaned text is unchanged.
            pa.field("text_hash", pa.list_(pa.uint64(), 2), nullable=False),
            pa.field("signature", pa.list_(pa.uint32(), num_perm), nullable=False),
        ]
    )


class IncompatibleStateError(ValueError):
    """The stored signatures were made with other settings than the run's config."""


# ---- the input-file manifest -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class FileStamp:
    """What identifies one version of an input file (and of its sidecar, for NAME.txt)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    content_hash: str | None

    def same_stat(self, other: "FileStamp") -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns) == (other.size, other.mtime_ns, other.ctime_ns)


@dataclasses.dataclass(frozen=True)
class FileChanges:
    """Listed input files compared with the stored manifest (relative POSIX paths, sorted)."""

    stamps: dict[str, FileStamp]  # every listed file that could be stat'ed
    new: list[str]
    changed: list[str]
    unchanged: list[str]
    vanished: list[str]  # in the stored manifest, no longer listed

    @property
    def to_read(self) -> list[str]:
        return sorted(self.new + self.changed)


def _sidecar_of(path: Path) -> Path | None:
    name = path.name
    lowered = name.lower()
    stem = name[:-3] if lowered.endswith(".gz") else name
    if not stem.lower().endswith(".txt"):
        return None
    return path.with_name(stem[: -len(".txt")] + ".json")


def _hash_file(path: Path, root: str, max_bytes: int, info: os.stat_result) -> str | None:
    """xxh3-128 of a regular, readable file inside root of at most max_bytes; else None."""
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        return None
    if not Path(os.path.realpath(path)).is_relative_to(root) or not os.access(path, os.R_OK):
        return None
    digest = xxhash.xxh3_128()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        try:
            return os.lstat(path)  # a broken symlink: stamp the link itself
        except OSError:
            return None  # vanished since it was listed


def stamp_file(path: Path, root: str, max_bytes: int, *, with_hash: bool = True) -> FileStamp | None:
    """The stamp of an input file, combined with its sidecar's for NAME.txt; None if it vanished.

    Args:
        path: The file.
        root: Real path of the input directory: files whose real path is outside are not read.
        max_bytes: Larger files are not hashed (ingest quarantines them unread).
        with_hash: Hash the content (else content_hash is None).
    """
    info = _stat(path)
    if info is None:
        return None
    size, mtime, ctime = info.st_size, info.st_mtime_ns, info.st_ctime_ns
    content = _hash_file(path, root, max_bytes, info) if with_hash else None
    sidecar = _sidecar_of(path)
    side_info = _stat(sidecar) if sidecar is not None and os.path.lexists(sidecar) else None
    if sidecar is not None and side_info is not None:
        size += side_info.st_size
        mtime, ctime = max(mtime, side_info.st_mtime_ns), max(ctime, side_info.st_ctime_ns)
        if content is not None:
            side_hash = _hash_file(sidecar, root, max_bytes, side_info) or "unreadable"
            content = xxhash.xxh3_128_hexdigest(f"{content}+{side_hash}".encode())
    return FileStamp(size, mtime, ctime, content)


def compare_files(
    raw_dir: Path, files: Sequence[str], previous: Mapping[str, FileStamp], max_bytes: int
) -> FileChanges:
    """Stamp the listed files and sort them into new, changed and unchanged ones.

    A file whose size, mtime and ctime equal the stored ones is unchanged without being read.
    Otherwise its content is hashed: the same hash (a touched or renamed-over file) is still
    unchanged, anything else is a change. A file that cannot be hashed (unreadable, a symlink
    out of the input directory) counts as changed only when its stat changes.

    Args:
        raw_dir: The input directory.
        files: Listed input files, relative POSIX paths.
        previous: The stored manifest.
        max_bytes: ingest's max_file_bytes.
    """
    root = os.path.realpath(raw_dir)
    stamps: dict[str, FileStamp] = {}
    new: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    for name in files:
        path = raw_dir / name
        before = previous.get(name)
        quick = stamp_file(path, root, max_bytes, with_hash=False)
        if before is not None and quick is not None and quick.same_stat(before):
            stamps[name] = before
            unchanged.append(name)
            continue
        stamp = stamp_file(path, root, max_bytes)
        if stamp is not None:
            stamps[name] = stamp
        if before is None:
            new.append(name)
        elif (
            stamp is not None and stamp.content_hash is not None and stamp.content_hash == before.content_hash
        ):
            unchanged.append(name)
        else:
            changed.append(name)
    listed = set(files)
    vanished = sorted(name for name in previous if name not in listed)
    return FileChanges(stamps, new, changed, unchanged, vanished)


# ---- signature settings ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SignatureSettings:
    """Everything that determines a stored signature."""

    num_perm: int
    seed: int
    scheme: str
    word_ngram: int
    shingles: str = "word"  # DedupConfig.shingles; "word" in state written before it existed
    char_ngram: int = 0

    @classmethod
    def from_config(cls, config: PipelineConfig) -> "SignatureSettings":
        return cls(
            config.minhash.num_perm,
            config.minhash.seed,
            config.minhash.scheme,
            config.dedup.word_ngram,
            config.dedup.shingles,
            config.dedup.char_ngram,
        )


def check_compatible(stored: SignatureSettings, wanted: SignatureSettings, out_dir: Path) -> None:
    """Refuse to mix signatures made with different settings.

    Raises:
        IncompatibleStateError: naming each differing setting.
    """
    diff = [
        f"{name}={getattr(stored, name)!r} (config: {getattr(wanted, name)!r})"
        for name in ("num_perm", "seed", "scheme", "word_ngram", "shingles", "char_ngram")
        if getattr(stored, name) != getattr(wanted, name)
    ]
    if diff:
        raise IncompatibleStateError(
            f"the dataset in {out_dir} was built with other signature settings: {', '.join(diff)}. "
            "Signatures of different settings cannot be compared; rerun with --full to rebuild "
            "from scratch with the new settings, or restore the old settings."
        )


# ---- stored state ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StoredState:
    """The state of one written version, as the next run needs it."""

    version_dir: Path
    settings: SignatureSettings
    files: dict[str, FileStamp]
    articles: Corpus
    text_hashes: npt.NDArray[np.uint64]  # (n, 2)
    signatures: npt.NDArray[np.uint32]  # (n, num_perm)
    quarantine: list[QuarantineRecord]  # input_file set


_INPUT_FIELDS = ("article_id", "source_file", "text", "title", "published_at", "source", "url", "extra")
# How state/inputs.parquet is written (pyarrow.parquet.ParquetWriter options). The texts, text
# hashes and signatures get no dictionary (the encoder builds one until it overflows, for
# nothing); the texts are compressed with LZ4, the signatures (random 32-bit values) not at all.
# On the 10^5 corpus's inputs (305 MB), against snappy and dictionaries everywhere: 1.72 -> 1.31 s
# of one core to write, 1.29 -> 0.49 s to read back, the same size.
_INPUT_WRITE_OPTIONS: dict[str, Any] = {
    "use_dictionary": [name for name in _INPUT_FIELDS if name != "text"],
    "compression": {
        **{name: "snappy" for name in _INPUT_FIELDS},
        "text": "lz4",
        "text_hash.list.element": "none",
        "signature.list.element": "none",
    },
}


class InputChunks:
    """The state's inputs table as tables of `rows` articles each, built as they are written: the
    whole table would be another copy of every article's text next to the dataset's (3.7 GB at
    10^6 articles). A chunk is written while the next is built (store._write_chunks), so even a
    day's crawl comes in several."""

    def __init__(
        self,
        articles: Corpus,
        hashes: npt.NDArray[np.uint64],
        signatures: npt.NDArray[np.uint32],
        schema: pa.Schema,
        rows: int = 25_000,
    ) -> None:
        self.articles, self.hashes, self.signatures = articles, hashes, signatures
        self.schema, self.rows = schema, rows
        self.write_options = _INPUT_WRITE_OPTIONS

    def __iter__(self) -> Iterator[pa.Table]:
        for lo in range(0, max(len(self.articles), 1), self.rows):
            chunk = self.articles[lo : lo + self.rows]
            columns: dict[str, Any] = {name: getattr(chunk, name) for name in _INPUT_FIELDS}
            columns["text"] = chunk.text.arrow()  # over the corpus's buffer
            hashes, sigs = self.hashes[lo : lo + self.rows], self.signatures[lo : lo + self.rows]
            columns["text_hash"] = pa.FixedSizeListArray.from_arrays(pa.array(hashes.ravel()), 2)
            columns["signature"] = pa.FixedSizeListArray.from_arrays(pa.array(sigs.ravel()), sigs.shape[1])
            yield pa.table(columns, schema=self.schema)


def state_tables(
    stamps: Mapping[str, FileStamp],
    articles: Corpus,
    text_hashes: npt.NDArray[np.uint64],
    signatures: npt.NDArray[np.uint32],
    quarantine: Sequence[QuarantineRecord],
    settings: SignatureSettings,
) -> tuple[dict[str, "pa.Table | InputChunks"], dict[str, Any]]:
    """The tables and info of state/ for a version (see the module docstring); the inputs table
    comes in chunks (InputChunks)."""
    names = sorted(stamps)
    files = pa.table(
        {
            "path": names,
            "size": [stamps[n].size for n in names],
            "mtime_ns": [stamps[n].mtime_ns for n in names],
            "ctime_ns": [stamps[n].ctime_ns for n in names],
            "content_hash": [stamps[n].content_hash for n in names],
        },
        schema=FILES_SCHEMA,
    )
    n = len(articles)
    hashes = np.ascontiguousarray(text_hashes, dtype=np.uint64).reshape(n, 2)
    sigs = np.ascontiguousarray(signatures, dtype=np.uint32).reshape(n, settings.num_perm)
    inputs = InputChunks(articles, hashes, sigs, inputs_schema(settings.num_perm))
    quarantined = pa.table(
        {
            "input_file": [q.input_file or q.source_file for q in quarantine],
            "source_file": [q.source_file for q in quarantine],
            "reason": [q.reason for q in quarantine],
            "detail": [q.detail for q in quarantine],
        },
        schema=STATE_QUARANTINE_SCHEMA,
    )
    info = {"format": STATE_FORMAT, "signatures": dataclasses.asdict(settings)}
    return {"files": files, "inputs": inputs, "quarantine": quarantined}, info


def read_info(version_dir: Path) -> dict[str, Any] | None:
    """state/state.json of a version, or None when the version has no (readable) state."""
    try:
        info = json.loads((version_dir / STATE_DIR / STATE_INFO).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("format") == STATE_FORMAT else None


def read_manifest_files(version_dir: Path) -> dict[str, FileStamp]:
    """The stored input-file manifest of a version."""
    table = pq.read_table(version_dir / STATE_DIR / "files.parquet", schema=FILES_SCHEMA)
    return {
        row["path"]: FileStamp(row["size"], row["mtime_ns"], row["ctime_ns"], row["content_hash"])
        for row in table.to_pylist()
    }


def load_state(version_dir: Path) -> StoredState | None:
    """Read the whole state of a version; None when it has none (written before state existed)."""
    info = read_info(version_dir)
    if info is None:
        return None
    settings = SignatureSettings(**info["signatures"])
    inputs = pq.read_table(
        version_dir / STATE_DIR / "inputs.parquet", schema=inputs_schema(settings.num_perm)
    )
    articles = Corpus.from_arrow(inputs)
    text_hashes = _fixed_list_to_numpy(inputs.column("text_hash"), np.uint64, 2)
    signatures = _fixed_list_to_numpy(inputs.column("signature"), np.uint32, settings.num_perm)
    quarantined = pq.read_table(
        version_dir / STATE_DIR / "quarantine.parquet", schema=STATE_QUARANTINE_SCHEMA
    )
    quarantine = [
        QuarantineRecord(row["source_file"], row["reason"], row["detail"], input_file=row["input_file"])
        for row in quarantined.to_pylist()
    ]
    return StoredState(
        version_dir, settings, read_manifest_files(version_dir), articles, text_hashes, signatures, quarantine
    )


def _fixed_list_to_numpy(column: pa.ChunkedArray, dtype: type, width: int) -> npt.NDArray[Any]:
    if column.num_chunks == 0 or len(column) == 0:
        return np.empty((0, width), dtype=dtype)
    values = pa.concat_arrays([chunk.flatten() for chunk in column.chunks])
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=dtype).reshape(-1, width)


# ---- stable ids --------------------------------------------------------------------------------


def stable_id(prefix: str, key: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """prefix_<xxh3-64 of key>, salted until it is not in taken (an id already in use)."""
    candidate = f"{prefix}_{xxhash.xxh3_64_hexdigest(key.encode())}"
    salt = 1
    while candidate in taken:
        candidate = f"{prefix}_{xxhash.xxh3_64_hexdigest(f'{key}#{salt}'.encode())}"
        salt += 1
    return candidate


def preference_rank(
    published: npt.NDArray[np.datetime64], lengths: npt.NDArray[np.int64], article_ids: Sequence[str]
) -> npt.NDArray[np.int64]:
    """Each article's rank in the canonical order: earliest published (unknown last), then the
    longest text, then the smallest article_id, then the smallest index (dedup.choose_canonical)."""
    n = len(article_ids)
    published_us = np.asarray(published).astype("datetime64[us]")
    time_key = published_us.view(np.int64).copy()
    time_key[np.isnat(published_us)] = np.iinfo(np.int64).max
    id_rank = dense_ranks(np.asarray(article_ids, dtype=str))
    order = np.lexsort((np.arange(n), id_rank, -np.asarray(lengths), time_key))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank


@dataclasses.dataclass(frozen=True)
class DuplicateGroups:
    """Duplicate groups after folding new articles into the existing ones."""

    canonical: npt.NDArray[np.int64]  # (n,) index of each article's canonical
    group_id: list[str]  # (n,) duplicate_group


def assign_duplicate_groups(
    labels: npt.NDArray[np.int64],
    rank: npt.NDArray[np.int64],
    article_ids: Sequence[str],
    old_group: Sequence[str | None],
    old_canonical: npt.NDArray[np.bool_],
) -> DuplicateGroups:
    """Duplicate groups that keep every existing article's group and canonical.

    Args:
        labels: (n,) connected components of the duplicate graph; it must link every old
            article to its old group's canonical (so one old group is never split).
        rank: (n,) canonical preference (:func:`preference_rank`), lower is preferred.
        article_ids: (n,) ids.
        old_group: (n,) stored duplicate_group of existing articles, None for new ones.
        old_canonical: (n,) True for an existing article that is its group's canonical.

    Returns:
        Existing articles keep group and canonical. A new article in a component with existing
        articles joins the group of the most preferred existing canonical there; a component of
        new articles only becomes a new group around its most preferred article, with id
        ``dup_<hash of the canonical's id>`` as a full run gives it.
    """
    n = len(labels)
    is_old = np.array([g is not None for g in old_group], dtype=bool)
    # Old canonicals beat every new article; old copies never become a component's winner.
    key = np.where(is_old, np.where(old_canonical, rank, np.iinfo(np.int64).max), rank + n)
    best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, labels, key)
    # Keys are unique and below 2n; a component of old copies alone (impossible when the graph
    # links copies to their canonical) would get no winner (-1).
    winner_of_key = np.full(2 * n + 1, -1, dtype=np.int64)
    finite = key < np.iinfo(np.int64).max
    winner_of_key[key[finite]] = np.flatnonzero(finite)
    winner = winner_of_key[np.minimum(best[labels], 2 * n)]

    canonical = np.where(is_old, -1, winner).astype(np.int64)
    group_id: list[str] = [g if g is not None else "" for g in old_group]
    canonical_of_group: dict[str, int] = {}
    for i in np.flatnonzero(is_old & old_canonical).tolist():
        canonical_of_group[str(old_group[i])] = int(i)
    taken = set(canonical_of_group) | {g for g in old_group if g is not None}
    for i in np.flatnonzero(is_old).tolist():
        canonical[i] = canonical_of_group[str(old_group[i])]
    new_ids: dict[int, str] = {}
    for i in np.flatnonzero(~is_old).tolist():
        w = int(winner[i])
        if is_old[w]:
            group_id[i] = str(old_group[w])
        else:
            if w not in new_ids:
                new_ids[w] = stable_id("dup", article_ids[w], taken)
                taken.add(new_ids[w])
            group_id[i] = new_ids[w]
    return DuplicateGroups(canonical, group_id)


def elect_missing_canonicals(
    rank: npt.NDArray[np.int64], old_group: Sequence[str | None], old_canonical: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """old_canonical, with a canonical elected (most preferred member) for each existing group
    that lost its canonical (its input file changed and the article was replaced)."""
    result = np.array(old_canonical, dtype=bool, copy=True)
    has_canonical = {old_group[i] for i in np.flatnonzero(result).tolist()}
    best: dict[str, int] = {}
    for i, group in enumerate(old_group):
        if group is None or group in has_canonical:
            continue
        if group not in best or rank[i] < rank[best[group]]:
            best[group] = i
    result[list(best.values())] = True
    return result


@dataclasses.dataclass(frozen=True)
class StoryAssignment:
    """Story ids after folding new articles into the existing stories."""

    story_id: list[str]  # (n,)
    merged_into: dict[str, str]  # story -> the story it is part of (never itself merged)
    new_stories: list[str]  # ids first given in this run


def assign_stories(
    labels: npt.NDArray[np.int64],
    canonical: npt.NDArray[np.int64],
    first_rank: npt.NDArray[np.int64],
    article_ids: Sequence[str],
    old_story: Sequence[str | None],
    previous_merges: Mapping[str, str],
    previous_first_published: Mapping[str, Any],
) -> StoryAssignment:
    """Story ids that keep every existing article's story.

    Args:
        labels: (n,) story label of each article from this run's clustering (a copy has its
            canonical's label).
        canonical: (n,) index of each article's canonical.
        first_rank: (n,) order in which a story's first article is chosen (published, then id):
            a new story's id hashes its first article's id, as in a full run.
        article_ids: (n,) ids.
        old_story: (n,) stored story_id of existing articles, None for new ones.
        previous_merges: stored merged_into of earlier runs (sticky: a merge is never undone).
        previous_first_published: stored first_published per story (the oldest story survives
            a merge).

    Returns:
        Existing articles keep their story. Existing stories whose articles now share a label
        are merged into the oldest (first published, then smallest id) of them that was not
        merged before; a new article in such a label takes that story; new copies take their
        canonical's story; a label of new articles only is a new story.
    """
    n = len(labels)
    is_old = np.array([s is not None for s in old_story], dtype=bool)
    parent: dict[str, str] = {}

    def find(s: str) -> str:
        parent.setdefault(s, s)
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    live = {str(s) for s in old_story if s is not None}
    for story, target in previous_merges.items():
        union(story, target)
    old_of_label: dict[int, str] = {}
    for i in np.flatnonzero(is_old).tolist():
        label, story = int(labels[i]), str(old_story[i])
        find(story)
        if label in old_of_label:
            union(old_of_label[label], story)
        else:
            old_of_label[label] = story

    def age(story: str) -> tuple[int, Any, str]:
        first = previous_first_published.get(story)
        return (1, 0, story) if first is None else (0, first, story)

    members: dict[str, list[str]] = {}
    for story in parent:
        members.setdefault(find(story), []).append(story)
    root_of: dict[str, str] = {}
    merged_into: dict[str, str] = {}
    for group in members.values():
        alive = [s for s in group if s in live]
        if not alive:
            continue
        fresh = [s for s in alive if s not in previous_merges] or alive
        root = min(fresh, key=age)
        for story in group:
            root_of[story] = root
            if story != root and story in live:
                merged_into[story] = root

    story_id: list[str] = [s if s is not None else "" for s in old_story]
    taken = set(parent)
    new_stories: list[str] = []
    new_of_label: dict[int, str] = {}
    # Labels of new canonicals without existing stories: id from their first article.
    new_canon = np.flatnonzero(~is_old & (canonical == np.arange(n)))
    fresh_labels = sorted({int(labels[i]) for i in new_canon if int(labels[i]) not in old_of_label})
    if fresh_labels:
        label_members = np.flatnonzero(np.isin(labels, fresh_labels))
        order = label_members[np.lexsort((first_rank[label_members], labels[label_members]))]
        seen: set[int] = set()
        for i in order.tolist():
            label = int(labels[i])
            if label not in seen:
                seen.add(label)
                new_of_label[label] = stable_id("story", article_ids[i], taken)
                taken.add(new_of_label[label])
                new_stories.append(new_of_label[label])
    for i in new_canon.tolist():
        label = int(labels[i])
        story_id[i] = root_of[old_of_label[label]] if label in old_of_label else new_of_label[label]
    for i in np.flatnonzero(~is_old & (canonical != np.arange(n))).tolist():
        story_id[i] = story_id[int(canonical[i])]
    return StoryAssignment(story_id, merged_into, sorted(new_stories))
