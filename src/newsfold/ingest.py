"""Ingest: input files to articles and quarantine records; the only reader of input files."""

import csv
import dataclasses
import gzip
import io
import itertools
import json
import os
import stat
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from dateutil import parser as date_parser

from newsfold import heap
from newsfold.config import IngestConfig
from newsfold.encoding import encode_text, is_lowered
from newsfold.normalize import decode_bytes, normalize_text, normalize_texts
from newsfold.records import ARTICLE_METADATA, Article, QuarantineRecord

_FORMATS = (".txt", ".json", ".jsonl", ".csv")
SUPPORTED_SUFFIXES = tuple(suffix + gz for suffix in _FORMATS for gz in ("", ".gz"))

# Quarantine details are for a human to look at, not a copy of the input.
_MAX_DETAIL_CHARS = 2_000
# Keys of a JSON record (or .txt sidecar) that become Article fields; all others go to `extra`.
_RECORD_FIELDS = ("id", "text", "title", "published", "source", "url")
_SIDECAR_FIELDS = ("title", "published", "source", "url")
# CSV header aliases, case-insensitive, in order of preference.
_CSV_ALIASES = {
    "text": ("text", "body", "content", "article"),
    "title": ("title", "headline"),
    "published": ("published", "publish_date", "published_at", "date", "pubdate"),
    "url": ("url", "link", "article_source_link"),
    "source": ("source", "outlet", "publisher", "site"),
    "id": ("id", "article_id"),
}
# Python's csv module refuses fields over 128 KiB by default; an article body can be longer.
# The limit is a C long, so it stays below 2**31 on every platform.
_CSV_FIELD_LIMIT = 2**31 - 1
# Date strings longer than this are prose, not dates; dateutil would only waste time on them.
_MAX_DATE_CHARS = 64
# Zone abbreviations common in English-language news; dateutil knows only UTC/GMT/Z, and would
# otherwise read the machine's own zone name as local time (a result that depends on the host).
_TZ_ABBREVIATIONS: dict[str, tzinfo] = {
    name: timezone(timedelta(hours=hours), name)
    for name, hours in {
        "EST": -5,
        "EDT": -4,
        "CST": -6,
        "CDT": -5,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "BST": 1,
        "CET": 1,
        "CEST": 2,
        "EET": 2,
        "EEST": 3,
        "JST": 9,
        "AEST": 10,
        "AEDT": 11,
    }.items()
}
_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", int: "number", float: "number"}


@dataclasses.dataclass(frozen=True)
class IngestResult:
    """Articles read from some input files, and what could not be read.

    The articles of a file read in this process are a list; merged (:func:`merge_results`) or
    received from a reading process, a :class:`newsfold.corpus.Corpus`.
    """

    articles: Sequence[Article]
    quarantine: list[QuarantineRecord]

    def __reduce__(self) -> tuple[Any, ...]:
        # Reading processes (and Dask workers) send their results back pickled, and the receiver
        # gets a Corpus: the articles column by column, their texts as one buffer of the bytes
        # the stages read. Objects per article cost the receiver ~1 s of CPU per 10^5 articles
        # (a slots dataclass unpickles through a Python-level __setstate__ each), and its strings
        # were encoded again by the first stage (one core ~10 s at 10^6 articles). Encoded here
        # in pure Python: a reading process does not import the kernels.
        if not isinstance(self.articles, list):  # a Corpus pickles as its columns
            return IngestResult, (self.articles, self.quarantine)
        columns = tuple([getattr(a, name) for a in self.articles] for name in ARTICLE_METADATA)
        texts = [a.text for a in self.articles]
        encoded = [encode_text(text) for text in texts]
        ends = list(itertools.accumulate(map(len, encoded), initial=0))
        exact = {row: text for row, text in enumerate(texts) if is_lowered(text)}
        return _unpickle_result, (columns, b"".join(encoded), ends, exact, self.quarantine)


