"""Text normalisation: bytes to text, mojibake repair, Unicode NFC and whitespace (pure, idempotent)."""

import codecs
import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import charset_normalizer
import ftfy
import numpy as np
from ftfy.badness import BADNESS_RE
from ftfy.chardata import CONTROL_CHARS

# Repair mojibake and strip invisible control characters, but leave correct text alone: no
# uncurling of quotes, no ligature or full-width folding, no HTML unescaping.
_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    normalization="NFC",
    explain=False,
)

# ftfy costs ~2 ms per 4 kB article, almost all of it in its mojibake heuristic (BADNESS_RE,
# run on every line), so it only runs on text that could need it. Characters ftfy always acts on
# (controls, C1, surrogates, the invisible characters it removes, and Œ/œ, which BADNESS_RE
# flags on their own) send the text straight to ftfy, as do "Ã " and "Â " (mojibake of à and
# NBSP). Every other BADNESS_RE match contains two adjacent non-ASCII characters (checked
# exhaustively in the tests), so BADNESS_RE only runs around such pairs.
_FTFY_TRIGGER_RE = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in sorted(CONTROL_CHARS)) + "\x80-\x9f\ud800-\udfffŒœ]"
)
_NON_ASCII_PAIR_RE = re.compile("[^\x00-\x7f][^\x00-\x7f]")  # twice as fast as [...]{2}
# Below this length the regex scan is quicker than numpy's fixed cost.
_NUMPY_MIN_CHARS = 400
# The longest BADNESS_RE match is 7 characters ("ГўВЂВ.x"), so a match containing a pair lies
# within 7 characters of it.
_MAX_BADNESS_MATCH = 7
# ftfy can uncover new mojibake once the layout is normalised (a tab that becomes the space of
# "Ã "); a few passes reach the fixed point that makes normalize_text idempotent.
_MAX_PASSES = 4
# Whitespace other than space and newline. Text without it, double spaces or spaces at line ends
# (most text) skips splitting into lines and words. Spelled out (every str.isspace() character,
# checked in the tests) because that scans twice as fast as [^\S \n].
_ODD_WHITESPACE_RE = re.compile(
    "[\t\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)

# Either of the two, as one character class: a text without any skips both searches.
_SPECIAL_RE = re.compile("[" + _FTFY_TRIGGER_RE.pattern[1:-1] + _ODD_WHITESPACE_RE.pattern[1:-1] + "]")
# The ASCII characters that neither _ODD_WHITESPACE_RE nor _FTFY_TRIGGER_RE matches: text made of
# only these (most English news) needs neither regex, and a bytes.translate that deletes them
# tells so ~10x faster than either search.
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\n"
# UTF-8 bytes by kind: ASCII "a", continuation "c", lead "L". Two non-ASCII characters are
# adjacent exactly where a continuation byte is followed by a lead byte ("cL"), so one translate
# and one search tell a text without such pairs (most text) ~4x faster than _non_ascii_pairs.
_UTF8_KINDS = b"a" * 0x80 + b"c" * 0x40 + b"L" * 0x40

# Bytes that never occur in text (C0 controls other than \t \n \v \f \r, and DEL).
_BINARY_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_BINARY_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
# Text with more than 1% such control characters is binary: real text files have a stray form
# feed or escape sequence, not one control character per line.
_MAX_CONTROL_RATIO = 0.01
_BOMS = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# charset_normalizer ranks near-identical single-byte code pages arbitrarily on short Western
# text (é decoded as cp1250, è as "č"); when cp1252 is among the least chaotic candidates,
# take it, since it is by far the most common legacy encoding of news text.
_CHAOS_TIE = 0.01


def decode_bytes(data: bytes) -> str:
    """Decode the bytes of a text file, guessing the encoding when it is not UTF-8.

    UTF-8 (with or without a BOM) and BOM-marked UTF-16/UTF-32 are decoded directly; anything
    else is decoded with charset_normalizer's best guess, preferring cp1252 among equally
    plausible single-byte code pages.

    Args:
        data: The raw file content.

    Returns:
        The decoded text, BOM removed, otherwise unchanged.

    Raises:
        ValueError: If the data is binary (NUL bytes, many control characters) or fits no encoding.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ValueError(f"undecodable {encoding} content: {exc.reason}") from exc
            _check_not_binary(text)
            return text
    if b"\x00" in data:
        raise ValueError("binary content (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_mostly_utf8(data) or _decode_guessed(data)
        _check_not_binary(text)
        return text
    # In UTF-8 a control character is its own byte and no byte of another character is one:
    # counting the bytes (a translate, ~10x the regex) counts the characters.
    _check_controls(len(data) - len(data.translate(None, _BINARY_CONTROL_BYTES)), len(text))
    return text


def _decode_mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few invalid bytes (a stray Latin-1 byte, a cut multi-byte sequence), decoded
    with U+FFFD in their place; None unless valid multi-byte characters outnumber the invalid
    bytes (a single-byte legacy encoding hardly ever forms a valid UTF-8 sequence)."""
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd")
    valid = len(text) - len(text.encode("ascii", "ignore")) - bad
    return text if valid > bad else None


def _decode_guessed(data: bytes) -> str:
    matches = charset_normalizer.from_bytes(data)
    best = matches.best()
    if best is None:
        raise ValueError("binary content (no text encoding fits)")
    least_chaos = min(match.chaos for match in matches)
    for match in matches:
        if match.chaos <= least_chaos + _CHAOS_TIE and "cp1252" in match.could_be_from_charset:
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                break
    if best.encoding.startswith(("utf_16", "utf_32")):
        # Without a BOM these are guesses on NUL-free data, i.e. never real UTF-16 text.
        raise ValueError(f"undecodable content (only {best.encoding} without a BOM fits)")
    return str(best)


def _check_not_binary(text: str) -> None:
    if "\x00" in text:
        raise ValueError("binary content (NUL characters)")
    _check_controls(len(_BINARY_CONTROL_RE.findall(text)), len(text))


def _check_controls(n_controls: int, n_chars: int) -> None:
    if n_controls > _MAX_CONTROL_RATIO * n_chars:
        raise ValueError(f"binary content ({n_controls} controls in {n_chars})")


def normalize_text(text: str) -> str:
    """Normalise article text: repair mojibake, NFC, one space between words, paragraphs.

    Mojibake is repaired with ftfy (curly quotes and all correct characters are kept), the
    text is put in Unicode NFC, every line break becomes a newline, tabs, NBSP and other Unicode
    spaces become one space, lines are stripped, and runs of blank lines become one blank line
    (the paragraph break is two newlines). The result is stripped. ``normalize_text`` is
    idempotent.

    Args:
        text: Decoded text.

    Returns:
        The normalised text ("" when nothing but whitespace remains).
    """
    return _normalize_nfc(unicodedata.normalize("NFC", text), None)


def normalize_texts(texts: Sequence[str]) -> list[str]:
    """``[normalize_text(text) for text in texts]``, with the searches every text needs (loose
    spaces, runs of blank lines, adjacent non-ASCII characters) run over all the texts' bytes at
    once in numpy instead of text by text.

    Python's substring search costs ~2 ns per character and needle on text that holds any
    non-ASCII character (most news text: curly quotes, dashes), and the three searches made up
    ~60% of normalising a 500-word article; over a file's articles numpy does them in a few
    passes.
    """
    nfc = [unicodedata.normalize("NFC", text) for text in texts]
    return [_normalize_nfc(text, flags) for text, flags in zip(nfc, _layout_flags(nfc), strict=True)]


class _Layout(NamedTuple):
    """What a text has, as found for many texts at once (see _layout_flags)."""

    loose_spaces: bool  # two spaces in a row, or a space at a line's start or end
    blank_run: bool  # three newlines in a row
    non_ascii_pair: bool  # two non-ASCII characters side by side


def _layout_flags(texts: Sequence[str]) -> list[_Layout]:
    """_Layout of each text, from one buffer of all their UTF-8 bytes. Space and newline are
    ASCII, and no byte of a multi-byte character is; two non-ASCII characters are adjacent
    exactly where a continuation byte is followed by a lead byte."""
    encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
    ends = np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)))
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    if len(data) < 2:
        return [_Layout(False, False, False)] * len(texts)
    space, newline = data == 0x20, data == 0x0A
    loose = space[:-1] & (space[1:] | newline[1:])
    loose |= newline[:-1] & space[1:]
    run = newline[:-2] & newline[1:-1] & newline[2:]
    pair = ((data[:-1] & 0xC0) == 0x80) & (data[1:] >= 0xC0)

    def texts_with(first: np.ndarray, width: int) -> np.ndarray:
        """Which texts hold a match of `width` bytes starting at a True of `first`."""
        at = np.flatnonzero(first)
        doc = np.searchsorted(ends, at, side="right")
        inside = at + width <= ends[np.minimum(doc, len(ends) - 1)]  # not across two texts
        found = np.zeros(len(texts), dtype=bool)
        found[doc[inside]] = True
        return found

    flags = zip(
        texts_with(loose, 2).tolist(), texts_with(run, 3).tolist(), texts_with(pair, 2).tolist(), strict=True
    )
    return [_Layout(*f) for f in flags]


