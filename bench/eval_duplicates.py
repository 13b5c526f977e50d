"""Score duplicate detection of the real pipeline on a labelled near-duplicate set, per variant.

The set comes from bench/make_duplicates.py (built on the fly from ../shared/eval/newsarticles.jsonl,
or the demo corpus, when no file is given). For each variant: its gold pairs (an original and its
copy) and the recall of them; the predicted pairs touching its articles and their precision. For
the negative families (`same_story`, `shared_quote`), whose articles have no copy, every predicted
pair is a false merge. Overall pair precision/recall/F1 as `newsfold eval --duplicates` reports.

    python bench/eval_duplicates.py                        # build the default set, then score it
    python bench/eval_duplicates.py /tmp/dups.jsonl --json
    python bench/eval_duplicates.py /tmp/dups.jsonl --config my.toml --show 5
"""

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_duplicates import DEFAULT_SOURCE, PROJECT, load_source, make_set
from newsfold.benchmark_eval import evaluate_file
from newsfold.config import load_config


def score_variants(articles: pd.DataFrame, variant_of: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per-variant gold pairs, recall, predicted pairs touching the variant and their precision."""
    frame = articles.assign(variant=articles["article_id"].map(variant_of).fillna("unknown"))
    stats: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for variant in frame["variant"].unique():
        stats[variant]["gold_pairs"] += 0
    for _, group in frame.groupby("gold_dup_group"):
        for (_, a), (_, b) in combinations(group.iterrows(), 2):
            variant = a["variant"]
            stats[variant]["gold_pairs"] += 1
            stats[variant]["found"] += int(a["duplicate_group"] == b["duplicate_group"])
    for _, group in frame.groupby("duplicate_group"):
        for (_, a), (_, b) in combinations(group.iterrows(), 2):
            correct = a["gold_dup_group"] == b["gold_dup_group"]
            for variant in {a["variant"], b["variant"]}:
                stats[variant]["predicted_pairs"] += 1
                stats[variant]["correct"] += int(correct)
    out = {}
    for variant, s in sorted(stats.items()):
        out[variant] = {
            "gold_pairs": s["gold_pairs"],
            "recall": s["found"] / s["gold_pairs"] if s["gold_pairs"] else None,
            "predicted_pairs": s["predicted_pairs"],
            "precision": s["correct"] / s["predicted_pairs"] if s["predicted_pairs"] else 1.0,
            "false_merges": s["predicted_pairs"] - s["correct"],
        }
    return out


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, nargs="?", help="labelled set (default: build one)")
    parser.add_argument("--config", help="pipeline config file")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", type=int, default=0, help="print up to N misses and false merges")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path
        if path is None:
            source = DEFAULT_SOURCE if DEFAULT_SOURCE.exists() else PROJECT / "data" / "raw"
            path = Path(tmp) / "duplicates.jsonl"
            records = make_set(load_source(source), per_variant=150, negatives=150, seed=args.seed)
            path.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
            )
        with path.open(encoding="utf-8") as lines:
            labelled = [json.loads(line) for line in lines if line.strip()]
        evaluation = evaluate_file(path, load_config(args.config), stories=False, duplicates=True)
    variant_of = {str(r["id"]): r.get("variant") or "unknown" for r in labelled}
    per_variant = score_variants(evaluation.articles, variant_of)
    report = {**evaluation.report, "variants": per_variant}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        d = report["duplicates"]
        print(
            f"{path}: {report['counts']['articles']} articles, {report['seconds']['pipeline']:.1f}s pipeline"
        )
        header = ("variant", "gold pairs", "recall", "pred pairs", "precision", "false")
        print("{:<14} {:>10} {:>7} {:>10} {:>9} {:>6}".format(*header))
        for variant, s in per_variant.items():
            print(
                f"{variant:<14} {s['gold_pairs']:>10} {_fmt(s['recall']):>7} {s['predicted_pairs']:>10} "
                f"{_fmt(s['precision']):>9} {s['false_merges']:>6}"
            )
        recall, precision = _fmt(d["recall"]), _fmt(d["precision"])
        print(f"{'all':<14} {d['true_pairs']:>10} {recall:>7} {d['predicted_pairs']:>10} {precision:>9}")
    if args.show:
        _show(evaluation.articles, {str(r["id"]): r for r in labelled}, args.show)


def _show(articles: pd.DataFrame, records: dict[str, dict[str, Any]], limit: int) -> None:
    """Print missed gold pairs and false merges, with the start of each text, for a hand check."""
    misses, false = [], []
    for _, group in articles.groupby("gold_dup_group"):
        ids = group["article_id"].tolist()
        if len(set(group["duplicate_group"])) > 1:
            misses.append(ids)
    for _, group in articles.groupby("duplicate_group"):
        if len(set(group["gold_dup_group"])) > 1:
            false.append(group["article_id"].tolist())
    for title, cases in (("missed", misses), ("false merges", false)):
        print(f"\n== {title}: {len(cases)}")
        for ids in cases[:limit]:
            for article_id in ids:
                r = records[article_id]
                print(f"  [{r.get('variant')}] {article_id}: {r['text'][:160]!r}")
            print()


if __name__ == "__main__":
    main()
