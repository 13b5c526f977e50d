"""The newsfold Prefect flow: thin tasks over newsfold.pipeline, mapped over batches of input files."""

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NONE

from newsfold import pipeline
from newsfold.config import PipelineConfig, load_config
from newsfold.ingest import IngestResult
from newsfold.records import Article, QuarantineRecord

# Inputs are whole corpora: hashing them for Prefect's input cache would cost more than the
# work, and a re-run must re-read the files anyway, so caching is off for every task.


@task(cache_policy=NONE)
def plan_batches(raw_dir: Path, config: PipelineConfig) -> list[list[str]]:
    return pipeline.plan_batches(raw_dir, config)


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def ingest_batch(raw_dir: Path, files: list[str], config: PipelineConfig) -> IngestResult:
    return pipeline.ingest_batch(raw_dir, files, config)


@task(cache_policy=NONE)
def analyse(articles: list[Article], config: PipelineConfig) -> pipeline.Analysis:
    return pipeline.analyse(articles, config)


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def write_outputs(
    out_dir: Path,
    analysis: pipeline.Analysis,
    quarantine: list[QuarantineRecord],
    config: PipelineConfig,
    seconds: dict[str, float],
    inputs: dict[str, object],
) -> pipeline.RunReport:
    return pipeline.write_outputs(out_dir, analysis, quarantine, config, seconds, inputs)


@flow(name="newsfold", log_prints=True)
def newsfold_flow(
    input_dir: str = "data/raw",
    output_dir: str = "data/processed",
    config_path: str | None = None,
) -> dict[str, int]:
    """Ingest input_dir, find shared text, duplicates and stories, and write output_dir.

    Args:
        input_dir: Directory of article files (read recursively).
        output_dir: Directory of the parquet datasets; the previous version is replaced atomically.
        config_path: Optional TOML/JSON config file overriding stage settings.
    """
    logger = get_run_logger()
    raw_dir, out_dir = Path(input_dir), Path(output_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"input directory not found: {raw_dir}")
    config = load_config(config_path)
    batches = plan_batches(raw_dir, config)
    logger.info("%d input files in %d batches", sum(len(b) for b in batches), len(batches))
    results = ingest_batch.map(unmapped(raw_dir), batches, unmapped(config)).result()
    read = pipeline.merge_batches(results)
    analysis = analyse(read.articles, config)
    report = write_outputs(
        out_dir,
        analysis,
        read.quarantine,
        config,
        dict(analysis.seconds),
        {"raw_dir": str(raw_dir), "files": sum(len(b) for b in batches)},
    )
    logger.info(report.summary())
    return report.counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the newsfold flow once (Prefect ephemeral mode).")
    parser.add_argument("--input", default="data/raw")
    parser.add_argument("--output", default="data/processed")
    parser.add_argument("--config", default=None)
    args = parser.parse_args()
    newsfold_flow(input_dir=args.input, output_dir=args.output, config_path=args.config)


if __name__ == "__main__":
    main()
