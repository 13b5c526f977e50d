"""Keep the memory a run frees for the run's next allocations, and hand it back at the end.

A run allocates and frees many large buffers (a corpus's UTF-8 bytes, shingle sets, signature
blocks, arrow columns). glibc serves a block above its mmap threshold (at most 32 MB) with a
fresh mapping and unmaps it on free, and trims free memory at the top of its heaps, so each such
buffer is new memory that the kernel must fault in and zero. On a virtual machine that hands
free guest memory back to its host (free page reporting, as on this project's Firecracker
machines) that memory is cold every time: filling a fresh 350 MB array took 1.25-1.4 s here,
against 0.07-0.18 s when it reused pages just freed, and at 10^5 articles the main process spent
23.8 of its 115 CPU seconds in the kernel (11.9 with this module).

:func:`retained` makes glibc keep freed memory in one heap for the duration of a run (no mmap,
no trim, one arena: the threads' kernels allocate from the same heap), and gives it back with
one ``malloc_trim`` when the run ends. Memory held for reuse grows the peak, so a run whose
process holds more than a sixth of the machine's memory at the end of a stage keeps only part
of it from then on (:func:`after_stage`): blocks of 32 MB or more are mapped and unmapped when
freed, smaller ones stay in the heap up to a twelfth of memory. At 10^6 articles that cut the
main process's system time from 294 s (handing everything back after every stage, the previous
round's run) to 95-131 s, for a peak of 18.7-18.9 GiB instead of 18.3; keeping every freed block
ran out of 23.5 GB. The ingest
worker processes keep freed memory for as long as they live (:func:`keep_freed`).

A program that runs newsfold (the CLI, the flow and deployment scripts, the bench's runs) also
starts again with glibc told to ask the kernel for transparent huge pages
(:func:`reexec_with_huge_pages`), where the kernel gives them only to memory that asks
(``madvise`` mode). glibc's blocks then come in 2 MB pages, as numpy's own arrays already do.
What that buys here is memory asked for again after a block is freed: a 350 MB array allocated
after a 350 MB block was freed filled in 0.03-0.14 s with it, 1.2-1.3 s without (three
alternating processes each); the process's first block of that size was slower with it
(0.7-1.2 s against 0.3-0.6 s). Over whole 10^5-article runs, alternating: system time 11.6 and
10.0 s with, 13.7 and 11.0 s without; a run that gives its memory back after every stage (as a
run above a sixth of physical memory did before it kept small blocks) 15.8 and 19.4 s with,
19.5 and 23.6 s without.
``NEWSFOLD_HUGE_PAGES=0`` leaves the process as it was started.

Elsewhere than glibc all of this does nothing.
"""

import ctypes
import functools
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# mallopt parameters (malloc.h) and glibc's defaults for them.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -3, -4, -8
_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 128 * 1024, 65536
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int: trim only a top free chunk above 2 GB
_LARGE_SHARE = 6  # a process above 1/_LARGE_SHARE of physical memory keeps only what follows
_KEEP_SHARE = 12  # ... its freed blocks below _MAPPED_BLOCK, up to 1/_KEEP_SHARE of memory
_MAPPED_BLOCK = 32 * 2**20  # glibc's largest mmap threshold: larger blocks go back when freed
_WARM_MIN = 64 * 2**20  # below this, warm() costs more in threads than it saves
_THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
_HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb"  # glibc >= 2.35; older ones ignore it
_HUGE_PAGES_SWITCH = "NEWSFOLD_HUGE_PAGES"  # "0": do not start again with huge pages
_depth = 0  # retained() blocks open now, in any thread
_depth_lock = threading.Lock()
_keeping = False  # glibc keeps every freed block now (retained(), and not yet _bounded)


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
    libc.malloc.argtypes, libc.malloc.restype = [ctypes.c_size_t], ctypes.c_void_p
    libc.free.argtypes, libc.free.restype = [ctypes.c_void_p], None
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


def after_stage() -> None:
    """At the end of a stage: a process that holds more than a sixth of physical memory (or of
    unknown size) keeps at most a bounded share of it (:func:`_bounded`); one that holds less
    keeps all its freed memory for the next stage."""
    rss, ram = resident_bytes(), physical_bytes()
    if rss is None or ram is None:
        _release()
    elif rss * _LARGE_SHARE > ram:
        _bounded(ram)


