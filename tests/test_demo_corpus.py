"""The bundled demo corpus: duplicate groups, stories and shared segments match how it was built."""

import json
from collections import defaultdict

import pytest

from conftest import DEMO_RAW, PROJECT
from newsfold import pipeline, store

TRUTH = json.loads((PROJECT / "tests" / "fixtures" / "demo_truth.json").read_text())


def partition(rows, key):
    groups = defaultdict(set)
    for row in rows:
        groups[row[key]].add(row["article_id"])
    return {frozenset(g) for g in groups.values()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    report = pipeline.run(DEMO_RAW, out)
    articles = store.read_table(out, "articles").to_pylist()
    return report, articles, store.read_table(out, "shared_text").to_pylist(), out


def test_every_good_article_is_written_once(demo):
    _, articles, _, _ = demo
    ids = [a["article_id"] for a in articles]
    assert sorted(ids) == sorted(TRUTH["articles"])


def test_duplicate_groups(demo):
    _, articles, _, _ = demo
    found = {g for g in partition(articles, "duplicate_group") if len(g) > 1}
    assert found == {frozenset(g) for g in TRUTH["duplicate_groups"]}
    for group in partition(articles, "duplicate_group"):
        rows = [a for a in articles if a["article_id"] in group]
        canonical = [a for a in rows if a["is_canonical"]]
        assert len(canonical) == 1
        assert all(a["duplicate_of"] == canonical[0]["article_id"] for a in rows if not a["is_canonical"])


def test_stories(demo):
    _, articles, _, _ = demo
    assert partition(articles, "story_id") == {frozenset(s) for s in TRUTH["stories"]}


def test_shared_segments(demo):
    _, _, shared, _ = demo
    members, roles = defaultdict(set), defaultdict(set)
    for row in shared:
        members[row["segment_id"]].add(row["article_id"])
        roles[row["segment_id"]].add(row["role"])
    for segment in TRUTH["shared_segments"]:
        ids = {row["segment_id"] for row in shared if row["text"] == segment["text"]}
        assert len(ids) == 1, segment["text"]
        (segment_id,) = ids
        assert members[segment_id] == set(segment["articles"]), segment["text"]
        assert roles[segment_id] == {segment["role"]}, segment["text"]
    # Rows come sorted by segment, article and position, as an analyst listing them expects.
    keys = [(row["segment_id"], row["article_id"], row["start"]) for row in shared]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_removed_text_is_gone_and_titles_follow_headlines(demo):
    _, articles, _, _ = demo
    by_id = {a["article_id"]: a for a in articles}
    for segment in TRUTH["shared_segments"]:
        for aid in segment["articles"]:
            present = segment["text"] in by_id[aid]["text"]
            assert present == (segment["role"] == "syndicated"), (aid, segment["text"])
    for aid, title in TRUTH["titles"].items():
        assert by_id[aid]["title"] == title


def test_bad_input_is_quarantined(demo):
    report, _, _, out = demo
    quarantined = set(store.read_table(out, "quarantine").column("source_file").to_pylist())
    assert quarantined == {q["source_file"] for q in TRUTH["quarantined"]}
    assert report.counts["quarantined"] == len(TRUTH["quarantined"])
