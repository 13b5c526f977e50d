import pickle
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsfold.corpus import Corpus
from newsfold.records import ARTICLE_FIELDS as FIELDS
from newsfold.records import Article
from newsfold.text_column import TextColumn

# Texts that encode as they are, and ones encode_texts lower-cases ("İ" changes length, "Σ" not).
_TEXTS = ["plain words\nsecond line", "", "café — naïve", "İstanbul\nİzmir", "ΣΟΦΙΑ wrote", "x\ud800y"]


def _articles(texts: list[str]) -> list[Article]:
    return [
        Article(
            f"id{i}",
            f"f{i % 3}.jsonl",
            text,
            title=None if i % 2 else f"title {i}",
            published_at=datetime(2024, 1, 1 + i % 28, tzinfo=UTC) if i % 3 else None,
            source="src" if i % 4 else None,
            url=f"http://x/{i}",
            extra='{"k": 1}' if i % 5 == 0 else None,
        )
        for i, text in enumerate(texts)
    ]


def _assert_encoded_as_fresh(corpus: Corpus) -> None:
    """The buffer is what encoding the texts afresh gives, and the same texts are kept as strings."""
    fresh = TextColumn.from_texts([a.text for a in corpus])
    assert np.array_equal(corpus.text.encoded.data, fresh.encoded.data)
    assert np.array_equal(corpus.text.encoded.offsets, fresh.encoded.offsets)
    assert dict(corpus.text.exact) == dict(fresh.exact)


def test_a_corpus_reads_back_the_articles_it_was_made_of() -> None:
    articles = _articles(_TEXTS)
    corpus = Corpus.from_articles(articles)
    assert len(corpus) == len(articles)
    assert list(corpus) == articles
    assert corpus == articles and articles == list(corpus)
    assert [corpus[i] for i in range(len(corpus))] == articles
    assert corpus[-1] == articles[-1]
    assert corpus[2:5] == articles[2:5]
    assert corpus.article_id == [a.article_id for a in articles]
    assert Corpus.from_articles(corpus) is corpus
    _assert_encoded_as_fresh(corpus)
    _assert_encoded_as_fresh(corpus[2:5])


def test_columns_of_different_lengths_are_refused() -> None:
    corpus = Corpus.from_articles(_articles(_TEXTS[:2]))
    with pytest.raises(ValueError, match="different lengths"):
        Corpus(**{**{name: getattr(corpus, name) for name in FIELDS}, "url": ["one"]})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_TEXTS), max_size=4), max_size=4),
    st.data(),
)
def test_concat_take_and_pickle_equal_the_lists(parts: list[list[str]], data: st.DataObject) -> None:
    lists = [_articles(texts) for texts in parts]
    corpora = [Corpus.from_articles(articles) for articles in lists]
    joined = Corpus.concat(corpora)
    expected = [a for articles in lists for a in articles]
    assert joined == expected
    assert Corpus.concat(iter(corpora)) == expected  # as ingest.merge_results gives them, one by one
    _assert_encoded_as_fresh(joined)
    index = data.draw(st.lists(st.integers(0, max(len(expected) - 1, 0)), max_size=6)) if expected else []
    taken = joined.take(index)
    assert taken == [expected[i] for i in index]
    _assert_encoded_as_fresh(taken)
    again = pickle.loads(pickle.dumps(joined))
    assert again == expected
    _assert_encoded_as_fresh(again)


def test_a_corpus_is_read_from_an_arrow_table_in_chunks_and_slices() -> None:
    articles = _articles(_TEXTS[:5])  # a lone surrogate is not valid UTF-8, so not in a table
    columns = {name: [getattr(a, name) for a in articles] for name in FIELDS}
    table = pa.table(columns)
    chunked = pa.concat_tables([table.slice(0, 2), table.slice(2)])
    for source in (table, chunked, pa.concat_tables([table, table]).slice(3, 5)):
        corpus = Corpus.from_arrow(source)
        assert corpus == [Article(**row) for row in source.to_pylist()]
        _assert_encoded_as_fresh(corpus)
