"""The whole pipeline as plain functions: ingest → shared text → duplicates → stories → write.

Nothing here knows about Prefect: the CLI calls :func:`run`; the flow calls the same steps
(:func:`plan_batches`, :func:`ingest_batch`, :func:`analyse`, :func:`write_outputs`) as tasks.
"""

import dataclasses
import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import xxhash

from newsfold import ingest, store
from newsfold.config import PipelineConfig
from newsfold.dedup import find_duplicates
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

HEADLINE_FALLBACK_CHARS = 120


@dataclasses.dataclass(frozen=True)
class Analysis:
    """Output tables of one run, before they are written."""

    articles: pa.Table
    stories: pa.Table
    shared_text: pa.Table
    seconds: dict[str, float]


@dataclasses.dataclass(frozen=True)
class RunReport:
    """What a run did: counts, seconds per stage, where the output went."""

    run_id: str
    out_dir: Path
    version_dir: Path
    counts: dict[str, int]
    seconds: dict[str, float]

    def summary(self) -> str:
        c = self.counts
        return (
            f"newsfold: {c['articles']} articles, {c['duplicates']} duplicates in "
            f"{c['duplicate_groups']} groups, {c['stories']} stories, {c['shared_segments']} shared "
            f"segments ({c['shared_removed']} removed), {c['quarantined']} quarantined, "
            f"{self.seconds['total']:.1f}s -> {self.out_dir}"
        )


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = round(seconds.get(stage, 0.0) + time.perf_counter() - t0, 4)


def plan_batches(raw_dir: Path, config: PipelineConfig) -> list[list[str]]:
    """Input files, relative to raw_dir, cut into batches that can be read independently."""
    files = [p.relative_to(raw_dir).as_posix() for p in ingest.list_input_files(raw_dir)]
    size = config.ingest.batch_files
    return [files[i : i + size] for i in range(0, len(files), size)]


def ingest_batch(raw_dir: Path, files: Sequence[str], config: PipelineConfig) -> ingest.IngestResult:
    """Read one batch of input files."""
    return ingest.read_articles(raw_dir, config.ingest, files=[raw_dir / f for f in files])


def merge_batches(results: Sequence[ingest.IngestResult]) -> ingest.IngestResult:
    """Concatenate batch results in order; an id seen in an earlier batch is quarantined."""
    return ingest.merge_results(results)


def _stable_id(prefix: str, key: str) -> str:
    return f"{prefix}_{xxhash.xxh3_64_hexdigest(key.encode())}"


def analyse(articles: Sequence[Article], config: PipelineConfig) -> Analysis:
    """Shared text, duplicates and stories for a corpus of ingested articles."""
    seconds: dict[str, float] = {}
    n = len(articles)
    if n == 0:
        return Analysis(
            ARTICLES_SCHEMA.empty_table(), STORIES_SCHEMA.empty_table(), SHARED_TEXT_SCHEMA.empty_table(), {}
        )
    ids = [a.article_id for a in articles]
    published = pd.to_datetime(
        pd.Series([a.published_at for a in articles], dtype="object"), utc=True
    ).dt.tz_localize(None)
    published_np = published.to_numpy(dtype="datetime64[us]")

    with _timed(seconds, "shared_text"):
        shared = find_shared_text(
            [a.text for a in articles], [a.title for a in articles], config.shared_text, config.minhash
        )
    with _timed(seconds, "dedup"):
        dups = find_duplicates(shared.cleaned_texts, ids, published_np, config.dedup, config.minhash)
    with _timed(seconds, "stories"):
        canon = np.flatnonzero(dups.is_canonical)
        position = np.full(n, -1, dtype=np.int64)
        position[canon] = np.arange(len(canon))
        # Shared headlines and passages link stories; a link to a copy is a link to its canonical.
        links = position[dups.group[shared.must_link]] if len(shared.must_link) else shared.must_link
        links = links[links[:, 0] != links[:, 1]] if len(links) else links
        labels, top_terms = cluster_stories(
            [shared.cleaned_texts[i] for i in canon],
            [shared.titles[i] for i in canon],
            published_np[canon],
            links,
            config.stories,
        )
        story_of_article = labels[position[dups.group]]

    frame = pd.DataFrame(
        {
            "article_id": ids,
            "source_file": [a.source_file for a in articles],
            "title": shared.titles,
            "published_at": published.dt.tz_localize("UTC"),
            "source": [a.source for a in articles],
            "url": [a.url for a in articles],
            "text": shared.cleaned_texts,
            "extra": [a.extra for a in articles],
            "canonical": dups.group,
            "story_label": story_of_article,
        }
    )
    frame["is_canonical"] = dups.is_canonical
    frame["duplicate_group"] = [_stable_id("dup", ids[g]) for g in dups.group]
    frame["duplicate_of"] = [
        None if c else ids[g] for c, g in zip(dups.is_canonical, dups.group, strict=True)
    ]
    frame["published_month"] = published.dt.strftime("%Y-%m").fillna("unknown").to_numpy()
    stories, story_ids = _story_rows(frame, top_terms)
    frame["story_id"] = frame["story_label"].map(story_ids)
    articles_table = pa.Table.from_pandas(
        frame[ARTICLES_SCHEMA.names], schema=ARTICLES_SCHEMA, preserve_index=False
    )

    shared_table = pa.table(
        {
            "segment_id": shared.segment_id,
            "article_id": [ids[i] for i in shared.article],
            "text": shared.text,
            "role": shared.role,
            "start": shared.start,
            "end": shared.end,
            "n_articles": shared.n_articles,
        },
        schema=SHARED_TEXT_SCHEMA,
    ).sort_by([("segment_id", "ascending"), ("article_id", "ascending"), ("start", "ascending")])
    return Analysis(articles_table, stories, shared_table, seconds)


