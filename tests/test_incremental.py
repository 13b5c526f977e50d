"""Incremental runs: only new or changed files are read, existing ids never change, merges are recorded."""

import json
import os
import random
import shutil
from collections import defaultdict

import pytest

from conftest import DEMO_RAW
from newsfold import pipeline, store
from newsfold.config import PipelineConfig

ID_COLUMNS = ("duplicate_group", "is_canonical", "duplicate_of", "story_id")
DATASETS = ("articles", "stories", "shared_text", "quarantine")

# A synthetic corpus whose stories follow from how it is built: each topic has its own
# vocabulary, every article draws 70% of its words from its topic's and 30% from a shared pool.
_rng = random.Random(7)


def _word() -> str:
    return "".join(_rng.choice("bcdfghjklmnprstvz") + _rng.choice("aeiou") for _ in range(3))


COMMON = [_word() for _ in range(40)]
TOPICS = {topic: [_word() for _ in range(25)] for topic in "ABCDE"}


def record(article_id, topic, day, **fields):
    r = random.Random(article_id)
    words = [r.choice(TOPICS[topic]) if r.random() < 0.7 else r.choice(COMMON) for _ in range(80)]
    text = " ".join(words).capitalize() + "."
    return {"id": article_id, "published": f"2024-03-{day:02d}T10:00:00Z", "text": text, **fields}


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def background():
    """Three articles on each of the topics B..E, early in March."""
    return [record(f"{t.lower()}{k}", t, d) for t in "BCDE" for k, d in ((1, 3), (2, 4), (3, 5))]


def rows(out):
    return {row["article_id"]: row for row in store.read_table(out, "articles").to_pylist()}


def partition(by_id, key):
    groups = defaultdict(set)
    for aid, row in by_id.items():
        groups[row[key]].add(aid)
    return {frozenset(g) for g in groups.values()}


def assert_ids_kept(before, after):
    for aid, row in before.items():
        assert aid in after, f"{aid} disappeared"
        for column in ID_COLUMNS:
            assert after[aid][column] == row[column], (aid, column)