def _bounded(ram: int) -> None:
    """Blocks of _MAPPED_BLOCK or more are mapped, and unmapped when freed, so they never hold
    up the heap; smaller ones (strings, bytes, a chunk's arrays) are reused warm, and the free
    heap is trimmed once it exceeds 1/_KEEP_SHARE of memory. Keeping every freed block in the
    heap instead grew a 10^6-article run past the machine's 23.5 GB."""
    if (libc := _libc()) is None:
        return
    global _keeping
    _keeping = False
    keep = min(ram // _KEEP_SHARE, _NEVER_TRIM)
    libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
    libc.mallopt(_M_MMAP_THRESHOLD, _MAPPED_BLOCK)
    libc.mallopt(_M_TRIM_THRESHOLD, keep)
    free = free_heap_bytes()
    if free is None or free > keep:
        libc.malloc_trim(0)


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")
    ]  # fmt: skip


def free_heap_bytes() -> int | None:
    """Free bytes held in glibc's heaps (mallinfo2's fordblks; None before glibc 2.33)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _MallInfo2
    return int(libc.mallinfo2().fordblks)


def _release() -> None:
    global _keeping
    _keeping = False
    if (libc := _libc()) is not None:
        libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
        libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
        libc.malloc_trim(0)


def _keep(libc: ctypes.CDLL) -> None:
    global _keeping
    _keeping = True
    libc.mallopt(_M_ARENA_MAX, 1)
    libc.mallopt(_M_MMAP_MAX, 0)
    libc.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM)


def warm(nbytes: int) -> bool:
    """Fault in `nbytes` of heap from two threads and free them, for the allocations that
    follow to reuse: where the host hands free guest memory back, a fresh page costs the
    faulting thread far more than a reused one (1.45 s for 355 MB in a slow hour, 0.05 s
    reused), and a stage that grows the process by a gigabyte from one thread pays all of it
    there. Only while the heap keeps freed memory (:func:`retained`, the process small, so the
    block stays in the heap when freed), and the process stays under the share of memory above
    which it keeps only part (:func:`after_stage`); else nothing. Returns whether it warmed.
    """
    libc = _libc()
    rss, ram = resident_bytes(), physical_bytes()
    if libc is None or not _keeping or nbytes < _WARM_MIN or rss is None or ram is None:
        return False
    if (rss + nbytes) * _LARGE_SHARE > ram:
        return False
    block = libc.malloc(nbytes)
    if not block:
        return False
    try:
        half = nbytes // 2
        # ctypes lets go of the GIL during a foreign call: the two halves fault in in parallel.
        fill = threading.Thread(target=ctypes.memset, args=(block + half, 0, nbytes - half))
        fill.start()
        ctypes.memset(block, 0, half)
        fill.join()
    finally:
        libc.free(block)
    return True


def keep_freed() -> None:
    """What retained() does, for the rest of the process: for a process of newsfold's own (an
    ingest worker, which reads file after file and ends with its pool)."""
    if (libc := _libc()) is not None:
        _keep(libc)


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
            _keep(libc)
        _depth += 1
    try:
        yield
    finally:
        with _depth_lock:
            _depth -= 1
            if _depth == 0:
                _release()


def huge_pages_env(environ: Mapping[str, str], thp_mode: Path = _THP_MODE) -> dict[str, str] | None:
    """`environ` with glibc's malloc told to madvise transparent huge pages for its heap and its
    mappings, or None when that would change nothing: not glibc, a kernel whose huge pages are
    off (``never``) or given to all memory anyway (``always``), glibc already told either way,
    or NEWSFOLD_HUGE_PAGES=0."""
    if environ.get(_HUGE_PAGES_SWITCH) == "0" or _libc() is None:
        return None
    try:
        mode = thp_mode.read_text()
    except OSError:  # not Linux, or a kernel without transparent huge pages
        return None
    tunables = environ.get("GLIBC_TUNABLES", "")
    if "[madvise]" not in mode or f"{_HUGE_PAGES_TUNABLE}=" in tunables:
        return None
    setting = f"{_HUGE_PAGES_TUNABLE}=1"
    return {**environ, "GLIBC_TUNABLES": f"{tunables}:{setting}" if tunables else setting}


def reexec_with_huge_pages() -> None:
    """Start this program again, as it was started, with glibc asking for huge pages
    (:func:`huge_pages_env`); return when there is nothing to change. glibc reads its tunables
    once, when the process starts, so a program's entry point calls this before it does any
    work; the processes it starts inherit the setting."""
    env = huge_pages_env(os.environ)
    if env is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, sys.orig_argv, env)
