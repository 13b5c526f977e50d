import dataclasses
import mmap
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import DEMO_RAW
from newsfold import pipeline, store
from newsfold.config import PipelineConfig

SEED_HEADLINE = "Targets under review and NHS legislation open to change - PM"


@pytest.fixture(scope="module")
def seeds_output(tmp_path_factory):
    from conftest import shared_path

    seeds = shared_path("seeds")
    out = tmp_path_factory.mktemp("seeds_out")
    report = pipeline.run(seeds, out)
    return out, report


def test_seeds_are_one_story_two_articles_not_duplicates(seeds_output):
    out, report = seeds_output
    articles = store.read_table(out, "articles").to_pylist()
    assert len(articles) == 2
    assert len({a["story_id"] for a in articles}) == 1
    assert len({a["duplicate_group"] for a in articles}) == 2
    assert all(a["is_canonical"] and a["duplicate_of"] is None for a in articles)
    assert report.counts["stories"] == 1 and report.counts["quarantined"] == 0


def test_seed_headline_is_shared_stripped_and_the_title(seeds_output):
    out, _ = seeds_output
    articles = store.read_table(out, "articles").to_pylist()
    shared = store.read_table(out, "shared_text").to_pylist()
    headline_rows = [s for s in shared if s["text"] == SEED_HEADLINE]
    assert {s["article_id"] for s in headline_rows} == {a["article_id"] for a in articles}
    assert {s["role"] for s in headline_rows} == {"headline"}
    assert {s["n_articles"] for s in headline_rows} == {2}
    for article in articles:
        assert SEED_HEADLINE not in article["text"]
        assert article["title"] == SEED_HEADLINE
        assert article["text"].startswith("•")
    stories = store.read_table(out, "stories").to_pylist()
    assert [s["headline"] for s in stories] == [SEED_HEADLINE]


def test_rerun_produces_the_same_rows(seeds_output, tmp_path):
    out, _ = seeds_output
    from conftest import shared_path

    again = tmp_path / "again"
    pipeline.run(shared_path("seeds"), again)
    for name in ("articles", "stories", "shared_text", "quarantine"):
        assert store.read_table(out, name).equals(store.read_table(again, name)), name


def test_bad_files_are_quarantined_and_good_articles_written(tmp_path, seeds_dir):
    raw = tmp_path / "raw"
    shutil.copytree(seeds_dir, raw)
    (raw / "broken.json").write_text('{"text": "unterminated')
    (raw / "empty.txt").write_bytes(b"")
    (raw / "blob.txt").write_bytes(bytes(range(256)) * 4)
    report = pipeline.run(raw, tmp_path / "out")
    assert report.counts["articles"] == 2
    quarantine = store.read_table(tmp_path / "out", "quarantine")
    assert set(quarantine.column("source_file").to_pylist()) == {"broken.json", "empty.txt", "blob.txt"}
    assert pc.all(pc.greater(pc.utf8_length(quarantine.column("reason")), 0)).as_py()


def test_missing_input_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="input directory not found"):
        pipeline.run(tmp_path / "nope", tmp_path / "out")


def test_empty_input_writes_an_empty_typed_dataset(tmp_path):
    (tmp_path / "raw").mkdir()
    report = pipeline.run(tmp_path / "raw", tmp_path / "out")
    assert report.counts["articles"] == 0
    assert store.read_table(tmp_path / "out", "articles").num_rows == 0


def test_a_text_column_past_the_2_gb_string_limit_is_built_in_chunks(monkeypatch):
    # A single string array stops at 2**31 bytes; at 10**6 articles the text is 3.4 GB.
    monkeypatch.setattr(pipeline, "_TABLE_ROWS", 1_000)
    piece = "x" * (1 << 20)  # one 1 MiB string, referenced 2,100 times: 2.2 GB of text
    n = 2_100
    schema = pa.schema([pa.field("article_id", pa.string()), pa.field("text", pa.string())])
    table = pipeline._table_in_chunks({"article_id": [str(i) for i in range(n)], "text": [piece] * n}, schema)
    assert table.schema == schema
    assert table.num_rows == n
    assert [len(c) for c in table.column("text").chunks] == [1_000, 1_000, 100]
    assert sum(c.nbytes for c in table.column("text").chunks) > 2**31
    assert table.column("text")[n - 1].as_py() == piece


def test_the_articles_table_is_built_in_chunks_with_the_same_rows(tmp_path, monkeypatch):
    # One string array holds at most 2 GB: the articles table is built a chunk of rows at a time.
    whole = pipeline.run(DEMO_RAW, tmp_path / "whole")
    monkeypatch.setattr(pipeline, "_TABLE_ROWS", 7)
    chunked = pipeline.run(DEMO_RAW, tmp_path / "chunked")
    a = store.read_version_table(whole.version_dir, "articles")
    b = store.read_version_table(chunked.version_dir, "articles")
    assert b.num_rows == a.num_rows > 7
    assert b.equals(a)


