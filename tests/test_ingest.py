import codecs
import gzip
import json
import os
import pickle
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from conftest import run_python_bound_by_permissions
from newsfold.config import IngestConfig
from newsfold.corpus import Corpus
from newsfold.ingest import (
    SUPPORTED_SUFFIXES,
    IngestResult,
    batch_files,
    list_input_files,
    read_articles,
    read_file,
)

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    return write(path, "".join(json.dumps(record) + "\n" for record in records))


def ingest(raw: Path, **config: int) -> IngestResult:
    return read_articles(raw, IngestConfig(**config))


def ids(result: IngestResult) -> set[str]:
    return {article.article_id for article in result.articles}


def quarantined(result: IngestResult) -> set[tuple[str, str]]:
    return {(record.source_file, record.reason) for record in result.quarantine}


def by_id(result: IngestResult) -> dict:
    return {article.article_id: article for article in result.articles}


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "raw"
    path.mkdir()
    return path


# Listing and batching


def test_list_input_files_recursive_sorted_skipping_hidden_and_sidecars(raw: Path) -> None:
    for name in [
        "b.txt",
        "b.json",  # sidecar of b.txt
        "c.txt.gz",
        "c.json",  # sidecar of c.txt.gz
        "d.json",  # no d.txt: a record file
        "a/z.jsonl",
        "a/y.csv.gz",
        "notes.pdf",
        ".hidden.txt",
        ".git/config.json",
        "a/.cache/x.txt",
    ]:
        write(raw / name, "x")
    files = list_input_files(raw)
    assert [path.relative_to(raw).as_posix() for path in files] == [
        "a/y.csv.gz",
        "a/z.jsonl",
        "b.txt",
        "c.txt.gz",
        "d.json",
        "notes.pdf",
    ]
    assert all(path.parent == raw or path.parent.parent == raw for path in files)


def test_list_input_files_of_a_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list_input_files(tmp_path / "missing")


def test_supported_suffixes() -> None:
    assert set(SUPPORTED_SUFFIXES) == {
        ".txt",
        ".json",
        ".jsonl",
        ".csv",
        ".txt.gz",
        ".json.gz",
        ".jsonl.gz",
        ".csv.gz",
    }


def test_batch_files_keeps_order() -> None:
    files = [Path(f"{i}.txt") for i in range(7)]
    batches = batch_files(files, 3)
    assert batches == [files[0:3], files[3:6], files[6:7]]
    assert batch_files([], 3) == []
    with pytest.raises(ValueError):
        batch_files(files, 0)


def test_read_articles_reads_only_the_given_files(raw: Path) -> None:
    write(raw / "a.txt", "Article A.")
    write(raw / "b.txt", "Article B.")
    result = read_articles(raw, IngestConfig(), files=[raw / "b.txt"])
    assert ids(result) == {"b.txt"}


# .txt and sidecars


