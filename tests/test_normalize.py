import codecs
import itertools
import os
import re
import unicodedata

import ftfy
import pytest
from ftfy.badness import BADNESS_RE
from hypothesis import given, settings
from hypothesis import strategies as st

from newsfold import normalize
from newsfold.normalize import decode_bytes, normalize_text


def _mojibake(text: str) -> str:
    """UTF-8 bytes read as Latin-1: the classic mojibake ftfy repairs."""
    return text.encode("utf-8").decode("latin-1")


def _cp1252_mojibake(text: str) -> str:
    return text.encode("utf-8").decode("cp1252", errors="ignore")


MOJIBAKE_PRONE = st.text(
    alphabet=st.sampled_from(list("aZe1.,?!' \t\n\r\x0b\x0c\u00a0\u2028\u3000\u0301ÃÂâ€™œ“”–—…•é©®°Ø×²³ГўВЂ"))
)
ANY_TEXT = st.one_of(
    st.text(),
    MOJIBAKE_PRONE,
    st.text().map(_mojibake),
    st.text().map(_cp1252_mojibake),
)


# decode_bytes


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("plain “utf-8” café", "utf-8"),
        ("utf-16 “quotes” café", "utf-16"),  # with a BOM
        ("utf-32 é", "utf-32"),  # with a BOM
        ("Le café est très bon à Paris, señor.", "latin-1"),
        ("The naïve café owner said “hello” — résumé", "cp1252"),
        ("café", "cp1252"),
        ("Привет, как дела? Это тестовая статья о политике.", "cp1251"),
    ],
)
def test_decode_bytes_decodes_known_encodings(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding)) == text


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + b"with bom",
        codecs.BOM_UTF16_BE + "with bom".encode("utf-16-be"),
        codecs.BOM_UTF32_BE + "with bom".encode("utf-32-be"),
    ],
)
def test_decode_bytes_strips_the_bom(data: bytes) -> None:
    assert decode_bytes(data) == "with bom"


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00binary zip header",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        bytes(range(1, 32)) * 20,  # control characters but no NUL
        codecs.BOM_UTF16_LE + b"a\x00\x00\x00b\x00",  # BOM'd, but decodes to NUL characters
    ],
)
def test_decode_bytes_rejects_binary(data: bytes) -> None:
    with pytest.raises(ValueError, match="binary content"):
        decode_bytes(data)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab é€\n\t\x01\x08\x0e\x1b\x7f\ufeff"), min_size=1, max_size=300))
def test_decode_bytes_counts_control_characters_as_the_regex_does(text: str) -> None:
    # UTF-8 input is checked on its bytes; the rule is that of the decoded characters.
    decoded = text.removeprefix("\ufeff")  # a leading BOM is not text
    n_controls = len(re.findall("[\x00-\x08\x0e-\x1f\x7f]", decoded))
    if n_controls > 0.01 * len(decoded):
        with pytest.raises(ValueError, match=rf"binary content \({n_controls} controls in {len(decoded)}\)"):
            decode_bytes(text.encode("utf-8"))
    else:
        assert decode_bytes(text.encode("utf-8")) == decoded


def test_decode_bytes_rejects_random_bytes() -> None:
    data = os.urandom(4096).replace(b"\x00", b"\x01")
    with pytest.raises(ValueError, match=r"binary content|undecodable"):
        decode_bytes(data)


def test_decode_bytes_rejects_invalid_utf16() -> None:
    with pytest.raises(ValueError, match="undecodable utf-16"):
        decode_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8a\x00")  # lone surrogate


# normalize_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("donâ€™t stop", "don’t stop"),
        ("cafÃ© au lait", "café au lait"),
        ("“Curly” quotes and ‘single’ ones stay", "“Curly” quotes and ‘single’ ones stay"),
        ("ﬁne ＦＵＬＬ &amp; <b>", "ﬁne ＦＵＬＬ &amp; <b>"),  # correct characters are left alone
        ("e\u0301te\u0301", "été"),  # NFC
        ("a\x00b\x1b[31mred\x1b[0m", "abred"),  # control characters and terminal escapes
        ("  one  \t two\u00a0three\u3000four  ", "one two three four"),
        ("line one\r\nline two\rline three\u2028four", "line one\nline two\nline three\nfour"),
        ("para one\n\n\n\n  \n\t\npara two", "para one\n\npara two"),
        ("para one\n \npara two", "para one\n\npara two"),
        ("  \n\n lead and trail \n\n ", "lead and trail"),
        (" \t\u00a0\n\n", ""),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_normalize_text_keeps_an_already_normal_text() -> None:
    text = "Theresa May said: “We will act.”\n\nThe NHS – which turned 70 – is £20bn better off…"
    assert normalize_text(text) == text


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT)
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


# Texts whose layout the batch search must find: spaces and newlines around non-ASCII text,
# and texts that begin or end with one (a match must not run from one text into the next).
LAYOUT_PRONE = st.text(
    alphabet=st.sampled_from(list(" \n\tab.é“”–\u00a0\u3000ÃÂ€™\U0001f600\ud800")), max_size=30
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(ANY_TEXT, LAYOUT_PRONE), max_size=12))
def test_normalize_texts_is_normalize_text_of_each(texts: list[str]) -> None:
    assert normalize.normalize_texts(texts) == [normalize_text(text) for text in texts]


