import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PROJECT
from newsfold import shared_text, store
from newsfold.config import MinHashConfig, SharedTextConfig
from newsfold.minhash import char_keys, encode_texts
from newsfold.shared_text import (
    _BOILERPLATE_MARKERS,
    _has_marker,
    _in_edge_block,
    classify_groups,
    find_shared_text,
    segment_key,
    split_segments,
)

HEADLINE = "Dock strike enters second week as talks stall - unions"
FOOTER = "© 2026 Daily Planet. All rights reserved. Sign up for our morning briefing."
QUOTE = (
    "“We will stay on the picket line until the port authority puts a fair offer on the table,” "
    "said union leader Marta Quill."
)

STRIKE_1 = f"""Dockworkers at the port of Valmora stayed off the job for an eighth day on Monday.

The Valmora Dockers Union says wages have not kept pace with rents in the harbour district.

{QUOTE}

Container ships are queuing outside the breakwater and exporters warn of spoiled fruit cargoes.

{HEADLINE}"""

STRIKE_2 = f"""Talks between the Valmora port authority and striking dockers broke down again.

Negotiators left the harbour offices after four hours without agreeing a new pay offer for dockers.

{QUOTE}

Fruit exporters said refrigerated containers at the Valmora terminal were running out of power.

{HEADLINE}"""

STRIKE_3 = f"""The port authority in Valmora offered dockers a three percent raise on Tuesday.

Union leader Marta Quill called the offer an insult to dockworkers and their families.

Shipping lines diverted two container vessels to neighbouring ports as the strike dragged on.

{FOOTER}"""

FLOOD = f"""Heavy rain flooded the lower town of Brisk overnight, forcing two hundred residents out.

Firefighters used boats to reach elderly residents stranded on upper floors near the river Lent.

The mayor of Brisk opened the school gymnasium as an emergency shelter for displaced families.

{FOOTER}"""

CHESS = f"""Grandmaster Ilya Torv won the Northern Open chess tournament after a tense final round.

Torv sacrificed a knight on move twenty-two and converted the endgame against the defending champion.

Organisers said next year's tournament will move to a larger hall because of record attendance.

{FOOTER}"""

TEXTS = [STRIKE_1, STRIKE_2, STRIKE_3, FLOOD, CHESS]


def run(texts=TEXTS, titles=None):
    titles = titles or [None] * len(texts)
    return find_shared_text(texts, titles, SharedTextConfig(), MinHashConfig())


def roles_by_text(result):
    return {(t, r) for t, r in zip(result.text.to_pylist(), result.role.to_pylist(), strict=True)}


def test_headline_boilerplate_and_syndicated_are_told_apart():
    result = run()
    assert roles_by_text(result) == {(HEADLINE, "headline"), (FOOTER, "boilerplate"), (QUOTE, "syndicated")}
    members = {}
    for seg, article in zip(result.segment_id.to_pylist(), result.article, strict=True):
        members.setdefault(seg, set()).add(int(article))
    assert sorted(map(frozenset, members.values()), key=sorted) == sorted(
        [frozenset({0, 1}), frozenset({2, 3, 4}), frozenset({0, 1})], key=sorted
    )


def test_headline_and_boilerplate_are_stripped_syndicated_kept():
    result = run()
    for text in result.cleaned_texts:
        assert HEADLINE not in text
        assert FOOTER not in text
        assert text == text.strip() and "\n\n\n" not in text
    assert QUOTE in result.cleaned_texts[0] and QUOTE in result.cleaned_texts[1]
    assert result.cleaned_texts[3].startswith("Heavy rain flooded")


def test_shared_headline_becomes_title_unless_one_is_given():
    result = run(titles=[None, "Given title", None, None, None])
    assert result.titles[0] == HEADLINE
    assert result.titles[1] == "Given title"
    assert result.titles[2] is None


def test_offsets_point_into_the_original_text():
    result = run()
    for article, start, end, text in zip(
        result.article, result.start, result.end, result.text.to_pylist(), strict=True
    ):
        assert TEXTS[article][start:end] == text


