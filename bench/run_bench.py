"""`make bench`: time the real pipeline on synthetic corpora of growing size, and MinHash against peers.

    python bench/run_bench.py [--n 100000] [--sizes 10000,100000,300000] [--name NAME]

For each size (default N/10, N and 2N) a corpus is generated (or reused) by bench/gen_corpus.py
and `newsfold.pipeline.run` runs on it in a fresh process (so peak RSS is that run's own), with
an empty output directory. Per stage and in total it prints seconds, articles/s, MB/s of input
JSONL and peak RSS (the kernel's high-water mark, reset at the start of each stage through
/proc/self/clear_refs). "other" is wall time outside the stages the pipeline times itself
(merging batches, building the output tables).

In this process it then times MinHash signatures (128 permutations, word 3-grams) on the same
texts, from text to signature, for newsfold and its peers: datasketch `MinHash.update` per
shingle, datasketch `MinHash.bulk`, rensa's `RMinHash` per document and rensa's batch entry
point on pre-hashed shingles, and prints newsfold's ratio to each; also how well each one's
Jaccard estimates match the exact Jaccard of the shingle sets.

Results go to bench/results/<name>.json (default name: bench-n<N>), with the machine described.
"""

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path.insert(0, str(BENCH))

import gen_corpus  # noqa: E402  (a sibling script, not a package)

RESULTS = BENCH / "results"

# datasketch's per-shingle update costs ~20 µs per shingle and permutation block: ~60 ms for an
# article's ~3,000 character 7-grams at 256 permutations, so it gets a smaller sample (~15 s).
PER_SHINGLE_DOCS = 250

# ---- the worker: one pipeline run in its own process --------------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class _PeakMemory:
    """Peak RSS per stage from the kernel's high-water mark (VmHWM), which clear_refs resets."""

    def __init__(self) -> None:
        self.overall_kb = 0
        self.stage_kb: dict[str, int] = {}
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.resettable = True
        except OSError:  # not Linux, or not allowed: only the overall peak (ru_maxrss) is known
            self.resettable = False

    def reset(self) -> None:
        if self.resettable:
            self.overall_kb = max(self.overall_kb, _status_kb("VmHWM"))
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")

    def record(self, stage: str) -> None:
        if self.resettable:
            peak = _status_kb("VmHWM")
            self.stage_kb[stage] = max(self.stage_kb.get(stage, 0), peak)
            self.overall_kb = max(self.overall_kb, peak)

    def overall(self) -> int:
        if self.resettable:
            return max(self.overall_kb, _status_kb("VmHWM"))
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run_worker(raw: Path, out: Path, config_path: Path | None = None) -> dict[str, Any]:
    """Run the real pipeline once and measure it; called in a fresh process per corpus size."""
    from newsfold import pipeline
    from newsfold.config import load_config

    config = load_config(config_path)

    memory = _PeakMemory()
    timed = pipeline._timed  # the pipeline's own stage timer: wrapped to read memory per stage

    @contextlib.contextmanager
    def measured(seconds: dict[str, float], stage: str) -> Iterator[None]:
        memory.reset()
        with timed(seconds, stage):
            yield
        memory.record(stage)

    pipeline._timed = measured  # type: ignore[assignment]
    start = time.perf_counter()
    report = pipeline.run(raw, out, config, full=True)
    wall = time.perf_counter() - start
    seconds = {k: v for k, v in report.seconds.items() if k != "total"}
    seconds["other"] = max(wall - sum(seconds.values()), 0.0)
    return {
        "wall_seconds": wall,
        "stage_seconds": seconds,
        "stage_peak_rss_mb": {k: v / 1024 for k, v in memory.stage_kb.items()},
        "peak_rss_mb": memory.overall() / 1024,
        "counts": report.counts,
        "cpu_seconds": resource.getrusage(resource.RUSAGE_SELF).ru_utime
        + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
        "system_seconds": resource.getrusage(resource.RUSAGE_SELF).ru_stime,
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
    }


