"""One frozen config per stage, composed into PipelineConfig; every threshold says why it is what it is."""

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any, Self


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    # A file larger than this is quarantined unread: 256 MiB holds ~100k articles of JSONL,
    # far beyond any real single article, and keeps one bad file from exhausting memory.
    max_file_bytes: int = 256 * 1024 * 1024
    # One article longer than this (~200 pages of text) is a scrape error, not news.
    max_article_chars: int = 1_000_000
    # Files per batch: the unit the Prefect flow maps over.
    batch_files: int = 256

    def __post_init__(self) -> None:
        _check(self.max_file_bytes > 0, "ingest.max_file_bytes must be positive")
        _check(self.max_article_chars > 0, "ingest.max_article_chars must be positive")
        _check(self.batch_files > 0, "ingest.batch_files must be positive")


@dataclasses.dataclass(frozen=True)
class MinHashConfig:
    # 128 permutations: a Jaccard estimate with standard error ~0.04, enough because every
    # LSH candidate is verified exactly afterwards; more only costs time.
    num_perm: int = 128
    seed: int = 1
    # datasketch 2.x default scheme; stored with every persisted signature.
    scheme: str = "affine32"

    def __post_init__(self) -> None:
        _check(self.num_perm >= 16, "minhash.num_perm must be >= 16")
        _check(self.scheme == "affine32", "minhash.scheme: only 'affine32' is supported")


@dataclasses.dataclass(frozen=True)
class SharedTextConfig:
    # Character 5-grams of a normalised segment: short enough that a one-word edit changes few
    # shingles of a 60-character headline, long enough that unrelated lines rarely share many.
    char_ngram: int = 5
    # Near-verbatim: segments whose shingle Jaccard is >= 0.7 are the same text (a typo or a
    # changed date in a 10-word footer still leaves J ~ 0.75).
    threshold: float = 0.7
    # Segments shorter than this (after normalisation) are ignored: "Share", "Advertisement"
    # are handled by being boilerplate only when long enough to be unambiguous.
    min_chars: int = 12
    # Permutations for segment signatures: segments are 10-50x more numerous than articles and
    # every LSH candidate is verified by exact Jaccard, so 64 (std. error ~0.06) is plenty.
    num_perm: int = 64
    # A headline is short: at most this many words, and has no sentence-final period.
    headline_max_words: int = 20
    # A shared passage of at least this many words inside related articles is syndicated text.
    syndicated_min_words: int = 8
    # Articles sharing a segment are "related" when the mean pairwise cosine of their TF-IDF
    # bodies is at least this; below it the segment is boilerplate (a footer across stories).
    related_cosine: float = 0.1
    # A segment in this many articles of one source is boilerplate even if they are related.
    boilerplate_min_same_source: int = 5

    def __post_init__(self) -> None:
        _check(2 <= self.char_ngram <= 16, "shared_text.char_ngram must be in [2, 16]")
        _check(0.0 < self.threshold <= 1.0, "shared_text.threshold must be in (0, 1]")
        _check(self.min_chars >= 1, "shared_text.min_chars must be >= 1")
        _check(self.num_perm >= 16, "shared_text.num_perm must be >= 16")
        _check(0.0 <= self.related_cosine <= 1.0, "shared_text.related_cosine must be in [0, 1]")


@dataclasses.dataclass(frozen=True)
class DedupConfig:
    # Word 3-grams: robust on short texts (titles, snippets) where 5-grams leave too few shingles.
    word_ngram: int = 3
    # Near-duplicate when the exact shingle Jaccard is >= 0.7 (wire copies with light edits).
    threshold: float = 0.7
    # ... or when >= 0.9 of the smaller text's shingles are in the larger (a truncated reprint).
    containment: float = 0.9
    # Containment only counts when the smaller text has at least this many shingles, so that a
    # two-line snippet is not "contained" in every article quoting it.
    min_containment_shingles: int = 30

    def __post_init__(self) -> None:
        _check(1 <= self.word_ngram <= 10, "dedup.word_ngram must be in [1, 10]")
        _check(0.0 < self.threshold <= 1.0, "dedup.threshold must be in (0, 1]")
        _check(0.0 < self.containment <= 1.0, "dedup.containment must be in (0, 1]")


