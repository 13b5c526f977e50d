"""Evaluation of the whole pipeline on a labelled JSONL: run it for real, join the gold labels, score.

A labelled file has one JSON record a line, as the pipeline reads them (`id`, `text`, `title`,
`published`, `source`, `url`), plus gold labels: `story` (the story or event, null where
unlabelled) and, for duplicate detection, `dup_group` (copies of one article share it; null
or absent means the article has no copy). Gold labels are removed before the pipeline sees the
records, so nothing downstream can read them.
"""

import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from newsfold import pipeline, store
from newsfold.config import PipelineConfig
from newsfold.evaluate import score_clustering, score_duplicate_pairs

GOLD_FIELDS = ("story", "dup_group")
_INPUT_NAME = "labelled.jsonl"


@dataclasses.dataclass(frozen=True)
class LabelledSet:
    """Records to feed the pipeline (gold fields removed) and the gold labels by article id."""

    records: list[dict[str, Any]]
    story: dict[str, str]  # article id -> gold story, labelled articles only
    dup_group: dict[str, str]  # article id -> gold duplicate group, where given
    has_dup_groups: bool  # whether any record carries a `dup_group` field at all


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Scores of one labelled file, and the joined per-article table they were computed from.

    Attributes:
        report: JSON-ready dict: file, counts, seconds, and `stories` / `duplicates` scores
            (None when not computed).
        articles: one row per article written by the pipeline: article_id, story_id,
            duplicate_group, is_canonical, gold_story (None if unlabelled), gold_dup_group
            (the article's own id when it has no gold group).
    """

    report: dict[str, Any]
    articles: pd.DataFrame


def read_labelled(path: str | Path) -> LabelledSet:
    """Read a labelled JSONL file.

    Raises:
        FileNotFoundError: path does not exist.
        ValueError: a line is not a JSON object, or two records share an id.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labelled file not found: {path}")
    records: list[dict[str, Any]] = []
    story: dict[str, str] = {}
    dup_group: dict[str, str] = {}
    has_dup_groups = False
    seen: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not valid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object")
            # Without an id the pipeline would name the article PATH:LINE; give it that name
            # here so that the gold labels can be joined back.
            raw_id = record.get("id")
            article_id = f"line{number}" if raw_id is None or not str(raw_id).strip() else str(raw_id).strip()
            if article_id in seen:
                raise ValueError(f"{path}:{number}: duplicate id {article_id!r}")
            seen.add(article_id)
            has_dup_groups = has_dup_groups or "dup_group" in record
            if record.get("story") is not None:
                story[article_id] = str(record["story"])
            if record.get("dup_group") is not None:
                dup_group[article_id] = str(record["dup_group"])
            clean = {k: v for k, v in record.items() if k not in GOLD_FIELDS}
            clean["id"] = article_id
            records.append(clean)
    return LabelledSet(records, story, dup_group, has_dup_groups)


def write_input(records: list[dict[str, Any]], raw_dir: Path) -> Path:
    """Write records as one JSONL file in raw_dir (created), ready for the pipeline."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    target = raw_dir / _INPUT_NAME
    with target.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return target


def evaluate_file(
    path: str | Path,
    config: PipelineConfig | None = None,
    *,
    stories: bool = True,
    duplicates: bool = False,
    output_dir: str | Path | None = None,
) -> Evaluation:
    """Run the real pipeline on a labelled file and score its stories and/or duplicate groups.

    Args:
        path: The labelled JSONL file.
        config: Pipeline configuration (defaults when None).
        stories: Score story clustering against `story` (skipped when no record is labelled).
        duplicates: Score duplicate groups against `dup_group`.
        output_dir: Keep the pipeline's output here for inspection (a temporary directory when
            None).

    Raises:
        ValueError: duplicates were asked for but no record has a `dup_group` field, or stories
            were asked for alone and no record has a `story` label.
    """
    started = time.perf_counter()
    labelled = read_labelled(path)
    if duplicates and not labelled.has_dup_groups:
        raise ValueError(f"{path}: no record has a dup_group field; cannot score duplicates")
    if stories and not duplicates and not labelled.story:
        raise ValueError(f"{path}: no record has a story label; cannot score stories")
    with tempfile.TemporaryDirectory(prefix="newsfold-eval-") as tmp:
        raw_dir = Path(tmp) / "raw"
        write_input(labelled.records, raw_dir)
        out_dir = Path(output_dir) if output_dir is not None else Path(tmp) / "out"
        run = pipeline.run(raw_dir, out_dir, config or PipelineConfig())
        table = store.read_table(out_dir, "articles").select(
            ["article_id", "story_id", "duplicate_group", "is_canonical"]
        )
    articles = table.to_pandas()
    ids = articles["article_id"].tolist()
    articles["gold_story"] = pd.Series([labelled.story.get(i) for i in ids], dtype=object)
    articles["gold_dup_group"] = pd.Series(
        [labelled.dup_group.get(i, f"self:{i}") for i in ids], dtype=object
    )

    scored = articles[articles["gold_story"].notna()]
    report: dict[str, Any] = {
        "file": str(path),
        "counts": {
            "records": len(labelled.records),
            "articles": len(articles),
            "quarantined": run.counts["quarantined"],
            "labelled": len(scored),
            "duplicates": run.counts["duplicates"],
            "duplicate_groups": run.counts["duplicate_groups"],
            "stories": run.counts["stories"],
        },
        "stories": None,
        "duplicates": None,
    }
    if stories and len(scored):
        report["stories"] = score_clustering(scored["gold_story"].to_numpy(), scored["story_id"].to_numpy())
    if duplicates:
        report["duplicates"] = score_duplicate_pairs(
            articles["gold_dup_group"].to_numpy(), articles["duplicate_group"].to_numpy()
        )
    report["seconds"] = {
        "pipeline": run.seconds["total"],
        **{k: v for k, v in run.seconds.items() if k != "total"},
        "total": round(time.perf_counter() - started, 3),
    }
    return Evaluation(report, articles)


def format_report(report: dict[str, Any]) -> str:
    """The report as a small plain-text table."""
    c = report["counts"]
    lines = [
        f"{report['file']}: {c['articles']} articles ({c['labelled']} with a story label, "
        f"{c['quarantined']} quarantined), {c['stories']} stories, {c['duplicates']} duplicates, "
        f"{report['seconds']['pipeline']:.1f}s pipeline ({report['seconds']['total']:.1f}s total)"
    ]
    s = report.get("stories")
    if s:
        lines += [
            "",
            f"{'stories':<10} {'precision':>9} {'recall':>7} {'f1':>6}",
            f"{'B-cubed':<10} {s['bcubed_precision']:>9.3f} {s['bcubed_recall']:>7.3f} "
            f"{s['bcubed_f1']:>6.3f}",
            f"{'pairwise':<10} {s['pairwise_precision']:>9.3f} {s['pairwise_recall']:>7.3f} "
            f"{s['pairwise_f1']:>6.3f}",
            f"ARI {s['ari']:.3f}   NMI {s['nmi']:.3f}   "
            f"gold stories {s['n_true_clusters']}, predicted {s['n_pred_clusters']}",
        ]
    d = report.get("duplicates")
    if d:
        lines += [
            "",
            f"{'duplicates':<10} {'precision':>9} {'recall':>7} {'f1':>6}",
            f"{'pairs':<10} {d['precision']:>9.3f} {d['recall']:>7.3f} {d['f1']:>6.3f}",
            f"gold pairs {d['true_pairs']}, predicted {d['predicted_pairs']}, correct {d['correct_pairs']}",
        ]
    return "\n".join(lines)
