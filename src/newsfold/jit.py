"""numba's `njit`, compiling the kernels for the full vector width of a host with AVX-512."""

import os


def _allow_wide_vectors() -> None:
    """Let LLVM vectorise with 512-bit registers where the host has AVX-512.

    LLVM's tuning for Intel server cores (Skylake-X to Emerald Rapids) prefers 256-bit vectors,
    so numba's kernels use half of the registers' width. Most of a run's kernels are loops of
    32-bit integer multiplies and minima over contiguous arrays (the signatures: ~10^10
    shingle-permutations per 10^5 articles), where twice the lanes is close to twice the speed:
    dedup's signature pass over 10^4 articles took 0.33 s instead of 0.42 s on a 2-core Emerald
    Rapids guest, with the same bits. Numba reads the feature string before its first
    compilation and keys its cache on it; a user's own NUMBA_CPU_NAME or NUMBA_CPU_FEATURES is
    left alone. Set in the environment, it reaches the ingest worker processes too.
    """
    if "NUMBA_CPU_FEATURES" in os.environ or "NUMBA_CPU_NAME" in os.environ:
        return
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if features.get("avx512f") and features.get("avx512bw"):
        os.environ["NUMBA_CPU_FEATURES"] = features.flatten() + ",-prefer-256-bit"


_allow_wide_vectors()

from numba import njit  # noqa: E402  (after the environment is set)

__all__ = ["njit"]