def test_files_read_by_two_processes_give_the_same_dataset(tmp_path, monkeypatch):
    # The demo corpus has a broken file, a gzipped one and nested folders: each file is read
    # by a spawned worker and merged in file order, so the output is that of one process.
    one = pipeline.run(DEMO_RAW, tmp_path / "one", _with_workers(1))
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_BYTES", 0)
    two = pipeline.run(DEMO_RAW, tmp_path / "two", _with_workers(2))
    for name in ("articles", "quarantine", "stories", "shared_text"):
        a = store.read_version_table(one.version_dir, name)
        b = store.read_version_table(two.version_dir, name)
        assert b.num_rows == a.num_rows > 0
        assert b.equals(a), name


def test_texts_moved_to_a_file_give_the_same_dataset_and_state(tmp_path, monkeypatch):
    # Past _SPILL_MIN_BYTES of text a run moves the articles' texts to an unlinked file under the
    # output directory once shared text has read them; the state's inputs are written from there.
    kept = pipeline.run(DEMO_RAW, tmp_path / "kept")
    moved_to: list[object] = []
    move_to = pipeline.TextColumn.move_to

    def recording_move_to(column, encoded):
        moved_to.append(encoded.data.base)
        move_to(column, encoded)

    monkeypatch.setattr(pipeline, "_SPILL_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline.TextColumn, "move_to", recording_move_to)
    moved = pipeline.run(DEMO_RAW, tmp_path / "moved")
    assert len(moved_to) == 1 and isinstance(moved_to[0].obj, mmap.mmap)
    for name in ("articles", "quarantine", "stories", "shared_text"):
        a = store.read_version_table(kept.version_dir, name)
        b = store.read_version_table(moved.version_dir, name)
        assert b.num_rows == a.num_rows > 0
        assert b.equals(a), name
    for version in (kept.version_dir, moved.version_dir):
        assert not [p.name for p in version.parent.iterdir() if p.name.startswith("tmp")]
    a = pq.read_table(kept.version_dir / store.STATE_DIR / "inputs.parquet")
    b = pq.read_table(moved.version_dir / store.STATE_DIR / "inputs.parquet")
    assert b.num_rows == a.num_rows > 0 and b.equals(a)


def _with_workers(workers):
    config = PipelineConfig()
    return dataclasses.replace(config, ingest=dataclasses.replace(config.ingest, workers=workers))


def test_analysis_runs_with_the_objects_before_it_frozen_and_leaves_none_frozen():
    import gc

    def collected(obj):  # in one of the collector's generations (not the frozen one)
        return any(o is obj for generation in range(3) for o in gc.get_objects(generation=generation))

    before = type("Tracked", (), {})()
    assert collected(before)
    with pytest.raises(RuntimeError), pipeline._frozen_objects():
        assert not collected(before)
        after = type("Tracked", (), {})()
        assert collected(after)
        raise RuntimeError("a failing stage")
    assert gc.get_freeze_count() == 0 and collected(before)


def test_story_rows_by_hand():
    import pandas as pd

    day = pd.Timestamp
    frame = pd.DataFrame(
        {
            "title": ["B", "A", "B", None, None, "A", "C"],
            "published_at": pd.Series(
                [
                    day("2020-01-02"),
                    day("2020-01-01"),
                    day("2020-01-03"),
                    pd.NaT,
                    day("2020-01-05"),
                    pd.NaT,
                    pd.NaT,
                ]
            ).dt.tz_localize("UTC"),
            "story_label": [5, 5, 7, 1, 1, 2, 3],
            "story_id": ["s2", "s2", "s2", "s1", "s1", "s3", "s3"],
            "article_rank": [3, 1, 0, 2, 4, 5, 6],
        }
    )
    texts = ["", "", "", "Other\nx", "First line of s1\nbody", "", ""]
    table = pipeline._story_rows(frame, texts, {1: ["x"], 5: ["y"], 2: ["z"]}, {"s3": "s2"})
    rows = table.to_pylist()
    assert [r["story_id"] for r in rows] == ["s1", "s2", "s3"]
    # s1 is untitled: the opening line of its first article (dated before undated)
    # s2: its most frequent title; s3: a tie on count and date, broken by the smaller article id
    assert [r["headline"] for r in rows] == ["First line of s1", "B", "A"]
    assert [r["n_articles"] for r in rows] == [2, 3, 2]
    # top terms of the label holding most of the story (ties: the smaller label)
    assert [r["top_terms"] for r in rows] == [["x"], ["y"], ["z"]]
    assert [r["merged_into"] for r in rows] == [None, None, "s2"]
    assert [str(r["first_published"])[:10] for r in rows] == ["2020-01-05", "2020-01-01", "None"]
    assert [str(r["last_published"])[:10] for r in rows] == ["2020-01-05", "2020-01-03", "None"]
