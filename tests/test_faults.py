"""Fault injection end to end: bad input files, a file removed mid-run, kill -9, two runs at once,
and readers during writes. Every fault gets a quarantine row with a precise reason (or the
documented handling), every good article beside it is written, and the run exits 0."""

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from conftest import run_python_bound_by_permissions
from newsfold import cli, lock, pipeline, store
from newsfold.config import PipelineConfig
from newsfold.records import ARTICLES_SCHEMA, QUARANTINE_SCHEMA

GOOD = {
    "good.txt": "The harbour authority approved the new ferry terminal on Monday after a long debate.",
    "latin1.txt": "Le café du port a rouvert ses portes après des travaux, a annoncé la mairie.",
    "utf16.txt": "The council vote on the bridge was postponed until next week, officials said.",
}
# Valid UTF-8 (with accented letters) and, in the middle, a stray Latin-1 byte and a cut sequence.
MOSTLY_UTF8 = (
    "Café owners in the old town said trade was up. Zoë and Jürgen agree. ".encode() + b"\xe9 and \xc3"
)


def build_faulty_corpus(raw: Path, outside: Path) -> dict[str, str]:
    """Write every fault of the issue beside good articles; returns source_file -> expected reason."""
    raw.mkdir(parents=True)
    (raw / "good.txt").write_text(GOOD["good.txt"])
    (raw / "latin1.txt").write_bytes(GOOD["latin1.txt"].encode("latin-1"))
    (raw / "utf16.txt").write_bytes(GOOD["utf16.txt"].encode("utf-16"))  # with a BOM
    (raw / "mostly_utf8.txt").write_bytes(MOSTLY_UTF8)
    (raw / "empty.txt").write_bytes(b"")
    (raw / "binary.txt").write_bytes(bytes(range(256)) * 8)
    gz = gzip.compress(b'{"id": "gz1", "text": "A gzipped article about the marathon route."}\n' * 20)
    (raw / "truncated.jsonl.gz").write_bytes(gz[: len(gz) // 2])
    (raw / "malformed.json").write_text('{"id": "m1", "text": "unterminated')
    lines = [
        json.dumps({"id": f"j{i}", "text": f"Article {i} about the river festival boats."}) for i in range(3)
    ]
    lines.insert(1, '{"id": "bad", "text": ')
    (raw / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    (raw / "ragged.csv").write_text(
        "id,title,text\n"
        "c1,Title one,The first csv article about school meals.\n"
        "c2,Title two,The second article,extra,fields\n"
        "c3,Title three,The third csv article about the library.\n"
    )
    (raw / "huge.txt").write_bytes(b"word " * (10 * 1024 * 1024))  # 50 MiB, one line
    (raw / "dup_a.jsonl").write_text(json.dumps({"id": "same", "text": "The tram line opens in May."}) + "\n")
    (raw / "dup_b.jsonl").write_text(
        json.dumps({"id": "same", "text": "The bus depot closes in June."}) + "\n"
    )
    outside.write_text("A secret file outside the input directory.")
    (raw / "link_out.txt").symlink_to(outside)
    return {
        "empty.txt": "empty file",
        "binary.txt": "binary content (NUL bytes)",
        "truncated.jsonl.gz": "truncated gzip: compressed file ended before the end-of-stream marker "
        "was reached",
        "malformed.json": "invalid JSON at line 1: Unterminated string starting at",
        "mixed.jsonl:2": "invalid JSON at line 2: Expecting value",
        "ragged.csv:3": "ragged CSV row: 5 fields, header has 3",
        "huge.txt": "text too long: 52428799 chars > max_article_chars 1000000",
        "dup_b.jsonl": 'duplicate article_id "same" (first seen in dup_a.jsonl)',
        "link_out.txt": "symlink target outside raw_dir",
    }


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    expected = build_faulty_corpus(base / "raw", base / "outside.txt")
    args = ["run", str(base / "raw"), str(base / "out")]
    proc = subprocess.run(
        [sys.executable, "-m", "newsfold", *args], capture_output=True, text=True, timeout=240
    )
    return base, expected, proc


def test_the_run_exits_0_and_counts_the_problems(faulty_run):
    _, expected, proc = faulty_run
    assert proc.returncode == 0, proc.stderr
    assert f"{len(expected)} quarantined" in proc.stdout


def test_every_fault_has_a_quarantine_row_with_its_precise_reason(faulty_run):
    base, expected, _ = faulty_run
    found = {q["source_file"]: q["reason"] for q in store.read_table(base / "out", "quarantine").to_pylist()}
    assert found == expected


def test_every_good_article_beside_the_faults_is_written(faulty_run):
    base, _, _ = faulty_run
    articles = {a["article_id"]: a["text"] for a in store.read_table(base / "out", "articles").to_pylist()}
    assert set(articles) == {*GOOD, "mostly_utf8.txt", "j0", "j1", "j2", "c1", "c3", "same"}
    for name, text in GOOD.items():  # Latin-1 and UTF-16 (BOM) decoded exactly
        assert articles[name] == text
    # Mostly-valid UTF-8: the valid characters survive, each invalid byte becomes U+FFFD.
    assert articles["mostly_utf8.txt"].startswith(
        "Café owners in the old town said trade was up. Zoë and Jürgen"
    )
    assert articles["mostly_utf8.txt"].count("\ufffd") == 2
    assert "secret" not in " ".join(articles.values())  # the symlink out of INPUT_DIR was not read


def test_a_rerun_changes_nothing_and_keeps_the_problems(faulty_run):
    base, expected, _ = faulty_run
    report = pipeline.run(base / "raw", base / "out")
    assert not report.written and report.counts["quarantined"] == len(expected)


def test_unreadable_file_is_quarantined(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    (raw / "good.txt").write_text(GOOD["good.txt"])
    locked = raw / "locked.txt"
    locked.write_text("An article nobody may read.")
    locked.chmod(0)
    try:
        done = run_python_bound_by_permissions("-m", "newsfold", "run", str(raw), str(out))
    finally:
        locked.chmod(0o644)
    assert done.returncode == 0, done.stderr
    assert "1 quarantined" in done.stdout
    assert store.read_table(out, "articles").column("article_id").to_pylist() == ["good.txt"]
    reasons = {q["source_file"]: q["reason"] for q in store.read_table(out, "quarantine").to_pylist()}
    assert reasons == {"locked.txt": "permission denied"}
    # Readable again: its stat changed (ctime), so the next run reads it.
    assert pipeline.run(raw, out).counts["articles"] == 2


def test_a_file_removed_mid_run(tmp_path):
    """Listed and stamped by the plan, gone before it is read: quarantined, the run goes on."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    (raw / "good.txt").write_text(GOOD["good.txt"])
    (raw / "doomed.txt").write_text("An article that disappears while the run is going.")
    config = PipelineConfig()
    with lock.hold(out):
        plan = pipeline.plan_run(raw, out, config)
        assert plan.batches == [["doomed.txt", "good.txt"]]
        (raw / "doomed.txt").unlink()
        results = [pipeline.ingest_batch(raw, files, config) for files in plan.batches]
        report = pipeline.write_outputs(out, pipeline.fold(plan, results, config), config)
    assert report.counts["articles"] == 1
    reasons = {q["source_file"]: q["reason"] for q in store.read_table(out, "quarantine").to_pylist()}
    assert reasons == {"doomed.txt": "file vanished before reading"}
    # The next run sees it gone: the quarantine row goes with it.
    assert pipeline.run(raw, out).counts["quarantined"] == 0


# ---- crashes and concurrency --------------------------------------------------------------------


def synthetic_records(prefix: str, n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choice("bcdfghklmnprstv") + rng.choice("aeiou") for _ in range(3)) for _ in range(400)
    ]
    return [
        {
            "id": f"{prefix}{i}",
            "published": f"2024-{1 + i % 6:02d}-{1 + i % 27:02d}T12:00:00Z",
            "text": " ".join(rng.choice(vocab[(i % 20) * 20 : (i % 20) * 20 + 40]) for _ in range(120)) + ".",
        }
        for i in range(n)
    ]


def write_batch(raw: Path, name: str, records: list[dict[str, str]]) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_text("".join(json.dumps(r) + "\n" for r in records))


def table_rows(out: Path, name: str) -> list[dict]:
    table = store.read_table(out, name)
    keys = {
        "articles": "article_id",
        "stories": "story_id",
        "shared_text": "segment_id",
        "quarantine": "source_file",
    }
    return sorted(table.to_pylist(), key=lambda row: (row[keys[name]], str(row)))


def wait_for(condition, proc: subprocess.Popen, timeout: float = 120.0) -> bool:
    """Poll until condition() holds (True) or the process ends first (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.0005)
    raise AssertionError("timed out")


def test_kill_9_at_any_point_leaves_the_previous_dataset_and_the_next_run_completes(tmp_path):
    raw, out, reference = tmp_path / "raw", tmp_path / "out", tmp_path / "reference"
    write_batch(raw, "day1.jsonl", synthetic_records("a", 200, 1))
    pipeline.run(raw, out)
    pipeline.run(raw, reference)
    write_batch(raw, "day2.jsonl", synthetic_records("b", 200, 2))
    pipeline.run(raw, reference)  # what the interrupted run should end with
    before = {name: table_rows(out, name) for name in ("articles", "stories", "quarantine")}
    after = {name: table_rows(reference, name) for name in before}
    version = store.current_version(out)

    def lock_taken() -> bool:
        return (out / lock.LOCK_NAME).exists()

    def staging() -> bool:
        return any(out.glob(".staging-*"))

    def later(delay: float):
        def condition() -> bool:
            if not lock_taken():
                return False
            time.sleep(delay)
            return True

        return condition

    # Kill as the run starts (planning, reading), well into it (analysing), and while it writes
    # its version. After each kill the current version is the previous one, intact, or (killed
    # after the switch, while pruning) the complete new one; never anything in between.
    points = {"start": lock_taken, "after 0.15s": later(0.15), "after 0.4s": later(0.4), "writing": staging}
    outcomes = {}
    for name, point in points.items():
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsfold", "run", str(raw), str(out)], stdout=subprocess.DEVNULL
        )
        if wait_for(point, proc):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        outcomes[name] = proc.returncode
        expected = before if store.current_version(out) == version else after
        for dataset, rows in expected.items():
            assert table_rows(out, dataset) == rows, (name, dataset)
    assert list(outcomes.values()).count(-signal.SIGKILL) >= 3, outcomes
    proc = subprocess.run(
        [sys.executable, "-m", "newsfold", "run", str(raw), str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("articles", "stories", "shared_text", "quarantine"):
        assert table_rows(out, name) == table_rows(reference, name), name  # nothing lost or doubled
    assert not list(out.glob(".staging-*")) and not (out / lock.LOCK_NAME).exists()


WAIT_THEN_RUN = """
import sys, time
from pathlib import Path
from newsfold import cli, lock
lock_file = Path(sys.argv[2]) / lock.LOCK_NAME
deadline = time.monotonic() + 120
while not lock_file.exists() and time.monotonic() < deadline:
    time.sleep(0.0005)
sys.exit(cli.main(["run", *sys.argv[1:]]))
"""


def test_two_runs_at_once_one_is_refused_with_a_clear_message(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_batch(raw, "day1.jsonl", synthetic_records("a", 400, 3))
    second = subprocess.Popen(
        [sys.executable, "-c", WAIT_THEN_RUN, str(raw), str(out)], stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.0)  # let it import and start waiting for the first run's lock
    first = subprocess.run(
        [sys.executable, "-m", "newsfold", "run", str(raw), str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    _, second_err = second.communicate(timeout=240)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 1
    assert "another newsfold run holds" in second_err and lock.LOCK_NAME in second_err
    assert store.read_table(out, "articles").num_rows == 400


def test_readers_during_writes(tmp_path):
    """While versions switch, a reader that resolves `current` once (store.read_table, or
    os.path.realpath) always reads one whole version; a reader of the stable `articles` link
    never reads rows of two versions (data file names are unique per version), though at the
    instant of a switch its listing may fail or miss a partition of the new version."""

    def version_tables(k: int) -> dict[str, pa.Table]:
        months = [f"2024-{m:02d}" for m in range(1, 2 + k % 5)]
        n = 40 * len(months)
        columns = {
            "article_id": [f"v{k}-{i}" for i in range(n)],
            "source_file": ["f"] * n,
            "text": [f"version {k}"] * n,
            "duplicate_group": ["g"] * n,
            "is_canonical": [True] * n,
            "story_id": ["s"] * n,
            "published_month": [months[i % len(months)] for i in range(n)],
        }
        table = pa.table(
            {f.name: columns.get(f.name, pa.nulls(n, f.type)) for f in ARTICLES_SCHEMA},
            schema=ARTICLES_SCHEMA,
        )
        return {"articles": table, "quarantine": QUARANTINE_SCHEMA.empty_table()}

    store.write_version(tmp_path, version_tables(0), {"run_id": store.new_run_id()})
    done = threading.Event()
    seen: dict[str, list[int]] = {"pinned": [], "stable": []}
    bad: list[tuple[str, set[str], int]] = []

    def read(how: str) -> pa.Table:
        if how == "pinned":
            return store.read_table(tmp_path, "articles")
        return ds.dataset(tmp_path / "articles", format="parquet", partitioning="hive").to_table()

    def read_loop(how: str) -> None:
        while not done.is_set():
            try:
                table = read(how)
            except (FileNotFoundError, OSError):  # a version pruned or switched mid-read: retry
                continue
            texts = set(table.column("text").to_pylist())
            k = int(next(iter(texts)).split()[1])
            complete = table.num_rows == 40 * (1 + k % 5)
            if len(texts) != 1 or (how == "pinned" and not complete):
                bad.append((how, texts, table.num_rows))
            seen[how].append(k)

    readers = [threading.Thread(target=read_loop, args=(how,)) for how in seen]
    for reader in readers:
        reader.start()
    for k in range(1, 25):
        store.write_version(tmp_path, version_tables(k), {"run_id": store.new_run_id()})
    done.set()
    for reader in readers:
        reader.join()
    assert not bad
    assert all(len(set(ks)) > 1 for ks in seen.values())  # both readers did overlap the writes


def test_cli_exit_codes_unwritable_output_and_missing_input(tmp_path, capsys):
    raw = tmp_path / "raw"
    write_batch(raw, "a.jsonl", synthetic_records("a", 3, 4))
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cli.main(["run", str(raw), str(blocker / "out")]) == 1
    assert cli.main(["run", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "cannot write output" in err and "input directory not found" in err
    assert cli.main(["run", str(raw), str(tmp_path / "out")]) == 0
