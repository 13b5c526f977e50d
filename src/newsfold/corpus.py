"""A corpus of articles as columns: their metadata as lists, their texts as one UTF-8 buffer."""

import dataclasses
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from newsfold.minhash import EncodedTexts
from newsfold.records import ARTICLE_FIELDS, ARTICLE_METADATA, Article
from newsfold.text_column import TextColumn


@dataclasses.dataclass(frozen=True, eq=False)
class Corpus(Sequence[Article]):
    """Articles held column by column; a row read from it is an :class:`Article`.

    The texts are one buffer (a :class:`TextColumn`), which the stages read as it is: reading
    processes send each file's texts encoded (ingest.IngestResult), and nothing after them
    holds a string per article (the strings of 10^6 articles took 4.2 GB next to their 3.3 GB
    encoding for the whole run, and encoding them took one core ~10 s). The columns follow
    Article's fields.
    """

    article_id: list[str]
    source_file: list[str]
    text: TextColumn
    title: list[str | None]
    published_at: list[datetime | None]
    source: list[str | None]
    url: list[str | None]
    extra: list[str | None]

    def __post_init__(self) -> None:
        n = len(self.article_id)
        lengths = {name: len(getattr(self, name)) for name in ARTICLE_FIELDS}
        if any(length != n for length in lengths.values()):
            raise ValueError(f"corpus columns of different lengths: {lengths}")

    @classmethod
    def from_articles(cls, articles: Iterable[Article]) -> "Corpus":
        """The articles as columns (a Corpus is returned as it is)."""
        if isinstance(articles, Corpus):
            return articles
        rows = list(articles)
        columns: dict[str, Any] = {name: [getattr(a, name) for a in rows] for name in ARTICLE_FIELDS}
        return cls(**{**columns, "text": TextColumn.from_texts(columns["text"])})

    @classmethod
    def from_encoded(
        cls, metadata: Mapping[str, list[Any]], data: bytes, ends: Sequence[int], exact: Mapping[int, str]
    ) -> "Corpus":
        """The corpus of Article's other fields as lists (`metadata`) and the texts as their
        encoding (encoding.encode_text's bytes one after the other, text i ending at ends[i + 1])
        with the texts that encode_text lower-cases (`exact`, by row): what a reading process
        sends (ingest.IngestResult)."""
        encoded = EncodedTexts(np.frombuffer(data, dtype=np.uint8), np.asarray(ends, dtype=np.int64))
        columns: dict[str, Any] = {**metadata, "text": TextColumn(encoded, exact)}
        return cls(**columns)

    @classmethod
    def concat(cls, parts: Iterable["Corpus"]) -> "Corpus":
        """The corpora one after the other, each copied as it comes (TextColumn.concat)."""
        columns: dict[str, Any] = {name: [] for name in ARTICLE_METADATA}

        def texts() -> Iterator[TextColumn]:
            for part in parts:
                for name in ARTICLE_METADATA:
                    columns[name].extend(getattr(part, name))
                yield part.text

        text = TextColumn.concat(texts())
        return cls(**columns, text=text)

    @classmethod
    def from_arrow(cls, table: pa.Table) -> "Corpus":
        """The corpus of a table with Article's fields as columns (the state's inputs), its texts
        taken from the table's buffer as they are, except those encode_texts lower-cases."""
        columns: dict[str, Any] = {name: table.column(name).to_pylist() for name in ARTICLE_METADATA}
        return cls(**{**columns, "text": TextColumn.from_arrow(table.column("text"))})

    def __len__(self) -> int:
        return len(self.article_id)

    @overload
    def __getitem__(self, i: int) -> Article: ...

    @overload
    def __getitem__(self, i: slice) -> "Corpus": ...

    def __getitem__(self, i: int | slice) -> "Article | Corpus":
        if isinstance(i, slice):
            return Corpus(**{name: getattr(self, name)[i] for name in ARTICLE_FIELDS})
        row = operator.index(i)
        return Article(**{name: getattr(self, name)[row] for name in ARTICLE_FIELDS})

    def __iter__(self) -> Iterator[Article]:
        return map(Article, *(getattr(self, name) for name in ARTICLE_FIELDS))

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same articles (a list of them, as well)."""
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequences are not hashable

    def __repr__(self) -> str:
        return f"Corpus({len(self)} articles, {self.text.encoded.data.size} bytes of text)"

    def take(self, index: Sequence[int] | npt.NDArray[np.int64]) -> "Corpus":
        """The articles at `index`, in that order."""
        rows = np.asarray(index, dtype=np.int64)
        listed = rows.tolist()
        columns: dict[str, Any] = {
            name: [getattr(self, name)[r] for r in listed] for name in ARTICLE_METADATA
        }
        return Corpus(**{**columns, "text": self.text.take(rows)})
