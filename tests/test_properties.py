"""Properties over random article texts: the pipeline never crashes and no article disappears,
whether the articles come in one run or several."""

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsfold import pipeline, store

# Texts mixing real words (so that duplicates, shared lines and stories occur), any Unicode,
# control characters, blank lines and whitespace-only strings.
WORDS = ["storm", "harbour", "council", "vote", "bridge", "ferry", "strike", "Zoë", "café", "北京", "🙂"]
texts = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=0, max_size=40).map(" ".join),
    st.lists(st.sampled_from([*WORDS, "\n", "\n\n", "Read more at www.example.com"]), max_size=30).map(
        " ".join
    ),
    st.text(max_size=200),
    st.sampled_from(["", " ", "\n\n", "\x00", "\ufeff", "a\rb", "\u2028"]),
)
records = st.lists(
    st.tuples(
        texts,
        st.one_of(st.none(), st.sampled_from(["2024-01-02", "2024-02-30", "yesterday", "2024-03-09T10:00Z"])),
    ),
    min_size=0,
    max_size=25,
)

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def write_records(path: Path, batch: list[tuple[str, str | None]], start: int) -> list[str]:
    lines, ids = [], []
    for k, (text, published) in enumerate(batch, start=start):
        ids.append(f"r{k}")
        lines.append(json.dumps({"id": f"r{k}", "text": text, "published": published}))
    path.write_text("".join(line + "\n" for line in lines))
    return ids


def accounted_for(out: Path, files: dict[str, list[str]]) -> tuple[set[str], set[str]]:
    """(ids written, ids quarantined) of JSONL records, each line's id by its PATH:LINE."""
    written = set(store.read_table(out, "articles").column("article_id").to_pylist())
    line_ids = {
        f"{name}:{line}": {rid} for name, ids in files.items() for line, rid in enumerate(ids, start=1)
    }
    line_ids.update({name: set(ids) for name, ids in files.items()})  # a whole file (e.g. empty)
    quarantined = set()
    for source_file in store.read_table(out, "quarantine").column("source_file").to_pylist():
        quarantined |= line_ids[source_file]
    return written, quarantined


@SETTINGS
@given(records)
def test_one_run_never_crashes_and_accounts_for_every_record(batch):
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw", Path(tmp) / "out"
        raw.mkdir()
        ids = write_records(raw / "feed.jsonl", batch, 0)
        report = pipeline.run(raw, out)
        written, quarantined = accounted_for(out, {"feed.jsonl": ids})
        assert written | quarantined == set(ids) and not written & quarantined
        assert report.counts["articles"] == len(written)
        articles = store.read_table(out, "articles").to_pylist()
        canonical = {a["article_id"] for a in articles if a["is_canonical"]}
        assert all(a["duplicate_of"] in canonical for a in articles if not a["is_canonical"])
        stories = set(store.read_table(out, "stories").column("story_id").to_pylist())
        assert {a["story_id"] for a in articles} == stories


@SETTINGS
@given(records, records)
def test_runs_in_sequence_lose_nothing_and_keep_ids(first, second):
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw", Path(tmp) / "out"
        raw.mkdir()
        files = {"a.jsonl": write_records(raw / "a.jsonl", first, 0)}
        pipeline.run(raw, out)
        before = {a["article_id"]: a for a in store.read_table(out, "articles").to_pylist()}
        files["b.jsonl"] = write_records(raw / "b.jsonl", second, len(first))
        pipeline.run(raw, out)
        after = {a["article_id"]: a for a in store.read_table(out, "articles").to_pylist()}
        written, quarantined = accounted_for(out, files)
        assert written | quarantined == set(files["a.jsonl"]) | set(files["b.jsonl"])
        assert not written & quarantined
        for aid, row in before.items():
            for column in ("duplicate_group", "is_canonical", "duplicate_of", "story_id"):
                assert after[aid][column] == row[column]
        stories = {s["story_id"]: s for s in store.read_table(out, "stories").to_pylist()}
        for story in stories.values():
            target = story["merged_into"]
            assert target is None or (target in stories and stories[target]["merged_into"] is None)
        assert not pipeline.run(raw, out).written  # a third run has nothing to do
        shutil.rmtree(out)
