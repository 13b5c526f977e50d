"""The whole pipeline as plain functions: plan → ingest → fold (shared text, duplicates, stories) → write.

Nothing here knows about Prefect: the CLI calls :func:`run`; the flow calls the same steps
(:func:`plan_run`, :func:`ingest_batch`, :func:`fold`, :func:`write_outputs`) as tasks, holding
the same run lock (:func:`newsfold.lock.hold`).

A run is incremental when the output directory holds an earlier version with its state
(:mod:`newsfold.state`): only new or changed input files are read, and their articles are folded
into the stored ones so that no existing article changes duplicate group, canonical or story.
``full=True`` rebuilds from scratch. A run that finds nothing new writes nothing.
"""

import dataclasses
import gc
import itertools
import json
import os
import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from newsfold import heap, ingest, lock, state, store
from newsfold.arrays import dense_ranks
from newsfold.config import IngestConfig, PipelineConfig
from newsfold.corpus import Corpus
from newsfold.dedup import (
    confirm_pairs,
    exact_copy_keys,
    find_all_candidates,
    find_duplicates,
    group_exact_copies,
    prefix_band_keys,
    shingle_texts,
)
from newsfold.minhash import EncodedTexts, MinHasher, text_fingerprints
from newsfold.records import (
    ARTICLES_SCHEMA,
    QUARANTINE_SCHEMA,
    SHARED_TEXT_SCHEMA,
    STORIES_SCHEMA,
    Article,
    QuarantineRecord,
    records_to_table,
)
from newsfold.shared_text import find_shared_text
from newsfold.stories import cluster_stories
from newsfold.text_column import TextColumn
from newsfold.unionfind import connected_groups

# pyarrow's default pool (mimalloc) keeps the memory of freed tables for reuse: after a run over
# 2*10^4 articles it held 170 MB more than the live tables, 0.85 GB per 10^5 articles. The
# system allocator hands it back when a run ends (newsfold.heap), and the stages allocate few,
# large buffers.
pa.set_memory_pool(pa.system_memory_pool())

HEADLINE_FALLBACK_CHARS = 120
_TABLE_ROWS = 100_000  # rows per chunk of the articles table (see _table_in_chunks)
# Input bytes below which a CLI run reads its files in one process (see ingest_batches).
_PARALLEL_MIN_BYTES = 32 * 1024 * 1024
# Quarantine details are for a human to look at, not a copy of the input (as in ingest).
_MAX_DETAIL_CHARS = 2_000
# Bytes of article text above which a run moves the texts to a file once shared text has read
# them (analyse_incremental's spill_dir): at 10^6 articles they were 3.6 of the 15 GB peak in
# the stories stage, which reads only the cleaned texts.
_SPILL_MIN_BYTES = 2**30
# Bytes of heap that shared text takes per character of the corpus: 0.78 -> 2.35 GB for the
# 355 MB of the 10^5 corpus (4.4). heap.warm faults in a little less than that, so that it
# never makes the peak, and what the stage does not take the next one does.
_SHARED_TEXT_GROWTH = 4


@dataclasses.dataclass(frozen=True)
class Analysis:
    """Output tables of one run, before they are written."""

    articles: pa.Table
    stories: pa.Table
    shared_text: pa.Table
    seconds: dict[str, float]
    # Per analysed article, in input order: the fingerprint of its cleaned text and its
    # word-shingle MinHash signature, persisted so that the next run can reuse them.
    text_hashes: npt.NDArray[np.uint64] | None = None
    signatures: npt.NDArray[np.uint32] | None = None
    new_stories: tuple[str, ...] = ()  # story ids first given by this analysis
    merged_stories: dict[str, str] = dataclasses.field(default_factory=dict)  # merges made by it


