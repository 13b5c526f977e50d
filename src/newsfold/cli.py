"""Thin command-line interface over the library: `newsfold run|...`."""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from newsfold import benchmark_eval, heap, lock, pipeline, store
from newsfold.config import load_config
from newsfold.report import DEFAULT_TOP, format_stories, largest_stories, write_report


def _cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    report = pipeline.run(Path(args.input), Path(args.output), config, full=args.full)
    print(report.summary())
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    evaluation = benchmark_eval.evaluate_file(
        args.labelled, config, duplicates=args.duplicates, output_dir=args.output
    )
    report = evaluation.report
    print(json.dumps(report, indent=2) if args.json else benchmark_eval.format_report(report))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    path = write_report(Path(args.output_dir), Path(args.out) if args.out else None, top=args.top)
    print(f"newsfold: report -> {path}")
    return 0


def _cmd_stories(args: argparse.Namespace) -> int:
    print(format_stories(largest_stories(Path(args.output_dir), args.top)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsfold",
        description="Deduplicate and cluster scraped news articles into a clean parquet dataset.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="ingest INPUT_DIR, find shared text, duplicates and stories, write OUTPUT_DIR",
        description=(
            "Read every article file under INPUT_DIR (.txt with optional NAME.json sidecar, .json, "
            ".jsonl, .csv, each optionally .gz), strip shared headlines and boilerplate, group "
            "duplicates, cluster stories and write parquet datasets (articles, stories, "
            "shared_text, quarantine) plus manifest.json to OUTPUT_DIR, replacing the previous "
            "version atomically. Unreadable files are quarantined, not fatal."
        ),
    )
    run.add_argument("input", nargs="?", default="data/raw", help="input directory (default: data/raw)")
    run.add_argument(
        "output", nargs="?", default="data/processed", help="output directory (default: data/processed)"
    )
    run.add_argument("--config", help="TOML or JSON file overriding stage settings (see README)")
    run.add_argument(
        "--full",
        action="store_true",
        help="rebuild OUTPUT_DIR from every input file (default: read only new and changed files "
        "and fold them into the existing dataset, keeping its ids)",
    )
    run.set_defaults(func=_cmd_run)

    report = commands.add_parser(
        "report",
        help="write a self-contained report.html of OUTPUT_DIR (largest stories, timeline, duplicates)",
        description="Write one HTML file (no network needed to view it) summarising OUTPUT_DIR's dataset.",
    )
    report.add_argument("output_dir", metavar="OUTPUT_DIR", help="a directory written by `newsfold run`")
    report.add_argument("--out", metavar="FILE", help="where to write (default: OUTPUT_DIR/report.html)")
    report.add_argument("--top", type=int, default=DEFAULT_TOP, help="stories shown (default: %(default)s)")
    report.set_defaults(func=_cmd_report)

    stories = commands.add_parser("stories", help="print the largest stories of OUTPUT_DIR as a table")
    stories.add_argument("output_dir", metavar="OUTPUT_DIR", help="a directory written by `newsfold run`")
    stories.add_argument("--top", type=int, default=DEFAULT_TOP, help="stories shown (default: %(default)s)")
    stories.set_defaults(func=_cmd_stories)

    evaluate = commands.add_parser(
        "eval",
        help="run the pipeline on a labelled JSONL and score stories (and duplicates) against it",
        description=(
            "Run the real pipeline on LABELLED.jsonl (records as `run` reads them, plus gold "
            "labels: `story`, and `dup_group` for --duplicates; gold labels are hidden from the "
            "pipeline) and print B-cubed, pairwise, ARI and NMI scores of the stories, duplicate "
            "pair precision/recall with --duplicates, counts and seconds."
        ),
    )
    evaluate.add_argument("labelled", metavar="LABELLED.jsonl", help="labelled JSONL file")
    evaluate.add_argument("--config", help="TOML or JSON file overriding stage settings (see README)")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate.add_argument(
        "--duplicates", action="store_true", help="also score duplicate groups against `dup_group`"
    )
    evaluate.add_argument("--output", metavar="DIR", help="keep the pipeline's output here for inspection")
    evaluate.set_defaults(func=_cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the program itself (not a call from Python): huge pages from the start
        heap.reexec_with_huge_pages()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"newsfold: error: {err}", file=sys.stderr)
        return 2
    except lock.LockHeldError as err:  # the output cannot be written now: another run writes it
        print(f"newsfold: cannot write output: {err}", file=sys.stderr)
        return 1
    except (store.OutputError, PermissionError, OSError) as err:
        print(f"newsfold: cannot write output: {err}", file=sys.stderr)
        return 1
    return code
