import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from newsfold.arrays import dense_ranks, unique, unique_rows


def _assert_numpy_unique_rows(rows: np.ndarray) -> None:
    distinct, first, inverse = unique_rows(rows)
    expected, expected_first, expected_inverse = np.unique(
        rows, axis=0, return_index=True, return_inverse=True
    )
    assert np.array_equal(distinct, expected)
    assert np.array_equal(first, expected_first)
    assert np.array_equal(inverse, expected_inverse.ravel())


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3)), max_size=40))
def test_unique_rows_is_numpy_unique_over_rows(pairs: list[tuple[int, int]]) -> None:
    _assert_numpy_unique_rows(np.array(pairs, dtype=np.int64).reshape(-1, 2))


_LARGE = st.sampled_from([0, 7, 2**40, 2**62, 2**64 - 1])


@given(st.lists(st.tuples(_LARGE, st.sampled_from([0, 1, 2**33, 2**64 - 2])), max_size=40))
def test_unique_rows_of_large_values_in_every_sort_path(pairs: list[tuple[int, int]]) -> None:
    # Small values sort as one key; large ones by the first column, or by both when rows tie
    # on it: all must give numpy's rows, first occurrences and inverse.
    rows = np.array(pairs, dtype=np.uint64).reshape(-1, 2)
    _assert_numpy_unique_rows(rows)
    _assert_numpy_unique_rows(rows % np.uint64(1000))


def test_unique_rows_of_unsigned_fingerprints() -> None:
    rows = np.array([[2**63 + 5, 1], [3, 2**64 - 1], [2**63 + 5, 1], [3, 0]], dtype=np.uint64)
    distinct, first, inverse = unique_rows(rows)
    assert distinct.tolist() == [[3, 0], [3, 2**64 - 1], [2**63 + 5, 1]]
    assert first.tolist() == [3, 1, 0] and inverse.tolist() == [2, 1, 2, 0]


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=60), st.integers(1, 3))
def test_unique_is_numpy_unique(values: list[int], repeat: int) -> None:
    array = np.array(values * repeat, dtype=np.int64)
    np.random.default_rng(0).shuffle(array)
    assert np.array_equal(unique(array), np.unique(array))
    assert np.array_equal(unique(array.reshape(-1, 1)), np.unique(array.reshape(-1, 1)))  # flattened


def test_unique_of_unsigned_pair_codes() -> None:
    codes = np.array([2**64 - 1, 3, 2**63, 3, 2**64 - 1], dtype=np.uint64)
    assert unique(codes).tolist() == [3, 2**63, 2**64 - 1] and unique(codes).dtype == np.uint64


@given(st.lists(st.text(alphabet="ab-é1", max_size=4), max_size=40))
def test_dense_ranks_are_numpy_unique_inverse(values: list[str]) -> None:
    strings = np.asarray(values, dtype=str)
    assert dense_ranks(strings).tolist() == np.unique(strings, return_inverse=True)[1].ravel().tolist()
    numbers = np.array([len(v) for v in values], dtype=np.int64)
    assert dense_ranks(numbers).tolist() == np.unique(numbers, return_inverse=True)[1].ravel().tolist()
