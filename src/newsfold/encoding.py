"""How the kernels read a text: its UTF-8 bytes, lower-cased first where lower() is contextual.

Reading processes encode the texts they send back (newsfold.ingest), and import this module,
not the kernels' (numba, datasketch and arrow took a reading process ~0.7 s to import).
"""


def is_lowered(text: str) -> bool:
    """Whether :func:`encode_text` lower-cases `text` before encoding it: str.lower() maps every
    code point on its own except "İ" (to two code points) and "Σ" (to "σ" or "ς" by its
    neighbours), which the kernels' lower-casing table cannot do."""
    # Two `in` tests, not any() over a tuple: a generator costs ~0.5 µs a call, a noticeable
    # share of encoding a million short segments.
    return "\u0130" in text or "\u03a3" in text


def encode_text(text: str) -> bytes:
    """The bytes the kernels read for `text` (lone surrogates pass through)."""
    if is_lowered(text):
        text = text.lower()  # idempotent under the table: lower() of a lower-case char is itself
    return text.encode("utf-8", "surrogatepass")
