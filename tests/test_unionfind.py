"""Tests for unionfind: components as partitions, labels as smallest members."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsfold.unionfind import component_blocks, connected_groups


def partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == label).tolist()) for label in np.unique(labels)}


def naive_partition(n: int, pairs: list[tuple[int, int]]) -> set[frozenset[int]]:
    groups = [{i} for i in range(n)]
    for i, j in pairs:
        gi = next(g for g in groups if i in g)
        gj = next(g for g in groups if j in g)
        if gi is not gj:
            gi |= gj
            groups.remove(gj)
    return {frozenset(g) for g in groups}


def test_groups_and_labels() -> None:
    labels = connected_groups(7, np.array([[5, 2], [2, 6], [1, 3]]))
    assert labels.dtype == np.int64
    assert labels.tolist() == [0, 1, 2, 1, 4, 2, 2]


def test_no_pairs_means_singletons() -> None:
    assert connected_groups(4, np.empty((0, 2), dtype=np.int64)).tolist() == [0, 1, 2, 3]
    assert connected_groups(0, np.empty((0, 2), dtype=np.int64)).size == 0


def test_repeated_pairs_and_self_loops() -> None:
    pairs = np.array([[0, 1]] * 300 + [[2, 2]])
    assert connected_groups(3, pairs).tolist() == [0, 0, 2]


def test_out_of_range_pairs() -> None:
    with pytest.raises(ValueError, match="pair indices"):
        connected_groups(2, np.array([[0, 2]]))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 30))
def test_equals_naive_union_find_in_any_order(data: st.DataObject, n: int) -> None:
    pairs = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))
    array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    labels = connected_groups(n, array)
    assert partition(labels) == naive_partition(n, pairs)
    for members in partition(labels):
        assert {int(labels[m]) for m in members} == {min(members)}
    assert np.array_equal(labels, connected_groups(n, array[::-1, ::-1]))


@settings(max_examples=100, deadline=None)
@given(
    component=st.lists(st.integers(0, 8), max_size=40).map(lambda c: np.array(c, dtype=np.int64)),
    size=st.integers(1, 12),
)
def test_component_blocks_keep_components_whole(component: np.ndarray, size: int) -> None:
    block = component_blocks(component, size)
    for label in np.unique(component).tolist():
        mine = block[component == label]
        # A component is in one block: the one where it starts, counting items in label order,
        # so a block's components start within `size` items of each other.
        assert np.all(mine == mine[0])
        assert mine[0] == int((component < label).sum()) // size
    with pytest.raises(ValueError, match="size"):
        component_blocks(component, 0)