def _normalize_nfc(text: str, layout: _Layout | None) -> str:
    """normalize_text of an NFC text; `layout`: what the text has, if known."""
    # Most text has none of the characters either regex looks for: one search (or none, for
    # plain ASCII) settles both.
    special = _has_special(text)
    laid_out = _normalize_layout(text, special, layout)
    # What the text has holds while layout left it as it was (the same object).
    pair = layout.non_ascii_pair if layout is not None and laid_out is text else None
    text = laid_out
    for _ in range(_MAX_PASSES):
        if not _may_need_ftfy(text, special, pair):
            break
        fixed = _normalize_layout(unicodedata.normalize("NFC", ftfy.fix_text(text, _FTFY_CONFIG)), True)
        if fixed == text:
            break
        text, special, pair = fixed, True, None
    return text


def _normalize_layout(text: str, special: bool, layout: _Layout | None = None) -> str:
    """Whitespace of NFC text: single spaces, stripped lines, at most one blank line in a row.
    Without `special` characters the text has no odd whitespace to look for; `layout`: what
    the text has, if known."""
    odd = special and _ODD_WHITESPACE_RE.search(text) is not None
    loose = ("  " in text or " \n" in text or "\n " in text) if layout is None else layout.loose_spaces
    if odd or loose:
        # splitlines() breaks at exactly the Unicode line boundaries (\r\n, \r, \v, \f, \x1c-\x1e,
        # \x85, U+2028, U+2029) and split() at every Unicode space: both run in C.
        text = collapse_blank_lines("\n".join([" ".join(line.split()) for line in text.splitlines()]))
    elif layout is None or layout.blank_run:
        text = collapse_blank_lines(text)
    return text.strip()


