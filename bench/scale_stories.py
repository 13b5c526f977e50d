"""Time story clustering on a synthetic corpus: eval texts repeated with word-level perturbation.

python bench/scale_stories.py --n 100000 [--dated]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from newsfold.config import StoryConfig
from newsfold.evaluate import score_clustering
from newsfold.stories import cluster_stories

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def make_corpus(n: int, seed: int = 0, dated: bool = False) -> tuple[list[str], np.ndarray, np.ndarray]:
    """n texts: each a random eval text with 15% of its words dropped and 5% replaced at random.

    Also returns each text's gold story (None for the unlabelled newsarticles texts).
    """
    rng = np.random.default_rng(seed)
    texts, stories = [], []
    for name in ("googlenews_dev.jsonl", "wikiref220.jsonl", "newsarticles.jsonl"):
        frame = pd.read_json(EVAL / name, lines=True, dtype={"story": "string"})
        texts += frame["text"].astype(str).tolist()
        stories += [None if pd.isna(s) else f"{name}:{s}" for s in frame.get("story", [None] * len(frame))]
    words = [t.split() for t in texts]
    vocab = np.array(sorted({w for ws in words[:5000] for w in ws}))
    out = []
    picks = rng.integers(0, len(texts), n)
    for i in picks:
        ws = np.array(words[i], dtype=object)
        ws = ws[rng.random(len(ws)) >= 0.15]
        swap = rng.random(len(ws)) < 0.05
        ws[swap] = rng.choice(vocab, int(swap.sum()))
        out.append(" ".join(ws))
    base = np.datetime64("2024-01-01T00:00:00", "us")
    offsets = rng.integers(0, 365 * 86_400, n).astype("timedelta64[s]")
    published = (base + offsets).astype("datetime64[us]") if dated else np.full(n, np.datetime64("NaT", "us"))
    return out, published, np.array(stories, dtype=object)[picks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dated", action="store_true", help="spread dates over a year")
    args = parser.parse_args()
    texts, published, stories = make_corpus(args.n, dated=args.dated)
    cluster_stories(texts[:200], None, published[:200], None, StoryConfig())  # compile the kernels
    start, cpu = time.perf_counter(), time.process_time()
    labels, _ = cluster_stories(texts, None, published, None, StoryConfig())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    sizes = np.bincount(np.unique(labels, return_inverse=True)[1])
    # Copies share their original's story: on the labelled part the partition should score
    # about as well as on the original data set if the clustering does not drift with scale.
    # (With --dated the copies of one story are spread over a year and rightly split by the
    # window, so these scores only mean something without it.)
    labelled = np.array([s is not None for s in stories])
    scores = score_clustering(stories[labelled], labels[labelled])
    quality = (
        {}
        if args.dated
        else {
            "labelled_bcubed_f1": round(scores["bcubed_f1"], 3),
            "labelled_nmi": round(scores["nmi"], 3),
        }
    )
    print(
        json.dumps(
            {
                "n": args.n,
                "dated": args.dated,
                "seconds": round(seconds, 1),
                "cpu_seconds": round(cpu, 1),
                "stories": len(sizes),
                "largest": int(sizes.max()),
                **quality,
            }
        )
    )


if __name__ == "__main__":
    main()
