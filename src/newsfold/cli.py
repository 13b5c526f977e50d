"""Thin command-line interface over the library: `newsfold run|...`."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from newsfold import pipeline, store
from newsfold.config import load_config


def _cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    report = pipeline.run(Path(args.input), Path(args.output), config)
    print(report.summary())
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
    run.set_defaults(func=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"newsfold: error: {err}", file=sys.stderr)
        return 2
    except (store.OutputError, PermissionError, OSError) as err:
        print(f"newsfold: cannot write output: {err}", file=sys.stderr)
        return 1
    return code
