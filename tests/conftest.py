"""Shared fixtures: paths to ../shared (skipped cleanly when absent) and one Prefect test harness."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Prefect reads these at import: keep its state out of ~ and its server quiet and patient.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="newsfold-prefect-"))
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


@pytest.fixture
def seeds_dir() -> Path:
    return shared_path("seeds")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