@dataclasses.dataclass(frozen=True)
class Prior:
    """What earlier runs fixed for the first ``n_old`` articles of a corpus (in that order)."""

    duplicate_group: list[str]
    is_canonical: npt.NDArray[np.bool_]
    story_id: list[str]
    text_hashes: npt.NDArray[np.uint64]
    signatures: npt.NDArray[np.uint32]
    merged_into: dict[str, str]  # stored stories.merged_into
    first_published: dict[str, Any]  # stored stories.first_published (None when unknown)

    @property
    def n_old(self) -> int:
        return len(self.duplicate_group)


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What a run will read: the listed files compared with the stored manifest."""

    raw_dir: Path
    out_dir: Path
    mode: str  # "incremental" or "full"
    reason: str  # why this mode
    previous: Path | None  # the version folded into (incremental runs)
    changes: state.FileChanges
    batches: list[list[str]]

    @property
    def nothing_new(self) -> bool:
        """Nothing to read and nothing vanished: the run cannot change the dataset."""
        return self.previous is not None and not self.changes.to_read and not self.changes.vanished

    def describe(self) -> str:
        c = self.changes
        return (
            f"{self.mode} run ({self.reason}): {len(c.new)} new, {len(c.changed)} changed, "
            f"{len(c.unchanged)} unchanged, {len(c.vanished)} vanished input files; "
            f"{len(c.to_read)} to read in {len(self.batches)} batches"
        )


@dataclasses.dataclass(frozen=True)
class Fold:
    """The corpus of a run (stored articles kept plus new ones) and its analysis."""

    plan: RunPlan
    articles: Corpus  # analysed inputs, in the order of the analysis
    quarantine: list[QuarantineRecord]
    analysis: Analysis | None  # None: nothing changed, nothing to write
    new_articles: int
    replaced_articles: int  # stored articles dropped because their file changed
    seconds: dict[str, float]


@dataclasses.dataclass(frozen=True)
class RunReport:
    """What a run did: counts, seconds per stage, where the output went."""

    run_id: str
    out_dir: Path
    version_dir: Path
    counts: dict[str, int]
    seconds: dict[str, float]
    changes: dict[str, Any] = dataclasses.field(default_factory=dict)
    written: bool = True  # False: nothing new, the current version was left as it was

    def summary(self) -> str:
        c, ch = self.counts, self.changes
        files = ch.get("files", {})
        if not self.written:
            return (
                f"newsfold: nothing new ({files.get('unchanged', 0)} input files unchanged), dataset "
                f"not rewritten: {c['articles']} articles, {c['stories']} stories, "
                f"{c['quarantined']} quarantined, {self.seconds.get('total', 0.0):.1f}s -> {self.out_dir}"
            )
        new = f" ({ch['new_articles']} new)" if ch.get("mode") == "incremental" else ""
        merged = len(ch.get("merged_stories", {}))
        story_news = f" ({len(ch.get('new_stories', []))} new, {merged} merged)" if new else ""
        return (
            f"newsfold: {c['articles']} articles{new}, {c['duplicates']} duplicates in "
            f"{c['duplicate_groups']} groups, {c['stories']} stories{story_news}, "
            f"{c['shared_segments']} shared segments ({c['shared_removed']} removed), "
            f"{c['quarantined']} quarantined, {self.seconds['total']:.1f}s -> {self.out_dir}"
            + (
                f" [{ch.get('mode')}: {files.get('new', 0)} new, {files.get('changed', 0)} changed, "
                f"{files.get('vanished', 0)} vanished files]"
                if ch
                else ""
            )
        )


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        # glibc keeps freed blocks (a stage's millions of line strings) in its heap, so a large
        # run's next stage would start its peak from there (~0.4 GB after shared text at 10^5
        # articles): above a sixth of the machine's memory only a bounded share is kept.
        heap.after_stage()
        seconds[stage] = round(seconds.get(stage, 0.0) + time.perf_counter() - t0, 4)


@contextmanager
def _frozen_objects() -> Iterator[None]:
    """Within the block, Python's cyclic garbage collector passes over the objects that exist
    when it starts (gc.freeze), such as the corpus's articles, instead of walking them again at
    every full collection; objects made within the block are collected as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _list_files(raw_dir: Path) -> list[str]:
    return [Path(p).relative_to(raw_dir).as_posix() for p in ingest.list_input_files(raw_dir)]


def _batch(files: Sequence[str], size: int) -> list[list[str]]:
    return [list(files[i : i + size]) for i in range(0, len(files), size)]


def plan_batches(raw_dir: Path, config: PipelineConfig) -> list[list[str]]:
    """All input files, relative to raw_dir, cut into batches that can be read independently."""
    return _batch(_list_files(raw_dir), config.ingest.batch_files)


