"""Records passed between stages, and the parquet schemas of the output (declared once)."""

import dataclasses
from datetime import datetime
from typing import Any

import pyarrow as pa

# 2: stories gained `merged_into` (incremental runs record story merges instead of renaming).
SCHEMA_VERSION = "2"

ROLES = ("headline", "boilerplate", "syndicated")


@dataclasses.dataclass(frozen=True, slots=True)
class Article:
    """One ingested article: metadata plus its normalised text (before any stripping)."""

    article_id: str
    source_file: str
    text: str
    title: str | None = None
    published_at: datetime | None = None
    source: str | None = None
    url: str | None = None
    extra: str | None = None  # other input fields, as a JSON object string


ARTICLE_FIELDS = tuple(field.name for field in dataclasses.fields(Article))
ARTICLE_METADATA = tuple(name for name in ARTICLE_FIELDS if name != "text")  # all but the text


@dataclasses.dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """An input file or record that could not be read, and why."""

    source_file: str
    reason: str
    detail: str | None = None  # whatever could be read (truncated), for a human to inspect
    # The listed input file the record came from (source_file may be PATH:LINE or a sidecar);
    # incremental runs drop a file's records when the file is read again. Not written out.
    input_file: str | None = None


ARTICLES_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("published_at", pa.timestamp("us", tz="UTC")),
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("duplicate_group", pa.string(), nullable=False),
        pa.field("is_canonical", pa.bool_(), nullable=False),
        pa.field("duplicate_of", pa.string()),
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("extra", pa.string()),
        pa.field("published_month", pa.string(), nullable=False),
    ],
    metadata={"newsfold.schema_version": SCHEMA_VERSION, "newsfold.dataset": "articles"},
)

STORIES_SCHEMA = pa.schema(
    [
        pa.field("story_id", pa.string(), nullable=False),
        pa.field("headline", pa.string()),
        pa.field("n_articles", pa.int64(), nullable=False),
        pa.field("first_published", pa.timestamp("us", tz="UTC")),
        pa.field("last_published", pa.timestamp("us", tz="UTC")),
        pa.field("top_terms", pa.list_(pa.string()), nullable=False),
        # Set when a later run found this story to be part of another one: the story_id it was
        # merged into (never itself merged). Its articles keep this story_id; null otherwise.
        pa.field("merged_into", pa.string()),
    ],
    metadata={"newsfold.schema_version": SCHEMA_VERSION, "newsfold.dataset": "stories"},
)

SHARED_TEXT_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("n_articles", pa.int64(), nullable=False),
    ],
    metadata={"newsfold.schema_version": SCHEMA_VERSION, "newsfold.dataset": "shared_text"},
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
    ],
    metadata={"newsfold.schema_version": SCHEMA_VERSION, "newsfold.dataset": "quarantine"},
)

DATASET_SCHEMAS: dict[str, pa.Schema] = {
    "articles": ARTICLES_SCHEMA,
    "stories": STORIES_SCHEMA,
    "shared_text": SHARED_TEXT_SCHEMA,
    "quarantine": QUARANTINE_SCHEMA,
}


def records_to_table(records: list[Any], schema: pa.Schema) -> pa.Table:
    """Build a table from dataclass records whose fields include every schema column."""
    columns = {name: [getattr(r, name) for r in records] for name in schema.names}
    return pa.table(columns, schema=schema)
