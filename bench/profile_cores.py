"""Where a run leaves a core idle: sample the main thread's stack and the processes' CPU time.

python bench/profile_cores.py bench/corpus/news-n100000-s0/raw [--top 30] [--interval 0.05]
    [--lines] [--by-wall]

cProfile sees only the main thread, so the compiled kernels that run in worker threads show up
as time spent waiting on a lock. This samples instead: every `interval` seconds it reads the CPU
time of the process and of its children (all threads; the ingest workers are processes) and
the innermost newsfold frames of the main thread, and charges the wall time since the last
sample, with the cores used in it, to those frames. A
function at a utilisation near 1.0 runs on one core while the other is idle (Python, a serial
kernel, a numpy sort); "idle core-s" is the core time it leaves unused on this 2-core machine,
so the list is ordered by what running it in parallel (or not at all) could save. Stage totals
come from the run's own timer. The run writes to a temporary directory, in full mode.
"""

import argparse
import collections
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from newsfold import pipeline

_TICKS = os.sysconf("SC_CLK_TCK")
_CORES = os.cpu_count() or 1


def _stat(pid: int | str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:  # the process has exited
        return None


class _ProcessTreeCpu:
    """CPU seconds (user plus system, all threads) of this process and of every process below
    it, such as the ingest workers, summed over each process's lifetime as far as it was seen
    (an exited worker keeps what it had used at its last sample)."""

    def __init__(self) -> None:
        self._last: dict[int, float] = {}
        self._gone = 0.0

    def __call__(self) -> float:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (fields := _stat(entry)) is not None:
                parents[int(entry)] = int(fields[1])
        tree, frontier = {os.getpid()}, [os.getpid()]
        while frontier:
            parent = frontier.pop()
            for pid, ppid in parents.items():
                if ppid == parent and pid not in tree:
                    tree.add(pid)
                    frontier.append(pid)
        seen = {}
        for pid in tree:
            if (fields := _stat(pid)) is not None:
                seen[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
        self._gone += sum(cpu for pid, cpu in self._last.items() if pid not in seen)
        self._last = seen
        return self._gone + sum(seen.values())


def newsfold_frames(frame: FrameType | None, depth: int, lines: bool = False) -> str:
    names = []
    while frame is not None and len(names) < depth:
        code = frame.f_code
        if "newsfold" in code.co_filename:
            line = f":{frame.f_lineno}" if lines and not names else ""
            names.append(f"{Path(code.co_filename).stem}.{code.co_name}{line}")
        frame = frame.f_back
    return " < ".join(names) or "(outside newsfold)"


class CoreSampler:
    """Samples (wall seconds, cores used, main-thread frames) in a daemon thread."""

    def __init__(self, interval: float, depth: int = 2, lines: bool = False) -> None:
        self.interval, self.depth, self.lines = interval, depth, lines
        self.samples: list[tuple[float, float, str]] = []
        self._stop = threading.Event()
        self._main = threading.main_thread().ident

    def _run(self) -> None:
        cpu_seconds = _ProcessTreeCpu()
        cpu, wall = cpu_seconds(), time.perf_counter()
        while not self._stop.wait(self.interval):
            now_cpu, now_wall = cpu_seconds(), time.perf_counter()
            frames = newsfold_frames(sys._current_frames().get(self._main or 0), self.depth, self.lines)
            dt = now_wall - wall
            self.samples.append((dt, (now_cpu - cpu) / dt if dt > 0 else 0.0, frames))
            cpu, wall = now_cpu, now_wall

    def __enter__(self) -> "CoreSampler":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def table(self, top: int, by_wall: bool = False) -> str:
        by_frames: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])
        for dt, cores, frames in self.samples:
            by_frames[frames][0] += dt
            by_frames[frames][1] += dt * cores
        wall = sum(w for w, _ in by_frames.values())
        cpu = sum(c for _, c in by_frames.values())
        if by_wall:
            rows = sorted(by_frames.items(), key=lambda kv: -kv[1][0])
        else:
            rows = sorted(by_frames.items(), key=lambda kv: kv[1][1] - kv[1][0] * _CORES)
        lines = [
            f"sampled {wall:.1f} s, {cpu:.1f} core-s: {cpu / wall:.2f} of {_CORES} cores on average",
            f"{'wall s':>7} {'cores':>6} {'idle core-s':>12}  innermost newsfold frames of the main thread",
        ]
        for frames, (w, c) in rows[:top]:
            lines.append(f"{w:7.2f} {c / w:6.2f} {w * _CORES - c:12.2f}  {frames}")
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("raw", type=Path, help="input directory")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--lines", action="store_true", help="the innermost frame's line number too")
    parser.add_argument("--by-wall", action="store_true", help="order by wall time, not idle core time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, CoreSampler(args.interval, lines=args.lines) as sampler:
        report = pipeline.run(args.raw, Path(tmp) / "out", full=True)
    print("stage seconds:", {k: round(v, 1) for k, v in report.seconds.items()})
    print(sampler.table(args.top, args.by_wall))


if __name__ == "__main__":
    main()