def _unpickle_result(
    columns: tuple[list[Any], ...],
    data: bytes,
    ends: list[int],
    exact: dict[int, str],
    quarantine: list[QuarantineRecord],
) -> IngestResult:
    # Imported here, not at the top: reading processes import this module, and newsfold.corpus
    # imports the kernels (numba, datasketch, arrow: ~0.7 s for each process).
    from newsfold.corpus import Corpus

    corpus = Corpus.from_encoded(dict(zip(ARTICLE_METADATA, columns, strict=True)), data, ends, exact)
    return IngestResult(corpus, quarantine)


class _Quarantined(Exception):
    """An input (file or record) that must be quarantined; caught inside this module."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def list_input_files(raw_dir: Path) -> list[Path]:
    """List the input files under ``raw_dir``, recursively, sorted by relative POSIX path.

    Hidden files and directories (name starting with ".") are skipped, as is a sidecar
    ``NAME.json`` next to ``NAME.txt`` or ``NAME.txt.gz`` (it is read with its article).
    Everything else is listed, including files of unsupported types, symlinks to directories
    and unreadable directories, so that `read_file` quarantines them instead of dropping them.

    Args:
        raw_dir: The input directory.

    Returns:
        Paths of the form ``raw_dir / relative_path``.

    Raises:
        FileNotFoundError: If ``raw_dir`` does not exist.
        NotADirectoryError: If ``raw_dir`` is not a directory.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.exists():
        raise FileNotFoundError(f"input directory does not exist: {raw_dir}")
    if not raw_dir.is_dir():
        raise NotADirectoryError(f"input path is not a directory: {raw_dir}")
    found: list[Path] = []

    def keep_unlistable(exc: OSError) -> None:
        if exc.filename is not None:
            found.append(Path(exc.filename))

    for dirpath, dirnames, filenames in os.walk(raw_dir, onerror=keep_unlistable):
        here = Path(dirpath)
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        # os.walk does not descend into symlinked directories; list them to be quarantined.
        found.extend(here / name for name in dirnames if (here / name).is_symlink())
        visible = [name for name in filenames if not name.startswith(".")]
        sidecars = {_sidecar_name(name) for name in visible if _is_txt(name)}
        found.extend(here / name for name in visible if name not in sidecars)
    return sorted(found, key=lambda path: _relative_name(path, raw_dir))


def batch_files(files: Sequence[Path], size: int) -> list[list[Path]]:
    """Split ``files`` into consecutive batches of at most ``size`` files, keeping their order.

    Raises:
        ValueError: If ``size`` is not positive.
    """
    if size < 1:
        raise ValueError(f"batch size must be positive, got {size}")
    return [list(files[start : start + size]) for start in range(0, len(files), size)]


def read_articles(raw_dir: Path, config: IngestConfig, files: Sequence[Path] | None = None) -> IngestResult:
    """Read articles from input files, quarantining whatever cannot be read.

    Article ids must be unique: of several articles with one id, the first (in file order,
    then record order) is kept and the others are quarantined.

    Args:
        raw_dir: The input directory; article ids and source files are relative to it.
        config: Ingest limits.
        files: The files to read, in order; by default `list_input_files(raw_dir)`.

    Returns:
        The articles and quarantine records, in input order.
    """
    raw_dir = Path(raw_dir)
    if files is None:
        files = list_input_files(raw_dir)
    return merge_results(read_file(path, raw_dir, config) for path in files)


