import json
import subprocess
import sys

from conftest import DEMO_RAW
from newsfold import cli, store


def test_run_prints_a_summary_and_writes_the_dataset(tmp_path, capsys):
    assert cli.main(["run", str(DEMO_RAW), str(tmp_path / "out")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("newsfold: ") and "stories" in line and "quarantined" in line
    manifest = store.read_manifest(tmp_path / "out")
    assert manifest["counts"]["articles"] == store.read_table(tmp_path / "out", "articles").num_rows


def test_missing_input_exits_2_with_a_message(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "input directory not found" in capsys.readouterr().err


def test_bad_config_exits_2(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"dedup": {"threshold": 7}}))
    assert cli.main(["run", str(DEMO_RAW), str(tmp_path / "out"), "--config", str(config)]) == 2
    assert "dedup.threshold" in capsys.readouterr().err


def test_unwritable_output_exits_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cli.main(["run", str(DEMO_RAW), str(blocker / "out")]) == 1
    assert "cannot write output" in capsys.readouterr().err


def test_python_dash_m_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "newsfold", "run", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "INPUT_DIR" in out or "input" in out