def test_txt_article(raw: Path) -> None:
    write(raw / "news" / "one.txt", "  First line.\r\n\r\n\r\nSecond\tparagraph.  \n")
    result = ingest(raw)
    assert result.quarantine == []
    [article] = result.articles
    assert article.article_id == "news/one.txt"
    assert article.source_file == "news/one.txt"
    assert article.text == "First line.\n\nSecond paragraph."
    assert (article.title, article.published_at, article.source, article.url, article.extra) == (
        None,
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("name", ["story.txt", "story.txt.gz"])
def test_txt_sidecar_gives_metadata(raw: Path, name: str) -> None:
    body = b"The body of the story."
    write(raw / name, gzip.compress(body) if name.endswith(".gz") else body)
    sidecar = {
        "title": "A  headline",
        "published": "2019-01-07T10:30:00+01:00",
        "source": "The Paper",
        "url": "https://example.com/story",
        "author": "Jane Doe",
        "tags": ["nhs", "politics"],
    }
    write(raw / "story.json", json.dumps(sidecar))
    result = ingest(raw)
    assert result.quarantine == []
    [article] = result.articles
    assert article.article_id == name
    assert article.text == "The body of the story."
    assert article.title == "A headline"
    assert article.published_at == datetime(2019, 1, 7, 9, 30, tzinfo=UTC)
    assert article.source == "The Paper"
    assert article.url == "https://example.com/story"
    assert article.extra == '{"author":"Jane Doe","tags":["nhs","politics"]}'


@pytest.mark.parametrize(
    ("sidecar", "reason"),
    [
        ('{"title": ', "bad sidecar: invalid JSON at line 1: Expecting value"),
        ('["not", "an", "object"]', "bad sidecar: not a JSON object (got array)"),
        ("", "bad sidecar: empty file"),
    ],
)
def test_malformed_sidecar_is_quarantined_but_article_read(raw: Path, sidecar: str, reason: str) -> None:
    write(raw / "story.txt", "The body.")
    write(raw / "story.json", sidecar)
    result = ingest(raw)
    assert ids(result) == {"story.txt"}
    assert result.articles[0].title is None
    assert quarantined(result) == {("story.json", reason)}


# JSON Lines and JSON


def test_jsonl_records(raw: Path) -> None:
    write(
        raw / "feed.jsonl",
        json.dumps({"id": 17, "text": "Explicit id.", "title": "T", "lang": "en", "score": 0.5})
        + "\n\n   \n"
        + json.dumps({"text": "Positional id.", "source": " Wire ", "url": "http://x"})
        + "\n",
    )
    result = ingest(raw)
    assert result.quarantine == []
    articles = by_id(result)
    assert set(articles) == {"17", "feed.jsonl:4"}
    assert articles["17"].extra == '{"lang":"en","score":0.5}'
    assert articles["17"].title == "T"
    assert articles["feed.jsonl:4"].extra is None
    assert articles["feed.jsonl:4"].source == "Wire"
    assert {a.source_file for a in result.articles} == {"feed.jsonl"}


def test_one_bad_line_in_a_good_jsonl_quarantines_only_that_line(raw: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": "First."}),
        '{"id": "b", "text": ',
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "d", "title": "no text"}),
        json.dumps({"id": "e", "text": 42}),
        json.dumps({"id": "f", "text": " \u00a0\n "}),
        json.dumps({"id": ["g"], "text": "Bad id."}),
        json.dumps({"id": "h", "text": "Last."}),
    ]
    write(raw / "feed.jsonl", "\n".join(lines))
    result = ingest(raw)
    assert ids(result) == {"a", "h"}
    assert quarantined(result) == {
        ("feed.jsonl:2", "invalid JSON at line 2: Expecting value"),
        ("feed.jsonl:3", "JSON record is not an object (got array)"),
        ("feed.jsonl:4", "missing text"),
        ("feed.jsonl:5", 'field "text" is not a string (got number)'),
        ("feed.jsonl:6", "empty text"),
        ("feed.jsonl:7", 'field "id" is not a string or integer (got array)'),
    }
    assert {record.detail for record in result.quarantine if record.source_file == "feed.jsonl:2"} == {
        lines[1]
    }


def test_gzipped_jsonl(raw: Path) -> None:
    content = "".join(json.dumps({"text": f"Article {i}."}) + "\n" for i in range(3))
    write(raw / "feed.jsonl.gz", gzip.compress(content.encode()))
    result = ingest(raw)
    assert ids(result) == {"feed.jsonl.gz:1", "feed.jsonl.gz:2", "feed.jsonl.gz:3"}


