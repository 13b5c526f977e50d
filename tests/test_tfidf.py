"""tfidf_vectors must equal scikit-learn's TfidfVectorizer bit for bit (values, storage order, vocabulary)."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

from newsfold import minhash, tfidf
from newsfold.minhash import encode_texts
from newsfold.tfidf import count_terms, tfidf_vectors

TEXTS = [
    "The quick brown fox_jumps over the lazy dog 42 times; the DOG sleeps.",
    "",
    "a I",  # only stop words and one-letter tokens
    "hello world",
    "héllo wörld hello HELLO",
    "ÉTÉ été İstanbul ΣΟΦΙΑ σοφία ΟΔΟΣ",  # İ and final sigma: str.lower() needs context
    "日本語のテキスト 東京 東京",
    "x" * 5 + " don't won’t e-mail 3.14 _under_ __",
]


def _sklearn(texts, **kwargs):
    vectorizer = TfidfVectorizer(lowercase=True, stop_words="english", sublinear_tf=True, **kwargs)
    x = vectorizer.fit_transform(texts).tocsr()
    return x, vectorizer.get_feature_names_out().astype(str)


def _assert_same(texts, **kwargs):
    expected, expected_terms = _sklearn(texts, **kwargs)
    got, terms = tfidf_vectors(texts, **kwargs)
    assert terms.tolist() == expected_terms.tolist()
    assert got.shape == expected.shape and got.dtype == expected.dtype
    # Same storage order too: row norms are summed in it, so values match exactly.
    np.testing.assert_array_equal(got.indptr, expected.indptr)
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_array_equal(got.data, expected.data)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"min_df": 2},
        {"min_df": 1, "max_df": 2},
        {"min_df": 1, "max_df": 0.5},
        {"dtype": np.float32},
    ],
)
def test_equals_scikit_learn(kwargs):
    _assert_same(TEXTS, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"min_df": 2}])
def test_tokens_and_rows_counted_in_two_threads_equal_scikit_learn(monkeypatch, kwargs):
    monkeypatch.setattr(tfidf, "_MIN_THREAD_TOKENS", 0)  # thread even the small corpus
    monkeypatch.setattr(tfidf, "_MIN_THREAD_BYTES", 0)
    _assert_same(TEXTS * 3, **kwargs)
    rng = np.random.default_rng(1)
    words = [f"w{i:05d}" for i in range(30_000)]  # the second half meets new terms and grows
    _assert_same([" ".join(rng.choice(words, 300)) for _ in range(200)], **kwargs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab _é日İ\n")), max_size=40), min_size=1, max_size=6))
def test_token_bounds_hold_every_token(texts):
    # The term buffer is sized by these bounds and written unchecked by compiled code.
    bounds = tfidf._token_bounds(encode_texts(texts).offsets)
    for text, bound in zip(texts, bounds.tolist(), strict=True):
        assert len(re.findall(r"(?u)\b\w\w+\b", text)) <= bound
    assert tfidf._token_bounds(encode_texts(["ab cd ef"]).offsets).tolist() == [3]  # tight


def test_grows_its_table_on_a_large_vocabulary():
    rng = np.random.default_rng(0)
    words = [f"w{i:05d}" for i in range(30_000)]
    texts = [" ".join(rng.choice(words, 400)) for _ in range(300)]
    _assert_same(texts, min_df=2)


def test_raises_as_scikit_learn():
    with pytest.raises(ValueError, match="empty vocabulary"):
        tfidf_vectors(["a the of", ""])
    with pytest.raises(ValueError, match="no terms remain"):
        tfidf_vectors(["alpha beta", "gamma delta"], min_df=2)


def test_counts():
    x, terms = count_terms(["red red blue", "blue green"])
    assert terms.tolist() == ["blue", "green", "red"]
    assert x.toarray().tolist() == [[1, 0, 2], [1, 1, 0]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("abcAB _-'.é\u00c9\u0130\u03a3\u03c3\u00df12\n")), max_size=60),
        min_size=1,
        max_size=8,
    )
)
def test_equals_scikit_learn_on_any_text(texts):
    try:
        expected = _sklearn(texts)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc).split(";")[0].split(".")[0]):
            tfidf_vectors(texts)
        return
    got, terms = tfidf_vectors(texts)
    assert terms.tolist() == expected[1].tolist()
    np.testing.assert_array_equal(got.indices, expected[0].indices)
    np.testing.assert_array_equal(got.data, expected[0].data)


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize("kwargs", [{}, {"min_df": 2}, {"dtype": np.float32}])
def test_rows_without_vocabulary_are_the_vectors_with_columns_renumbered(monkeypatch, threads, kwargs):
    if threads:
        monkeypatch.setattr(tfidf, "_MIN_THREAD_TOKENS", 0)
        monkeypatch.setattr(tfidf, "_MIN_THREAD_BYTES", 0)
        monkeypatch.setattr(tfidf, "thread_parts", lambda w: [(0, len(w) // 2), (len(w) // 2, len(w))])
    rng = np.random.default_rng(2)
    words = [f"w{i:04d}" for i in range(3_000)]
    texts = TEXTS + [" ".join(rng.choice(words, 80)) for _ in range(60)]
    full, terms = tfidf_vectors(texts, **kwargs)
    rows = tfidf.tfidf_rows(texts, **kwargs)
    assert rows.shape == full.shape and rows.dtype == full.dtype
    np.testing.assert_array_equal(rows.indptr, full.indptr)
    np.testing.assert_array_equal(rows.data, full.data)  # same values in the same storage order
    # One renumbering of the columns maps every entry: column c of the rows is term column[c].
    column = np.full(rows.shape[1], -1)
    column[rows.indices] = full.indices
    np.testing.assert_array_equal(column[rows.indices], full.indices)
    assert sorted(column.tolist()) == list(range(len(terms)))
    # The texts' tokens give the rows the texts give, to the bit.
    of_tokens = tfidf.tfidf_rows(tfidf.tokenize(texts), **kwargs)
    np.testing.assert_array_equal(of_tokens.indptr, rows.indptr)
    np.testing.assert_array_equal(of_tokens.indices, rows.indices)
    np.testing.assert_array_equal(of_tokens.data, rows.data)
    assert of_tokens.dtype == rows.dtype


def test_the_vocabulary_needs_the_texts_not_their_tokens():
    with pytest.raises(ValueError, match="needs the texts"):
        tfidf._count_terms(tfidf.tokenize(TEXTS), 1, 1.0, np.float64, vocabulary=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weights_in_threads_equal_scikit_learns_transformer(monkeypatch, dtype):
    monkeypatch.setattr(minhash, "_MIN_PARALLEL_WORK", 0)  # two ranges of rows even here
    rng = np.random.default_rng(0)
    counts = sp.random(3000, 800, density=0.02, format="csr", random_state=rng)
    # whole counts, each row's entries in a shuffled order (the norms are summed in it)
    order = np.lexsort((rng.random(counts.nnz), np.repeat(np.arange(3000), np.diff(counts.indptr))))
    counts = sp.csr_matrix(
        (rng.integers(1, 30, counts.nnz).astype(dtype), counts.indices[order], counts.indptr),
        shape=counts.shape,
    )
    transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True)
    expected = sp.csr_matrix(transformer.fit_transform(counts.copy()))
    got = tfidf._tfidf(counts.copy(), np.bincount(counts.indices, minlength=counts.shape[1]))
    assert got.dtype == expected.dtype == dtype
    np.testing.assert_array_equal(got.indptr, expected.indptr)
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_array_equal(got.data, expected.data)
