"""The Prefect flow, run for real under prefect_test_harness, writes what the CLI writes."""

import sys

import pytest

from conftest import DEMO_RAW, PROJECT
from newsfold import cli, store

sys.path.insert(0, str(PROJECT / "flows"))

DATASETS = ("articles", "stories", "shared_text", "quarantine")


@pytest.mark.slow
def test_flow_matches_cli(prefect_harness, tmp_path):
    from newsfold_flow import newsfold_flow

    counts = newsfold_flow(input_dir=str(DEMO_RAW), output_dir=str(tmp_path / "flow"))
    assert cli.main(["run", str(DEMO_RAW), str(tmp_path / "cli")]) == 0
    assert counts["articles"] > 0
    for name in DATASETS:
        flow_table = store.read_table(tmp_path / "flow", name)
        cli_table = store.read_table(tmp_path / "cli", name)
        assert flow_table.equals(cli_table), name
    assert store.read_manifest(tmp_path / "flow")["counts"] == counts


@pytest.mark.slow
def test_flow_fails_loudly_on_a_missing_input(prefect_harness, tmp_path):
    from newsfold_flow import newsfold_flow

    with pytest.raises(FileNotFoundError, match="input directory not found"):
        newsfold_flow(input_dir=str(tmp_path / "missing"), output_dir=str(tmp_path / "out"))