def merge_results(results: Iterable[IngestResult]) -> IngestResult:
    """Concatenate ingest results in order, quarantining articles whose id was already seen.

    The merged articles are a :class:`newsfold.corpus.Corpus`.
    """
    # Imported here, not at the top: reading processes import this module, and newsfold.corpus
    # imports the kernels (numba, datasketch, arrow: ~0.7 s for each process).
    from newsfold.corpus import Corpus

    quarantine: list[QuarantineRecord] = []
    first_seen: dict[str, str] = {}

    def kept_parts() -> Iterator[Corpus]:
        for result in results:
            quarantine.extend(result.quarantine)
            corpus = Corpus.from_articles(result.articles)
            kept: list[int] = []
            where = zip(corpus.article_id, corpus.source_file, strict=True)
            for row, (article_id, source_file) in enumerate(where):
                first = first_seen.get(article_id)
                if first is None:
                    first_seen[article_id] = source_file
                    kept.append(row)
                else:
                    quarantine.append(
                        QuarantineRecord(
                            source_file=source_file,
                            reason=f'duplicate article_id "{article_id}" (first seen in {first})',
                            detail=corpus.text[row][:_MAX_DETAIL_CHARS],
                        )
                    )
            yield corpus if len(kept) == len(corpus) else corpus.take(kept)

    merged = Corpus.concat(kept_parts())  # each result's articles as it comes
    return IngestResult(merged, quarantine)


def read_listed_file(raw_dir: Path, name: str, config: IngestConfig) -> IngestResult:
    """read_file of raw_dir/name, its quarantine records naming the listed input file `name`."""
    got = read_file(raw_dir / name, raw_dir, config)
    return IngestResult(got.articles, [dataclasses.replace(q, input_file=name) for q in got.quarantine])


def read_listed_file_in_worker(raw_dir: Path, name: str, config: IngestConfig) -> IngestResult:
    """read_listed_file in a reading process of newsfold's own, which reuses the memory that the
    files before freed (heap.keep_freed): its memory is new to it otherwise, file after file."""
    heap.keep_freed()
    return read_listed_file(raw_dir, name, config)


def read_file(path: Path, raw_dir: Path, config: IngestConfig) -> IngestResult:
    """Read one input file (and its sidecar, for .txt) into articles; never raises.

    The format follows the suffix: ``.txt`` is one article (metadata from an optional sidecar
    ``NAME.json``), ``.jsonl`` one JSON record per line, ``.json`` an array of records or one
    record, ``.csv`` a header row and one record per row; each may be gzipped (``.gz``). A file
    that cannot be read is quarantined whole; a bad record only by itself.

    Args:
        path: The file, under ``raw_dir``.
        raw_dir: The input directory; article ids and source files are relative to it.
        config: Ingest limits.

    Returns:
        The file's articles and quarantine records.
    """
    path, raw_dir = Path(path), Path(raw_dir)
    source = _relative_name(path, raw_dir)
    try:
        return _read_file(path, source, raw_dir, config)
    except _Quarantined as exc:
        return IngestResult([], [QuarantineRecord(source, exc.reason, exc.detail)])
    except Exception as exc:  # one unforeseen file must not stop a run over a million others
        return IngestResult([], [QuarantineRecord(source, f"unexpected error: {type(exc).__name__}: {exc}")])


def _read_file(path: Path, source: str, raw_dir: Path, config: IngestConfig) -> IngestResult:
    if source.startswith("../") or Path(source).is_absolute():
        raise _Quarantined("file is not under raw_dir")
    root = os.path.realpath(raw_dir)
    data = _read_bytes(path, root, config.max_file_bytes)
    try:
        text = decode_bytes(data)
    except ValueError as exc:
        raise _Quarantined(str(exc)) from None
    del data  # the bytes are not needed while parsing, which may allocate as much again
    kind = _format_of(path.name)
    if kind == ".txt":
        return _parse_txt(text, source, path, raw_dir, root, config)
    if kind == ".jsonl":
        return _parse_jsonl(text, source, config)
    if kind == ".json":
        return _parse_json(text, source, config)
    return _parse_csv(text, source, config)


