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
    # Processes that read files in a CLI run (pipeline.run); 0: one per CPU this process may use.
    # Reading and normalising is pure Python, one core per process. The flow maps batches on its
    # task runner instead (Dask worker processes).
    workers: int = 0

    def __post_init__(self) -> None:
        _check(self.max_file_bytes > 0, "ingest.max_file_bytes must be positive")
        _check(self.max_article_chars > 0, "ingest.max_article_chars must be positive")
        _check(self.batch_files > 0, "ingest.batch_files must be positive")
        _check(self.workers >= 0, "ingest.workers must be >= 0 (0: one per CPU)")


@dataclasses.dataclass(frozen=True)
class MinHashConfig:
    # Permutations of the dedup signatures. Every LSH candidate is verified exactly, so they
    # serve a sharp cut at the candidate levels (Jaccard 0.6 over whole texts, 0.5 over their
    # beginnings): unrelated articles share 2-10 % of their character 7-grams by chance, and at
    # 0.5 the bands 256 permutations allow let 0.5 % of pairs at Jaccard 0.1 through ((47, 4):
    # P(0.5) = 0.95), 128 permutations 2.3 % ((23, 3)).
    num_perm: int = 256
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
    # A line with a furniture marker ("copyright", "newsletter", "read more", a URL) is
    # boilerplate only when it is at most this long: footers and plugs run to ~50 words, while a
    # shared 200-word paragraph that mentions a newsletter is article text.
    marker_max_words: int = 50
    # A headline is short: at most this many words, and has no sentence-final period.
    headline_max_words: int = 20
    # A shared passage of at least this many words inside related articles is syndicated text.
    syndicated_min_words: int = 8
    # Articles sharing a segment are "related" when the mean pairwise cosine of their TF-IDF
    # bodies is at least this; below it the segment is boilerplate (a footer across stories).
    related_cosine: float = 0.1
    # A segment in this many articles of one source is boilerplate even if they are related:
    # an outlet's own footer or plug, on an outlet that mostly covers one subject (lines carried
    # by one outlet's articles in newsarticles.jsonl reach a mean cosine of 0.18, above
    # related_cosine).
    boilerplate_min_same_source: int = 5
    # ... unless its articles are this alike (mean cosine): then they are copies of one article
    # (>= 0.8 for reprints with edits or OCR noise), whose shared paragraphs are the article.
    # One outlet's articles on one event stay well below it (0.44 on the demo corpus).
    boilerplate_max_related: float = 0.6

    def __post_init__(self) -> None:
        _check(2 <= self.char_ngram <= 16, "shared_text.char_ngram must be in [2, 16]")
        _check(0.0 < self.threshold <= 1.0, "shared_text.threshold must be in (0, 1]")
        _check(self.min_chars >= 1, "shared_text.min_chars must be >= 1")
        _check(self.num_perm >= 16, "shared_text.num_perm must be >= 16")
        _check(0.0 <= self.related_cosine <= 1.0, "shared_text.related_cosine must be in [0, 1]")
        _check(
            0.0 <= self.boilerplate_max_related <= 1.0,
            "shared_text.boilerplate_max_related must be in [0, 1]",
        )


