"""Union-find over index pairs: connected components with deterministic labels."""

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components


def connected_groups(n: int, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Label the connected components of the graph on nodes 0..n-1 with edges `pairs`.

    Args:
        n: Number of nodes.
        pairs: (m, 2) integer node pairs (any order, repeats and self-loops allowed).

    Returns:
        (n,) int64 labels: each node's label is the smallest node index of its component, so
        labels do not depend on the order of `pairs`.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n):
        raise ValueError(f"pair indices must be in [0, {n})")
    if n == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_array((np.ones(len(pairs), dtype=np.int32), (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()
    _, component = connected_components(graph, directed=False)
    # np.unique's return_index is each component's first, i.e. smallest, node.
    _, smallest = np.unique(component, return_index=True)
    return smallest[component].astype(np.int64)


def component_blocks(component: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.int64]:
    """Each item's block: blocks of whole components (items with equal `component` labels) of
    about `size` items each, numbered in the order of the component labels. A component larger
    than `size` is one block, and the numbers it covers after its own are left unused.

    A step whose items interact only within their component (a pair verified, a bucket walked)
    can then hold one block's data at a time.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    order = np.argsort(component, kind="stable")
    is_first = np.r_[True, component[order][1:] != component[order][:-1]]
    first = np.empty(len(component), dtype=np.int64)
    first[order] = np.maximum.accumulate(np.where(is_first, np.arange(len(order)), 0))
    return first // size