def test_normalize_texts_finds_layout_within_each_text_only() -> None:
    """A run that the joined bytes would form across two texts is not one of either text."""
    texts = ["a “b” ", " c", "d\n\n", "\ne", "f é", "“g", "", " ", "h  i", "j\n\n\nk"]
    flags = normalize._layout_flags(texts)
    # The joins of the first two texts and of the next two would be "  " and "\n\n\n".
    assert [f.loose_spaces for f in flags] == [False] * 8 + [True, False]
    assert [f.blank_run for f in flags] == [False] * 9 + [True]
    # "é" then "“" of the next text would be a pair; "”" then " " is none.
    assert [f.non_ascii_pair for f in flags] == [False] * 10
    assert normalize.normalize_texts(texts) == [normalize_text(text) for text in texts]


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT)
def test_normalize_text_output_has_normal_layout(text: str) -> None:
    out = normalize_text(text)
    assert out == out.strip()
    assert "\n\n\n" not in out
    assert not re.search(r"[^\S\n]", out.replace(" ", "")), "only spaces and newlines as whitespace"
    assert "  " not in out
    assert all(line == line.strip() for line in out.split("\n"))


@settings(max_examples=500, deadline=None)
@given(ANY_TEXT)
def test_skipping_ftfy_never_skips_a_fix(text: str) -> None:
    """normalize_text only runs ftfy when it might act; running it anyway must change nothing."""
    out = normalize_text(text)
    fixed = unicodedata.normalize("NFC", ftfy.fix_text(out, normalize._FTFY_CONFIG))
    assert normalize._normalize_layout(fixed, True) == out


def _badness_alphabet() -> list[str]:
    """Every non-ASCII character BADNESS_RE names, ranges expanded."""
    pattern = BADNESS_RE.pattern
    chars = {c for c in pattern if ord(c) > 127}
    for low, high in re.findall(r"([^\x00-\x7f])-([^\x00-\x7f])", pattern):
        chars.update(chr(code) for code in range(ord(low), ord(high) + 1))
    return sorted(chars)


def test_mojibake_check_covers_every_badness_match() -> None:
    """The claim behind the ftfy shortcut, checked exhaustively on short strings.

    Every BADNESS_RE match made of one non-ASCII character and ASCII context must be caught by
    the cheap trigger checks; matches with two or more non-ASCII characters are searched in
    windows around adjacent pairs (BADNESS_RE never needs two non-adjacent ones).
    """
    alphabet = _badness_alphabet()
    assert len(alphabet) > 300
    ascii_context = "aZ1. \n_"
    missed = []
    for length in range(1, 5):
        for position in range(length):
            for rest in itertools.product(ascii_context, repeat=length - 1):
                head, tail = "".join(rest[:position]), "".join(rest[position:])
                for char in alphabet:
                    text = head + char + tail
                    if BADNESS_RE.search(text) and not normalize._may_need_ftfy(
                        text, normalize._has_special(text)
                    ):
                        missed.append(text)
    assert missed == []
    for first, second in itertools.product(alphabet, repeat=2):
        text = first + " " + second
        if BADNESS_RE.search(text):
            assert normalize._may_need_ftfy(text, normalize._has_special(text)), text


def test_odd_whitespace_class_is_every_space_but_space_and_newline() -> None:
    spaces = {chr(code) for code in range(0x110000) if chr(code).isspace()} - {" ", "\n"}
    matched = {chr(code) for code in range(0x110000) if normalize._ODD_WHITESPACE_RE.match(chr(code))}
    assert matched == spaces


@given(st.text(alphabet="a \n", max_size=60))
def test_collapse_blank_lines_is_the_regex(text: str) -> None:
    assert normalize.collapse_blank_lines(text) == re.sub(r"\n{3,}", "\n\n", text)


@given(ANY_TEXT)
def test_special_is_either_search(text: str) -> None:
    either = bool(normalize._FTFY_TRIGGER_RE.search(text) or normalize._ODD_WHITESPACE_RE.search(text))
    assert normalize._has_special(text) == either


@given(st.text(alphabet="ab \né—’\x80\u07ff\u0800\uffff\U00010000\U0010ffff\ud83d\ude00", max_size=40))
def test_non_ascii_pair_check_is_the_regex(text: str) -> None:
    expected = normalize._NON_ASCII_PAIR_RE.search(text) is not None
    assert normalize._has_non_ascii_pair(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab é—’\ud83d", max_size=1200))
def test_non_ascii_pairs_are_the_regex_matches(text: str) -> None:
    expected = [match.start() for match in normalize._NON_ASCII_PAIR_RE.finditer(text)]
    assert normalize._non_ascii_pairs(text) == expected
    assert normalize._non_ascii_pairs(text * 3) == [
        m.start() for m in normalize._NON_ASCII_PAIR_RE.finditer(text * 3)
    ]
