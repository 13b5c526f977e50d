"""Where a run's memory peaks: sample its resident set and the main thread's stack.

python bench/profile_memory.py bench/corpus/news-n1000000-s0/raw [--interval 0.25] [--rows 60]

Every `interval` seconds a daemon thread reads the process's resident set (/proc/self/statm)
and the innermost newsfold frames of the main thread, so each sample says which step the
memory was held in. It prints the largest sample and a timeline of `rows` evenly spaced
samples. Below a sixth of physical memory the heap keeps what is freed (newsfold.heap), so the
resident set only grows: the timeline shows a stage's own peak from 10^6 articles on, where
freed blocks go back to the system. The run writes to a temporary directory, in full mode.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from newsfold import pipeline
from profile_cores import newsfold_frames

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("raw", type=Path, help="input directory")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    parser.add_argument("--rows", type=int, default=60, help="samples in the timeline")
    args = parser.parse_args()

    samples: list[tuple[float, int, str]] = []
    main_thread = threading.main_thread().ident or 0
    done = threading.Event()

    def sample() -> None:
        start = time.perf_counter()
        while not done.is_set():
            frames = newsfold_frames(sys._current_frames().get(main_thread), 4, True)
            samples.append((time.perf_counter() - start, _resident_bytes(), frames))
            done.wait(args.interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp:
        pipeline.run(args.raw, Path(tmp) / "out", full=True)
    done.set()
    sampler.join()

    seconds, peak, frames = max(samples, key=lambda s: s[1])
    print(f"peak {peak / 2**30:.2f} GiB at {seconds:.1f} s in {frames}")
    print(f"{'s':>7} {'GiB':>6}  innermost newsfold frames of the main thread")
    for seconds, resident, frames in samples[:: max(1, len(samples) // args.rows)]:
        print(f"{seconds:7.1f} {resident / 2**30:6.2f}  {frames}")


if __name__ == "__main__":
    main()
