"""Scheduled deployment of the newsfold flow: cron schedule, parameters, a timeout, one run at a time.

With a Prefect server running and ``PREFECT_API_URL`` pointing at it, either

    python flows/deploy.py --input data/raw --output data/processed   # register and serve here

or, for a worker, ``prefect deploy --all`` (prefect.yaml) and ``prefect worker start --pool newsfold``.
Both use the flow object :data:`scheduled_newsfold` below as their entrypoint, so the timeout
travels with the deployment: a run is executed by loading the entrypoint afresh.
"""

from newsfold import heap

if __name__ == "__main__":
    # Before the imports below (Prefect's take seconds): the process starts again with glibc asking
    # for transparent huge pages (newsfold.heap), and the flow's processes inherit that.
    heap.reexec_with_huge_pages()

import argparse
import os
from pathlib import Path
from typing import Any

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment

from newsfold_flow import newsfold_flow

DEPLOYMENT_NAME = "scheduled"
# Hourly, on the hour (UTC): new files land in data/raw through the day; a run reads only those.
DEFAULT_CRON = "0 * * * *"
# A run of a 100k-article corpus takes minutes and an incremental one seconds: one still going
# after an hour (the schedule's period) is hung, and failing it lets the next one start.
TIMEOUT_SECONDS = 3600
# One run at a time per deployment (the output lock would refuse a second anyway); a run due
# while another is going waits for it rather than being dropped, so no scheduled run is lost.
CONCURRENCY = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)

scheduled_newsfold = newsfold_flow.with_options(timeout_seconds=TIMEOUT_SECONDS)


def deployment_parameters(
    input_dir: str, output_dir: str, config_path: str | None = None, full: bool = False
) -> dict[str, Any]:
    """The flow parameters a scheduled run gets."""
    return {"input_dir": input_dir, "output_dir": output_dir, "config_path": config_path, "full": full}


def build_deployment(
    input_dir: str = "data/raw",
    output_dir: str = "data/processed",
    config_path: str | None = None,
    *,
    name: str = DEPLOYMENT_NAME,
    cron: str | None = DEFAULT_CRON,
) -> RunnerDeployment:
    """The deployment of :data:`scheduled_newsfold` (cron None: no schedule, runs on demand only)."""
    entrypoint = f"{os.path.relpath(Path(__file__).resolve(), Path.cwd())}:scheduled_newsfold"
    return RunnerDeployment.from_entrypoint(
        entrypoint,
        name=name,
        cron=cron,
        concurrency_limit=CONCURRENCY,
        parameters=deployment_parameters(input_dir, output_dir, config_path),
        description="Fold new and changed article files into the newsfold dataset.",
        tags=["newsfold"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Register the scheduled newsfold deployment with the Prefect server at "
        "PREFECT_API_URL and serve it: scheduled and triggered runs execute in this process."
    )
    parser.add_argument("--input", default="data/raw", help="input directory (default: data/raw)")
    parser.add_argument(
        "--output", default="data/processed", help="output directory (default: data/processed)"
    )
    parser.add_argument("--config", default=None, help="TOML or JSON config file")
    parser.add_argument("--name", default=DEPLOYMENT_NAME, help="deployment name (default: %(default)s)")
    parser.add_argument("--cron", default=DEFAULT_CRON, help="cron schedule, UTC (default: '%(default)s')")
    parser.add_argument("--no-schedule", action="store_true", help="register without a schedule")
    args = parser.parse_args()
    deployment = build_deployment(
        args.input, args.output, args.config, name=args.name, cron=None if args.no_schedule else args.cron
    )
    serve(deployment)


if __name__ == "__main__":
    main()
