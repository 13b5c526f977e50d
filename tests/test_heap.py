"""newsfold.heap: freed memory stays resident inside a run and is handed back at its end."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from newsfold import heap

pytestmark = pytest.mark.skipif(heap._libc() is None, reason="the allocator is not glibc's")

# In a fresh process, so that the test process's heap and settings are not touched: free a
# 256 MB array in each situation and report how much of it left the resident set.
_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from newsfold import heap

    SIZE = 256 * 2**20

    def released_on_free():
        block = np.ones(SIZE, dtype=np.uint8)
        held = heap.resident_bytes()
        del block
        return (held - heap.resident_bytes()) / SIZE

    seen = {"default": released_on_free()}
    with heap.retained():
        seen["retained"] = released_on_free()
        with heap.retained():
            pass
        seen["after_inner_block"] = released_on_free()
        held = heap.resident_bytes()
    seen["released_at_exit"] = (held - heap.resident_bytes()) / SIZE
    seen["default_again"] = released_on_free()
    def small_blocks(size):
        return [np.ones(2**20, dtype=np.uint8) for _ in range(size // 2**20)]

    with heap.retained():
        seen["retained_again"] = released_on_free()
        heap.physical_bytes = lambda: 5 * heap.resident_bytes()  # the process is now "large"
        heap.after_stage()
        seen["after_a_large_stage"] = released_on_free()
        blocks = small_blocks(SIZE // 4)  # below the share a large process keeps
        held = heap.resident_bytes()
        del blocks
        seen["small_after_a_large_stage"] = (held - heap.resident_bytes()) / (SIZE // 4)
    with heap.retained():
        blocks = small_blocks(SIZE)
        held = heap.resident_bytes()
        del blocks
        heap.physical_bytes = lambda: 5 * heap.resident_bytes()
        heap.after_stage()  # more free heap than a large process keeps
        seen["trimmed_after_a_large_stage"] = (held - heap.resident_bytes()) / SIZE
    print(json.dumps(seen))
    """
)


def test_freed_memory_is_kept_within_retained_and_handed_back_after() -> None:
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert seen["default"] > 0.9  # glibc unmaps a block this large when it is freed
    assert seen["retained"] < 0.1
    assert seen["after_inner_block"] < 0.1  # an inner block's end does not undo the outer one
    assert seen["released_at_exit"] > 0.9  # the freed block, trimmed when the block ends
    assert seen["default_again"] > 0.9
    assert seen["retained_again"] < 0.1
    assert seen["after_a_large_stage"] > 0.9  # a large process keeps no large block
    assert seen["small_after_a_large_stage"] < 0.1  # but small ones, up to a share of memory
    assert seen["trimmed_after_a_large_stage"] > 0.9


