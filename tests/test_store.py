import os

import pyarrow as pa
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