def test_json_array_and_single_object(raw: Path) -> None:
    write(raw / "array.json", json.dumps([{"text": "Zero."}, {"id": "x1", "text": "One."}, "three"]))
    write(raw / "single.json", json.dumps({"text": "Single.", "published": "2019-03-04"}))
    write(raw / "gz.json.gz", gzip.compress(json.dumps([{"text": "Zipped."}]).encode()))
    result = ingest(raw)
    assert ids(result) == {"array.json:0", "x1", "single.json", "gz.json.gz:0"}
    assert quarantined(result) == {("array.json:2", "JSON record is not an object (got string)")}
    assert by_id(result)["single.json"].published_at == datetime(2019, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('[\n  {"text": "a"},\n  \n]', "invalid JSON at line 4: Expecting value"),
        ('[{"text": "truncated', "invalid JSON at line 1: Unterminated string starting at"),
        ("42", "top-level JSON value is not an object or array (got number)"),
        ("[]", "no records"),
        ("[" * 100_000, "invalid JSON: nested too deeply"),
    ],
)
def test_malformed_json_quarantines_the_file(raw: Path, content: str, reason: str) -> None:
    write(raw / "bad.json", content)
    result = ingest(raw)
    assert result.articles == []
    assert quarantined(result) == {("bad.json", reason)}
    assert result.quarantine[0].detail == content[:2000]


# CSV


def test_csv_newsarticles_format(raw: Path) -> None:
    write(
        raw / "news.csv",
        "title,subtitle,text,publish_date,article_source_link,author\n"
        'Storm hits coast,Thousands without power,"Heavy winds, rain.\n\nSecond para.",'
        "2019-01-07 10:30:00,https://example.com/storm,Jane Doe\n"
        "No subtitle,,Body only.,2019-01-08,https://example.com/b,\n",
    )
    result = ingest(raw)
    assert result.quarantine == []
    articles = by_id(result)
    assert set(articles) == {"news.csv:2", "news.csv:5"}
    storm = articles["news.csv:2"]
    assert storm.text == "Thousands without power\n\nHeavy winds, rain.\n\nSecond para."
    assert storm.title == "Storm hits coast"
    assert storm.published_at == datetime(2019, 1, 7, 10, 30, tzinfo=UTC)
    assert storm.url == "https://example.com/storm"
    assert storm.extra == '{"author":"Jane Doe"}'
    assert articles["news.csv:5"].text == "Body only."
    assert articles["news.csv:5"].extra is None


def test_csv_aliases_are_case_insensitive(raw: Path) -> None:
    write(
        raw / "feed.csv.gz",
        gzip.compress(
            b"Article_ID,Headline,Body,Outlet,Link,Date,Section\n"
            b"x-1,Head,The body.,Wire,http://x,2019-01-02,World\n"
        ),
    )
    [article] = ingest(raw).articles
    assert article.article_id == "x-1"
    assert (article.title, article.text, article.source, article.url) == (
        "Head",
        "The body.",
        "Wire",
        "http://x",
    )
    assert article.published_at == datetime(2019, 1, 2, tzinfo=UTC)
    assert article.extra == '{"Section":"World"}'


def test_csv_ragged_row_is_quarantined_with_its_line(raw: Path) -> None:
    write(raw / "feed.csv", "id,text\n1,One.\n2,Two.,extra field\n\n3,Three.\n")
    result = ingest(raw)
    assert ids(result) == {"1", "3"}
    assert quarantined(result) == {("feed.csv:3", "ragged CSV row: 3 fields, header has 2")}


def test_csv_rows_keep_their_order_and_their_own_text_when_normalised_together(raw: Path) -> None:
    """A file's bodies are normalised in one batch; each row still gets its own, in order, and
    rows without a body, ragged rows and the rows after them keep their places."""
    write(
        raw / "feed.csv",
        "id,title,text\n"
        'a,A,"One  body.\u00a0 \n\n\n\nNext."\n'
        "b,B,\n"
        "c,C,Two.,extra\n"
        "d,D,“Three”  \n"
        "e,E,Caf\u0065\u0301 four.\n",
    )
    result = ingest(raw)
    assert [(a.article_id, a.text) for a in result.articles] == [
        ("a", "One body.\n\nNext."),
        ("d", "“Three”"),
        ("e", "Café four."),
    ]
    assert [(q.source_file, q.reason) for q in result.quarantine] == [
        ("feed.csv:7", "missing text"),  # row a spans lines 2-6
        ("feed.csv:8", "ragged CSV row: 4 fields, header has 3"),
    ]


