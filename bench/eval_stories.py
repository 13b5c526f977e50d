"""Score story clustering on a labelled JSONL (id, title, text, published, story): B³, pairwise, ARI, NMI.

python bench/eval_stories.py ../shared/eval/wikiref220.jsonl [--threshold 0.2 ...]
"""

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from newsfold.config import StoryConfig
from newsfold.evaluate import score_clustering
from newsfold.stories import cluster_stories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, nargs="+")
    for field in dataclasses.fields(StoryConfig):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=None)
    args = parser.parse_args()
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(StoryConfig)}
    config = StoryConfig(**{k: v for k, v in overrides.items() if v is not None})
    for path in args.path:
        frame = pd.read_json(path, lines=True, dtype={"story": "string", "title": "string"})
        frame = frame[frame["story"].notna()].reset_index(drop=True)
        published = pd.to_datetime(frame["published"], utc=True, errors="coerce").dt.tz_localize(None)
        titles = [None if pd.isna(t) else str(t) for t in frame["title"]]
        start = time.perf_counter()
        labels, _ = cluster_stories(
            frame["text"].astype(str).tolist(),
            titles,
            published.to_numpy(dtype="datetime64[us]"),
            np.empty((0, 2), dtype=np.int64),
            config,
        )
        seconds = time.perf_counter() - start
        scores = score_clustering(frame["story"].to_numpy(dtype=object), labels)
        print(json.dumps({"file": path.name, "seconds": round(seconds, 2), **scores}))


if __name__ == "__main__":
    main()