@dataclasses.dataclass(frozen=True)
class StoryConfig:
    # Two adjacent clusters merge when the cosine of their centred mean vectors is >= 0.2 (and
    # each is the other's best). Measured plateau: B³-F1 within 0.01 of its best for 0.15-0.25 on
    # both topic-level full articles (WikiRef220) and event-level snippets (GoogleNews); above
    # 0.3 stories fragment, below 0.1 neighbouring topics fuse.
    threshold: float = 0.2
    # Neighbours per article in the similarity graph: ten is enough to reach a story's core
    # (duplicates were collapsed upstream) and bounds the graph at 10 edges per article.
    n_neighbors: int = 10
    # Articles further apart in time than this are never linked (when both dates are known): a
    # week covers a news event's follow-ups; a story can run longer through a chain of links
    # between articles each within a week, but only as its centroid stays on topic.
    window_days: float = 7.0
    # Terms in more than half the articles (and in more than 10) carry no story signal.
    max_df: float = 0.5
    # A term seen in one article cannot link two; dropping it also stops rare tokens (typos,
    # ids) from diluting a short text's vector.
    min_df: int = 2
    # Each article keeps its 64 heaviest TF-IDF terms: a snippet has fewer, and for a full article
    # the tail only adds cost (measured: no loss on WikiRef220 down to 16) and common-term
    # products that make the neighbour search quadratic.
    max_terms: int = 64
    # Weight of the neighbours' mean vector added to each article's own (pseudo-relevance
    # feedback): lifts GoogleNews snippets from B³-F1 0.83 to 0.855 at 1.0; full articles barely move.
    expansion: float = 1.0
    # Only an article's lead is read: news is written as an inverted pyramid and names its event
    # in the first few hundred words. 2,000 characters (~330 words) scored as well as the whole
    # text on WikiRef220 (B³-F1 0.93 vs 0.92) and halves tokenising time, the largest cost at 10^5.
    max_chars: int = 2000
    random_state: int = 0

    def __post_init__(self) -> None:
        _check(0.0 < self.threshold <= 1.0, "stories.threshold must be in (0, 1]")
        _check(self.n_neighbors >= 1, "stories.n_neighbors must be >= 1")
        _check(self.window_days > 0, "stories.window_days must be positive")
        _check(0.0 < self.max_df <= 1.0, "stories.max_df must be in (0, 1]")
        _check(self.min_df >= 1, "stories.min_df must be >= 1")
        _check(self.max_terms >= 1, "stories.max_terms must be >= 1")
        _check(self.expansion >= 0.0, "stories.expansion must be >= 0")
        _check(self.max_chars >= 1, "stories.max_chars must be >= 1")


STAGE_CONFIGS: dict[str, type] = {
    "ingest": IngestConfig,
    "minhash": MinHashConfig,
    "shared_text": SharedTextConfig,
    "dedup": DedupConfig,
    "stories": StoryConfig,
}


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    ingest: IngestConfig = dataclasses.field(default_factory=IngestConfig)
    minhash: MinHashConfig = dataclasses.field(default_factory=MinHashConfig)
    shared_text: SharedTextConfig = dataclasses.field(default_factory=SharedTextConfig)
    dedup: DedupConfig = dataclasses.field(default_factory=DedupConfig)
    stories: StoryConfig = dataclasses.field(default_factory=StoryConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build a config from nested dicts keyed by stage name; unknown keys are an error."""
        unknown = set(data) - set(STAGE_CONFIGS)
        _check(not unknown, f"unknown config section(s): {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, section in data.items():
            stage_cls = STAGE_CONFIGS[name]
            known = {f.name for f in dataclasses.fields(stage_cls)}
            bad = set(section) - known
            _check(not bad, f"unknown key(s) in config section [{name}]: {sorted(bad)}")
            kwargs[name] = stage_cls(**section)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None) -> PipelineConfig:
    """Read a TOML or JSON config file (sections named after stages); None gives the defaults."""
    if path is None:
        return PipelineConfig()
    path = Path(path)
    raw = path.read_bytes()
    data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode("utf-8"))
    return PipelineConfig.from_dict(data)