_WARM_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from newsfold import heap

    SIZE = 256 * 2**20
    seen = {"outside_retained": heap.warm(SIZE)}
    with heap.retained():
        before = heap.resident_bytes()
        seen["warmed"] = heap.warm(SIZE)
        warm = heap.resident_bytes()
        block = np.ones(SIZE, dtype=np.uint8)  # the stage's own allocation
        seen["kept_after_warm"] = (warm - before) / SIZE
        seen["grown_by_the_allocation"] = (heap.resident_bytes() - warm) / SIZE
        del block
        ram = heap.physical_bytes
        heap.physical_bytes = lambda: 5 * heap.resident_bytes()  # would pass a sixth of memory
        seen["past_the_share"] = heap.warm(SIZE)
        heap.physical_bytes = ram
        heap._bounded(10 * heap.resident_bytes())  # a large stage ended: big blocks go back when freed
        seen["once_bounded"] = heap.warm(SIZE)
    print(json.dumps(seen))
    """
)


def test_warm_faults_in_memory_that_the_next_allocation_reuses() -> None:
    out = subprocess.run([sys.executable, "-c", _WARM_SCRIPT], capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert seen["warmed"] is True
    assert seen["kept_after_warm"] > 0.9  # freed, but resident in the heap
    assert seen["grown_by_the_allocation"] < 0.1  # the allocation took the warmed pages
    # Where freed memory would go back, warming would be work for nothing.
    assert seen["outside_retained"] is False
    assert seen["past_the_share"] is False
    assert seen["once_bounded"] is False


def test_after_stage_bounds_what_is_kept_above_a_sixth_of_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(heap, "_release", lambda: calls.append("release"))
    monkeypatch.setattr(heap, "_bounded", calls.append)
    monkeypatch.setattr(heap, "physical_bytes", lambda: 24 * 2**30)
    monkeypatch.setattr(heap, "resident_bytes", lambda: 3 * 2**30)
    heap.after_stage()
    assert calls == []
    monkeypatch.setattr(heap, "resident_bytes", lambda: 5 * 2**30)
    heap.after_stage()
    assert calls == [24 * 2**30]
    monkeypatch.setattr(heap, "resident_bytes", lambda: None)  # size unknown: release to be safe
    heap.after_stage()
    assert calls == [24 * 2**30, "release"]


@pytest.mark.parametrize(
    ("mode", "environ", "tunables"),
    [
        ("always [madvise] never\n", {}, "glibc.malloc.hugetlb=1"),
        ("always [madvise] never\n", {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"},
         "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"),
        ("always [madvise] never\n", {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, None),  # the user's
        ("always [madvise] never\n", {"NEWSFOLD_HUGE_PAGES": "0"}, None),
        ("[always] madvise never\n", {}, None),  # every mapping gets huge pages anyway
        ("always madvise [never]\n", {}, None),
        (None, {}, None),  # no transparent huge pages in this kernel
    ],
)  # fmt: skip
def test_huge_pages_env_asks_glibc_only_where_it_changes_something(tmp_path, mode, environ, tunables) -> None:
    thp = tmp_path / "enabled"
    if mode is not None:
        thp.write_text(mode)
    env = heap.huge_pages_env({"PATH": "/bin", **environ}, thp)
    if tunables is None:
        assert env is None
    else:
        assert env == {"PATH": "/bin", **environ, "GLIBC_TUNABLES": tunables}


_REEXEC_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from newsfold import heap

    heap.reexec_with_huge_pages()
    # Above glibc's mmap threshold: a mapping of its own, written through (numpy asks for huge
    # pages for its own arrays; Python objects, arrow buffers and compiled kernels' arrays do not).
    block = bytearray(64 * 2**20)
    with open("/proc/self/smaps_rollup") as fh:
        huge = next(int(line.split()[1]) for line in fh if line.startswith("AnonHugePages:"))
    print(json.dumps({"argv": sys.argv[1:], "tunables": os.environ.get("GLIBC_TUNABLES"), "huge_kb": huge}))
    """
)


def test_a_program_starts_again_with_huge_pages_for_its_fresh_memory(tmp_path) -> None:
    if "[madvise]" not in (heap._THP_MODE.read_text() if heap._THP_MODE.exists() else ""):
        pytest.skip("this kernel's transparent huge pages are not in madvise mode: nothing to ask for")
    script = tmp_path / "program.py"
    script.write_text(_REEXEC_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in {"GLIBC_TUNABLES", "NEWSFOLD_HUGE_PAGES"}}
    run = subprocess.run(
        [sys.executable, str(script), "an", "argument"], capture_output=True, text=True, env=env, check=True
    )
    seen = json.loads(run.stdout)
    assert seen["argv"] == ["an", "argument"]  # the same program, started again as it was
    assert seen["tunables"] == "glibc.malloc.hugetlb=1"
    assert seen["huge_kb"] >= 2048  # the block's memory came at least partly in 2 MB pages
    # Switched off, the program runs as started, in small pages.
    off = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True,
        env={**env, "NEWSFOLD_HUGE_PAGES": "0"},
    )  # fmt: skip
    assert json.loads(off.stdout)["tunables"] is None
    assert json.loads(off.stdout)["huge_kb"] == 0