def test_near_verbatim_copies_are_one_segment():
    edited = STRIKE_2.replace(HEADLINE, HEADLINE.replace("second week", "2nd week"))
    result = run(texts=[STRIKE_1, edited, STRIKE_3, FLOOD, CHESS])
    headline_rows = [
        r
        for r, t in zip(result.role.to_pylist(), result.text.to_pylist(), strict=True)
        if "week as talks" in t
    ]
    assert headline_rows == ["headline", "headline"]
    assert (
        len(
            {
                s
                for s, t in zip(result.segment_id.to_pylist(), result.text.to_pylist(), strict=True)
                if "week as talks" in t
            }
        )
        == 1
    )


def test_must_link_joins_articles_sharing_a_headline_or_passage():
    result = run()
    assert {tuple(p) for p in result.must_link.tolist()} == {(0, 1)}


def test_nothing_shared_leaves_texts_alone():
    result = run(texts=[FLOOD.replace(FOOTER, ""), CHESS.replace(FOOTER, "")])
    assert result.segment_id.to_pylist() == []
    assert result.cleaned_texts == [FLOOD.replace(FOOTER, ""), CHESS.replace(FOOTER, "")]
    assert result.must_link.shape == (0, 2)


def test_single_line_articles_have_no_segments():
    segments = split_segments(
        ["one line only, a snippet", "another one-line snippet here"], SharedTextConfig()
    )
    assert segments.texts == []


def test_segment_key_ignores_case_and_punctuation():
    assert segment_key("Targets under review - PM!") == segment_key("targets  under review – pm")


def test_classify_rules():
    config = SharedTextConfig()
    roles = classify_groups(
        ["Storm closes schools across the north - live", "Read more: our full coverage", QUOTE, "Short line"],
        np.array([2, 2, 2, 2]),
        np.array([1.0, 1.0, 0.0, 0.0]),
        np.array([0.5, 0.5, 0.5, 0.01]),
        config,
    )
    assert roles == ["headline", "boilerplate", "syndicated", "boilerplate"]


# ---- classification rules beyond the basics ----------------------------------------------------

BRIDGE = [
    a["text"]
    for a in json.loads((PROJECT / "tests/fixtures/quality/articles.json").read_text())
    if a["story"] == "bridge"
]
PLUG = "Get the Harbour Gazette on your phone, with alerts for every new story from the river."


def test_an_outlets_line_in_several_articles_on_one_event_is_boilerplate():
    texts = [text.replace("\n\n", f"\n\n{PLUG}\n\n", 1) for text in BRIDGE]
    config = SharedTextConfig(boilerplate_min_same_source=3)
    with_sources = find_shared_text(texts, [None] * 3, config, MinHashConfig(), ["Harbour Gazette"] * 3)
    assert {
        r
        for r, t in zip(with_sources.role.to_pylist(), with_sources.text.to_pylist(), strict=True)
        if t == PLUG
    } == {"boilerplate"}
    assert all(PLUG not in text for text in with_sources.cleaned_texts)
    # Without sources, related articles sharing a sentence-long line keep it as syndicated text.
    without = find_shared_text(texts, [None] * 3, config, MinHashConfig())
    assert {
        r for r, t in zip(without.role.to_pylist(), without.text.to_pylist(), strict=True) if t == PLUG
    } == {"syndicated"}


def test_copies_of_one_article_from_one_outlet_keep_their_paragraphs():
    copies = [
        BRIDGE[0].replace("cyclists", word)
        for word in ("cyclists", "riders", "commuters", "students", "walkers")
    ]
    result = find_shared_text(
        copies, [None] * 5, SharedTextConfig(), MinHashConfig(), ["Harbour Gazette"] * 5
    )
    assert "boilerplate" not in result.role.to_pylist()
    assert result.cleaned_texts == copies


def test_a_footer_without_markers_is_boilerplate_across_unrelated_articles():
    footer = "The Harbour Gazette is independent and owned by its readers and its staff."
    texts = [
        f"{t}\n\n{footer}"
        for t in (FLOOD.replace(FOOTER, ""), CHESS.replace(FOOTER, ""), STRIKE_3.replace(FOOTER, ""))
    ]
    result = run(texts=texts)
    assert set(result.role.to_pylist()) == {"boilerplate"}
    assert all(footer not in text for text in result.cleaned_texts)


