"""Incremental state: the file manifest, persisted inputs and signatures, settings, id assignment."""

import json
import os
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsfold import cli, pipeline, state, store
from newsfold.config import DedupConfig, MinHashConfig, PipelineConfig
from newsfold.corpus import Corpus
from newsfold.records import Article, QuarantineRecord


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def compare(raw, previous):
    files = sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file() or p.is_symlink())
    files = [f for f in files if not (f.endswith(".json") and (raw / f.replace(".json", ".txt")).exists())]
    return state.compare_files(raw, files, previous, 1 << 20)


# ---- the input-file manifest -------------------------------------------------------------------


def test_new_unchanged_changed_and_vanished_files(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "a.txt", "alpha")
    write(raw / "b.txt", "beta")
    write(raw / "sub" / "c.jsonl", '{"text": "gamma"}\n')
    first = compare(raw, {})
    assert first.new == ["a.txt", "b.txt", "sub/c.jsonl"] and not first.changed and not first.vanished
    assert all(s.content_hash for s in first.stamps.values())

    write(raw / "b.txt", "BETA, edited")
    (raw / "sub" / "c.jsonl").unlink()
    write(raw / "d.txt", "delta")
    second = compare(raw, first.stamps)
    assert second.new == ["d.txt"]
    assert second.changed == ["b.txt"]
    assert second.unchanged == ["a.txt"]
    assert second.vanished == ["sub/c.jsonl"]
    assert second.to_read == ["b.txt", "d.txt"]


def test_touching_a_file_is_not_a_change_but_rewriting_it_in_place_is(tmp_path):
    raw = tmp_path / "raw"
    path = write(raw / "a.txt", "same size 1")
    before = compare(raw, {}).stamps
    os.utime(path, ns=(before["a.txt"].mtime_ns + 10**9, before["a.txt"].mtime_ns + 10**9))
    assert compare(raw, before).unchanged == ["a.txt"]  # stat differs, content hash equal
    # Same size and mtime restored: the ctime still moves, and the hash tells the change.
    path.write_text("same size 2")
    os.utime(path, ns=(before["a.txt"].mtime_ns, before["a.txt"].mtime_ns))
    assert compare(raw, before).changed == ["a.txt"]


def test_a_changed_sidecar_changes_its_article_file(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "a.txt", "body")
    write(raw / "a.json", json.dumps({"title": "One"}))
    before = compare(raw, {})
    assert before.new == ["a.txt"]
    write(raw / "a.json", json.dumps({"title": "Two"}))
    assert compare(raw, before.stamps).changed == ["a.txt"]


