"""The flow on a real dask.distributed cluster writes exactly what the local run writes."""

import sys
import time

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from conftest import DEMO_RAW, PROJECT
from newsfold import pipeline, store
from newsfold.config import load_config

sys.path.insert(0, str(PROJECT / "flows"))

DATASETS = ("articles", "stories", "shared_text", "quarantine")


def _executed_count(dask_worker):
    return dask_worker.state.executed_count


@pytest.fixture
def small_batches(tmp_path):
    """A config cutting the demo corpus into batches of two files, so both workers get several."""
    path = tmp_path / "batches.toml"
    path.write_text("[ingest]\nbatch_files = 2\n")
    return str(path)


@pytest.mark.slow
def test_dask_cluster_run_matches_local_run(prefect_harness, tmp_path, small_batches):
    from distributed import Client, LocalCluster

    from newsfold_flow import run_flow

    params = {"input_dir": str(DEMO_RAW), "config_path": small_batches}
    t0 = time.perf_counter()
    local_counts = run_flow("local", output_dir=str(tmp_path / "local"), **params)
    local_seconds = time.perf_counter() - t0
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        t0 = time.perf_counter()
        dask_counts = run_flow("dask", cluster.scheduler_address, output_dir=str(tmp_path / "dask"), **params)
        dask_seconds = time.perf_counter() - t0
        with Client(cluster) as client:
            executed = client.run(_executed_count)
    # The batches really ran on the cluster's two worker processes, one task per batch.
    batches = pipeline.plan_batches(DEMO_RAW, load_config(small_batches))
    assert len(executed) == 2 and sum(executed.values()) == len(batches) > 2
    print(f"demo corpus: local {local_seconds:.1f}s, dask {dask_seconds:.1f}s, tasks per worker {executed}")

    assert dask_counts == local_counts and local_counts["articles"] > 0
    for name in DATASETS:
        dask_table, local_table = (store.read_table(tmp_path / run, name) for run in ("dask", "local"))
        assert dask_table.equals(local_table), name


def test_unknown_task_runner_and_bad_worker_count_are_clear_errors():
    from newsfold_flow import make_task_runner

    with pytest.raises(ValueError, match="task_runner must be one of"):
        make_task_runner("spark")
    with pytest.raises(ValueError, match="dask_workers must be at least 1"):
        make_task_runner("dask", dask_workers=0)


def test_remote_cluster_without_a_prefect_server_is_a_clear_error(tmp_path):
    from newsfold_flow import run_flow

    with (
        temporary_settings(restore_defaults={PREFECT_API_URL}),
        pytest.raises(ValueError, match="need a Prefect server they can reach"),
    ):
        run_flow("dask", "tcp://10.255.0.1:8786", input_dir=str(DEMO_RAW), output_dir=str(tmp_path))
