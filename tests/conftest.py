"""Shared fixtures: paths to ../shared (skipped cleanly when absent) and one Prefect test harness."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Prefect reads these at import: keep its state out of ~ and its server quiet and patient. A
# home made here goes when the tests end (`make test` passes one of its own, and removes it).
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="newsfold-prefect-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
DEMO_RAW = PROJECT / "data" / "raw"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when the shared material is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (shared material lives beside the checkout)")
    return path


def run_python_bound_by_permissions(*args: str) -> subprocess.CompletedProcess[str]:
    """Run this Python with `args` so that file permission bits bind, even when we are root.

    Root reads a chmod 000 file through the capabilities CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH;
    as root the command runs under util-linux's setpriv with both dropped from its bounding set,
    so the kernel refuses it exactly as it refuses any other user (root still owns the files it
    made, and their owner bits still apply). Skips when root and setpriv is missing.
    """
    command = [sys.executable, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop the capability to read any file")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=240)


@pytest.fixture
def seeds_dir() -> Path:
    return shared_path("seeds")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