def _read_bytes(path: Path, root: str, max_bytes: int) -> bytes:
    """Read a file's bytes (decompressed if gzipped) after checking where it is and its size.

    ``root`` is the real path of raw_dir: the file's real path must be inside it.
    """
    if not Path(os.path.realpath(path)).is_relative_to(root):
        raise _Quarantined("symlink target outside raw_dir")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    except FileNotFoundError:
        raise _Quarantined(
            "broken symlink" if path.is_symlink() else "file vanished before reading"
        ) from None
    except PermissionError:
        raise _Quarantined("permission denied") from None
    except OSError as exc:
        raise _Quarantined(f"cannot open: {_lower_first(exc.strerror or str(exc))}") from None
    try:
        info = os.fstat(fd)  # the opened file itself: no race with a rename after listing
        if stat.S_ISDIR(info.st_mode):
            raise _Quarantined(
                "symlink to a directory (not followed)" if path.is_symlink() else "is a directory"
            )
        if not stat.S_ISREG(info.st_mode):
            raise _Quarantined("not a regular file")
        if _format_of(path.name) is None:
            raise _Quarantined(f"unsupported file type {_suffix_label(path.name)}")
        if info.st_size == 0:
            raise _Quarantined("empty file")
        if info.st_size > max_bytes:
            raise _Quarantined(f"file too large: {info.st_size} bytes > max_file_bytes {max_bytes}")
        with open(fd, "rb", closefd=False) as fh:
            if not path.name.lower().endswith(".gz"):
                return fh.read(max_bytes + 1)
            return _gunzip(fh, max_bytes)
    except OSError as exc:
        raise _Quarantined(f"read error: {_lower_first(exc.strerror or str(exc))}") from None
    finally:
        os.close(fd)


def _gunzip(fh: io.BufferedReader, max_bytes: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=fh, mode="rb") as gz:
            # Reading at most max_bytes + 1 bounds memory whatever the compression ratio.
            data = gz.read(max_bytes + 1)
    except EOFError as exc:
        raise _Quarantined(f"truncated gzip: {_lower_first(str(exc))}") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise _Quarantined(f"corrupt gzip: {_lower_first(str(exc))}") from None
    if len(data) > max_bytes:
        raise _Quarantined(f"decompressed size exceeds max_file_bytes {max_bytes}")
    if not data:
        raise _Quarantined("empty file (after decompression)")
    return data


def _parse_txt(
    text: str, source: str, path: Path, raw_dir: Path, root: str, config: IngestConfig
) -> IngestResult:
    quarantine: list[QuarantineRecord] = []
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    sidecar = path.with_name(_sidecar_name(path.name))
    if os.path.lexists(sidecar):
        try:
            fields, extra = _read_sidecar(sidecar, root, config)
        except _Quarantined as exc:
            sidecar_source = _relative_name(sidecar, raw_dir)
            quarantine.append(QuarantineRecord(sidecar_source, f"bad sidecar: {exc.reason}", exc.detail))
    try:
        article = _build_article(text, fields, extra, article_id=source, source_file=source, config=config)
    except _Quarantined as exc:
        detail = text[:_MAX_DETAIL_CHARS] if text.strip() else None
        quarantine.append(QuarantineRecord(source, exc.reason, detail))
        return IngestResult([], quarantine)
    return IngestResult([article], quarantine)