@dataclasses.dataclass(frozen=True)
class DedupConfig:
    # Shingles compared: "char" n-grams of the lower-cased alphanumeric text, or "word" n-grams.
    # Character 7-grams survive what breaks words: on bench/make_duplicates.py copies with 1-3 %
    # OCR character errors, word 3-gram Jaccard falls to 0.31-0.60 (below unrelated same-story
    # articles' 0.37), character 7-gram Jaccard stays >= 0.63. Word shingles cost ~3x less time.
    shingles: str = "char"
    # Characters per shingle: 7 keeps chance overlap between different articles on one event
    # low (same-story pairs: Jaccard <= 0.49, 5-grams 0.55) while an edit or OCR error only
    # touches 7 shingles.
    char_ngram: int = 7
    # Words per shingle when shingles = "word".
    word_ngram: int = 3
    # Near-duplicate when the exact shingle Jaccard is >= 0.6. Measured on make_duplicates.py
    # (character 7-grams): copies with up to 8 % word edits or 3 % OCR errors >= 0.63, different
    # articles on one event (incl. follow-ups reusing background paragraphs) <= 0.49.
    threshold: float = 0.6
    # ... or when >= 0.85 of the smaller text's shingles are in the larger (a truncated reprint,
    # also with light edits or OCR noise: >= 0.88), against <= 0.82 for a short article on one
    # event next to a long one.
    containment: float = 0.85
    # Containment only counts when the smaller text has at least this many shingles (~40 words
    # of character 7-grams; ~250 words of word 3-grams), so that a quote or snippet is not
    # "contained" in every article quoting it.
    min_containment_shingles: int = 250
    # Texts with fewer shingles than this (~15 words in character 7-grams: a headline or a
    # snippet) are duplicates only when equal: two headlines a word apart ("best black friday
    # deal" / "... apps") are different articles as often as copies (GoogleNews: 92 of 3,240
    # merged pairs of such snippets crossed stories).
    min_shingles: int = 100
    # Truncated reprints are found by LSH over the texts' first 500 characters (the lead and a
    # little more) at Jaccard 0.5: half-article reprints on bench/make_duplicates.py score >= 0.68
    # there (0.97 for 95 %), copies with a headline, byline or edits >= 0.6; 300 characters
    # leave too few shingles, 800 reach past the end of a short reprint (0.53).
    prefix_chars: int = 500
    prefix_threshold: float = 0.5
    # Alignment check of every pair passing the rules above (text-dedup's "check false
    # positives"): the smaller text, and as many characters from the start of the larger, are
    # cut into windows of about this many characters (three sentences); a window is covered
    # when at least `window_containment` of its shingles are in the other text: OCR noise or
    # edits leave a copy's windows ~0.8 covered, a new paragraph ~0.1.
    window_chars: int = 300
    window_containment: float = 0.5
    # Lines shorter than this are not compared: bylines, headlines, credit lines and footers
    # (mostly under 20 words) that a reprint adds or drops. A new lead or paragraph is longer.
    min_line_words: int = 20
    # A pair stays a duplicate only if the smaller text's lead (first window) is covered, and at
    # most these shares of characters are uncovered: of the smaller text (a copy is all in its
    # original); of the start of the larger when it begins as the smaller does (an editor may
    # have cut a paragraph from the copy); and when it begins with text of its own (a follow-up
    # puts a new lead and new paragraphs around the text it reuses). Measured: on
    # bench/make_duplicates.py copies <= 0.013 / <= 0.1, leads covered; bench/gen_corpus.py wire
    # copies with a paragraph dropped: 98 % within 0.1 / 0.3; in newsarticles.jsonl, follow-ups
    # that reuse an earlier article (at Jaccard up to 0.62 and containment up to 0.86, where the
    # set rules alone cannot tell them from copies) have a new lead on the smaller side, >= 0.13
    # uncovered on it, or a new lead and >= 0.27 on the larger. The price: a reprint whose lead
    # was rewritten is not merged (one natural case, J 0.82).
    max_uncovered_smaller: float = 0.1
    max_uncovered_larger: float = 0.3
    max_uncovered_new_lead: float = 0.15

    def __post_init__(self) -> None:
        _check(self.shingles in ("char", "word"), "dedup.shingles must be 'char' or 'word'")
        _check(2 <= self.char_ngram <= 32, "dedup.char_ngram must be in [2, 32]")
        _check(1 <= self.word_ngram <= 10, "dedup.word_ngram must be in [1, 10]")
        _check(0.0 < self.threshold <= 1.0, "dedup.threshold must be in (0, 1]")
        _check(0.0 < self.containment <= 1.0, "dedup.containment must be in (0, 1]")
        _check(self.min_containment_shingles >= 1, "dedup.min_containment_shingles must be >= 1")
        _check(self.prefix_chars >= 20, "dedup.prefix_chars must be >= 20")
        _check(self.min_shingles >= 1, "dedup.min_shingles must be >= 1")
        _check(0.0 < self.prefix_threshold <= 1.0, "dedup.prefix_threshold must be in (0, 1]")
        _check(self.window_chars >= 20, "dedup.window_chars must be >= 20")
        _check(self.min_line_words >= 1, "dedup.min_line_words must be >= 1")
        _check(0.0 <= self.window_containment <= 1.0, "dedup.window_containment must be in [0, 1]")
        _check(0.0 <= self.max_uncovered_smaller <= 1.0, "dedup.max_uncovered_smaller must be in [0, 1]")
        _check(0.0 <= self.max_uncovered_larger <= 1.0, "dedup.max_uncovered_larger must be in [0, 1]")
        _check(0.0 <= self.max_uncovered_new_lead <= 1.0, "dedup.max_uncovered_new_lead must be in [0, 1]")