def test_files_that_cannot_be_read_are_stamped_without_a_hash(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    outside = write(tmp_path / "secret.txt", "outside the input directory")
    (raw / "link.txt").symlink_to(outside)
    (raw / "broken.txt").symlink_to(tmp_path / "missing.txt")
    big = write(raw / "big.txt", "x" * 2000)
    stamps = state.compare_files(raw, ["big.txt", "broken.txt", "link.txt"], {}, 1000).stamps
    assert stamps["link.txt"].content_hash is None  # never read through the link
    assert stamps["broken.txt"].content_hash is None
    assert stamps["big.txt"].content_hash is None and stamps["big.txt"].size == big.stat().st_size
    # Unchanged stat and no hash: unchanged, not re-read every run.
    again = state.compare_files(raw, ["big.txt", "broken.txt", "link.txt"], stamps, 1000)
    assert again.unchanged == ["big.txt", "broken.txt", "link.txt"]


def test_a_file_removed_after_listing_is_new_without_a_stamp(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    changes = state.compare_files(raw, ["gone.txt"], {}, 1000)
    assert changes.new == ["gone.txt"] and "gone.txt" not in changes.stamps


# ---- persisted state ---------------------------------------------------------------------------


def test_state_round_trips_through_a_version(tmp_path):
    articles = [
        Article(
            "a",
            "f.jsonl",
            "text a\nline",
            "Title",
            datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
            "src",
            "u",
            '{"k":1}',
        ),
        Article("b", "g.txt", "text b"),
        # Read back from the stored buffer, except a text encode_texts lower-cases ("İ", "Σ").
        Article("c", "g.txt", "İstanbul\nΣΟΦΙΑ, café"),
    ]
    hashes = np.array([[1, 2], [2**64 - 1, 0], [3, 4]], dtype=np.uint64)
    signatures = np.arange(3 * 16, dtype=np.uint32).reshape(3, 16) * 1_000_003
    quarantine = [QuarantineRecord("h.jsonl:3", "invalid JSON", "{", input_file="h.jsonl")]
    stamps = {"f.jsonl": state.FileStamp(10, 1, 2, "abc"), "g.txt": state.FileStamp(5, 3, 4, None)}
    settings_ = state.SignatureSettings(16, 7, "affine32", 3)
    tables, info = state.state_tables(
        stamps, Corpus.from_articles(articles), hashes, signatures, quarantine, settings_
    )
    version = store.write_version(tmp_path, {}, {"run_id": store.new_run_id()}, state=(tables, info))

    loaded = state.load_state(version)
    assert loaded is not None
    assert loaded.settings == settings_
    assert loaded.files == stamps
    assert loaded.articles == articles
    # ... over the encoding the stages read (encode_texts's).
    fresh = Corpus.from_articles(articles).text
    assert np.array_equal(loaded.articles.text.encoded.data, fresh.encoded.data)
    assert np.array_equal(loaded.articles.text.encoded.offsets, fresh.encoded.offsets)
    assert dict(loaded.articles.text.exact) == dict(fresh.exact) == {2: articles[2].text}
    assert np.array_equal(loaded.text_hashes, hashes) and loaded.text_hashes.dtype == np.uint64
    assert np.array_equal(loaded.signatures, signatures) and loaded.signatures.dtype == np.uint32
    assert loaded.quarantine == quarantine


def test_a_version_without_state_has_none(tmp_path):
    version = store.write_version(tmp_path, {}, {"run_id": store.new_run_id()})
    assert state.load_state(version) is None


def test_incompatible_signature_settings_are_refused_with_a_clear_error(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "a.txt", "An article about the harbour and its ferries.")
    pipeline.run(raw, tmp_path / "out")
    other = PipelineConfig(minhash=MinHashConfig(num_perm=64), dedup=DedupConfig(word_ngram=4))
    stored = PipelineConfig().minhash.num_perm
    with pytest.raises(
        state.IncompatibleStateError, match=rf"num_perm={stored} \(config: 64\).*word_ngram=3"
    ) as err:
        pipeline.run(raw, tmp_path / "out", other)
    assert "--full" in str(err.value)
    report = pipeline.run(raw, tmp_path / "out", other, full=True)  # a rebuild may change them
    assert report.changes["mode"] == "full"
    assert state.load_state(report.version_dir).settings.num_perm == 64


def test_cli_exits_2_on_incompatible_settings(tmp_path, capsys):
    raw = tmp_path / "raw"
    write(raw / "a.txt", "An article about the harbour and its ferries.")
    assert cli.main(["run", str(raw), str(tmp_path / "out")]) == 0
    config = write(tmp_path / "c.toml", "[minhash]\nseed = 2\n")
    assert cli.main(["run", str(raw), str(tmp_path / "out"), "--config", str(config)]) == 2
    assert "seed=1 (config: 2)" in capsys.readouterr().err
    assert cli.main(["run", str(raw), str(tmp_path / "out"), "--config", str(config), "--full"]) == 0


# ---- stable ids --------------------------------------------------------------------------------


def test_stable_id_is_salted_only_on_collision():
    plain = state.stable_id("dup", "x")
    assert plain == state.stable_id("dup", "x")
    salted = state.stable_id("dup", "x", {plain})
    assert salted != plain and salted.startswith("dup_")
    assert state.stable_id("dup", "x", {plain, salted}) not in {plain, salted}


def groups_of(result, ids):
    found = {}
    for aid, gid in zip(ids, result.group_id, strict=True):
        found.setdefault(gid, set()).add(aid)
    return {frozenset(g) for g in found.values()}


def test_first_run_groups_are_the_components_with_the_preferred_canonical():
    ids = ["a", "b", "c", "d"]
    labels = np.array([0, 0, 2, 2])
    rank = np.array([1, 0, 2, 3])  # b preferred over a
    result = state.assign_duplicate_groups(labels, rank, ids, [None] * 4, np.zeros(4, bool))
    assert list(result.canonical) == [1, 1, 2, 2]
    assert result.group_id[0] == state.stable_id("dup", "b")
    assert groups_of(result, ids) == {frozenset("ab"), frozenset("cd")}


def test_a_new_copy_joins_the_old_group_and_the_old_canonical_stays():
    ids = ["old", "new"]
    # The new article is preferred (earlier, longer): in a full run it would be canonical.
    result = state.assign_duplicate_groups(
        np.array([0, 0]), np.array([1, 0]), ids, ["dup_old", None], np.array([True, False])
    )
    assert result.group_id == ["dup_old", "dup_old"]
    assert list(result.canonical) == [0, 0]


def test_a_new_article_bridging_two_old_groups_keeps_both():
    ids = ["a", "b", "x"]
    result = state.assign_duplicate_groups(
        np.array([0, 0, 0]), np.array([1, 0, 2]), ids, ["dup_a", "dup_b", None], np.array([True, True, False])
    )
    assert result.group_id == ["dup_a", "dup_b", "dup_b"]  # x joins the preferred canonical's group
    assert list(result.canonical) == [0, 1, 1]


def test_a_group_that_lost_its_canonical_elects_a_new_one():
    elected = state.elect_missing_canonicals(
        np.array([2, 0, 1]), ["g", "g", "h"], np.array([False, False, True])
    )
    assert list(elected) == [False, True, True]


def assign(labels, old_story, merges=None, first=None, canonical=None):
    n = len(labels)
    return state.assign_stories(
        np.array(labels),
        np.arange(n) if canonical is None else np.array(canonical),
        np.arange(n),
        [f"a{i}" for i in range(n)],
        old_story,
        merges or {},
        first or {},
    )


def test_first_run_story_ids_hash_the_first_article():
    result = assign([0, 0, 2], [None, None, None])
    assert result.story_id[:2] == [state.stable_id("story", "a0")] * 2
    assert result.story_id[2] == state.stable_id("story", "a2")
    assert result.merged_into == {} and sorted(result.new_stories) == sorted(set(result.story_id))


def test_new_articles_join_the_existing_story_of_their_label():
    result = assign([0, 0, 0], ["s1", None, None], canonical=[0, 1, 1])
    assert result.story_id == ["s1", "s1", "s1"] and result.new_stories == []


def test_joined_stories_are_merged_into_the_oldest_and_keep_their_ids():
    first = {"s1": datetime(2024, 1, 5, tzinfo=UTC), "s2": datetime(2024, 1, 1, tzinfo=UTC)}
    result = assign([0, 0, 0], ["s1", "s2", None], first=first)
    assert result.story_id == ["s1", "s2", "s2"]  # the new article takes the oldest story
    assert result.merged_into == {"s1": "s2"}


def test_merges_are_sticky_and_point_at_a_story_that_is_not_merged():
    # s3 was merged into s2 earlier; now s1 (older than s2) joins s2: s2 and s3 both point at s1.
    first = {"s1": datetime(2023, 1, 1, tzinfo=UTC), "s2": datetime(2024, 1, 1, tzinfo=UTC)}
    result = assign([0, 0, 2], ["s1", "s2", "s3"], merges={"s3": "s2"}, first=first)
    assert result.merged_into == {"s2": "s1", "s3": "s1"}
    assert result.story_id == ["s1", "s2", "s3"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=12),
    st.lists(st.one_of(st.none(), st.sampled_from(["s1", "s2", "s3"])), min_size=12, max_size=12),
)
def test_existing_articles_never_change_story(labels, stories):
    n = len(labels)
    old = stories[:n]
    result = assign(labels, old)
    for i, story in enumerate(old):
        if story is not None:
            assert result.story_id[i] == story
    for story, target in result.merged_into.items():
        assert target not in result.merged_into and story != target
    assert all(result.story_id)