def _read_sidecar(sidecar: Path, root: str, config: IngestConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    data = _read_bytes(sidecar, root, config.max_file_bytes)
    try:
        text = decode_bytes(data)
    except ValueError as exc:
        raise _Quarantined(str(exc)) from None
    record = _load_json(text)
    if not isinstance(record, dict):
        raise _Quarantined(f"not a JSON object (got {_json_type(record)})", text[:_MAX_DETAIL_CHARS])
    fields = {key: record[key] for key in _SIDECAR_FIELDS if key in record}
    extra = {key: value for key, value in record.items() if key not in _SIDECAR_FIELDS}
    return fields, extra


def _parse_jsonl(text: str, source: str, config: IngestConfig) -> IngestResult:
    # split("\n"), not splitlines(): U+2028 and friends may appear raw inside JSON strings.
    lines: list[tuple[str, str, Any]] = []  # (location, line, record or why it is not one)
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line or line.isspace():
            continue
        location = f"{source}:{line_number}"
        try:
            lines.append((location, line, _load_json(line, line_number)))
        except _Quarantined as exc:
            lines.append((location, line, exc))
    bodies = _normalized_bodies([record for _, _, record in lines])
    articles: list[Article] = []
    quarantine: list[QuarantineRecord] = []
    for (location, line, record), body in zip(lines, bodies, strict=True):
        try:
            if isinstance(record, _Quarantined):
                raise record
            articles.append(_record_to_article(record, location, source, config, body))
        except _Quarantined as exc:
            quarantine.append(QuarantineRecord(location, exc.reason, line[:_MAX_DETAIL_CHARS]))
    if not articles and not quarantine:
        raise _Quarantined("no records")
    return IngestResult(articles, quarantine)


def _normalized_bodies(records: Sequence[Any]) -> list[str | None]:
    """The normalised text of each record that is an object with a string "text" (None for the
    others)."""
    texts = [r.get("text") if isinstance(r, dict) else None for r in records]
    return _normalized([text if isinstance(text, str) else None for text in texts])


def _normalized(texts: Sequence[str | None]) -> list[str | None]:
    """normalize_text of each text, None where there is none, all normalised together
    (normalize_texts)."""
    present = [(i, text) for i, text in enumerate(texts) if text is not None]
    bodies: list[str | None] = [None] * len(texts)
    for (i, _), body in zip(present, normalize_texts([text for _, text in present]), strict=True):
        bodies[i] = body
    return bodies


def _parse_json(text: str, source: str, config: IngestConfig) -> IngestResult:
    try:
        document = _load_json(text)
    except _Quarantined as exc:
        raise _Quarantined(exc.reason, text[:_MAX_DETAIL_CHARS]) from None
    if isinstance(document, dict):
        return IngestResult([_record_to_article(document, source, source, config)], [])
    if not isinstance(document, list):
        raise _Quarantined(
            f"top-level JSON value is not an object or array (got {_json_type(document)})",
            text[:_MAX_DETAIL_CHARS],
        )
    if not document:
        raise _Quarantined("no records", text[:_MAX_DETAIL_CHARS])
    articles: list[Article] = []
    quarantine: list[QuarantineRecord] = []
    for index, (record, body) in enumerate(zip(document, _normalized_bodies(document), strict=True)):
        location = f"{source}:{index}"
        try:
            articles.append(_record_to_article(record, location, source, config, body))
        except _Quarantined as exc:
            detail = json.dumps(record, ensure_ascii=False)[:_MAX_DETAIL_CHARS]
            quarantine.append(QuarantineRecord(location, exc.reason, detail))
    return IngestResult(articles, quarantine)


def _load_json(text: str, line_number: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        line = exc.lineno if line_number is None else line_number
        raise _Quarantined(f"invalid JSON at line {line}: {exc.msg}") from None
    except RecursionError:
        where = "" if line_number is None else f" at line {line_number}"
        raise _Quarantined(f"invalid JSON{where}: nested too deeply") from None


def _record_to_article(
    record: Any, default_id: str, source: str, config: IngestConfig, body: str | None = None
) -> Article:
    """The record as an Article; `body`: its text already normalised, if it was."""
    if not isinstance(record, dict):
        raise _Quarantined(f"JSON record is not an object (got {_json_type(record)})")
    fields = {key: record[key] for key in _RECORD_FIELDS if key in record}
    extra = {key: value for key, value in record.items() if key not in _RECORD_FIELDS}
    article_id = _article_id(fields.pop("id", None), default_id)
    return _build_article(
        fields.pop("text", None),
        fields,
        extra,
        article_id=article_id,
        source_file=source,
        config=config,
        body=body,
    )


def _parse_csv(text: str, source: str, config: IngestConfig) -> IngestResult:
    # A process-wide setting; it is only ever raised, so concurrent readers cannot lower it.
    csv.field_size_limit(max(csv.field_size_limit(), min(config.max_file_bytes, _CSV_FIELD_LIMIT)))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _Quarantined(f"invalid CSV header: {exc}", text[:_MAX_DETAIL_CHARS]) from None
    if not header:
        raise _Quarantined("no CSV header", text[:_MAX_DETAIL_CHARS])
    names = [name.strip().lower() for name in header]
    columns = {
        field: names.index(alias)
        for field, aliases in _CSV_ALIASES.items()
        for alias in reversed(aliases)  # the dict keeps the last, i.e. most preferred, alias
        if alias in names
    }
    if "text" not in columns:
        expected = ", ".join(_CSV_ALIASES["text"])
        raise _Quarantined(f"CSV header has no text column (one of: {expected})", text[:_MAX_DETAIL_CHARS])
    subtitle = names.index("subtitle") if "subtitle" in names else None
    used = {*columns.values(), subtitle}
    extra_columns = [(index, header[index].strip()) for index in range(len(header)) if index not in used]

    # Rows first, in order (a row or why it is not one), then their bodies normalised together.
    rows: list[tuple[str, list[str] | QuarantineRecord]] = []
    while True:
        line_number = reader.line_num + 1
        location = f"{source}:{line_number}"
        try:
            row = next(reader, None)
        except csv.Error as exc:
            # The reader cannot resynchronise after a syntax error: the rest of the file is lost.
            rows.append(
                (location, QuarantineRecord(location, f"invalid CSV at line {reader.line_num}: {exc}"))
            )
            break
        if row is None:
            break
        if not row:
            continue
        if len(row) != len(header):
            reason = f"ragged CSV row: {len(row)} fields, header has {len(header)}"
            rows.append((location, QuarantineRecord(location, reason, ",".join(row)[:_MAX_DETAIL_CHARS])))
            continue
        rows.append((location, row))

    def body_of(row: list[str]) -> str | None:
        body = row[columns["text"]] if row[columns["text"]].strip() else None
        if body is not None and subtitle is not None and row[subtitle].strip():
            body = row[subtitle] + "\n\n" + body
        return body

    raw_bodies = [body_of(entry) if isinstance(entry, list) else None for _, entry in rows]
    bodies = _normalized(raw_bodies)
    articles: list[Article] = []
    quarantine: list[QuarantineRecord] = []
    for (location, entry), raw_body, body in zip(rows, raw_bodies, bodies, strict=True):
        if isinstance(entry, QuarantineRecord):
            quarantine.append(entry)
            continue
        values = {field: entry[index] for field, index in columns.items() if entry[index].strip()}
        values.pop("text", None)
        extra = {name: entry[index] for index, name in extra_columns if entry[index].strip()}
        try:
            article_id = _article_id(values.pop("id", None), location)
            articles.append(
                _build_article(
                    raw_body,
                    values,
                    extra,
                    article_id=article_id,
                    source_file=source,
                    config=config,
                    body=body,
                )
            )
        except _Quarantined as exc:
            quarantine.append(QuarantineRecord(location, exc.reason, ",".join(entry)[:_MAX_DETAIL_CHARS]))
    if not articles and not quarantine:
        raise _Quarantined("no records")
    return IngestResult(articles, quarantine)


def _build_article(
    text: Any,
    fields: dict[str, Any],
    extra: dict[str, Any],
    *,
    article_id: str,
    source_file: str,
    config: IngestConfig,
    body: str | None = None,
) -> Article:
    """Make an Article from raw field values; raises _Quarantined for a record that must not be one.
    `body`: normalize_text(text), if it was made already."""
    if text is None:
        raise _Quarantined("missing text")
    if not isinstance(text, str):
        raise _Quarantined(f'field "text" is not a string (got {_json_type(text)})')
    text = normalize_text(text) if body is None else body
    if not text:
        raise _Quarantined("empty text")
    if len(text) > config.max_article_chars:
        raise _Quarantined(f"text too long: {len(text)} chars > max_article_chars {config.max_article_chars}")
    title = _as_text(fields.get("title"))
    if title is not None:
        title = normalize_text(title) or None
    published_raw = _as_text(fields.get("published"))
    published_at = _parse_published(published_raw) if published_raw else None
    if published_raw and published_at is None:
        extra = {**extra, "published_raw": published_raw}
    return Article(
        article_id=article_id,
        source_file=source_file,
        text=text,
        title=title,
        published_at=published_at,
        source=_as_text(fields.get("source")),
        url=_as_text(fields.get("url")),
        extra=json.dumps(extra, sort_keys=True, ensure_ascii=False, separators=(",", ":")) if extra else None,
    )


def _article_id(value: Any, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Quarantined(f'field "id" is not a string or integer (got {_json_type(value)})')
    return str(value).strip() or default


def _as_text(value: Any) -> str | None:
    """A metadata value as stripped text, or None when absent or blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
    return value.strip() or None


def _parse_published(value: str) -> datetime | None:
    """Parse a publication date to an aware UTC datetime; None when it is not a date.

    ISO 8601 and RFC 2822 ("Tue, 01 Jan 2019 10:00:00 GMT") are parsed directly, other formats
    ("January 2, 2019", "2019/01/02 10:00 EST") by dateutil, which is ~50 times slower. A time
    without a zone is taken as UTC; a date without a year is rejected rather than completed
    with the current year.
    """
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_rfc2822(value) or _parse_date_loosely(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def _parse_rfc2822(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError):
        return None
    # Naive means no zone or one the email module does not know (BST, CET): leave it to dateutil.
    return parsed if parsed.tzinfo is not None else None


def _parse_date_loosely(value: str) -> datetime | None:
    if len(value) > _MAX_DATE_CHARS:
        return None
    try:
        # Two different defaults reveal a missing year; a missing month or day becomes 1.
        first = date_parser.parse(value, default=datetime(2000, 1, 1), tzinfos=_zone_for)
        second = date_parser.parse(value, default=datetime(2001, 1, 1), tzinfos=_zone_for)
    except (ValueError, OverflowError):
        return None
    return first if first.year == second.year else None


def _zone_for(name: str | None, offset: int | None) -> tzinfo | None:
    """dateutil tzinfos callback: an explicit offset, a known abbreviation, or None (read as UTC)."""
    if offset is not None:
        return timezone(timedelta(seconds=offset))
    return _TZ_ABBREVIATIONS.get(name.upper()) if name else None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _relative_name(path: Path, raw_dir: Path) -> str:
    """The path relative to raw_dir, as POSIX text (the file's name in article ids)."""
    try:
        return path.relative_to(raw_dir).as_posix()
    except ValueError:
        return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(raw_dir))).as_posix()


def _format_of(name: str) -> str | None:
    """The format suffix of a file name (".txt", ".json", ".jsonl", ".csv"), or None."""
    name = name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return next((suffix for suffix in _FORMATS if name.endswith(suffix)), None)


def _suffix_label(name: str) -> str:
    suffix = Path(name).suffix
    return f'"{suffix}"' if suffix else "(no suffix)"


def _is_txt(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".txt") or lowered.endswith(".txt.gz")


def _sidecar_name(txt_name: str) -> str:
    """The sidecar of NAME.txt or NAME.txt.gz is NAME.json."""
    stem = txt_name[:-3] if txt_name.lower().endswith(".gz") else txt_name
    return stem[: -len(".txt")] + ".json"


def _lower_first(message: str) -> str:
    return message[:1].lower() + message[1:]
