"""The kernels' vector width: set from the host once, the same bits at any width."""

import json
import os
import subprocess
import sys

import llvmlite.binding as llvm
import pytest

_SIGN = """
import json, sys
import numpy as np
from newsfold.minhash import MinHasher
texts = [f"story {i} " + " ".join(f"w{(i * 7 + j) % 97}" for j in range(120)) for i in range(200)]
texts += ["é" * 50 + " İstanbul Σ", "short", ""]
sketches = MinHasher(num_perm=256, seed=3).char_sketches(texts, 7, count_up_to=50, prefix_chars=100)
import os
print(json.dumps({
    "features": os.environ.get("NUMBA_CPU_FEATURES"),
    "signatures": sketches.signatures.tolist(),
    "prefix": sketches.prefix_signatures.tolist(),
    "distinct": sketches.distinct.tolist(),
}))
"""


def _run(code: str, **env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_FEATURES", "NUMBA_CPU_NAME")}
    out = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_wide_vectors_only_with_avx512_and_never_over_the_users_choice() -> None:
    host = llvm.get_host_cpu_features()
    chosen = _run(
        "import os, newsfold.jit; import json; print(json.dumps(os.environ.get('NUMBA_CPU_FEATURES')))"
    )
    if host.get("avx512f") and host.get("avx512bw"):
        assert chosen == host.flatten() + ",-prefer-256-bit"
    else:
        assert chosen is None
    mine = _run(
        "import os, newsfold.jit; import json; print(json.dumps(os.environ.get('NUMBA_CPU_FEATURES')))",
        NUMBA_CPU_FEATURES=host.flatten(),
    )
    assert mine == host.flatten()


def test_signatures_do_not_depend_on_the_vector_width() -> None:
    host = llvm.get_host_cpu_features()
    if not host.get("avx512f"):
        pytest.skip("the host has no AVX-512: one vector width only")
    wide = _run(_SIGN)
    narrow = _run(_SIGN, NUMBA_CPU_FEATURES=host.flatten())  # LLVM's own tuning: 256-bit vectors
    assert wide["features"].endswith("-prefer-256-bit") and narrow["features"] == host.flatten()
    for key in ("signatures", "prefix", "distinct"):
        assert wide[key] == narrow[key]
