"""The newsfold Prefect flow: thin tasks over newsfold.pipeline, mapped over batches of input files."""

from newsfold import heap

if __name__ == "__main__":
    # Before the imports below (Prefect's take seconds): the process starts again with glibc asking
    # for transparent huge pages (newsfold.heap), and the flow's processes inherit that.
    heap.reexec_with_huge_pages()

import argparse
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cloudpickle
from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NONE
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

import artifacts
from artifacts import publish_run_artifacts
from newsfold import lock, pipeline
from newsfold.config import PipelineConfig, load_config
from newsfold.ingest import IngestResult

# Dask ships every task with its flow's context. Pickling the modules of flows/ by value means a
# Dask scheduler and its workers need only the installed newsfold package, not this folder.
for _module in (artifacts, sys.modules[__name__]):
    if _module.__name__ != "__main__":
        cloudpickle.register_pickle_by_value(_module)

# Inputs are whole corpora: hashing them for Prefect's input cache would cost more than the
# work, and a re-run must re-read the files anyway, so caching is off for every task.


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def plan_run(raw_dir: Path, out_dir: Path, config: PipelineConfig, full: bool) -> pipeline.RunPlan:
    return pipeline.plan_run(raw_dir, out_dir, config, full=full)


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def ingest_batch(raw_dir: Path, files: list[str], config: PipelineConfig) -> IngestResult:
    if not raw_dir.is_dir():
        # On a Dask worker: the input must be on storage every worker mounts at the same path.
        raise FileNotFoundError(f"input directory {raw_dir} is not visible on {socket.gethostname()}")
    return pipeline.ingest_batch(raw_dir, files, config)


@task(cache_policy=NONE)
def fold(plan: pipeline.RunPlan, results: list[IngestResult], config: PipelineConfig) -> pipeline.Fold:
    return pipeline.fold(plan, results, config)


@task(cache_policy=NONE, retries=2, retry_delay_seconds=2)
def write_outputs(out_dir: Path, folded: pipeline.Fold, config: PipelineConfig) -> pipeline.RunReport:
    return pipeline.write_outputs(out_dir, folded, config)


@flow(name="newsfold", log_prints=True)
def newsfold_flow(
    input_dir: str = "data/raw",
    output_dir: str = "data/processed",
    config_path: str | None = None,
    full: bool = False,
) -> dict[str, int]:
    """Ingest input_dir, find shared text, duplicates and stories, and write output_dir.

    Args:
        input_dir: Directory of article files (read recursively).
        output_dir: Directory of the parquet datasets; the previous version is replaced atomically.
        config_path: Optional TOML/JSON config file overriding stage settings.
        full: Rebuild from every input file instead of folding new and changed ones into output_dir.
    """
    logger = get_run_logger()
    # Absolute, so that Dask workers started in another directory read the same files.
    raw_dir, out_dir = Path(input_dir).absolute(), Path(output_dir)
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"input directory not found: {raw_dir}")
    config = load_config(config_path)
    with lock.hold(out_dir):
        plan = plan_run(raw_dir, out_dir, config, full)
        logger.info(plan.describe())
        results = ingest_batch.map(unmapped(raw_dir), plan.batches, unmapped(config)).result()
        report = write_outputs(out_dir, fold(plan, results, config), config)
    logger.info(report.summary())
    publish_run_artifacts(report)
    return report.counts


TASK_RUNNERS = ("local", "dask")


def make_task_runner(
    task_runner: str = "local", dask_address: str | None = None, dask_workers: int = 2
) -> TaskRunner[Any]:
    """The task runner that the batch tasks (reading input files) are mapped on.

    Args:
        task_runner: ``"local"`` (a thread pool in this process, Prefect's default) or ``"dask"``.
        dask_address: Scheduler of an existing Dask cluster (``tcp://host:8786``). Without it,
            ``"dask"`` starts a LocalCluster for the run and stops it afterwards.
        dask_workers: Worker processes of that LocalCluster.

    Raises:
        ValueError: An unknown runner, or fewer than one worker.
    """
    if task_runner not in TASK_RUNNERS:
        raise ValueError(f"task_runner must be one of {', '.join(TASK_RUNNERS)}, not {task_runner!r}")
    if task_runner == "local":
        return ThreadPoolTaskRunner()
    if dask_address:
        return DaskTaskRunner(address=dask_address)
    if dask_workers < 1:
        raise ValueError("dask_workers must be at least 1")
    # One thread per worker process: reading and normalising is pure Python, threads would share a GIL.
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": dask_workers, "threads_per_worker": 1, "processes": True}
    )


def run_flow(
    task_runner: str = "local", dask_address: str | None = None, dask_workers: int = 2, **parameters: Any
) -> dict[str, int]:
    """Run :func:`newsfold_flow` on the chosen task runner; `parameters` go to the flow unchanged.

    Prefect fixes a flow's task runner when the run starts, so the choice is made here, at call
    time, with ``with_options``; the output is identical whichever runner reads the batches.
    """
    runner = make_task_runner(task_runner, dask_address, dask_workers)
    with _api_shared_with_workers(task_runner, dask_address):
        counts: dict[str, int] = newsfold_flow.with_options(task_runner=runner)(**parameters)
    return counts


@contextmanager
def _api_shared_with_workers(task_runner: str, dask_address: str | None) -> Iterator[None]:
    """Make Dask workers report to the flow's Prefect API.

    Without ``PREFECT_API_URL`` Prefect runs ephemerally: every process starts its own temporary
    server, so each Dask worker would start one (slow, and all racing on one database). Workers
    on this machine share one temporary server instead; workers elsewhere cannot reach it.
    """
    if task_runner != "dask" or PREFECT_API_URL.value():
        yield
        return
    address = dask_address or "tcp://127.0.0.1"
    host = urlsplit(address if "://" in address else f"tcp://{address}").hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(
            f"Dask workers at {dask_address} need a Prefect server they can reach: start one "
            "(`prefect server start`) and set PREFECT_API_URL to its API address"
        )
    server = SubprocessASGIServer()  # the instance Prefect's ephemeral mode would start anyway
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the newsfold flow once (Prefect ephemeral mode).")
    parser.add_argument("--input", default="data/raw")
    parser.add_argument("--output", default="data/processed")
    parser.add_argument("--config", default=None)
    parser.add_argument("--task-runner", choices=TASK_RUNNERS, default="local", help="where batches run")
    parser.add_argument("--dask-address", default=None, help="scheduler of an existing Dask cluster")
    parser.add_argument("--dask-workers", type=int, default=2, help="workers of a LocalCluster (no address)")
    args = parser.parse_args()
    run_flow(
        args.task_runner,
        args.dask_address,
        args.dask_workers,
        input_dir=args.input,
        output_dir=args.output,
        config_path=args.config,
    )


if __name__ == "__main__":
    main()