def _story_rows(frame: pd.DataFrame, top_terms: dict[int, list[str]]) -> tuple[pa.Table, dict[int, str]]:
    """One row per story; its id hashes the story's first article (earliest, then smallest id)."""
    ordered = frame.sort_values(["story_label", "published_at", "article_id"], na_position="last")
    first = ordered.drop_duplicates("story_label")
    story_ids = {
        int(label): _stable_id("story", aid)
        for label, aid in zip(first["story_label"], first["article_id"], strict=True)
    }
    grouped = frame.groupby("story_label", sort=True)
    agg = grouped.agg(
        n_articles=("article_id", "size"),
        first_published=("published_at", "min"),
        last_published=("published_at", "max"),
    )
    headlines = _headlines(frame, first)
    table = pa.table(
        {
            "story_id": [story_ids[int(label)] for label in agg.index],
            "headline": [headlines.get(label) for label in agg.index],
            "n_articles": agg["n_articles"].to_numpy(dtype=np.int64),
            "first_published": agg["first_published"],
            "last_published": agg["last_published"],
            "top_terms": [top_terms.get(int(label), []) for label in agg.index],
        },
        schema=STORIES_SCHEMA,
    ).sort_by("story_id")
    return table, story_ids


def _headlines(frame: pd.DataFrame, first: pd.DataFrame) -> dict[int, str | None]:
    """Each story's most frequent title (ties: the earliest); untitled stories get the opening
    line of their first article."""
    titled = frame.dropna(subset=["title"])
    counts = (
        titled.groupby(["story_label", "title"], sort=False)
        .agg(n=("article_id", "size"), first=("published_at", "min"), first_id=("article_id", "min"))
        .reset_index()
        .sort_values(["story_label", "n", "first", "first_id"], ascending=[True, False, True, True])
        .drop_duplicates("story_label")
    )
    headlines: dict[int, str | None] = {
        int(label): str(title) for label, title in zip(counts["story_label"], counts["title"], strict=True)
    }
    for label, text in zip(first["story_label"], first["text"], strict=True):
        if int(label) not in headlines:
            headlines[int(label)] = str(text).split("\n", 1)[0][:HEADLINE_FALLBACK_CHARS] or None
    return headlines


def versions() -> dict[str, str]:
    """Versions of Python and the libraries whose behaviour shapes the output."""
    found = {"python": platform.python_version()}
    for dist in ("newsfold", "datasketch", "numpy", "numba", "scikit-learn", "pyarrow", "pandas", "prefect"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_outputs(
    out_dir: Path,
    analysis: Analysis,
    quarantine: Sequence[QuarantineRecord],
    config: PipelineConfig,
    seconds: dict[str, float],
    inputs: dict[str, Any],
) -> RunReport:
    """Write the datasets and manifest as a new version of out_dir; return the run's report."""
    articles = analysis.articles
    shared = analysis.shared_text
    counts = {
        "articles": articles.num_rows,
        "duplicates": int((~articles.column("is_canonical").to_numpy(zero_copy_only=False)).sum()),
        "duplicate_groups": len(set(articles.column("duplicate_group").to_pylist())),
        "stories": analysis.stories.num_rows,
        "shared_segments": len(set(shared.column("segment_id").to_pylist())),
        "shared_removed": sum(1 for r in shared.column("role").to_pylist() if r != "syndicated"),
        "quarantined": len(quarantine),
    }
    run_id = store.new_run_id()
    manifest = {
        "run_id": run_id,
        "schema_version": ARTICLES_SCHEMA.metadata[b"newsfold.schema_version"].decode(),
        "inputs": inputs,
        "counts": counts,
        "seconds": seconds,
        "config": config.to_dict(),
        "versions": versions(),
    }
    t0 = time.perf_counter()
    version_dir = store.write_version(
        out_dir,
        {
            "articles": articles,
            "stories": analysis.stories,
            "shared_text": shared,
            "quarantine": records_to_table(sorted(quarantine, key=_quarantine_key), QUARANTINE_SCHEMA),
        },
        manifest,
    )
    seconds = {**seconds, "write": round(time.perf_counter() - t0, 4)}
    seconds["total"] = round(sum(v for k, v in seconds.items() if k != "total"), 4)
    return RunReport(run_id, out_dir, version_dir, counts, seconds)


def _quarantine_key(record: QuarantineRecord) -> tuple[str, str]:
    return (record.source_file, record.reason)


def run(raw_dir: Path, out_dir: Path, config: PipelineConfig | None = None) -> RunReport:
    """Run the whole pipeline on raw_dir and write a new version of out_dir.

    Raises:
        FileNotFoundError: raw_dir is not a directory.
        store.OutputError: out_dir cannot be written.
    """
    config = config or PipelineConfig()
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"input directory not found: {raw_dir}")
    seconds: dict[str, float] = {}
    with _timed(seconds, "ingest"):
        batches = plan_batches(raw_dir, config)
        read = merge_batches([ingest_batch(raw_dir, files, config) for files in batches])
    analysis = analyse(read.articles, config)
    seconds.update(analysis.seconds)
    inputs = {"raw_dir": str(raw_dir), "files": sum(len(b) for b in batches)}
    return write_outputs(out_dir, analysis, read.quarantine, config, seconds, inputs)
