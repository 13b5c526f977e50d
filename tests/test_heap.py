"""newsfold.heap: freed memory stays resident inside a run and is handed back at its end."""

import json
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
    with heap.retained():
        seen["retained_again"] = released_on_free()
        heap.physical_bytes = lambda: 5 * heap.resident_bytes()  # the process is now "large"
        heap.after_stage()
        seen["after_a_large_stage"] = released_on_free()
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
    assert seen["after_a_large_stage"] > 0.9  # a large process keeps nothing for the rest


def test_after_stage_releases_only_above_a_sixth_of_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    releases: list[None] = []
    monkeypatch.setattr(heap, "_release", lambda: releases.append(None))
    monkeypatch.setattr(heap, "physical_bytes", lambda: 24 * 2**30)
    monkeypatch.setattr(heap, "resident_bytes", lambda: 3 * 2**30)
    heap.after_stage()
    assert releases == []
    monkeypatch.setattr(heap, "resident_bytes", lambda: 5 * 2**30)
    heap.after_stage()
    assert len(releases) == 1
    monkeypatch.setattr(heap, "resident_bytes", lambda: None)  # size unknown: release to be safe
    heap.after_stage()
    assert len(releases) == 2