def test_csv_without_text_column_is_quarantined(raw: Path) -> None:
    write(raw / "feed.csv", "title,url\nA,http://x\n")
    result = ingest(raw)
    assert quarantined(result) == {
        ("feed.csv", "CSV header has no text column (one of: text, body, content, article)")
    }


def test_csv_reads_fields_over_the_default_size_limit(raw: Path) -> None:
    body = "word " * 50_000  # 250 kB, over csv's default 128 KiB field limit
    write(raw / "big.csv", f'text\n"{body}"\n')
    [article] = ingest(raw).articles
    assert article.text == body.strip()


# Dates


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2019-01-07T10:30:00Z", datetime(2019, 1, 7, 10, 30, tzinfo=UTC)),
        ("2019-01-07T10:30:00-05:00", datetime(2019, 1, 7, 15, 30, tzinfo=UTC)),
        ("2019-01-07 10:30", datetime(2019, 1, 7, 10, 30, tzinfo=UTC)),
        ("2019-01-07", datetime(2019, 1, 7, tzinfo=UTC)),
        ("Mon, 07 Jan 2019 10:30:00 GMT", datetime(2019, 1, 7, 10, 30, tzinfo=UTC)),
        ("January 7, 2019 10:30 AM EST", datetime(2019, 1, 7, 15, 30, tzinfo=UTC)),
        ("07 Jan 2019", datetime(2019, 1, 7, tzinfo=UTC)),
        ("2019/01/07 10:30:00 +0100", datetime(2019, 1, 7, 9, 30, tzinfo=UTC)),
    ],
)
def test_published_dates_are_parsed_to_utc(raw: Path, published: str, expected: datetime) -> None:
    write_jsonl(raw / "feed.jsonl", [{"text": "Body.", "published": published}])
    [article] = ingest(raw).articles
    assert article.published_at == expected
    assert article.extra is None


@pytest.mark.parametrize("published", ["yesterday", "January 7", "not a date at all", "2019-13-45"])
def test_unparseable_dates_are_kept_raw(raw: Path, published: str) -> None:
    write_jsonl(raw / "feed.jsonl", [{"text": "Body.", "published": published}])
    [article] = ingest(raw).articles
    assert article.published_at is None
    assert json.loads(article.extra or "{}") == {"published_raw": published}


# Encodings and bad bytes


def test_latin1_and_utf16_text_is_decoded(raw: Path) -> None:
    write(raw / "latin1.txt", "Le café est très bon à Paris, señor.".encode("latin-1"))
    write(raw / "utf16.txt", "UTF-16 “quoted” naïve text.".encode("utf-16"))
    write(raw / "utf16.jsonl", json.dumps({"text": "Zoë"}, ensure_ascii=False).encode("utf-16"))
    result = ingest(raw)
    assert result.quarantine == []
    assert {a.article_id: a.text for a in result.articles} == {
        "latin1.txt": "Le café est très bon à Paris, señor.",
        "utf16.txt": "UTF-16 “quoted” naïve text.",
        "utf16.jsonl:1": "Zoë",
    }


def test_mojibake_is_repaired(raw: Path) -> None:
    write(raw / "moji.txt", "I donâ€™t know, said the cafÃ© owner.")
    [article] = ingest(raw).articles
    assert article.text == "I don’t know, said the café owner."


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b" \n\t\r\n", "empty text"),
        ("binary.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00" * 10, "binary content (NUL bytes)"),
        (
            "binary.jsonl",
            b"\x01\x02\x03\x04 not text \x05\x06\x07",
            "binary content (7 controls in 17)",
        ),
        ("notes.pdf", b"%PDF-1.4", 'unsupported file type ".pdf"'),
        ("README", b"hello", "unsupported file type (no suffix)"),
        ("empty.jsonl", b"\n\n", "no records"),
    ],
)
def test_bad_files_are_quarantined(raw: Path, name: str, content: bytes, reason: str) -> None:
    write(raw / name, content)
    result = ingest(raw)
    assert result.articles == []
    assert quarantined(result) == {(name, reason)}