def test_a_second_run_reads_only_the_new_file_and_keeps_every_id(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_jsonl(raw / "day1.jsonl", [record("a1", "A", 1), record("a2", "A", 2), *background()])
    first = pipeline.run(raw, out)
    before = rows(out)
    write_jsonl(raw / "day2.jsonl", [record("a3", "A", 3), record("f1", "B", 4)])

    plan = pipeline.plan_run(raw, out, PipelineConfig())
    assert plan.mode == "incremental" and plan.batches == [["day2.jsonl"]]
    report = pipeline.run(raw, out)
    after = rows(out)
    assert report.changes["files"] == {"new": 1, "changed": 0, "unchanged": 1, "vanished": 0}
    assert report.changes["new_articles"] == 2
    assert_ids_kept(before, after)
    assert set(after) == set(before) | {"a3", "f1"}
    assert after["a3"]["story_id"] == before["a1"]["story_id"] == before["a2"]["story_id"]
    assert after["f1"]["story_id"] == before["b1"]["story_id"]
    assert report.version_dir != first.version_dir
    assert store.read_manifest(out)["run"]["previous_run_id"] == first.run_id


def test_nothing_new_writes_nothing(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    path = write_jsonl(raw / "day1.jsonl", [record("a1", "A", 1), *background()])
    first = pipeline.run(raw, out)
    files = {p: p.stat().st_mtime_ns for p in first.version_dir.rglob("*")}
    again = pipeline.run(raw, out)
    assert not again.written and again.version_dir == first.version_dir
    assert again.counts == first.counts
    assert "nothing new" in again.summary()
    os.utime(path)  # touched, same content
    touched = pipeline.run(raw, out)
    assert not touched.written
    assert store.current_version(out) == first.version_dir
    assert {p: p.stat().st_mtime_ns for p in first.version_dir.rglob("*")} == files
    assert len(list((out / store.VERSIONS_DIR).iterdir())) == 1


def test_appended_lines_are_new_articles_and_old_lines_keep_their_rows(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    records = [record("a1", "A", 1), record("a2", "A", 2), *background()]
    write_jsonl(raw / "feed.jsonl", records)
    pipeline.run(raw, out)
    before = rows(out)
    write_jsonl(raw / "feed.jsonl", [*records, record("a3", "A", 3)])
    report = pipeline.run(raw, out)
    after = rows(out)
    assert report.changes["files"]["changed"] == 1
    assert report.changes["new_articles"] == 1 and report.changes["replaced_articles"] == 0
    assert_ids_kept(before, after)
    assert after["a3"]["story_id"] == before["a1"]["story_id"]


def test_a_record_edited_in_place_replaces_its_article(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    records = [record("a1", "A", 1), record("a2", "A", 2), *background()]
    write_jsonl(raw / "feed.jsonl", records)
    pipeline.run(raw, out)
    before = rows(out)
    edited = dict(records[-1], title="A corrected title")
    write_jsonl(raw / "feed.jsonl", [*records[:-1], edited])
    report = pipeline.run(raw, out)
    after = rows(out)
    assert report.changes["replaced_articles"] == 1 and report.changes["new_articles"] == 1
    assert after[edited["id"]]["title"] == "A corrected title"
    assert len(after) == len(before)
    assert_ids_kept({k: v for k, v in before.items() if k != edited["id"]}, after)


def test_a_new_copy_joins_the_existing_group_whose_canonical_stays(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    original = record("a1", "A", 5)
    write_jsonl(raw / "day1.jsonl", [original, *background()])
    pipeline.run(raw, out)
    before = rows(out)
    # An earlier-published copy: a full run would make it canonical; here the old one stays.
    copy = dict(original, id="copy", published="2024-03-01T08:00:00Z")
    write_jsonl(raw / "day2.jsonl", [copy])
    pipeline.run(raw, out)
    after = rows(out)
    assert after["copy"]["duplicate_group"] == before["a1"]["duplicate_group"]
    assert after["a1"]["is_canonical"] and not after["copy"]["is_canonical"]
    assert after["copy"]["duplicate_of"] == "a1"
    assert after["copy"]["story_id"] == after["a1"]["story_id"]


def test_stories_joined_by_new_articles_are_recorded_as_merged(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    # Two stories on different topics, each with a quoted passage; a later article on both topics
    # quotes both, and articles sharing a passage (syndicated text) always end up in one story.
    quote_x = "Harbour master Lena Okafor said the Kestrel ferry stays in port until the autumn inspection."
    quote_y = "Mayor Tomas Reyes told the council the Millbrook depot closure would cost four million euros."
    x1, y1 = record("x1", "A", 2), record("y1", "B", 1)
    x1["text"] += "\n" + quote_x
    y1["text"] += "\n" + quote_y
    write_jsonl(raw / "day1.jsonl", [x1, record("x2", "A", 3), y1, record("y2", "B", 2), *background()])
    pipeline.run(raw, out)
    before = rows(out)
    x_story, y_story = before["x1"]["story_id"], before["y1"]["story_id"]
    assert x_story != y_story and before["x2"]["story_id"] == x_story
    # The bridge is about both topics, so each quote is shared by related articles.
    bridge = record("z", "A", 4)
    bridge["text"] = f"{quote_x}\n{bridge['text']}\n{record('z', 'B', 4)['text']}\n{quote_y}"
    write_jsonl(raw / "day2.jsonl", [bridge])
    report = pipeline.run(raw, out)
    after = rows(out)
    assert_ids_kept(before, after)
    assert report.changes["merged_stories"] == {x_story: y_story}  # the later story joins the earlier
    stories = {s["story_id"]: s for s in store.read_table(out, "stories").to_pylist()}
    assert stories[x_story]["merged_into"] == y_story and stories[y_story]["merged_into"] is None
    assert after["z"]["story_id"] == y_story
    assert stories[x_story]["n_articles"] == 2  # its articles kept their story id
    # A full rebuild makes one story of them, with no merges.
    full = pipeline.run(raw, tmp_path / "full", full=True)
    full_rows = rows(tmp_path / "full")
    assert len({full_rows[a]["story_id"] for a in ("x1", "x2", "y1", "y2", "z")}) == 1
    assert all(s["merged_into"] is None for s in store.read_table(full.out_dir, "stories").to_pylist())


def test_articles_of_vanished_files_are_kept_until_a_full_rebuild(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_jsonl(raw / "keep.jsonl", background())
    gone = write_jsonl(raw / "gone.jsonl", [record("a1", "A", 1)])
    pipeline.run(raw, out)
    gone.unlink()
    report = pipeline.run(raw, out)
    assert report.changes["files"]["vanished"] == 1
    assert "a1" in rows(out)
    pipeline.run(raw, out, full=True)
    assert "a1" not in rows(out)


def test_a_changed_file_that_no_longer_reads_keeps_its_articles(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_jsonl(raw / "keep.jsonl", background())
    feed = write_jsonl(raw / "feed.jsonl", [record("a1", "A", 1)])
    pipeline.run(raw, out)
    feed.write_bytes(b"")  # truncated to nothing by a failed copy
    report = pipeline.run(raw, out)
    assert report.written and "a1" in rows(out)
    quarantine = store.read_table(out, "quarantine").to_pylist()
    assert [(q["source_file"], q["reason"]) for q in quarantine] == [("feed.jsonl", "empty file")]
    write_jsonl(raw / "feed.jsonl", [record("a1", "A", 1)])  # repaired: the quarantine row goes
    pipeline.run(raw, out)
    assert store.read_table(out, "quarantine").num_rows == 0 and "a1" in rows(out)


def test_a_new_file_repeating_a_stored_id_is_quarantined(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_jsonl(raw / "b.jsonl", [record("a1", "A", 1), *background()])
    pipeline.run(raw, out)
    write_jsonl(raw / "a.jsonl", [record("a1", "C", 2)])  # sorts first, arrives later
    pipeline.run(raw, out)
    assert rows(out)["a1"]["source_file"] == "b.jsonl"
    reasons = {q["source_file"]: q["reason"] for q in store.read_table(out, "quarantine").to_pylist()}
    assert reasons == {"a.jsonl": 'duplicate article_id "a1" (first seen in b.jsonl)'}


def test_demo_corpus_in_two_runs(tmp_path):
    """Half the demo files first, the rest later: nothing lost or doubled, first ids kept, and
    the same duplicate groups as a full run."""
    if not DEMO_RAW.is_dir() or not any(DEMO_RAW.iterdir()):
        pytest.skip("demo corpus not present")
    raw, held = tmp_path / "raw", tmp_path / "held"
    shutil.copytree(DEMO_RAW, raw)
    files = sorted(p for p in raw.rglob("*") if p.is_file())
    for path in files[1::2]:
        target = held / path.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    pipeline.run(raw, tmp_path / "out")
    before = rows(tmp_path / "out")
    shutil.copytree(held, raw, dirs_exist_ok=True)
    pipeline.run(raw, tmp_path / "out")
    after = rows(tmp_path / "out")
    full = pipeline.run(raw, tmp_path / "full")
    full_rows = rows(tmp_path / "full")

    assert sorted(after) == sorted(full_rows)  # nothing lost, nothing doubled
    changed_files = {p.relative_to(held).as_posix().replace(".json", ".txt") for p in held.rglob("*.json")}
    # Articles whose .txt got its sidecar later were re-read (replaced); all others keep their ids.
    assert_ids_kept({k: v for k, v in before.items() if v["source_file"] not in changed_files}, after)
    assert partition(after, "duplicate_group") == partition(full_rows, "duplicate_group")
    assert store.read_table(tmp_path / "out", "quarantine").num_rows == full.counts["quarantined"]
    again = pipeline.run(raw, tmp_path / "out")
    assert not again.written