def _has_special(text: str) -> bool:
    """Whether text has a character _ODD_WHITESPACE_RE or _FTFY_TRIGGER_RE looks for.

    Plain ASCII characters never match, so the search runs on what is left without them (a
    handful of characters in most text; the regex costs ~10 ns per character of the whole).
    Lone surrogates survive the round trip ("surrogatepass").
    """
    if text.isascii():
        rest = text.encode("ascii").translate(None, _PLAIN_ASCII).decode("ascii")
    else:
        utf8 = text.encode("utf-8", "surrogatepass")
        rest = utf8.translate(None, _PLAIN_ASCII).decode("utf-8", "surrogatepass")
    return bool(rest) and _SPECIAL_RE.search(rest) is not None


def collapse_blank_lines(text: str) -> str:
    """Every run of three or more newlines as two (one blank line), as re.sub(r"\n{3,}", "\n\n")
    does but ~5x faster: a replacement shortens a run without ever taking it below two."""
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def _non_ascii_pairs(text: str) -> list[int]:
    """Where _NON_ASCII_PAIR_RE.finditer(text) matches (non-overlapping pairs, left to right).

    A long text goes through numpy, ~4x faster than the regex scan: the starts of all pairs,
    then every other one within a run of consecutive starts, as the scan leaves them.
    """
    if len(text) < _NUMPY_MIN_CHARS:
        return [match.start() for match in _NON_ASCII_PAIR_RE.finditer(text)]
    wide = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) > 0x7F
    starts = np.flatnonzero(wide[1:] & wide[:-1])
    if len(starts) == 0:
        return []
    run_start = np.r_[True, np.diff(starts) != 1]
    first_of_run = np.maximum.accumulate(np.where(run_start, np.arange(len(starts)), 0))
    return starts[(np.arange(len(starts)) - first_of_run) % 2 == 0].tolist()


def _has_non_ascii_pair(text: str) -> bool:
    """Whether two non-ASCII characters stand side by side (_NON_ASCII_PAIR_RE.search)."""
    return b"cL" in text.encode("utf-8", "surrogatepass").translate(_UTF8_KINDS)


def _may_need_ftfy(text: str, special: bool, non_ascii_pair: bool | None = None) -> bool:
    """Whether ftfy could change ``text``: a cheap, conservative stand-in for its own checks.
    Without `special` characters the text has no ftfy trigger to look for; `non_ascii_pair`:
    whether two non-ASCII characters stand side by side, if known."""
    if special and _FTFY_TRIGGER_RE.search(text):
        return True
    if text.isascii():
        return False
    if ("Ã" in text and "Ã " in text) or ("Â" in text and "Â " in text):  # memchr first
        return True
    if not (_has_non_ascii_pair(text) if non_ascii_pair is None else non_ascii_pair):
        return False
    # Windows around pairs cost as much per character as one search over the whole text, which
    # is cheaper once the windows add up to half the text (Cyrillic, Greek, CJK text).
    budget = len(text) // 2
    for pair in _non_ascii_pairs(text):
        start = max(0, pair - _MAX_BADNESS_MATCH)
        end = pair + 2 + _MAX_BADNESS_MATCH
        budget -= end - start
        if budget < 0:
            return BADNESS_RE.search(text) is not None
        if BADNESS_RE.search(text, start, end):
            return True
    return False
