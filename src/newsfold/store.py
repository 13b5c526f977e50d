"""The parquet dataset on disk: explicit schemas, staged writes and an atomic switch of versions.

Layout of an output directory::

    OUT/.versions/<run_id>/{articles,stories,shared_text,quarantine}/  + manifest.json
    OUT/current        -> .versions/<run_id>        (one symlink, replaced atomically)
    OUT/articles       -> current/articles          (stable names analysts open)
    OUT/stories, OUT/shared_text, OUT/quarantine, OUT/manifest.json  likewise

A run writes its whole version into a staging directory, renames it into ``.versions`` and
then swaps ``current`` with ``os.replace``: a reader sees the old dataset or the new one,
never a mix, and a crash at any point leaves the previous version in place.
"""

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from newsfold.records import DATASET_SCHEMAS

VERSIONS_DIR = ".versions"
CURRENT = "current"
MANIFEST = "manifest.json"
# Older versions kept after a switch, so that a reader that opened one just before still finds
# its files; anything older is deleted.
KEEP_VERSIONS = 3
# Partition column of the articles dataset (hive style: published_month=2017-01/).
PARTITION_COLUMN = "published_month"


class OutputError(RuntimeError):
    """The output directory cannot be used (e.g. a stable name is a real directory, not ours)."""


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique id for one run: UTC time plus a random suffix."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"


def write_table(table: pa.Table, directory: Path, name: str) -> None:
    """Write one dataset into ``directory/name``; the articles dataset is partitioned by month."""
    schema = DATASET_SCHEMAS[name]
    table = table.select(schema.names).cast(schema)
    target = directory / name
    if name == "articles" and table.num_rows:
        # Sorted first so that every run writes the same rows in the same order.
        table = table.sort_by([(PARTITION_COLUMN, "ascending"), ("article_id", "ascending")])
        ds.write_dataset(
            table,
            target,
            format="parquet",
            schema=schema,
            partitioning=ds.partitioning(pa.schema([schema.field(PARTITION_COLUMN)]), flavor="hive"),
            basename_template="part-{i}.parquet",
            existing_data_behavior="error",
            max_rows_per_file=1_000_000,
            max_rows_per_group=100_000,
        )
        return
    target.mkdir(parents=True)
    if name == "articles":
        # No rows: one empty file keeps the schema readable (partition column included).
        pq.write_table(table, target / "part-0.parquet")
        return
    pq.write_table(table, target / "part-0.parquet", row_group_size=100_000)


def write_version(out_dir: Path, tables: Mapping[str, pa.Table], manifest: dict[str, Any]) -> Path:
    """Write all datasets and the manifest as a new version and make it current atomically.

    Returns:
        The directory of the new version.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _check_stable_names(out_dir)
    run_id = manifest["run_id"]
    staging = out_dir / f".staging-{run_id}"
    try:
        staging.mkdir()
        for name, table in tables.items():
            write_table(table, staging, name)
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


def _check_stable_names(out_dir: Path) -> None:
    for name in [*DATASET_SCHEMAS, MANIFEST, CURRENT]:
        path = out_dir / name
        if path.exists() and not path.is_symlink():
            raise OutputError(
                f"{path} exists and is not a newsfold link; choose an empty output directory or remove it"
            )


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


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


def read_table(out_dir: Path, name: str) -> pa.Table:
    """Read one dataset of the current version with its declared schema."""
    version = current_version(out_dir)
    if version is None:
        raise OutputError(f"no newsfold dataset in {out_dir}")
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
