"""The scheduled deployment, for real: a Prefect server on loopback, prefect.yaml registered with
`prefect deploy`, the deployment served by flows/deploy.py, runs triggered and checked, then
everything stopped. Plus the deployment's definition and the run artifacts' content."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import DEMO_RAW, PROJECT
from newsfold import pipeline, store

sys.path.insert(0, str(PROJECT / "flows"))

TRIGGER = """
import asyncio, json, sys
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.deployments import run_deployment

def describe(deployment):
    return {
        "entrypoint": deployment.entrypoint,
        "parameters": deployment.parameters,
        "schedules": [[s.schedule.cron, s.schedule.timezone, s.active] for s in deployment.schedules],
        "concurrency": getattr(deployment.global_concurrency_limit, "limit", None),
        "collision": getattr(deployment.concurrency_options, "collision_strategy", None),
    }

async def artifacts(flow_run_id):
    async with get_client() as client:
        runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        found = await client.read_artifacts(flow_run_filter=runs)
        return {a.key: {"type": a.type, "data": a.data} for a in found if a.key}

async def deployments():
    async with get_client() as client:
        return {name: describe(await client.read_deployment_by_name(name)) for name in sys.argv[1:3]}

out = {"deployments": asyncio.run(deployments()), "runs": []}
for parameters in json.loads(sys.argv[3]):
    run = run_deployment(sys.argv[2], parameters=parameters, timeout=300)
    found = asyncio.run(artifacts(run.id))
    out["runs"].append({"state": run.state.type.value, "message": run.state.message, "artifacts": found})
print(json.dumps(out, default=lambda value: getattr(value, "value", str(value))))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen) -> None:
    """Stop a process started in its own session, and everything it started."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def prefect_server(tmp_path) -> Iterator[dict[str, str]]:
    """A real `prefect server` on a free loopback port with its own PREFECT_HOME; yields the
    environment for clients of it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "prefect server did not become healthy"
            time.sleep(0.5)
        yield {**env, "PREFECT_API_URL": api}
    finally:
        stop(server)
        log.close()


@pytest.mark.slow
def test_deployment_on_a_real_server(prefect_server, tmp_path):
    env = prefect_server
    raw, out = tmp_path / "raw", tmp_path / "out"
    if DEMO_RAW.is_dir() and any(DEMO_RAW.iterdir()):
        import shutil

        shutil.copytree(DEMO_RAW, raw)
    else:
        raw.mkdir()
        (raw / "a.txt").write_text("The harbour authority approved the new ferry terminal on Monday.")
    prefect = [sys.executable, "-m", "prefect"]

    # flows/deploy.py serves the deployment (its own name, our directories, no schedule)...
    serve_log = (tmp_path / "serve.log").open("w")
    serve_args = ["--name", "e2e", "--input", str(raw), "--output", str(out), "--no-schedule"]
    serve = subprocess.Popen(
        [sys.executable, "flows/deploy.py", *serve_args],
        env=env,
        cwd=PROJECT,
        stdout=serve_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # ... while prefect.yaml is registered as the README's worker set-up does it.
        yaml_env = {**env, "PWD": str(PROJECT)}
        for command in (
            ["work-pool", "create", "newsfold", "--type", "process"],
            ["--no-prompt", "deploy", "--all"],
        ):
            done = subprocess.run(
                [*prefect, *command], env=yaml_env, cwd=PROJECT, capture_output=True, text=True, timeout=180
            )
            assert done.returncode == 0, done.stdout + done.stderr
        runs = json.dumps([{}, {"input_dir": str(tmp_path / "missing")}])
        deadline = time.monotonic() + 120
        while True:  # the served deployment exists once serve has registered it
            trigger = subprocess.run(
                [sys.executable, "-c", TRIGGER, "newsfold/scheduled", "newsfold/e2e", runs],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if trigger.returncode == 0 or time.monotonic() > deadline or serve.poll() is not None:
                break
            time.sleep(2)
        assert trigger.returncode == 0, trigger.stderr[-3000:] + (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        stop(serve)
        serve_log.close()
    result = json.loads(trigger.stdout.strip().splitlines()[-1])

    scheduled, served = result["deployments"]["newsfold/scheduled"], result["deployments"]["newsfold/e2e"]
    assert scheduled["entrypoint"] == "flows/deploy.py:scheduled_newsfold"
    assert scheduled["schedules"] == [["0 * * * *", "UTC", True]]
    defaults = {"input_dir": "data/raw", "output_dir": "data/processed", "config_path": None, "full": False}
    assert scheduled["parameters"] == defaults
    assert served["parameters"]["input_dir"] == str(raw) and served["schedules"] == []
    for deployment in (scheduled, served):
        assert deployment["concurrency"] == 1 and deployment["collision"] == "ENQUEUE"

    ok, failed = result["runs"]
    assert ok["state"] == "COMPLETED", ok["message"]
    assert set(ok["artifacts"]) == {"newsfold-summary", "newsfold-stories", "newsfold-quarantine"}
    assert "## Biggest stories" in ok["artifacts"]["newsfold-summary"]["data"]
    # The deployment's output is what the library writes from the same input.
    reference = pipeline.run(raw, tmp_path / "reference")
    for name in ("articles", "stories", "shared_text", "quarantine"):
        assert store.read_table(out, name).equals(store.read_table(tmp_path / "reference", name)), name
    assert store.read_manifest(out)["counts"] == reference.counts
    assert failed["state"] == "FAILED"
    assert "input directory not found" in failed["message"]


def test_deployment_definition():
    import deploy

    assert deploy.scheduled_newsfold.timeout_seconds == deploy.TIMEOUT_SECONDS == 3600
    assert deploy.scheduled_newsfold.name == "newsfold"
    deployment = deploy.build_deployment("in", "out", name="nightly", cron="30 2 * * *")
    assert deployment.entrypoint.endswith("deploy.py:scheduled_newsfold")
    assert deployment.parameters == {
        "input_dir": "in",
        "output_dir": "out",
        "config_path": None,
        "full": False,
    }
    assert [s.schedule.cron for s in deployment.schedules] == ["30 2 * * *"]
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options is not None
    assert deployment.concurrency_options.collision_strategy.value == "ENQUEUE"
    assert deploy.build_deployment(cron=None).schedules == []


def test_artifact_content_of_an_incremental_run(tmp_path):
    import artifacts

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("The harbour | authority approved the ferry terminal.\nSecond line.")
    (raw / "empty.txt").write_bytes(b"")
    pipeline.run(raw, tmp_path / "out")
    (raw / "b.txt").write_text("A different story about the city orchestra and its new season.")
    report = pipeline.run(raw, tmp_path / "out")
    stories = store.read_version_table(report.version_dir, "stories")
    quarantine = store.read_version_table(report.version_dir, "quarantine")
    text = artifacts.render_summary(report, stories, quarantine)
    assert "**incremental** run wrote a new version" in text
    assert "## New stories (1)" in text and "city orchestra" in text.lower()
    assert "## Quarantined (1)" in text and "| `empty.txt` | empty file |" in text
    assert "\\|" in text  # a pipe in a headline does not break the table
    rows = artifacts.story_table(stories)
    assert [r["n_articles"] for r in rows] == sorted((r["n_articles"] for r in rows), reverse=True)
    assert artifacts.quarantine_table(quarantine) == [{"source_file": "empty.txt", "reason": "empty file"}]
    unchanged = artifacts.render_summary(pipeline.run(raw, tmp_path / "out"), stories, quarantine)
    assert "found nothing new" in unchanged
