"""The run lock: one run per output directory, a clear message, stale locks recovered."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from newsfold import cli, lock

HOLD_SCRIPT = """
import sys, time
from pathlib import Path
from newsfold import lock
with lock.hold(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def start_holder(out_dir):
    """A separate process holding out_dir's lock until it is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(out_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_lock_file_names_its_owner_and_is_removed_after(tmp_path):
    with lock.hold(tmp_path / "out") as path:
        owner = json.loads(path.read_text())
        assert owner["pid"] == os.getpid()
        assert owner["host"] == socket.gethostname()
        assert owner["started"]
        assert lock.read_owner(tmp_path / "out") == owner
    assert not path.exists()
    assert lock.read_owner(tmp_path / "out") is None
    assert [p.name for p in (tmp_path / "out").iterdir()] == []  # no temporary files left


def test_second_holder_is_refused_with_a_clear_message(tmp_path):
    with lock.hold(tmp_path), pytest.raises(lock.LockHeldError) as err:  # noqa: SIM117
        with lock.hold(tmp_path):
            pass
    message = str(err.value)
    assert f"pid {os.getpid()}" in message and socket.gethostname() in message
    assert "another newsfold run holds" in message and lock.LOCK_NAME in message


def test_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError), lock.hold(tmp_path):
        raise RuntimeError("boom")
    with lock.hold(tmp_path):
        pass


def test_a_lock_held_by_another_live_process_is_respected(tmp_path):
    holder = start_holder(tmp_path)
    try:
        with pytest.raises(lock.LockHeldError, match=f"pid {holder.pid}"), lock.hold(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_lock_of_a_process_killed_with_sigkill_is_recovered(tmp_path):
    holder = start_holder(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / lock.LOCK_NAME).exists()  # left behind by the dead run
    with lock.hold(tmp_path) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_stale_lock_file_with_a_dead_pid_is_recovered(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = {"pid": dead.pid, "host": socket.gethostname(), "started": "2020-01-01T00:00:00+00:00"}
    (tmp_path / lock.LOCK_NAME).write_text(json.dumps(stale))
    with lock.hold(tmp_path) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_cli_run_on_a_locked_output_exits_1_with_the_owner(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("One article about the harbour.")
    holder = start_holder(tmp_path / "out")
    try:
        started = time.perf_counter()
        assert cli.main(["run", str(raw), str(tmp_path / "out")]) == 1
        assert time.perf_counter() - started < 30  # refused, not waiting
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert "another newsfold run holds" in err and f"pid {holder.pid}" in err
    assert cli.main(["run", str(raw), str(tmp_path / "out")]) == 0  # the dead holder's lock is stale