def test_lines_stacked_at_the_top_or_bottom_count_as_edge_lines():
    texts = [
        f"Top line one is here\n\nTop line two is here\n\n{body}\n\nBottom line is here"
        for body in (FLOOD, CHESS)
    ]
    segments = split_segments(texts, SharedTextConfig())
    shared = np.array(
        [t in ("Top line one is here", "Top line two is here", "Bottom line is here") for t in segments.texts]
    )
    edge = _in_edge_block(segments, shared)
    assert edge.tolist() == shared.tolist()


@pytest.mark.parametrize(
    "line",
    [
        "Read More about this",
        "COPYRIGHT 2024 Example Media",
        "(C) 2019 Acme",
        "Visit WWW.example.com",
        "Sign Up for our briefing",
        "An ordinary sentence about the council budget.",
        "Çlick HERE to Subscribe",
        "Die Straße, Kelvin \u212a, long \u017fign up",
    ],
)
def test_marker_search_equals_the_case_insensitive_regex(line: str) -> None:
    assert shared_text._has_marker(line) == (shared_text._BOILERPLATE_MARKERS.search(line) is not None)


def test_relatedness_is_the_mean_pairwise_cosine_of_each_group_in_blocks_of_groups(monkeypatch):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from newsfold.minhash import encode_texts

    rng = np.random.default_rng(7)
    vocabulary = [f"word{i}" for i in range(40)]
    texts = [" ".join(rng.choice(vocabulary, size=30)) for _ in range(12)]
    # 7 groups over the 12 articles: sizes 1 to 5, overlapping; group 6 has no member here.
    members = [(0, [0]), (1, [1, 2]), (2, [2, 3, 4]), (3, [0, 5, 6, 7]), (4, [8, 9, 10, 11, 1]), (5, [3, 4])]
    group = np.array([g for g, arts in members for _ in arts])
    article = np.array([a for _, arts in members for a in arts])
    x = TfidfVectorizer(lowercase=True, stop_words="english", sublinear_tf=True).fit_transform(texts)
    cosine = (x @ x.T).toarray()
    expected = np.zeros(7)
    for g, arts in members:
        if len(arts) > 1:
            pairs = [cosine[i, j] for i in arts for j in arts if i < j]
            expected[g] = np.mean(pairs)
    monkeypatch.setattr(shared_text, "_GROUP_BLOCK", 2)
    got = shared_text._relatedness(encode_texts(texts), article, group, 7)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_group_sums_square_and_add_as_scipy_does_to_the_bit(monkeypatch):
    # _relatedness once took (incidence @ x).data ** 2 summed by row with scipy; its kernel must
    # give the same float32 norms, bit for bit, so that no role decided at a threshold moves.
    import scipy.sparse as sp

    from newsfold.tfidf import tfidf_rows

    rng = np.random.default_rng(3)
    vocabulary = [f"w{i}" for i in range(400)]
    texts = [" ".join(rng.choice(vocabulary, size=int(rng.integers(0, 60)))) for _ in range(500)]
    group = rng.integers(0, 300, 3000)  # some groups have no member, some an article twice
    article = rng.integers(0, 500, 3000)
    articles = np.unique(article)
    encoded = encode_texts([texts[i] for i in articles])
    x = tfidf_rows(encoded, min_df=1, dtype=np.float32)
    incidence = sp.csr_matrix(
        (np.ones(len(group), dtype=np.float32), (group, np.searchsorted(articles, article))),
        shape=(300, len(articles)),
    )
    sums = incidence @ x
    sums.data **= 2
    sq_norm = np.asarray(sums.sum(axis=1)).ravel()
    counts = np.asarray(incidence.sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(counts > 1, (sq_norm - counts) / (counts * (counts - 1)), 0.0)
    monkeypatch.setattr(shared_text, "_GROUP_BLOCK", 64)
    got = shared_text._relatedness(encoded, article, group, 300)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def _reference_cut(text, spans):
    """What the stage did per article as strings: cut the spans, collapse blank lines, strip."""
    return shared_text._cut_spans(text, spans)


def test_lines_cut_from_the_encoded_corpus_equal_the_string_cut(monkeypatch):
    # Random articles of ASCII, accented, CJK and emoji lines (and "İ"/"Σ", which the encoding
    # lower-cases), blank lines between some; random subsets of their segments cut out. Cut in
    # two threads however small, so that the second range is moved up behind the first.
    from newsfold import minhash

    monkeypatch.setattr(minhash, "_MIN_PARALLEL_WORK", 0)
    rng = np.random.default_rng(11)
    words = ["port", "Straße", "naïve", "东京", "🙂", "İstanbul", "ΣΟΦΙΑ", "x", "quay", "ship"]
    texts = []
    for _ in range(300):
        lines = [
            " ".join(rng.choice(words[:7] if rng.random() < 0.8 else words, 4))
            for _ in range(rng.integers(1, 7))
        ]
        gaps = ["\n" * int(rng.integers(1, 3)) for _ in lines]
        texts.append("".join(line + gap for line, gap in zip(lines, gaps, strict=True)).strip())
    segments = split_segments(texts, SharedTextConfig(min_chars=1))
    cut = np.flatnonzero(rng.random(len(segments)) < 0.5)
    cleaned = shared_text._cleaned_texts(segments, cut)
    cleaned_encoded = cleaned.encoded
    # Gathered from the article's bytes, its cut bytes or encoded anew: as encode_texts gives them.
    expected_cleaned = encode_texts(list(cleaned))
    assert np.array_equal(cleaned_encoded.offsets, expected_cleaned.offsets)
    assert np.array_equal(cleaned_encoded.data, expected_cleaned.data)
    residual = shared_text._residual_texts(segments, cut)
    by_article = {}
    for i in cut.tolist():
        by_article.setdefault(int(segments.article[i]), []).append(
            (int(segments.start[i]), int(segments.end[i]))
        )
    assert len(by_article) > 100
    expected_residual = []
    for a, text in enumerate(texts):
        body = _reference_cut(text, by_article[a]) if a in by_article else text
        assert cleaned[a] == (body or text)
        if a in by_article:
            kept = body if len(body) >= shared_text._MIN_OWN_TEXT * len(text) else text
            # A text with "İ" or "Σ" is encoded lower-cased, its residual cut from that: the
            # tokens that relatedness counts are lower-case anyway.
            expected_residual.append(kept.lower() if "İ" in text or "Σ" in text else kept)
    expected = encode_texts(expected_residual)
    assert np.array_equal(residual.offsets, expected.offsets)
    assert np.array_equal(residual.data, expected.data)


def test_cleaned_texts_come_encoded_as_encode_texts_gives_them() -> None:
    # Cut bytes that str.strip() shortens further (a Unicode space left at an end), a text cut
    # to nothing (kept whole), a text cut as a string ("Σ"), and texts without a cut (one with
    # three newlines and a trailing space, which the byte copy would change).
    texts = [
        "Shared line one here\nOwn words\u2003",
        "Shared line one here\nOther own words",
        "Shared line one here",
        "ΣΟΦΙΑ wrote this\nShared line one here",
        "Nothing shared at all\n\n\nin this text ",  # uncut, but not as the byte copy leaves it
    ]
    segments = split_segments(texts, SharedTextConfig(min_chars=1))
    keys = char_keys(segments.texts)
    cut = np.array([i for i, key in enumerate(keys) if key == "shared line one here"], dtype=np.int64)
    cleaned = shared_text._cleaned_texts(segments, cut)
    expected_texts = ["Own words", "Other own words", texts[2], "ΣΟΦΙΑ wrote this", texts[4]]
    assert list(cleaned) == expected_texts
    expected = encode_texts(expected_texts)
    assert np.array_equal(cleaned.encoded.offsets, expected.offsets)
    assert np.array_equal(cleaned.encoded.data, expected.data)
    # Read as strings, counted and output as they are, not as their lower-cased encoding.
    assert cleaned.lengths().tolist() == [len(text) for text in expected_texts]
    assert cleaned.arrow().to_pylist() == expected_texts


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(
        st.lists(st.text(alphabet="ab é€😀 İΣς.", min_size=1, max_size=30), min_size=1, max_size=5).map(
            "\n".join
        ),
        min_size=1,
        max_size=6,
    ),
    pick=st.randoms(use_true_random=False),
)
def test_segment_texts_as_arrow_are_the_texts_as_they_stand(texts: list[str], pick) -> None:
    # Gathered from the encoded corpus (accents, emoji, and a text encoded lower-cased for its
    # "İ" or "Σ": then from the texts themselves); the ASCII-and-accents corpus takes the bytes.
    for corpus in (texts, [t.replace("İ", "I").replace("Σ", "S") for t in texts]):
        segments = split_segments(corpus, SharedTextConfig(min_chars=1))
        index = np.array(sorted(pick.sample(range(len(segments)), k=len(segments) // 2)), dtype=np.int64)
        got = segments.texts_array(index)
        assert got.type == pa.string()
        assert got.to_pylist() == segments.texts_at(index)


def test_segment_texts_as_arrow_come_in_chunks_below_the_array_limit(monkeypatch) -> None:
    # A string array holds at most 2 GB; past it the texts come in several arrays. The limit is
    # lowered here to a few segments' bytes.
    texts = [f"line {i} of text {t}\nanother line {i} é\n{'x' * i}" for t in range(5) for i in range(1, 9)]
    segments = split_segments(texts, SharedTextConfig(min_chars=1))
    index = np.arange(len(segments))
    monkeypatch.setattr(store, "_MAX_STRING_BYTES", 40)
    got = segments.texts_array(index)
    assert got.num_chunks > 3
    assert all(
        sum(len(t.encode()) for t in chunk.to_pylist()) <= 40 for chunk in got.chunks if len(chunk) > 1
    )
    assert got.to_pylist() == segments.texts_at(index)
    assert segments.texts_array(index[:0]).to_pylist() == []


_MARKER_PIECES = [
    "copyright", "COPYRIGHT", "Copy right", "sign up", "Sign\u00a0Up", "read MORE", "cookie",
    "Cookie", "click here", "newsletter", "advertisement", "All Rights Reserved", "(c) 2024",
    "(C)\u00a0 1999", "(c)12", "©", "https://", "HTTP://", "www.", "WWW.", "subscribe",
    "\u017fub\u017fcribe", "cooKie".replace("K", "\u212a"), "cl\u0131ck here", "\u0130",
    "\u0131", "\u017f", "\u212a", "é", "ß", "Ä", "Σ", "x", "1", " ", "\n", "\t", "\u2003",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_MARKER_PIECES), max_size=8))
def test_marker_search_is_the_case_insensitive_regex(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _has_marker(text) == (_BOILERPLATE_MARKERS.search(text) is not None), repr(text)


def test_occurrences_come_by_segment_then_article_rank_then_offset():
    texts, titles = TEXTS, [None] * len(TEXTS)
    by_position = find_shared_text(texts, titles, SharedTextConfig(), MinHashConfig())
    rank = np.arange(len(texts))[::-1].copy()  # the articles' order reversed
    by_rank = find_shared_text(texts, titles, SharedTextConfig(), MinHashConfig(), article_rank=rank)
    for result, ranks in [(by_position, np.arange(len(texts))), (by_rank, rank)]:
        columns = (result.segment_id.to_pylist(), ranks[result.article].tolist(), result.start.tolist())
        keys = list(zip(*columns, strict=True))
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
    rows = [
        sorted(zip(r.segment_id.to_pylist(), r.article.tolist(), r.start.tolist(), r.end.tolist(),
                   r.text.to_pylist(), r.role.to_pylist(), r.n_articles.tolist(), strict=True))
        for r in (by_position, by_rank)
    ]  # fmt: skip
    assert rows[0] == rows[1] and len(rows[0]) > 5