# ---- the parent: corpora, one subprocess per size, peers, the table -----------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import psutil

    cpu = platform.processor()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    versions = {}
    for dist in ("newsfold", "numpy", "numba", "scikit-learn", "pyarrow", "datasketch", "rensa"):
        with contextlib.suppress(Exception):
            from importlib import metadata

            versions[dist] = metadata.version(dist)
    commit = subprocess.run(
        ["git", "-C", str(PROJECT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "-C", str(PROJECT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit or None,
        "uncommitted_changes": bool(changed),
    }


def _run_subprocess(args: list[str]) -> dict[str, Any]:
    from newsfold import heap

    env = {**os.environ, "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(PROJECT / ".numba_cache"))}
    # A run starts as the newsfold programs start themselves: glibc asking for huge pages.
    env = heap.huge_pages_env(env) or env
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_size(n: int, seed: int, keep_output: bool, config: Path | None) -> dict[str, Any]:
    """Generate (or reuse) a corpus of n articles and time one pipeline run on it."""
    t0 = time.perf_counter()
    corpus = gen_corpus.generate(n, seed=seed)
    generate_seconds = time.perf_counter() - t0
    meta = json.loads((corpus / "meta.json").read_text())
    out = Path(tempfile.mkdtemp(prefix="out-", dir=corpus))
    load_before = os.getloadavg()
    try:
        args = ["--worker", str(corpus / "raw"), str(out)] + (["--config", str(config)] if config else [])
        result = _run_subprocess(args)
    finally:
        if not keep_output:
            shutil.rmtree(out, ignore_errors=True)
    result.update(
        articles=n,
        input_mb=meta["bytes"] / 1e6,
        corpus=str(corpus.relative_to(PROJECT)) if corpus.is_relative_to(PROJECT) else str(corpus),
        generate_seconds=round(generate_seconds, 1),
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
    )
    return result


def print_size(result: dict[str, Any]) -> None:
    n, mb = result["articles"], result["input_mb"]
    print(
        f"\n{n:,} articles, {mb:,.0f} MB of JSONL (load average before: "
        f"{result['load_average_before'][0]:.2f}, after: {result['load_average_after'][0]:.2f})"
    )
    print(f"{'stage':<12} {'seconds':>9} {'articles/s':>12} {'MB/s':>9} {'peak RSS MB':>12}")
    rows = [(k, v, result["stage_peak_rss_mb"].get(k)) for k, v in result["stage_seconds"].items()]
    rows.append(("total", result["wall_seconds"], result["peak_rss_mb"]))
    for stage, seconds, rss in rows:
        rss_text = f"{rss:12,.0f}" if rss is not None else f"{'':>12}"
        if seconds < 0.005:  # nothing to do (load_state of a full run): rates mean nothing
            print(f"{stage:<12} {seconds:9.2f} {'-':>12} {'-':>9} {rss_text}")
            continue
        print(f"{stage:<12} {seconds:9.2f} {n / seconds:12,.0f} {mb / seconds:9.1f} {rss_text}")


# ---- MinHash against its peers -------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")
_KEY_JUNK = re.compile(r"[\W_]+")


@dataclasses.dataclass(frozen=True)
class ShingleSpec:
    """The shingles and permutations of the pipeline's dedup stage (DedupConfig, MinHashConfig)."""

    kind: str  # "char" or "word"
    ngram: int
    num_perm: int
    threshold: float  # the dedup Jaccard threshold, for the accuracy check

    @classmethod
    def from_config(cls, config_path: Path | None) -> "ShingleSpec":
        from newsfold.config import load_config

        config = load_config(config_path)
        ngram = config.dedup.char_ngram if config.dedup.shingles == "char" else config.dedup.word_ngram
        return cls(config.dedup.shingles, ngram, config.minhash.num_perm, config.dedup.threshold)

    def describe(self) -> str:
        return f"{self.num_perm} permutations over {self.kind} {self.ngram}-grams"

    def python(self, text: str) -> list[str]:
        """The shingles as the peers are fed them, as Python strings: the same sets newsfold
        hashes (lower-cased `\\w+` tokens joined by spaces, or n-grams of the text's key:
        alphanumeric runs joined by one space), so exact Jaccards agree."""
        if self.kind == "char":
            units: str | list[str] = _KEY_JUNK.sub(" ", text.lower()).strip()
            join = "".join
        else:
            units = _TOKEN.findall(text.lower())
            join = " ".join
        n = self.ngram
        if len(units) < n:
            return [join(units)] if units else []
        return list({join(units[i : i + n]) for i in range(len(units) - n + 1)})

    def newsfold(self, texts: Any) -> Any:
        from newsfold.minhash import char_shingles, word_shingles

        return (char_shingles if self.kind == "char" else word_shingles)(texts, self.ngram)


@dataclasses.dataclass
class _Timing:
    docs: int
    seconds: float
    shingle_seconds: float  # of which building the shingles (Python strings, or newsfold's kernel)

    def rate(self) -> float:
        return self.docs / self.seconds

    def hash_rate(self) -> float:
        return self.docs / max(self.seconds - self.shingle_seconds, 1e-9)


def _best_of(repeats: int, fn: Callable[[], tuple[Any, float]]) -> tuple[Any, float, float]:
    """Run fn `repeats` times; keep the fastest (fn returns (result, shingle seconds))."""
    best: tuple[Any, float, float] | None = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result, shingle_seconds = fn()
        seconds = time.perf_counter() - t0
        if best is None or seconds < best[1]:
            best = (result, seconds, shingle_seconds)
    assert best is not None
    return best


def compare_minhash(texts: list[str], pairs: np.ndarray, spec: ShingleSpec) -> dict[str, Any]:
    """Text -> signature throughput of newsfold and its peers on the same texts, and accuracy."""
    from datasketch import LeanMinHash, MinHash

    from newsfold.minhash import MinHasher, encode_texts, jaccard

    num_perm = spec.num_perm
    hasher = MinHasher(num_perm=num_perm, seed=1)
    n = len(texts)
    spec.newsfold(texts[:10])  # compile (or load) the kernels outside the timing

    def ours() -> tuple[Any, float]:
        t0 = time.perf_counter()
        shingles = spec.newsfold(encode_texts(texts))
        t1 = time.perf_counter()
        return (shingles, hasher.signatures(shingles)), t1 - t0

    (shingles, signatures), ours_s, ours_sh = _best_of(3, ours)
    timings: dict[str, _Timing] = {"newsfold": _Timing(n, ours_s, ours_sh)}
    fused_equal = None
    if spec.kind == "char":
        # What the dedup stage runs: shingling and signing fused, no shingle set built or sorted.
        def fused() -> tuple[Any, float]:
            return hasher.char_signatures(encode_texts(texts), spec.ngram), 0.0

        fused_sig, fused_s, _ = _best_of(3, fused)
        timings["newsfold fused (no sets)"] = _Timing(n, fused_s, 0.0)
        fused_equal = bool(np.array_equal(fused_sig, signatures))

    t0 = time.perf_counter()
    py_shingles = [spec.python(t) for t in texts]
    py_shingle_s = time.perf_counter() - t0
    encoded = [[s.encode("utf-8") for s in doc] for doc in py_shingles]
    encode_s = time.perf_counter() - t0

    m = min(PER_SHINGLE_DOCS, n)

    def per_shingle() -> tuple[Any, float]:
        out = []
        for doc in encoded[:m]:
            sketch = MinHash(num_perm=num_perm, seed=1)
            for s in doc:
                sketch.update(s)
            out.append(sketch.hashvalues)
        return np.array(out), 0.0

    per_sig, seconds, _ = _best_of(1, per_shingle)
    timings["datasketch update"] = _Timing(m, seconds + encode_s * m / n, encode_s * m / n)

    def bulk() -> tuple[Any, float]:
        return np.array([h.hashvalues for h in MinHash.bulk(encoded, num_perm=num_perm, seed=1)]), 0.0

    bulk_sig, seconds, _ = _best_of(1, bulk)
    timings["datasketch bulk"] = _Timing(n, seconds + encode_s, encode_s)
    estimates = {
        "newsfold": signatures,
        "datasketch bulk": bulk_sig,
    }
    try:
        from rensa import RMinHash
    except ImportError:
        RMinHash = None
    if RMinHash is not None:

        def rensa_loop() -> tuple[Any, float]:
            out = []
            for doc in py_shingles:
                sketch = RMinHash(num_perm, 1)
                sketch.update(doc)
                out.append(sketch.digest())
            return np.array(out, dtype=np.uint32), 0.0

        rensa_sig, seconds, _ = _best_of(3, rensa_loop)
        timings["rensa RMinHash loop"] = _Timing(n, seconds + py_shingle_s, py_shingle_s)
        estimates["rensa RMinHash loop"] = rensa_sig

        def rensa_batch() -> tuple[Any, float]:
            # rensa's fastest entry point, fed newsfold's own shingle hashes: hashing only.
            flat = shingles.hashes.astype(np.uint64)
            return RMinHash.digest_matrix_from_flat_token_hashes(flat, shingles.offsets, num_perm, 1), 0.0

        matrix, seconds, _ = _best_of(3, rensa_batch)
        batch_sig = np.array(matrix.to_rows(), dtype=np.uint32)  # not timed: a list of lists
        # Text -> signature needs newsfold's shingling in front of it.
        timings["rensa batch (pre-hashed)"] = _Timing(n, seconds + ours_sh, ours_sh)
        estimates["rensa batch (pre-hashed)"] = batch_sig

    # Our signatures are datasketch's own for the same shingle hashes (scheme affine32).
    probe = min(20, n)
    same = all(
        np.array_equal(
            LeanMinHash(
                _datasketch_from_hashes(
                    shingles.hashes[shingles.offsets[i] : shingles.offsets[i + 1]], num_perm
                )
            ).hashvalues,
            signatures[i],
        )
        for i in range(probe)
    )
    exact = jaccard(shingles, pairs) if len(pairs) else np.zeros(0)
    accuracy = {}
    for name, sig in estimates.items():
        if len(pairs):
            estimate = (sig[pairs[:, 0]] == sig[pairs[:, 1]]).mean(axis=1)
            error = np.abs(estimate - exact)
            decided = ((estimate >= spec.threshold) == (exact >= spec.threshold)).mean()
            accuracy[name] = {"mean_abs_error": float(error.mean()), "same_decision": float(decided)}
    per_shingle_sample = per_sig[:m]
    return {
        "shingles": spec.describe(),
        "threshold": spec.threshold,
        "docs": n,
        "per_shingle_docs": m,
        "mean_shingles": float(np.diff(shingles.offsets).mean()),
        "equal_to_datasketch": bool(same),
        "fused_equal_to_newsfold": fused_equal,
        "equal_to_datasketch_update_rows": int(per_shingle_sample.shape[0]),
        "timings": {
            name: {
                "docs": t.docs,
                "seconds": round(t.seconds, 4),
                "docs_per_s": round(t.rate(), 1),
                "shingle_seconds": round(t.shingle_seconds, 4),
                "hash_docs_per_s": round(t.hash_rate(), 1),
            }
            for name, t in timings.items()
        },
        "ratio_newsfold_to": {
            name: round(timings["newsfold"].rate() / t.rate(), 2)
            for name, t in timings.items()
            if name != "newsfold"
        },
        "hash_only_ratio_newsfold_to": {
            name: round(timings["newsfold"].hash_rate() / t.hash_rate(), 2)
            for name, t in timings.items()
            if name != "newsfold"
        },
        "accuracy_on_pairs": {"pairs": len(pairs), **accuracy},
    }


def _datasketch_from_hashes(hashes: np.ndarray, num_perm: int) -> Any:
    from datasketch import MinHash

    sketch = MinHash(num_perm=num_perm, seed=1, hashfunc=lambda h: h)
    sketch.update_batch(hashes.astype(np.uint32).tolist())
    return sketch


def sample_texts(corpus: Path, k: int) -> tuple[list[str], np.ndarray]:
    """The first k article texts of a corpus, and pairs to check accuracy on: every wire copy or
    re-scrape in the sample with its original, plus as many random pairs."""
    texts: list[str] = []
    for path in sorted((corpus / "raw").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                texts.append(json.loads(line)["text"])
                if len(texts) == k:
                    break
        if len(texts) == k:
            break
    truth = np.load(corpus / "truth.npz")
    original = truth["duplicate_of"][: len(texts)]
    copies = np.flatnonzero((original != np.arange(len(texts))) & (original < len(texts)))
    rng = np.random.default_rng(0)
    random_pairs = rng.integers(0, len(texts), size=(len(copies), 2))
    pairs = np.concatenate([np.stack([original[copies], copies], axis=1), random_pairs])
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return texts, pairs.astype(np.int64)


def print_minhash(result: dict[str, Any]) -> None:
    print(
        f"\nMinHash, {result['shingles']} (the dedup stage's), text -> signature, "
        f"{result['docs']:,} articles (~{result['mean_shingles']:.0f} shingles each; datasketch "
        f"update on the first {result['per_shingle_docs']:,}):"
    )
    print(f"{'method':<26} {'docs/s':>10} {'hash-only docs/s':>17} {'newsfold is':>12} {'(hash only)':>12}")
    for name, t in result["timings"].items():
        ratio = result["ratio_newsfold_to"].get(name)
        hash_ratio = result["hash_only_ratio_newsfold_to"].get(name)
        ratio_text = f"{ratio:11.1f}x" if ratio else f"{'':>12}"
        hash_text = f"{hash_ratio:11.1f}x" if hash_ratio else f"{'':>12}"
        print(f"{name:<26} {t['docs_per_s']:10,.0f} {t['hash_docs_per_s']:17,.0f} {ratio_text} {hash_text}")
    acc = result["accuracy_on_pairs"]
    print(f"accuracy on {acc['pairs']:,} pairs (copies with their originals, and random pairs):")
    for name, a in acc.items():
        if isinstance(a, dict):
            print(
                f"  {name:<26} mean |estimate - exact Jaccard| {a['mean_abs_error']:.4f}, "
                f"same decision at J >= {result['threshold']}: {100 * a['same_decision']:.1f}%"
            )
    print(
        f"  newsfold signatures equal datasketch's (same hashes, affine32): {result['equal_to_datasketch']}"
    )
    if result.get("fused_equal_to_newsfold") is not None:
        print(f"  fused signatures equal the two-step ones: {result['fused_equal_to_newsfold']}")


def growth(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Time and memory of each size relative to the previous: linear cost keeps time ratio ~ size ratio."""
    out = []
    for prev, cur in itertools.pairwise(results):
        out.append(
            {
                "from": prev["articles"],
                "to": cur["articles"],
                "size_ratio": round(cur["articles"] / prev["articles"], 2),
                "time_ratio": round(cur["wall_seconds"] / prev["wall_seconds"], 2),
                "rss_ratio": round(cur["peak_rss_mb"] / prev["peak_rss_mb"], 2),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="the main size N (default 100,000)")
    parser.add_argument("--sizes", type=str, default=None, help="comma-separated sizes (default N/10,N,2N)")
    parser.add_argument("--name", type=str, default=None, help="results file name (default bench-n<N>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minhash-docs", type=int, default=5_000, help="articles for the MinHash peers")
    parser.add_argument("--skip-peers", action="store_true", help="no MinHash comparison")
    parser.add_argument("--keep-output", action="store_true", help="keep each run's parquet output")
    parser.add_argument(
        "--config", type=Path, default=None, help="pipeline settings (TOML), as `newsfold run`"
    )
    parser.add_argument("--worker", nargs=2, metavar=("RAW", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(Path(args.worker[0]), Path(args.worker[1]), args.config)))
        return

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.n // 10, args.n, 2 * args.n]
    name = args.name or f"bench-n{args.n}"
    info = machine()
    print(
        f"newsfold bench on {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, Python "
        f"{info['python']} (commit {info['commit']})"
    )
    # Compile (or load from the cache) every numba kernel once, outside any measurement.
    with tempfile.TemporaryDirectory() as tmp:
        warm = PROJECT / "data" / "raw"
        if warm.is_dir():
            _run_subprocess(["--worker", str(warm), str(Path(tmp) / "out")])

    runs = []
    for n in sorted(sizes):
        result = measure_size(n, args.seed, args.keep_output, args.config)
        print_size(result)
        runs.append(result)
    curve = growth(runs)
    print("\ngrowth (linear cost: time ratio = size ratio):")
    for g in curve:
        print(
            f"  {g['from']:>9,} -> {g['to']:>9,} articles (x{g['size_ratio']}): time x{g['time_ratio']}, "
            f"peak RSS x{g['rss_ratio']}"
        )

    peers = None
    if not args.skip_peers:
        main_size = args.n if args.n in sizes else max(sizes)
        texts, pairs = sample_texts(gen_corpus.generate(main_size, seed=args.seed), args.minhash_docs)
        load = os.getloadavg()
        peers = compare_minhash(texts, pairs, ShingleSpec.from_config(args.config))
        peers["load_average_before"] = [round(x, 2) for x in load]
        print_minhash(peers)

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "name": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": info,
        "config": str(args.config) if args.config else "defaults",
        "runs": runs,
        "growth": curve,
        "minhash": peers,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)
    print(f"\nresults -> {path.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