def plan_run(raw_dir: Path, out_dir: Path, config: PipelineConfig, *, full: bool = False) -> RunPlan:
    """List the input files and decide which to read: all of them, or only new and changed ones.

    Raises:
        FileNotFoundError: raw_dir is not a directory.
        state.IncompatibleStateError: the stored signatures use other settings than config.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"input directory not found: {raw_dir}")
    files = _list_files(raw_dir)
    previous = None if full else store.current_version(out_dir)
    stored: dict[str, state.FileStamp] = {}
    if full:
        reason = "--full"
    elif previous is None:
        reason = "no earlier version"
    elif (info := state.read_info(previous)) is None:
        reason, previous = "the earlier version has no incremental state", None
    else:
        settings = state.SignatureSettings(**info["signatures"])
        state.check_compatible(settings, state.SignatureSettings.from_config(config), out_dir)
        stored = state.read_manifest_files(previous)
        reason = f"folding into {previous.name}"
    changes = state.compare_files(raw_dir, files, stored, config.ingest.max_file_bytes)
    mode = "incremental" if previous is not None else "full"
    return RunPlan(
        raw_dir, out_dir, mode, reason, previous, changes, _batch(changes.to_read, config.ingest.batch_files)
    )


def ingest_batch(raw_dir: Path, files: Sequence[str], config: PipelineConfig) -> ingest.IngestResult:
    """Read one batch of input files; quarantine records name the input file they came from."""
    raw_dir = Path(raw_dir)
    return ingest.merge_results([ingest.read_listed_file(raw_dir, name, config.ingest) for name in files])


def ingest_workers(config: IngestConfig) -> int:
    """Processes a CLI run reads files with: config.workers, or one per CPU this process may use."""
    if config.workers:
        return config.workers
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def ingest_batches(plan: RunPlan, config: PipelineConfig) -> list[ingest.IngestResult]:
    """ingest_batch of every batch of the plan, the files read by ingest_workers processes.

    The results are those of reading the batches one after the other: files are read in any
    order but merged in theirs. Below _PARALLEL_MIN_BYTES of input, or with one file, one
    process reads everything (a worker's start-up, ~1 s, would cost more than it saves).
    """
    raw_dir = Path(plan.raw_dir)
    files = [name for batch in plan.batches for name in batch]
    stamps = plan.changes.stamps
    size = sum(stamps[name].size for name in files if name in stamps)
    workers = min(ingest_workers(config.ingest), len(files))
    if workers < 2 or size < _PARALLEL_MIN_BYTES:
        return [ingest_batch(raw_dir, batch, config) for batch in plan.batches]
    # joblib's loky processes: started fresh, not forked from a caller that may run threads (a
    # flow, numba, pyarrow), and without re-running the caller's __main__ as multiprocessing's
    # spawn does (a script without a __main__ guard would start itself again). The workers stay
    # for the next run and stop after a few idle minutes. A worker imports newsfold.ingest only
    # (~0.5 s) and returns one file's articles at a time; results come back in file order.
    parallel = joblib.Parallel(n_jobs=workers, backend="loky", return_as="generator")
    read = joblib.delayed(ingest.read_listed_file_in_worker)
    per_file = parallel(read(raw_dir, name, config.ingest) for name in files)
    # Each batch's results merged as they come, while the processes read on.
    return [ingest.merge_results(itertools.islice(per_file, len(batch))) for batch in plan.batches]


def merge_batches(results: Sequence[ingest.IngestResult]) -> ingest.IngestResult:
    """Concatenate batch results in order; an id seen in an earlier batch is quarantined."""
    merged = ingest.merge_results(results)
    # Duplicate-id records made while merging name the article's own file.
    tagged = [
        q if q.input_file else dataclasses.replace(q, input_file=q.source_file) for q in merged.quarantine
    ]
    return ingest.IngestResult(merged.articles, tagged)


def analyse(articles: Sequence[Article], config: PipelineConfig) -> Analysis:
    """Shared text, duplicates and stories for a corpus of ingested articles."""
    return analyse_incremental(articles, config, None)


def analyse_incremental(
    articles: Sequence[Article], config: PipelineConfig, prior: Prior | None, spill_dir: Path | None = None
) -> Analysis:
    """Shared text, duplicates and stories for a corpus whose first articles may be known already.

    Args:
        articles: The corpus; its first ``prior.n_old`` articles are the stored ones.
        config: Stage settings.
        prior: What earlier runs fixed for the stored articles (None: all articles are new, and
            the result is that of a full run).
        spill_dir: Where a corpus of more than _SPILL_MIN_BYTES of text moves its texts once
            shared text has cleaned them (an unlinked file, see TextColumn.spilled): the stages
            after it read the cleaned texts only, and the articles' own are written out at the
            end (the state's inputs). None: they stay in memory.

    Returns:
        The tables. Stored articles keep duplicate group, canonical and story
        (:func:`state.assign_duplicate_groups`, :func:`state.assign_stories`).
    """
    seconds: dict[str, float] = {}
    corpus = Corpus.from_articles(articles)  # the stages read its columns
    n = len(corpus)
    if n == 0:
        return Analysis(
            ARTICLES_SCHEMA.empty_table(),
            STORIES_SCHEMA.empty_table(),
            SHARED_TEXT_SCHEMA.empty_table(),
            {},
            np.empty((0, 2), dtype=np.uint64),
            np.empty((0, config.minhash.num_perm), dtype=np.uint32),
        )
    n_old = prior.n_old if prior is not None else 0
    ids = corpus.article_id
    id_rank = dense_ranks(np.asarray(ids, dtype=str))
    published = pd.to_datetime(pd.Series(corpus.published_at, dtype="object"), utc=True).dt.tz_localize(None)
    published_np = published.to_numpy(dtype="datetime64[us]")

    with _timed(seconds, "shared_text"):
        # The stage that grows the process most, mostly on one thread (its lines' arrays): its
        # memory faulted in from two threads first (heap.warm).
        heap.warm(_SHARED_TEXT_GROWTH * corpus.text.encoded.data.size)
        with ThreadPoolExecutor(1) as spilling:  # written while the stage runs
            spilled = (
                spilling.submit(corpus.text.spilled, spill_dir)
                if spill_dir is not None and corpus.text.encoded.data.size > _SPILL_MIN_BYTES
                else None
            )
            shared = find_shared_text(
                corpus.text,
                corpus.title,
                config.shared_text,
                config.minhash,
                sources=corpus.source,
                article_rank=id_rank,
            )
            if spilled is not None and spilled.exception() is None:  # else they stay in memory
                corpus.text.move_to(spilled.result())
    with _timed(seconds, "dedup"):
        # The cleaned texts are held as their encoding, which dedup reads as it is; a text is
        # decoded only where one is read as a string, and the output column is that buffer.
        cleaned = shared.cleaned_texts
        encoded = cleaned.encoded
        lengths = cleaned.lengths()
        rank = state.preference_rank(published_np, lengths, ids)
        old_group: list[str | None] = [None] * n
        old_canonical = np.zeros(n, dtype=bool)
        if prior is None:
            dups = find_duplicates(
                cleaned,
                ids,
                published_np,
                config.dedup,
                config.minhash,
                shared.titles,
                encoded,
            )
            edges = np.stack([np.arange(n), dups.group], axis=1)
            signatures, text_hashes = dups.signatures, dups.text_hashes
        else:
            text_hashes, signatures, edges = _fold_duplicates(cleaned, encoded, shared.titles, prior, config)
            old_group[:n_old] = prior.duplicate_group
            old_canonical[:n_old] = prior.is_canonical
            old_canonical = state.elect_missing_canonicals(rank, old_group, old_canonical)
            # An existing group stays whole: each member is linked to its canonical.
            canonical_of = {old_group[i]: i for i in np.flatnonzero(old_canonical)}
            keep = np.array([canonical_of[g] for g in prior.duplicate_group], dtype=np.int64)
            edges = np.concatenate([edges, np.stack([np.arange(n_old), keep], axis=1)])
        del encoded
        groups = state.assign_duplicate_groups(
            connected_groups(n, edges), rank, ids, old_group, old_canonical
        )
    with _timed(seconds, "stories"):
        canonical = groups.canonical
        is_canonical = canonical == np.arange(n)
        canon = np.flatnonzero(is_canonical)
        position = np.full(n, -1, dtype=np.int64)
        position[canon] = np.arange(len(canon))
        # Shared headlines and passages link stories; a link to a copy is a link to its canonical.
        links = position[canonical[shared.must_link]] if len(shared.must_link) else shared.must_link
        links = links[links[:, 0] != links[:, 1]] if len(links) else links
        # The clusterer makes its docs from the canonical bodies' first max_chars characters,
        # read in the cleaned texts' buffer (no copy of the canonical bodies first).
        labels, top_terms = cluster_stories(
            cleaned,
            [shared.titles[i] for i in canon],
            published_np[canon],
            links,
            config.stories,
            rows=canon,
        )
        story_label = labels[position[canonical]]
        old_story: list[str | None] = [None] * n
        if prior is not None:
            old_story[:n_old] = prior.story_id
        assigned = state.assign_stories(
            story_label,
            canonical,
            _first_rank(published_np, id_rank),
            ids,
            old_story,
            prior.merged_into if prior is not None else {},
            prior.first_published if prior is not None else {},
        )

    # The frame (without text) serves the story summaries; the table is built from the lists.
    # numpy formats the months in C (pandas' strftime took 0.3 s at 10^5 articles); "unknown"
    # fits the 7 characters of "YYYY-MM".
    month = np.datetime_as_string(published_np.astype("datetime64[M]"), unit="M")
    month[np.isnat(published_np)] = "unknown"
    duplicate_of = [None if c else ids[g] for c, g in zip(is_canonical, canonical, strict=True)]
    frame = pd.DataFrame(
        {
            "title": shared.titles,
            "published_at": published.dt.tz_localize("UTC"),
            "story_label": story_label,
            "story_id": assigned.story_id,
            "article_rank": id_rank,
        }
    )
    stories = _story_rows(frame, cleaned, top_terms, assigned.merged_into)
    del frame
    articles_table = _table_in_chunks(
        {
            "article_id": ids,
            "source_file": corpus.source_file,
            "title": shared.titles,
            "published_at": published_np,
            "source": corpus.source,
            "url": corpus.url,
            "text": cleaned,
            "duplicate_group": groups.group_id,
            "is_canonical": is_canonical,
            "duplicate_of": duplicate_of,
            "story_id": assigned.story_id,
            "extra": corpus.extra,
            "published_month": month,
        },
        ARTICLES_SCHEMA,
    )

    # Occurrences come by segment_id, article_id and start (find_shared_text's article_rank).
    shared_table = pa.table(
        {
            "segment_id": shared.segment_id,
            "article_id": pa.array(ids, type=pa.string()).take(pa.array(shared.article)),
            "text": shared.text,
            "role": shared.role,
            "start": shared.start,
            "end": shared.end,
            "n_articles": shared.n_articles,
        },
        schema=SHARED_TEXT_SCHEMA,
    )
    previous_merges = prior.merged_into if prior is not None else {}
    merged_now = {s: t for s, t in assigned.merged_into.items() if previous_merges.get(s) != t}
    return Analysis(
        articles_table,
        stories,
        shared_table,
        seconds,
        text_hashes,
        signatures,
        tuple(assigned.new_stories),
        merged_now,
    )


def _table_in_chunks(columns: Mapping[str, Sequence[Any] | npt.NDArray[Any]], schema: pa.Schema) -> pa.Table:
    """The columns as a table of _TABLE_ROWS-row chunks, each built from its slice of the lists.

    One string array holds at most 2 GB (int32 offsets), which the text of ~6*10^5 articles
    exceeds. Slicing an arrow-backed pandas column does not help: the slice keeps the 64-bit
    offsets of the whole column, and its cast to ``string`` fails however few rows it has.
    """
    n = len(next(iter(columns.values())))

    def column(field: pa.Field, lo: int) -> pa.Array:
        values = columns[field.name][lo : lo + _TABLE_ROWS]
        if isinstance(values, TextColumn):  # the buffer itself
            return values.arrow()
        if field.name == "text" and isinstance(values, list):  # no second copy (store.text_array)
            return store.text_array(values)
        return pa.array(values, type=field.type)

    return pa.concat_tables(
        [
            pa.table({f.name: column(f, lo) for f in schema}, schema=schema)
            for lo in range(0, max(n, 1), _TABLE_ROWS)
        ]
    )


def _fold_duplicates(
    cleaned: Sequence[str],
    encoded: EncodedTexts,
    titles: Sequence[str | None],
    prior: Prior,
    config: PipelineConfig,
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """Duplicate edges that involve a new article; stored signatures reused where text is unchanged.

    Returns:
        Text fingerprints, signatures (both for all articles) and the verified and exact-copy
        pairs with at least one new article (pairs of stored articles were settled before).
    """
    n, n_old = len(cleaned), prior.n_old
    text_hashes = text_fingerprints(encoded)
    shingles = shingle_texts(encoded, config.dedup)
    reuse = np.zeros(n, dtype=bool)
    reuse[:n_old] = np.all(prior.text_hashes == text_hashes[:n_old], axis=1)
    signatures = np.empty((n, config.minhash.num_perm), dtype=np.uint32)
    kept = np.flatnonzero(reuse)
    signatures[kept] = prior.signatures[kept]
    todo = np.flatnonzero(~reuse)
    if len(todo):
        hasher = MinHasher(num_perm=config.minhash.num_perm, seed=config.minhash.seed)
        signatures[todo] = hasher.signatures(shingles.take(todo))

    is_new = np.arange(n) >= n_old
    representative = group_exact_copies(exact_copy_keys(text_hashes, titles, shingles.sizes(), config.dedup))
    copies = np.flatnonzero(representative != np.arange(n))
    exact = np.stack([representative[copies], copies], axis=1)
    exact = exact[is_new[exact[:, 0]] | is_new[exact[:, 1]]]
    candidates = find_all_candidates(
        signatures,
        prefix_band_keys(encoded, config.dedup, config.minhash),
        np.flatnonzero(representative == np.arange(n)),
        config.dedup,
    )
    candidates = candidates[is_new[candidates[:, 0]] | is_new[candidates[:, 1]]]
    pairs = confirm_pairs(cleaned, titles, shingles, candidates, config.dedup)
    return text_hashes, signatures, np.concatenate([pairs, exact]).astype(np.int64)


def _first_rank(
    published: npt.NDArray[np.datetime64], id_rank: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Order in which a story's first article is found: earliest published (unknown last), then
    id (`id_rank`: each id's rank among the ids, sorted)."""
    time_key = published.astype("datetime64[us]").view(np.int64).copy()
    time_key[np.isnat(published)] = np.iinfo(np.int64).max
    order = np.lexsort((id_rank, time_key))
    rank = np.empty(len(id_rank), dtype=np.int64)
    rank[order] = np.arange(len(id_rank))
    return rank


def _story_rows(
    frame: pd.DataFrame,
    texts: Sequence[str],
    top_terms: dict[int, list[str]],
    merged_into: Mapping[str, str],
) -> pa.Table:
    """One row per story id; top terms are those of the clustering label holding most of it.

    Sorted and grouped on integer codes: story ids and titles factorised (the story ids' codes
    in their sorted order), article ids by `article_rank` (their rank in sorted order). pandas
    compares object strings a pair at a time in Python; every sort below ends on a key that is
    unique within its groups, so the codes give the rows the strings gave.
    """
    story_code, story_ids = pd.factorize(frame["story_id"], sort=True)
    title_code, titles = pd.factorize(frame["title"])  # -1: no title
    codes = pd.DataFrame(
        {
            "story": story_code,
            "label": frame["story_label"].to_numpy(),
            "title": title_code,
            "published_at": frame["published_at"],
            "rank": frame["article_rank"].to_numpy(),
        },
        index=frame.index,
    )
    ordered = codes.sort_values(["story", "published_at", "rank"], na_position="last")
    first = ordered.drop_duplicates("story")
    agg = codes.groupby("story", sort=True).agg(
        n_articles=("rank", "size"),
        first_published=("published_at", "min"),
        last_published=("published_at", "max"),
    )
    main_label = (
        codes.groupby(["story", "label"], sort=False)
        .size()
        .reset_index(name="n")
        .sort_values(["story", "n", "label"], ascending=[True, False, True])
        .drop_duplicates("story")
    )
    label_of = dict(zip(main_label["story"].tolist(), main_label["label"].tolist(), strict=True))
    headlines = _headlines(codes, first, titles, texts)
    stories = agg.index.to_numpy()
    return pa.table(
        {
            "story_id": story_ids[stories].tolist(),
            "headline": [headlines.get(story) for story in stories.tolist()],
            "n_articles": agg["n_articles"].to_numpy(dtype=np.int64),
            "first_published": agg["first_published"],
            "last_published": agg["last_published"],
            "top_terms": [top_terms.get(int(label_of[story]), []) for story in stories.tolist()],
            "merged_into": [merged_into.get(story) for story in story_ids[stories].tolist()],
        },
        schema=STORIES_SCHEMA,
    ).sort_by("story_id")


def _headlines(
    codes: pd.DataFrame, first: pd.DataFrame, titles: pd.Index, texts: Sequence[str]
) -> dict[int, str | None]:
    """Each story's (by code) most frequent title (by code, into `titles`; ties: the earliest);
    untitled stories get the opening line of their first article."""
    titled = codes[codes["title"] >= 0]
    counts = (
        titled.groupby(["story", "title"], sort=False)
        .agg(
            n=("rank", "size"),
            first=("published_at", "min"),
            first_id=("rank", "min"),
        )
        .reset_index()
        .sort_values(["story", "n", "first", "first_id"], ascending=[True, False, True, True])
        .drop_duplicates("story")
    )
    headlines: dict[int, str | None] = {
        story: str(titles[title])
        for story, title in zip(counts["story"].tolist(), counts["title"].tolist(), strict=True)
    }
    for story, row in zip(first["story"].tolist(), first.index.tolist(), strict=True):
        if story not in headlines:
            text = texts[row]
            headlines[story] = str(text).split("\n", 1)[0][:HEADLINE_FALLBACK_CHARS] or None
    return headlines


@heap.retained()  # also when the flow calls it as a task (run holds one around everything)
def fold(plan: RunPlan, results: Sequence[ingest.IngestResult], config: PipelineConfig) -> Fold:
    """Fold the articles read by a run into the stored ones and analyse the corpus.

    Stored articles are kept, except those of a re-read file that no longer has them unchanged
    (a file changed in place replaces its articles; one that now yields no article at all keeps
    its earlier ones). Articles of vanished files are kept. A new article whose id is already
    stored from another file is quarantined. Quarantine records of re-read or vanished files are
    replaced by this run's.
    """
    seconds: dict[str, float] = {}
    if plan.nothing_new:
        return Fold(plan, Corpus.from_articles([]), [], None, 0, 0, seconds)
    read = merge_batches(results)
    corpus = Corpus.from_articles(read.articles)  # merged: a Corpus already
    with _timed(seconds, "load_state"):
        stored = state.load_state(plan.previous) if plan.previous is not None else None
    if stored is None:
        if plan.previous is not None:  # only new files were read: folding them into nothing loses data
            raise store.OutputError(f"the state of {plan.previous} is gone; rerun with --full")
        articles, quarantine, prior = corpus, list(read.quarantine), None
        new_count, dropped = len(articles), 0
    else:
        kept, new, dropped, quarantine = _merge_with_stored(stored, corpus, read.quarantine, plan.changes)
        if not len(new) and not dropped and _same_records(quarantine, stored.quarantine):
            return Fold(plan, stored.articles, quarantine, None, 0, 0, seconds)
        prior = _prior(stored, kept)
        articles = Corpus.concat([stored.articles.take(kept), new])
        new_count = len(new)
    with _frozen_objects():
        analysis = analyse_incremental(articles, config, prior, spill_dir=plan.out_dir)
    seconds.update(analysis.seconds)
    return Fold(plan, articles, quarantine, analysis, new_count, dropped, seconds)


def _merge_with_stored(
    stored: state.StoredState,
    read: Corpus,
    read_quarantine: Sequence[QuarantineRecord],
    changes: state.FileChanges,
) -> tuple[list[int], Corpus, int, list[QuarantineRecord]]:
    """(indices of stored articles kept, new articles, stored articles dropped, quarantine), of
    the articles and quarantine records this run read.

    Only the articles of files read again are compared whole (their texts decoded)."""
    reread = set(changes.to_read)
    fresh: dict[str, dict[str, int]] = {}  # source file -> article id -> row of read
    for row, (article_id, source_file) in enumerate(zip(read.article_id, read.source_file, strict=True)):
        fresh.setdefault(source_file, {})[article_id] = row
    kept: list[int] = []
    dropped = 0
    old_ids = stored.articles.article_id
    for i, (article_id, source_file) in enumerate(zip(old_ids, stored.articles.source_file, strict=True)):
        from_file = fresh.get(source_file)
        if source_file in reread and from_file is not None:
            at = from_file.get(article_id)
            if at is None or read[at] != stored.articles[i]:
                dropped += 1
                continue
        kept.append(i)
    kept_by_id = {old_ids[i]: i for i in kept}
    new: list[int] = []
    clashes: list[QuarantineRecord] = []
    for row, article_id in enumerate(read.article_id):
        old_row = kept_by_id.get(article_id)
        if old_row is None:
            new.append(row)
            continue
        article, old_article = read[row], stored.articles[old_row]
        if old_article != article:
            clashes.append(
                QuarantineRecord(
                    article.source_file,
                    f'duplicate article_id "{article.article_id}" (first seen in {old_article.source_file})',
                    article.text[:_MAX_DETAIL_CHARS],
                    input_file=article.source_file,
                )
            )
    unchanged = set(changes.unchanged)
    carried = [q for q in stored.quarantine if (q.input_file or q.source_file) in unchanged]
    return kept, read.take(new), dropped, carried + list(read_quarantine) + clashes


def _same_records(a: Sequence[QuarantineRecord], b: Sequence[QuarantineRecord]) -> bool:
    def key(q: QuarantineRecord) -> tuple[str, str, str]:
        return (q.source_file, q.reason, q.detail or "")

    return sorted(map(key, a)) == sorted(map(key, b))


def _prior(stored: state.StoredState, kept: Sequence[int]) -> Prior:
    """The frozen columns of the kept stored articles, read from the version they belong to."""
    previous = store.read_version_table(stored.version_dir, "articles").select(
        ["article_id", "duplicate_group", "is_canonical", "story_id"]
    )
    columns = previous.to_pydict()
    row_of = {aid: row for row, aid in enumerate(columns["article_id"])}
    rows = [row_of[stored.articles.article_id[i]] for i in kept]
    stories = store.read_version_table(stored.version_dir, "stories").to_pydict()
    index = np.asarray(kept, dtype=np.int64)
    return Prior(
        duplicate_group=[columns["duplicate_group"][r] for r in rows],
        is_canonical=np.array([columns["is_canonical"][r] for r in rows], dtype=bool),
        story_id=[columns["story_id"][r] for r in rows],
        text_hashes=stored.text_hashes[index],
        signatures=stored.signatures[index],
        merged_into={
            s: m for s, m in zip(stories["story_id"], stories["merged_into"], strict=True) if m is not None
        },
        first_published=dict(zip(stories["story_id"], stories["first_published"], strict=True)),
    )


def versions() -> dict[str, str]:
    """Versions of Python and the libraries whose behaviour shapes the output."""
    found = {"python": platform.python_version()}
    for dist in ("newsfold", "datasketch", "numpy", "numba", "scikit-learn", "pyarrow", "pandas", "prefect"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found


def _changes(folded: Fold) -> dict[str, Any]:
    plan, c = folded.plan, folded.plan.changes
    analysis = folded.analysis
    return {
        "mode": plan.mode,
        "reason": plan.reason,
        "previous_run_id": plan.previous.name if plan.previous is not None else None,
        "files": {
            "new": len(c.new),
            "changed": len(c.changed),
            "unchanged": len(c.unchanged),
            "vanished": len(c.vanished),
        },
        "new_articles": folded.new_articles,
        "replaced_articles": folded.replaced_articles,
        "new_stories": list(analysis.new_stories) if analysis is not None else [],
        "merged_stories": dict(analysis.merged_stories) if analysis is not None else {},
    }


@heap.retained()
def write_outputs(
    out_dir: Path, folded: Fold, config: PipelineConfig, seconds: Mapping[str, float] | None = None
) -> RunReport:
    """Write the datasets, manifest and state as a new version of out_dir; return the report.

    When the fold changed nothing, nothing is written and the report describes the current version.
    """
    seconds = {**(seconds or {}), **folded.seconds}
    changes = _changes(folded)
    analysis = folded.analysis
    if analysis is None:
        previous = folded.plan.previous
        assert previous is not None  # a fold without analysis always has a stored version
        manifest = json.loads((previous / store.MANIFEST).read_text())
        seconds["total"] = round(sum(v for k, v in seconds.items() if k != "total"), 4)
        return RunReport(
            manifest["run_id"], out_dir, previous, manifest["counts"], seconds, changes, written=False
        )
    articles = analysis.articles
    shared = analysis.shared_text
    syndicated = pc.sum(pc.equal(shared.column("role"), "syndicated")).as_py() or 0  # None: no rows
    counts = {
        "articles": articles.num_rows,
        "duplicates": int((~articles.column("is_canonical").to_numpy(zero_copy_only=False)).sum()),
        "duplicate_groups": pc.count_distinct(articles.column("duplicate_group")).as_py(),
        "stories": analysis.stories.num_rows,
        "shared_segments": pc.count_distinct(shared.column("segment_id")).as_py(),
        "shared_removed": shared.num_rows - syndicated,
        "quarantined": len(folded.quarantine),
    }
    run_id = store.new_run_id()
    manifest = {
        "run_id": run_id,
        "schema_version": ARTICLES_SCHEMA.metadata[b"newsfold.schema_version"].decode(),
        "inputs": {"raw_dir": str(folded.plan.raw_dir), "files": len(folded.plan.changes.stamps)},
        "run": changes,
        "counts": counts,
        "seconds": seconds,
        "config": config.to_dict(),
        "versions": versions(),
    }
    assert analysis.text_hashes is not None and analysis.signatures is not None
    state_tables, state_info = state.state_tables(
        folded.plan.changes.stamps,
        folded.articles,
        analysis.text_hashes,
        analysis.signatures,
        folded.quarantine,
        state.SignatureSettings.from_config(config),
    )
    t0 = time.perf_counter()
    version_dir = store.write_version(
        out_dir,
        {
            "articles": articles,
            "stories": analysis.stories,
            "shared_text": shared,
            "quarantine": records_to_table(sorted(folded.quarantine, key=_quarantine_key), QUARANTINE_SCHEMA),
        },
        manifest,
        state=(state_tables, state_info),
    )
    seconds["write"] = round(time.perf_counter() - t0, 4)
    seconds["total"] = round(sum(v for k, v in seconds.items() if k != "total"), 4)
    return RunReport(run_id, out_dir, version_dir, counts, seconds, changes)


def _quarantine_key(record: QuarantineRecord) -> tuple[str, str, str]:
    return (record.source_file, record.reason, record.detail or "")


def run(
    raw_dir: Path, out_dir: Path, config: PipelineConfig | None = None, *, full: bool = False
) -> RunReport:
    """Run the pipeline on raw_dir and write a new version of out_dir (if anything changed).

    Incremental unless ``full`` or out_dir has no earlier version: only new and changed input
    files are read. Holds out_dir's run lock throughout.

    Raises:
        FileNotFoundError: raw_dir is not a directory.
        state.IncompatibleStateError: the stored signatures use other settings (a ValueError).
        lock.LockHeldError: another run is writing out_dir.
        store.OutputError: out_dir cannot be written.
    """
    config = config or PipelineConfig()
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"input directory not found: {raw_dir}")
    seconds: dict[str, float] = {}
    with lock.hold(out_dir), heap.retained():
        with _timed(seconds, "plan"):
            plan = plan_run(raw_dir, out_dir, config, full=full)
        with _timed(seconds, "ingest"):
            # Merged here, so that each batch's buffer goes once copied into the corpus (a list
            # of them in this frame would live through the run); fold merges the one result
            # again, a pass over its ids.
            read = merge_batches(ingest_batches(plan, config))
        folded = fold(plan, [read], config)
        return write_outputs(out_dir, folded, config, seconds)
