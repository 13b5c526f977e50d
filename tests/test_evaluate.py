"""Clustering and duplicate-pair metrics against cases worked out by hand."""

import math

import numpy as np
import pytest

from newsfold.evaluate import bcubed, pairwise, score_clustering, score_duplicate_pairs

# Case A: true classes {0,1,2} {3,4}; predicted clusters {0,1} {2,3,4}.
# Contingency cells: (t0,p0)=2, (t0,p1)=1, (t1,p1)=2; |t0|=3 |t1|=2; |p0|=2 |p1|=3.
TRUE_A = ["x", "x", "x", "y", "y"]
PRED_A = [7, 7, 9, 9, 9]


def test_bcubed_by_hand() -> None:
    # precision per item: 0,1 -> 2/2; 2 -> 1/3 (alone among {2,3,4}); 3,4 -> 2/3 each
    #   (1 + 1 + 1/3 + 2/3 + 2/3) / 5 = (11/3) / 5 = 11/15
    # recall per item: 0,1 -> 2/3; 2 -> 1/3; 3,4 -> 2/2
    #   (2/3 + 2/3 + 1/3 + 1 + 1) / 5 = 11/15
    p, r, f = bcubed(TRUE_A, PRED_A)
    assert p == pytest.approx(11 / 15)
    assert r == pytest.approx(11 / 15)
    assert f == pytest.approx(11 / 15)


def test_bcubed_pure_but_split() -> None:
    # one class of 4 split as {0,1} {2} {3}: every cluster is pure -> precision 1
    # recall: 0,1 -> 2/4; 2,3 -> 1/4 -> (0.5 + 0.5 + 0.25 + 0.25) / 4 = 0.375
    # F1 = 2 * 1 * 0.375 / 1.375 = 6/11
    p, r, f = bcubed(["a"] * 4, [0, 0, 1, 2])
    assert (p, r) == (pytest.approx(1.0), pytest.approx(0.375))
    assert f == pytest.approx(6 / 11)


def test_pairwise_by_hand() -> None:
    # true pairs: C(3,2) + C(2,2) = 4; predicted: C(2,2) + C(3,2) = 4
    # pairs in both: C(2,2) + C(1,2) + C(2,2) = 1 + 0 + 1 = 2 -> P = R = F1 = 2/4
    assert pairwise(TRUE_A, PRED_A) == (pytest.approx(0.5), pytest.approx(0.5), pytest.approx(0.5))
    # class of 4 split {0,1} {2} {3}: predicted pairs 1 (correct), true pairs 6
    # P = 1, R = 1/6, F1 = 2 * (1/6) / (7/6) = 2/7
    p, r, f = pairwise(["a"] * 4, [0, 0, 1, 2])
    assert (p, r, f) == (pytest.approx(1.0), pytest.approx(1 / 6), pytest.approx(2 / 7))


def test_pairwise_conventions_without_pairs() -> None:
    # all singletons predicted: nothing claimed -> precision 1; every true pair missed -> recall 0
    assert pairwise([0, 0, 1], [0, 1, 2]) == (1.0, 0.0, 0.0)
    # no true pair and none predicted: perfect
    assert pairwise([0, 1, 2], [5, 6, 7]) == (1.0, 1.0, 1.0)


def test_score_clustering_ari_nmi_by_hand() -> None:
    scores = score_clustering(TRUE_A, PRED_A)
    # ARI: sum C(n_ij,2) = 2; rows sum C = 3 + 1 = 4; columns sum C = 1 + 3 = 4; C(5,2) = 10
    #   expected = 4 * 4 / 10 = 1.6; max = (4 + 4) / 2 = 4 -> (2 - 1.6) / (4 - 1.6) = 1/6
    assert scores["ari"] == pytest.approx(1 / 6)
    # NMI (arithmetic mean of the entropies, both H(3/5, 2/5)):
    #   MI = 2/5 ln((2/5)/(3/5·2/5)) + 1/5 ln((1/5)/(3/5·3/5)) + 2/5 ln((2/5)/(2/5·3/5))
    mi = 0.4 * math.log(5 / 3) + 0.2 * math.log(5 / 9) + 0.4 * math.log(5 / 3)
    h = -(0.6 * math.log(0.6) + 0.4 * math.log(0.4))
    assert scores["nmi"] == pytest.approx(mi / h)
    assert scores["bcubed_f1"] == pytest.approx(11 / 15)
    assert scores["pairwise_f1"] == pytest.approx(0.5)
    assert (scores["n_items"], scores["n_true_clusters"], scores["n_pred_clusters"]) == (5, 2, 2)


def test_identical_partitions_score_one_whatever_the_names() -> None:
    scores = score_clustering(["a", "a", "b", "c", "c"], [10, 10, 3, 99, 99])
    for key in ("bcubed_f1", "pairwise_f1", "ari", "nmi"):
        assert scores[key] == pytest.approx(1.0)


def test_duplicate_pairs_from_groups_by_hand() -> None:
    # true pairs: ab ac bc de (4); predicted: ab cd (2); correct: ab (1)
    # P = 1/2, R = 1/4, F1 = 2 · (1/8) / (3/4) = 1/3
    true_groups = [{"a", "b", "c"}, {"d", "e"}]
    pred_groups = [["a", "b"], ["c", "d"]]
    scores = score_duplicate_pairs(true_groups, pred_groups)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.25)
    assert scores["f1"] == pytest.approx(1 / 3)
    assert (scores["true_pairs"], scores["predicted_pairs"], scores["correct_pairs"]) == (4, 2, 1)


def test_duplicate_pairs_from_labels_matches_groups() -> None:
    # the same case as per-item labels over items a..e (e is alone in the prediction)
    by_labels = score_duplicate_pairs([0, 0, 0, 1, 1], [0, 0, 1, 1, 2])
    by_groups = score_duplicate_pairs([{"a", "b", "c"}, {"d", "e"}], [{"a", "b"}, {"c", "d"}])
    assert by_labels == pytest.approx(by_groups)


def test_duplicate_pairs_empty_and_unique() -> None:
    assert score_duplicate_pairs([], [])["f1"] == 1.0
    unique = score_duplicate_pairs([[1], [2]], [[1], [2]])
    assert (unique["precision"], unique["recall"], unique["true_pairs"]) == (1.0, 1.0, 0)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="items"):
        bcubed([0, 1], [0])
    with pytest.raises(ValueError, match="missing"):
        pairwise([0, None], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        score_clustering([], [])
    with pytest.raises(ValueError, match="two groups"):
        score_duplicate_pairs([{"a", "b"}, {"b"}], [])


def test_large_input_is_linear() -> None:
    # a million items through the contingency table: no pair loop, so this returns at once
    rng = np.random.default_rng(0)
    true = rng.integers(0, 1000, 1_000_000)
    pred = np.where(rng.random(1_000_000) < 0.9, true, rng.integers(0, 1000, 1_000_000))
    scores = score_clustering(true, pred)
    assert 0.8 < scores["bcubed_precision"] < 1.0