@dataclasses.dataclass(frozen=True)
class StoryConfig:
    # Two clusters joined by a graph edge merge when each is the other's most similar neighbour
    # and the cosine of their mean TF-IDF vectors is >= 0.2. Inside the plateau both labelled
    # sets share: B³-F1 is within 0.01 of its best over 0.15-0.25 on topic-level full articles
    # (WikiRef220, 0.93) and over 0.2-0.3 on event-level snippets (GoogleNews, 0.85); beyond
    # it stories fragment (WikiRef 0.90 at 0.3) or neighbouring stories fuse (GoogleNews 0.81
    # at 0.1). The lower end of the shared range: the window already guards dated news.
    threshold: float = 0.2
    # Neighbours per article in the similarity graph: 5 to 20 score within 0.01 of each other
    # (B³-F1); 10 reaches a story's core (duplicates were collapsed upstream) at 10 edges each.
    n_neighbors: int = 10
    # Articles further apart in time than this are never linked, and no story holds two dated
    # articles further apart than this: a week covers an event and its follow-ups; a longer
    # affair becomes one story a week. Without it, dated news (NewsArticles, Jan-Mar 2017) fuses
    # into topics ("Trump", "Brexit") spanning two months; with it, clusters are events.
    window_days: float = 7.0
    # Terms in more than half the articles (and in more than 10) carry no story signal.
    max_df: float = 0.5
    # A term seen in one article cannot link two, and dropping it keeps rare tokens (typos, ids)
    # from diluting the vector: WikiRef220 B³-F1 0.93 with 2, 0.91 with 1.
    min_df: int = 2
    # Each article keeps its 64 heaviest TF-IDF terms: snippets have fewer; for full articles the
    # tail adds cost (posting-list work) and noise. WikiRef220 B³-F1 0.93 at 64, 0.915 at 32.
    max_terms: int = 64
    # Weight of the neighbours' mean vector added to each article's own before merging (pseudo
    # relevance feedback: it lends a short text the words of its event). 0 -> 1 lifts B³-F1 from
    # 0.82 to 0.85 on GoogleNews and 0.88 to 0.93 on WikiRef220; 0.5 and 2 lose 0.005-0.02.
    expansion: float = 1.0
    # Only an article's lead is read: news is written as an inverted pyramid and names its event
    # in the first few hundred words. 2,000 characters (~330 words) scored as well as the whole
    # text on WikiRef220 (B³-F1 0.93 both) and halve tokenising time, the largest cost at 10^5.
    max_chars: int = 2000
    # Expansion makes even two unrelated articles look alike when each is the other's nearest
    # (if weak) neighbour, so a merge also needs the cosine of the clusters' own, unexpanded
    # means to be this many times the background: the mean cosine between an article and those
    # outside its neighbours (the bar is capped at `threshold`). Measured safe range 5-8: below
    # 5 the demo corpus's one-article events pair up (its background is 0.03, their cosines
    # 0.10-0.16, its real stories' 0.4-0.65); at 10 WikiRef220 loses 0.01, at 15 0.05.
    # WikiRef220 and GoogleNews are unchanged over 3-8. 6 sits inside the safe range.
    background_ratio: float = 6.0
    # Accepted for the estimator API; the clustering is deterministic (ties break on content).
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
        _check(self.background_ratio >= 0.0, "stories.background_ratio must be >= 0")


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