def test_truncated_and_corrupt_gzip(raw: Path) -> None:
    compressed = gzip.compress(b'{"text": "whole"}\n' * 1000)
    write(raw / "truncated.jsonl.gz", compressed[: len(compressed) // 2])
    write(raw / "corrupt.jsonl.gz", b"this is not gzip data at all")
    result = ingest(raw)
    assert result.articles == []
    assert quarantined(result) == {
        (
            "truncated.jsonl.gz",
            "truncated gzip: compressed file ended before the end-of-stream marker was reached",
        ),
        ("corrupt.jsonl.gz", "corrupt gzip: not a gzipped file (b'th')"),
    }


def test_size_limits(raw: Path) -> None:
    write(raw / "small.txt", "x" * 100)
    write(raw / "large.txt", "x" * 2_000)
    write(raw / "bomb.txt.gz", gzip.compress(b"x" * 100_000))  # ~150 bytes compressed
    write(raw / "long.jsonl", json.dumps({"text": "y" * 600}) + "\n" + json.dumps({"text": "ok"}))
    result = ingest(raw, max_file_bytes=1_000, max_article_chars=500)
    assert ids(result) == {"small.txt", "long.jsonl:2"}
    assert quarantined(result) == {
        ("large.txt", "file too large: 2000 bytes > max_file_bytes 1000"),
        ("bomb.txt.gz", "decompressed size exceeds max_file_bytes 1000"),
        ("long.jsonl:1", "text too long: 600 chars > max_article_chars 500"),
    }


# Ids


def test_duplicate_ids_across_files_keep_the_first(raw: Path) -> None:
    write_jsonl(raw / "a.jsonl", [{"id": "X", "text": "First copy."}, {"id": "Y", "text": "Only one."}])
    write_jsonl(raw / "b.jsonl", [{"id": "X", "text": "Second copy."}])
    write(raw / "c.csv", "id,text\nX,Third copy.\n")
    result = ingest(raw)
    assert ids(result) == {"X", "Y"}
    assert by_id(result)["X"].text == "First copy."
    assert quarantined(result) == {
        ("b.jsonl", 'duplicate article_id "X" (first seen in a.jsonl)'),
        ("c.csv", 'duplicate article_id "X" (first seen in a.jsonl)'),
    }


def test_results_pickle_column_by_column_and_back(raw: Path) -> None:
    # Reading processes send their results back pickled: the articles of a file read there (a
    # list) arrive as a Corpus, its texts one buffer as the stages read it; a merged result (a
    # Corpus already) goes as it is.
    write_jsonl(
        raw / "a.jsonl",
        [
            {"id": "X", "text": "First.", "title": "T", "published": "2024-01-02T03:04:05Z", "tag": 1},
            {"id": "Y", "text": "Second, café."},
            {"id": "Z"},
            {"id": "W", "text": "İstanbul and ΣΟΦΙΑ"},  # encode_text lower-cases it
        ],
    )
    read = read_file(raw / "a.jsonl", raw, IngestConfig())
    assert isinstance(read.articles, list) and len(read.articles) == 3 and len(read.quarantine) == 1
    merged = ingest(raw)
    assert isinstance(merged.articles, Corpus) and merged == read
    for result in (read, merged):
        for protocol in (2, pickle.HIGHEST_PROTOCOL):
            again = pickle.loads(pickle.dumps(result, protocol=protocol))
            assert isinstance(again.articles, Corpus)
            assert again == result and list(again.articles) == list(read.articles)
            fresh = Corpus.from_articles(read.articles).text
            assert np.array_equal(again.articles.text.encoded.data, fresh.encoded.data)
            assert np.array_equal(again.articles.text.encoded.offsets, fresh.encoded.offsets)
            assert dict(again.articles.text.exact) == {2: "İstanbul and ΣΟΦΙΑ"}
    empty = IngestResult([], [])
    assert pickle.loads(pickle.dumps(empty)) == empty


# File system oddities


def test_symlinks(tmp_path: Path, raw: Path) -> None:
    outside = write(tmp_path / "secret.txt", "Outside raw_dir.")
    write(raw / "real.txt", "Inside raw_dir.")
    (raw / "escape.txt").symlink_to(outside)
    (raw / "inside.txt").symlink_to(raw / "real.txt")
    (raw / "broken.txt").symlink_to(raw / "missing.txt")
    (raw / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    result = ingest(raw)
    assert ids(result) == {"real.txt", "inside.txt"}
    assert quarantined(result) == {
        ("escape.txt", "symlink target outside raw_dir"),
        ("broken.txt", "broken symlink"),
        ("dirlink", "symlink target outside raw_dir"),
    }


def test_symlink_to_a_directory_inside_raw_dir_is_not_followed(raw: Path) -> None:
    write(raw / "sub" / "a.txt", "Article.")
    (raw / "alias").symlink_to(raw / "sub", target_is_directory=True)
    result = ingest(raw)
    assert ids(result) == {"sub/a.txt"}
    assert quarantined(result) == {("alias", "symlink to a directory (not followed)")}


def test_unreadable_file_is_quarantined(raw: Path) -> None:
    path = write(raw / "locked.txt", "Secret.")
    write(raw / "open.txt", "Public.")
    path.chmod(0)
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from newsfold.config import IngestConfig\n"
        "from newsfold.ingest import read_articles\n"
        "result = read_articles(Path(sys.argv[1]), IngestConfig())\n"
        "print(json.dumps({'ids': sorted(a.article_id for a in result.articles),\n"
        "                  'quarantine': sorted([q.source_file, q.reason] for q in result.quarantine)}))\n"
    )
    try:
        done = run_python_bound_by_permissions("-c", script, str(raw))
    finally:
        path.chmod(0o644)
    assert done.returncode == 0, done.stderr
    expected = {"ids": ["open.txt"], "quarantine": [["locked.txt", "permission denied"]]}
    assert json.loads(done.stdout) == expected


def test_file_vanished_after_listing(raw: Path) -> None:
    path = write(raw / "gone.txt", "Soon deleted.")
    files = list_input_files(raw)
    path.unlink()
    result = read_articles(raw, IngestConfig(), files=files)
    assert quarantined(result) == {("gone.txt", "file vanished before reading")}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_quarantined_without_blocking(raw: Path) -> None:
    os.mkfifo(raw / "pipe.txt")
    result = ingest(raw)
    assert quarantined(result) == {("pipe.txt", "not a regular file")}


def test_read_file_of_a_path_outside_raw_dir(tmp_path: Path, raw: Path) -> None:
    outside = write(tmp_path / "other.txt", "Elsewhere.")
    result = read_file(outside, raw, IngestConfig())
    assert quarantined(result) == {("../other.txt", "file is not under raw_dir")}


def test_utf8_bom_is_stripped(raw: Path) -> None:
    write(raw / "bom.txt", codecs.BOM_UTF8 + b"Text after a BOM.")
    [article] = ingest(raw).articles
    assert article.text == "Text after a BOM."


# The seed corpus


def test_seed_files() -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"seed corpus not found at {SEEDS}")
    files = list_input_files(SEEDS)
    result = read_articles(SEEDS, IngestConfig())
    assert result.quarantine == []
    assert ids(result) == {path.name for path in files if path.suffix == ".txt"}
    for article in result.articles:
        assert article.text.startswith("•")
        assert "“" in article.text
        assert "\n\n\n" not in article.text
        assert article.text == article.text.strip()
