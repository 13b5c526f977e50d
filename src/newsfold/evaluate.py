"""Evaluation: clustering metrics (B³, pairwise, ARI, NMI) and duplicate-pair precision/recall.

Everything goes through the sparse contingency table of the two labellings, so the cost is
O(n) after factorising the labels: no loop over pairs.
"""

from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

ArrayLike = Sequence[Any] | npt.NDArray[Any]


def _codes(labels: ArrayLike, name: str) -> npt.NDArray[np.int64]:
    codes, _ = pd.factorize(pd.Series(np.asarray(labels, dtype=object), dtype=object), sort=False)
    if (codes < 0).any():
        raise ValueError(f"{name} contains missing labels")
    return codes.astype(np.int64)


def _contingency(
    labels_true: ArrayLike, labels_pred: ArrayLike
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    int,
]:
    """Non-zero cells n_ij of the contingency table, with each cell's true and predicted class sizes."""
    true = _codes(labels_true, "labels_true")
    pred = _codes(labels_pred, "labels_pred")
    if len(true) != len(pred):
        raise ValueError(f"labels_true has {len(true)} items, labels_pred {len(pred)}")
    if len(true) == 0:
        raise ValueError("cannot score an empty clustering")
    table = sp.coo_matrix((np.ones(len(true)), (true, pred))).tocsr()
    table.sum_duplicates()
    cells = table.tocoo()
    true_size = np.bincount(true).astype(np.float64)
    pred_size = np.bincount(pred).astype(np.float64)
    return cells.data, true_size, pred_size, cells.row.astype(np.int64), cells.col.astype(np.int64), len(true)


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def bcubed(labels_true: ArrayLike, labels_pred: ArrayLike) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin 1998; Amigó et al. 2009).

    Per item, precision is the share of its predicted cluster that shares its true class, recall
    the share of its true class inside its predicted cluster; both are averaged over items. A cell
    of n_ij items contributes n_ij · n_ij / |pred_j| to the precision sum.
    """
    cells, true_size, pred_size, row, col, n = _contingency(labels_true, labels_pred)
    precision = float((cells**2 / pred_size[col]).sum() / n)
    recall = float((cells**2 / true_size[row]).sum() / n)
    return precision, recall, _f1(precision, recall)


def _pairs(sizes: npt.NDArray[np.float64]) -> float:
    return float((sizes * (sizes - 1) / 2).sum())


def pairwise(labels_true: ArrayLike, labels_pred: ArrayLike) -> tuple[float, float, float]:
    """Pair-counting precision, recall and F1 over unordered item pairs.

    A pair is predicted when both items share a predicted cluster, true when they share a class.
    With no predicted (true) pair, precision (recall) is 1.0: nothing was claimed (missed).
    """
    cells, true_size, pred_size, _, _, _ = _contingency(labels_true, labels_pred)
    both, predicted, true = _pairs(cells), _pairs(pred_size), _pairs(true_size)
    precision = both / predicted if predicted else 1.0
    recall = both / true if true else 1.0
    return precision, recall, _f1(precision, recall)


def score_clustering(labels_true: ArrayLike, labels_pred: ArrayLike) -> dict[str, float | int]:
    """B³, pairwise, ARI and NMI of a predicted partition against the true one, plus counts."""
    b_p, b_r, b_f = bcubed(labels_true, labels_pred)
    p_p, p_r, p_f = pairwise(labels_true, labels_pred)
    true, pred = _codes(labels_true, "labels_true"), _codes(labels_pred, "labels_pred")
    return {
        "n_items": len(true),
        "n_true_clusters": int(true.max()) + 1,
        "n_pred_clusters": int(pred.max()) + 1,
        "bcubed_precision": b_p,
        "bcubed_recall": b_r,
        "bcubed_f1": b_f,
        "pairwise_precision": p_p,
        "pairwise_recall": p_r,
        "pairwise_f1": p_f,
        "ari": float(adjusted_rand_score(true, pred)),
        "nmi": float(normalized_mutual_info_score(true, pred)),
    }


def _group_of(groups: Iterable[Collection[Hashable]], name: str) -> dict[Hashable, int]:
    """Item -> index of the group holding it."""
    of: dict[Hashable, int] = {}
    for g, members in enumerate(groups):
        for item in members:
            if item in of:
                raise ValueError(f"{name}: item {item!r} is in two groups")
            of[item] = g
    return of


def _groups_to_labels(
    true_groups: Iterable[Collection[Hashable]], pred_groups: Iterable[Collection[Hashable]]
) -> tuple[list[int], list[int]]:
    """Per-item labels over the union of items; an item in no group of one side is a singleton."""
    true_of, pred_of = _group_of(true_groups, "true_groups"), _group_of(pred_groups, "pred_groups")
    items = sorted(set(true_of) | set(pred_of), key=repr)
    # Singletons get distinct negative labels, which no group index can collide with.
    true = [true_of.get(item, -1 - i) for i, item in enumerate(items)]
    pred = [pred_of.get(item, -1 - i) for i, item in enumerate(items)]
    return true, pred


def score_duplicate_pairs(
    true_groups: ArrayLike | Iterable[Collection[Hashable]],
    pred_groups: ArrayLike | Iterable[Collection[Hashable]],
) -> dict[str, float | int]:
    """Precision, recall and F1 of duplicate pairs (two items in one duplicate group).

    Args:
        true_groups, pred_groups: either per-item group labels of equal length (item i is in
            group labels[i]), or collections of item ids, one per duplicate group (items in no
            group are unique).

    Returns:
        precision, recall, f1, and the counts true_pairs, predicted_pairs, correct_pairs.
    """
    true_list, pred_list = list(true_groups), list(pred_groups)
    is_groups = any(isinstance(g, Collection) and not isinstance(g, str) for g in true_list + pred_list)
    if is_groups:
        true_labels, pred_labels = _groups_to_labels(true_list, pred_list)
    else:
        true_labels, pred_labels = true_list, pred_list
    if not true_labels:
        return {
            "precision": 1.0,
            "recall": 1.0,
            "f1": 1.0,
            "true_pairs": 0,
            "predicted_pairs": 0,
            "correct_pairs": 0,
        }
    cells, true_size, pred_size, _, _, _ = _contingency(true_labels, pred_labels)
    both, predicted, true = _pairs(cells), _pairs(pred_size), _pairs(true_size)
    precision = both / predicted if predicted else 1.0
    recall = both / true if true else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "true_pairs": int(true),
        "predicted_pairs": int(predicted),
        "correct_pairs": int(both),
    }
