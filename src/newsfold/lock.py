"""Run lock: one newsfold run at a time per output directory.

The lock is a file, ``OUT/.newsfold.lock``, created atomically (O_EXCL semantics through
``os.link``) and holding the owner's pid, host and start time as JSON. While the run lasts its
process also holds an advisory ``flock`` on the file: the kernel drops that the moment the
process dies, even by ``kill -9``, so a later run can tell a stale lock (file present, nobody
holding the flock) from a live one without trusting pids, which get reused. On filesystems
without ``flock`` the pid is checked instead (same host only).
"""

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOCK_NAME = ".newsfold.lock"


class LockHeldError(RuntimeError):
    """Another newsfold run holds the output directory's lock."""

    def __init__(self, path: Path, owner: dict[str, Any]) -> None:
        who = f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}, started {owner.get('started', '?')}"
        super().__init__(
            f"another newsfold run holds {path} ({who}); it is released when that run ends. "
            "If no run is active, delete the file."
        )
        self.path = path
        self.owner = owner


def _owner() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv)[:500],
    }


def _read_owner(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _try_flock(fd: int) -> bool | None:
    """Take the flock without waiting: True if taken, False if held elsewhere, None if unsupported."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        return None
    return True


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _is_stale(path: Path) -> tuple[bool, dict[str, Any], int | None]:
    """Whether the lock file at path is stale; returns (stale, owner, fd holding its flock or None)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True, {}, None
    owner = _read_owner(path)
    taken = _try_flock(fd)
    if taken is True:  # nobody holds it: its process is gone
        return True, owner, fd
    os.close(fd)
    if taken is None:  # no flock on this filesystem: fall back to the pid, on this host only
        stale = owner.get("host") == socket.gethostname() and not _pid_alive(owner.get("pid"))
        return stale, owner, None
    return False, owner, None


@contextlib.contextmanager
def hold(out_dir: Path) -> Iterator[Path]:
    """Hold the run lock of out_dir for the duration of the ``with`` block.

    Creates out_dir if needed. A stale lock (its process died) is replaced.

    Raises:
        LockHeldError: Another live run holds the lock.
        OSError: out_dir cannot be created or written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    # Write the owner to a private file and flock it first, then link it into place: the lock
    # file never exists half-written or unlocked.
    tmp = out_dir / f"{LOCK_NAME}.{uuid.uuid4().hex[:12]}"
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, (json.dumps(_owner()) + "\n").encode())
        os.fsync(fd)
        _try_flock(fd)
        for _attempt in range(3):
            try:
                os.link(tmp, path)
                break
            except FileExistsError:
                stale, owner, stale_fd = _is_stale(path)
                if not stale:
                    raise LockHeldError(path, owner) from None
                try:
                    # Holding the stale file's flock, we are the only one replacing it.
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
                finally:
                    if stale_fd is not None:
                        os.close(stale_fd)
        else:
            raise LockHeldError(path, _read_owner(path))
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    os.unlink(tmp)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def read_owner(out_dir: Path) -> dict[str, Any] | None:
    """The owner recorded in out_dir's lock file, or None when it is not locked."""
    path = Path(out_dir) / LOCK_NAME
    return _read_owner(path) if path.exists() else None
