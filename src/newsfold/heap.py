"""Keep the memory a run frees for the run's next allocations, and hand it back at the end.

A run allocates and frees many large buffers (a corpus's UTF-8 bytes, shingle sets, signature
blocks, arrow columns). glibc serves a block above its mmap threshold (at most 32 MB) with a
fresh mapping and unmaps it on free, and trims free memory at the top of its heaps, so each such
buffer is new memory that the kernel must fault in and zero. On a virtual machine that hands
free guest memory back to its host (free page reporting, as on this project's Firecracker
machines) that memory is cold every time: zeroing it ran at ~0.3 GB/s here, against ~6 GB/s for
memory the process reuses, and at 10^5 articles it was ~14 of the run's 115 CPU seconds.

:func:`retained` makes glibc keep freed memory in one heap for the duration of a run (no mmap,
no trim, one arena: the threads' kernels allocate from the same heap), and gives it back with
one ``malloc_trim`` when the run ends. Between stages :func:`trim_if_large` still trims when the
process holds more than a quarter of the machine's memory, so a corpus near the machine's size
keeps the bounded peak it had (the 10^6-article run).

Elsewhere than glibc all of this does nothing.
"""

import ctypes
import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (malloc.h) and glibc's defaults for them.
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 128 * 1024, 65536
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int: trim only a top free chunk above 2 GB
_TRIM_SHARE = 4  # trim between stages above 1/_TRIM_SHARE of physical memory
_depth = 0  # retained() blocks open now, in any thread
_depth_lock = threading.Lock()


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return None
    if not (hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt")):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


def resident_bytes() -> int | None:
    """The process's resident set now (None where /proc is not there)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def physical_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def trim() -> None:
    """Hand the free memory of the heaps back to the OS."""
    if (libc := _libc()) is not None:
        libc.malloc_trim(0)


def trim_if_large() -> None:
    """trim() when the process holds more than a quarter of physical memory (or its size is
    unknown): freed memory is then worth more to the next stage's peak than to its speed."""
    rss, ram = resident_bytes(), physical_bytes()
    if rss is None or ram is None or rss * _TRIM_SHARE > ram:
        trim()


@contextmanager
def retained() -> Iterator[None]:
    """Within the block, glibc keeps freed memory for reuse; when the outermost block open (in
    any thread) ends, its defaults are back and the free memory is trimmed.

    The one-arena limit is not undone: glibc reads it once, when a thread first needs an arena
    of its own (so in a process whose threads already have arenas it has no effect either).
    """
    global _depth
    libc = _libc()
    if libc is None:
        yield
        return
    with _depth_lock:
        if _depth == 0:
            libc.mallopt(_M_ARENA_MAX, 1)
            libc.mallopt(_M_MMAP_MAX, 0)
            libc.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM)
        _depth += 1
    try:
        yield
    finally:
        with _depth_lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
                libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)
