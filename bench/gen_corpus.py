"""Generate a realistic synthetic news corpus for the benchmark: JSONL shards plus its ground truth.

    python bench/gen_corpus.py --n 100000 [--out bench/corpus] [--seed 0]

What it imitates, and how:

- **Words.** Token frequencies follow Zipf–Mandelbrot, p(rank) ∝ 1 / (rank + 2.7)^1.07, the fit
  usually quoted for English news, over a vocabulary of 120,000 word forms. The head of the
  ranking is the real text of the bundled demo corpus (data/raw): its words in the order of
  their frequency there (the, of, and, to, a, in, said, ...); the tail is pronounceable made-up
  forms, so that the number of distinct words grows with the corpus as in real text (Heaps' law)
  instead of stopping at the demo corpus's 2,000 words. A 500-word article then has ~300
  distinct words, and two unrelated articles share almost no word 3-grams, as in real news.
- **Stories.** Articles belong to story events whose sizes are heavy-tailed (most stories have
  one to three articles, a few have hundreds). A story has a start date (spread over a year per
  100k articles), its own topic words and named people and places (a quarter of an article's
  words), a headline and a key quote. Articles are published within days of the story's start;
  2% carry no date.
- **Duplicates.** 25% of later articles in a story are wire copies of an earlier one, with light
  edits (a few words changed, a sentence dropped) and 30% of them truncated to their first
  paragraphs; 4% are exact re-scrapes under another id.
- **Shared text.** 300 outlets of Zipf-distributed size; every outlet has a copyright footer,
  most a newsletter plug after the second paragraph, some a "Read more" line; some outlets put
  the story's package headline on top of every article of the story; half the articles of a
  story quote its key quote as a paragraph of its own.

Files: OUT/<name>/raw/shard-NNNNN.jsonl (records with id, title, published, source, url, text;
5,000 per shard), OUT/<name>/truth.npz (story and duplicate-group of every article, by id
order) and OUT/<name>/meta.json. A corpus is reused when its meta.json matches the request.
Generation runs in a process per shard (all cores) at ~10k articles/s per core.
"""

import argparse
import json
import os
import re
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
DEMO_RAW = PROJECT / "data" / "raw"
DEFAULT_OUT = PROJECT / "bench" / "corpus"
GENERATOR_VERSION = 3

SHARD_ARTICLES = 5_000
VOCABULARY = 120_000
ZIPF_EXPONENT = 1.07
ZIPF_SHIFT = 2.7
N_OUTLETS = 300
WORDS_MEAN, WORDS_SD = 500, 120
TOPIC_SHARE = 0.25  # of an article's words come from its story's own vocabulary
WIRE_COPY_RATE = 0.25
RESCRAPE_RATE = 0.04
TRUNCATE_RATE = 0.30
UNDATED_RATE = 0.02
EDIT_RATE = 0.02  # of a wire copy's words replaced
ARTICLES_PER_DAY = 100_000 / 365

_SYLLABLES_ON = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "ch",
                 "cl", "dr", "gr", "pl", "sh", "st", "th", "tr"]  # fmt: skip
_SYLLABLES_NU = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "ie", "oa"]
_SYLLABLES_CODA = ["", "", "", "n", "r", "s", "l", "t", "nd", "st", "rk", "m", "ck", "ng"]
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Function words are kept lower-case; everything else in the demo corpus that only appears
# capitalised is a name (a place, person or company) and joins the names pool instead.
# fmt: off
_FALLBACK_HEAD = [
    "the", "of", "and", "to", "a", "in", "said", "on", "for", "at", "was", "would", "had", "after",
    "by", "will", "be", "were", "with", "that", "from", "has", "it", "is", "as", "two", "million",
    "per", "people", "more", "cent", "years", "who", "first", "not", "but", "than", "his", "been",
    "its", "over", "could", "this", "up", "chief", "every", "an", "homes", "new", "year", "police",
    "council", "minister", "government", "week", "last", "also", "their", "one", "they", "which", "she",
    "he", "about", "three", "four", "into", "during", "when", "most", "some", "other", "all", "there",
]
# fmt: on


# ---- vocabulary -------------------------------------------------------------------------------


def _demo_words() -> tuple[list[str], list[str]]:
    """Common words (by frequency) and capitalised names from the demo corpus's article texts."""
    texts: list[str] = []
    if DEMO_RAW.is_dir():
        from newsfold.config import IngestConfig
        from newsfold.ingest import read_articles

        texts = [a.text for a in read_articles(DEMO_RAW, IngestConfig()).articles]
    counts = Counter(w for t in texts for w in _WORD.findall(t))
    lower = Counter[str]()
    names = []
    for word, c in counts.items():
        if word.islower():
            lower[word] += c
        elif word.lower() in counts:
            lower[word.lower()] += c
        elif word[0].isupper() and len(word) > 3 and word.isalpha():
            names.append(word)
    common = [w for w, c in lower.most_common() if c >= 2 and len(w) < 16 and "’" not in w]
    if len(common) < 100:  # no demo corpus (or a stub): a built-in head of common English words
        common = list(dict.fromkeys(_FALLBACK_HEAD))
    return common, sorted(names)


def _made_up_words(rng: np.random.Generator, n: int, exclude: set[str], syllables: list[int]) -> list[str]:
    """n distinct pronounceable word forms, with syllable counts drawn from `syllables`."""
    out: list[str] = []
    seen = set(exclude)
    while len(out) < n:
        k = 2 * (n - len(out))
        n_syl = rng.choice(syllables, size=k)
        on = rng.integers(0, len(_SYLLABLES_ON), size=(k, 4))
        nu = rng.integers(0, len(_SYLLABLES_NU), size=(k, 4))
        coda = rng.integers(0, len(_SYLLABLES_CODA), size=k)
        for i in range(k):
            word = "".join(_SYLLABLES_ON[on[i, j]] + _SYLLABLES_NU[nu[i, j]] for j in range(n_syl[i]))
            word += _SYLLABLES_CODA[coda[i]]
            if word not in seen:
                seen.add(word)
                out.append(word)
                if len(out) == n:
                    break
    return out


def build_vocabulary(seed: int) -> dict[str, Any]:
    """Word forms by rank, their Zipf–Mandelbrot distribution, and names after them.

    Returns `forms`, a (4, V) object array: each word as is, capitalised, with a full stop, and
    both (the forms a word takes in a sentence), `cumulative` over the V_words common words and
    `first_name`, the index where the names start.
    """
    rng = np.random.default_rng(seed)
    common, demo_names = _demo_words()
    tail = _made_up_words(rng, VOCABULARY - len(common), set(common), [1, 1, 2, 2, 2, 3])
    words = common + tail
    ranks = np.arange(1, len(words) + 1, dtype=np.float64)
    weights = 1.0 / (ranks + ZIPF_SHIFT) ** ZIPF_EXPONENT
    names = [w.capitalize() for w in _made_up_words(rng, 40_000, set(words), [2, 2, 3])]
    lexicon = words + demo_names + names
    forms = np.empty((4, len(lexicon)), dtype=object)
    forms[0] = lexicon
    forms[1] = [w[:1].upper() + w[1:] for w in lexicon]
    forms[2] = [w + "." for w in lexicon]
    forms[3] = [w + "." for w in forms[1]]
    return {
        "forms": forms,
        "cumulative": np.cumsum(weights / weights.sum()),
        "first_name": len(words),
        "n_names": len(demo_names) + len(names),
    }


# ---- the corpus plan: stories, outlets, which article is a copy of which ----------------------


def plan_corpus(n: int, seed: int) -> dict[str, np.ndarray]:
    """Decide, for every article, its story, outlet, date and whether it copies another article.

    Returns parallel arrays over articles (in id order): story, outlet, day (NaN: undated),
    kind (0 original, 1 wire copy, 2 exact re-scrape), copy_of (the original a copy is made
    from, -1 for originals), truncate (paragraphs a truncated copy keeps, 0 = all).
    """
    rng = np.random.default_rng([seed, 1])
    # Story sizes: a discrete power law (most stories small, a few very large), cut at n.
    sizes_list: list[int] = []
    total = 0
    while total < n:
        size = int(min(rng.zipf(1.9), 400, n - total))
        sizes_list.append(size)
        total += size
    sizes = np.array(sizes_list)
    n_stories = len(sizes)
    days_span = max(30.0, n / ARTICLES_PER_DAY)
    story_start = rng.uniform(0.0, days_span, n_stories)
    story = np.repeat(np.arange(n_stories), sizes)
    # Articles appear in id order by story, then by their delay after the story's start.
    offset = rng.exponential(1.5, n)
    order = np.lexsort((offset, story))
    offset = offset[order]
    day = story_start[story] + offset
    outlet_weights = 1.0 / np.arange(1, N_OUTLETS + 1) ** 0.8
    outlet = rng.choice(N_OUTLETS, size=n, p=outlet_weights / outlet_weights.sum())
    first = np.repeat(np.r_[0, np.cumsum(sizes)[:-1]], sizes)
    position = np.arange(n) - first
    draw = rng.random(n)
    later = position > 0
    wire = later & (draw < WIRE_COPY_RATE)
    rescrape = later & (draw >= WIRE_COPY_RATE) & (draw < WIRE_COPY_RATE + RESCRAPE_RATE)
    kind = np.zeros(n, dtype=np.int8)
    kind[wire], kind[rescrape] = 1, 2
    # A copy is made from a uniformly chosen earlier article of its story, followed back to the
    # original it (transitively) copies: wire services redistribute originals, not each other.
    copy_of = np.full(n, -1, dtype=np.int64)
    source = first + np.floor(rng.random(n) * np.maximum(position, 1)).astype(np.int64)
    for i in np.flatnonzero(wire | rescrape):
        j = source[i]
        copy_of[i] = j if kind[j] == 0 else copy_of[j]
    truncate = np.zeros(n, dtype=np.int8)
    picked = wire & (rng.random(n) < TRUNCATE_RATE)
    truncate[picked] = rng.integers(2, 5, int(picked.sum()))
    day[rng.random(n) < UNDATED_RATE] = np.nan
    return {
        "story": story.astype(np.int64),
        "outlet": outlet.astype(np.int64),
        "day": day,
        "kind": kind,
        "copy_of": copy_of,
        "truncate": truncate,
        "n_stories": np.array(n_stories),
    }


# ---- rendering text ---------------------------------------------------------------------------


_QUANTILES = 1 << 23
_TABLES: dict[int, np.ndarray] = {}


def _quantile_table(cumulative: np.ndarray) -> np.ndarray:
    """The inverse CDF at 2^23 evenly spaced points: a draw is one lookup (a searchsorted over
    the 120k-word CDF per draw is most of the generator's time). Its resolution, 1.2e-7, is
    below the rarest word's probability (~3e-7). Built once per process."""
    key = id(cumulative)
    if key not in _TABLES:
        points = (np.arange(_QUANTILES) + 0.5) / _QUANTILES * cumulative[-1]
        _TABLES[key] = np.searchsorted(cumulative, points).astype(np.int32)
    return _TABLES[key]


class _Body:
    """An article body as token ids and their forms, cut into paragraphs at `breaks`."""

    def __init__(self, ids: np.ndarray, form: np.ndarray, breaks: list[int]) -> None:
        self.ids, self.form, self.breaks = ids, form, breaks


class _Writer:
    """Renders the articles of one shard; everything random is seeded by (seed, what, index)."""

    def __init__(self, vocab: dict[str, Any], seed: int) -> None:
        self.forms: np.ndarray = vocab["forms"]
        self.cumulative: np.ndarray = vocab["cumulative"]
        self.first_name: int = vocab["first_name"]
        self.n_names: int = vocab["n_names"]
        self.seed = seed
        self.outlets = [self._outlet(o) for o in range(N_OUTLETS)]

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    def background(self, rng: np.random.Generator, k: int, lowest_rank: int = 0) -> np.ndarray:
        """k words drawn from the Zipf–Mandelbrot distribution (of ranks >= lowest_rank)."""
        table = _quantile_table(self.cumulative)
        low = int(np.searchsorted(table, np.int32(lowest_rank))) if lowest_rank else 0
        return table[rng.integers(low, len(table), k)]

    def name(self, rng: np.random.Generator, k: int) -> np.ndarray:
        return self.first_name + rng.integers(0, self.n_names, k)

    def text(self, ids: np.ndarray, form: int = 0) -> str:
        return " ".join(self.forms[form, ids].tolist())

    def _outlet(self, o: int) -> dict[str, Any]:
        rng = self._rng(2, o)
        kind = rng.choice(["Post", "Times", "Herald", "Courier", "Wire"])
        name = f"The {self.text(self.name(rng, 2))} {kind}"
        slug = re.sub(r"[^a-z]+", "", name.lower())
        return {
            "name": name,
            "domain": f"{slug}.example",
            "footer": f"© 2026 {name}. All rights reserved. Reproduction without permission is prohibited.",
            "plug": (
                f"Sign up for {name} newsletter: {self.text(self.background(rng, 8))}, every weekday."
                if rng.random() < 0.7
                else None
            ),
            "read_more": f"Read more from {name} at {slug}.example/latest" if rng.random() < 0.3 else None,
            "package_headlines": rng.random() < 0.2,
        }

    def story(self, s: int) -> dict[str, Any]:
        rng = self._rng(3, s)
        # What the story is about: 40 words of middle frequency and 8 names (people, places).
        topic = np.concatenate([self.background(rng, 40, lowest_rank=200), self.name(rng, 8)])
        headline = self.text(rng.permutation(np.r_[topic[:6], topic[40]]))
        quote = np.r_[self.background(rng, 12), topic[:4]]
        rng.shuffle(quote)
        return {
            "topic": topic,
            "headline": headline[:1].upper() + headline[1:],
            "quote": f'"{self.text(quote).capitalize()}," said {self.text(topic[41:43])}.',
        }

    def original(self, i: int, story: dict[str, Any]) -> _Body:
        """An original article's body: sentences of 8-29 words in paragraphs of 2-4 sentences."""
        rng = self._rng(4, i)
        n_words = int(np.clip(rng.normal(WORDS_MEAN, WORDS_SD), 150, 1200))
        ids = self.background(rng, n_words)
        from_topic = rng.random(n_words) < TOPIC_SHARE
        topic = story["topic"]
        ids[from_topic] = topic[rng.integers(0, len(topic), int(from_topic.sum()))]
        ends = np.cumsum(rng.integers(8, 30, n_words // 8 + 2))
        ends = np.r_[ends[ends < n_words - 4], n_words]
        form = np.zeros(n_words, dtype=np.int8)
        form[np.r_[0, ends[:-1]]] |= 1  # capitalised
        form[ends - 1] |= 2  # full stop
        per_paragraph = rng.integers(2, 5, len(ends))
        k = np.cumsum(per_paragraph)
        breaks = ends[k[k <= len(ends)] - 1].tolist()
        if not breaks or breaks[-1] != n_words:
            breaks.append(n_words)
        return _Body(ids, form, breaks)

    def edit(self, i: int, body: _Body, truncate: int) -> _Body:
        """A wire copy: maybe truncated to its first paragraphs or a paragraph dropped, and a
        few words replaced."""
        rng = self._rng(5, i)
        ids, form, breaks = body.ids.copy(), body.form, list(body.breaks)
        if truncate and truncate < len(breaks):
            breaks = breaks[:truncate]
            ids, form = ids[: breaks[-1]], form[: breaks[-1]]
        elif len(breaks) > 3 and rng.random() < 0.5:
            k = int(rng.integers(1, len(breaks) - 1))
            lo, hi = breaks[k - 1], breaks[k]
            ids, form = np.r_[ids[:lo], ids[hi:]], np.r_[form[:lo], form[hi:]]
            breaks = breaks[:k] + [b - (hi - lo) for b in breaks[k + 1 :]]
        changed = rng.random(len(ids)) < EDIT_RATE
        ids[changed] = self.background(rng, int(changed.sum()))
        return _Body(ids, form, breaks)

    def render(self, body: _Body, outlet: dict[str, Any], story: dict[str, Any], i: int) -> str:
        words = self.forms[body.form, body.ids].tolist()
        lines: list[str] = []
        if outlet["package_headlines"]:
            lines.append(f"{story['headline']}: what we know so far")
        quote = (i * 2654435761) % 4294967296 < 2147483648  # half the articles, deterministically
        start = 0
        for k, end in enumerate(body.breaks):
            lines.append(" ".join(words[start:end]))
            start = end
            if k == 1 and outlet["plug"]:
                lines.append(outlet["plug"])
            if k == 2 and quote:
                lines.append(story["quote"])
        if outlet["read_more"]:
            lines.append(outlet["read_more"])
        lines.append(outlet["footer"])
        return "\n\n".join(lines)

    def title(self, body: _Body, story: dict[str, Any], i: int) -> str:
        if (i * 40503) % 65536 < 39321:  # 60% carry the story's headline
            return str(story["headline"])
        return self.text(body.ids[:9])


def _write_shard(args: tuple[Path, int, int, int, dict[str, Any], dict[str, np.ndarray]]) -> int:
    path, lo, hi, seed, vocab, plan = args
    writer = _Writer(vocab, seed)
    stories: dict[int, dict[str, Any]] = {}
    originals: dict[int, _Body] = {}
    base = np.datetime64("2025-01-01T00:00:00", "s")

    def story_of(j: int) -> dict[str, Any]:
        s = int(plan["story"][j])
        if s not in stories:
            stories[s] = writer.story(s)
        return stories[s]

    def original(j: int) -> _Body:
        # Re-derived from its seed when needed, so a copy's original may be in another shard.
        if j not in originals:
            originals[j] = writer.original(j, story_of(j))
        return originals[j]

    with path.with_suffix(".tmp").open("w", encoding="utf-8") as fh:
        for i in range(lo, hi):
            story = story_of(i)
            kind, source = int(plan["kind"][i]), int(plan["copy_of"][i])
            if kind == 2:  # an exact re-scrape: the original's page, under another id
                body, outlet_of, title_of = original(source), source, source
            elif kind == 1:
                body, outlet_of, title_of = writer.edit(i, original(source), int(plan["truncate"][i])), i, i
            else:
                body, outlet_of, title_of = original(i), i, i
            outlet = writer.outlets[int(plan["outlet"][outlet_of])]
            day = plan["day"][i]
            record = {
                "id": f"a{i:08d}",
                "title": writer.title(body, story, title_of),
                "published": None if np.isnan(day) else f"{base + np.timedelta64(int(day * 86_400), 's')}Z",
                "source": writer.outlets[int(plan["outlet"][i])]["name"],
                "url": f"https://{outlet['domain']}/{i:08d}",
                "text": writer.render(body, outlet, story, outlet_of),
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    path.with_suffix(".tmp").replace(path)
    return hi - lo


def duplicate_truth(plan: dict[str, np.ndarray]) -> np.ndarray:
    """Index of the original each article copies (itself for originals)."""
    return np.where(plan["copy_of"] >= 0, plan["copy_of"], np.arange(len(plan["copy_of"])))


def generate(n: int, out: Path = DEFAULT_OUT, seed: int = 0, workers: int | None = None) -> Path:
    """Write (or reuse) a corpus of n articles; returns its directory (raw files under raw/)."""
    name = f"news-n{n}-s{seed}"
    target = Path(out) / name
    meta = {"generator_version": GENERATOR_VERSION, "n": n, "seed": seed, "shard_articles": SHARD_ARTICLES}
    meta_path = target / "meta.json"
    if meta_path.exists():
        found = json.loads(meta_path.read_text())
        if {k: found.get(k) for k in meta} == meta:
            return target
    shutil.rmtree(target, ignore_errors=True)
    raw = target / "raw"
    raw.mkdir(parents=True)
    vocab = build_vocabulary(seed)
    plan = plan_corpus(n, seed)
    jobs = [
        (raw / f"shard-{k:05d}.jsonl", lo, min(lo + SHARD_ARTICLES, n), seed, vocab, plan)
        for k, lo in enumerate(range(0, n, SHARD_ARTICLES))
    ]
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            written = sum(pool.map(_write_shard, jobs))
    else:
        written = sum(map(_write_shard, jobs))
    assert written == n
    np.savez_compressed(
        target / "truth.npz",
        story=plan["story"],
        duplicate_of=duplicate_truth(plan),
        kind=plan["kind"],
    )
    size = sum(p.stat().st_size for p in raw.iterdir())
    meta.update(
        articles=n,
        stories=int(plan["n_stories"]),
        wire_copies=int((plan["kind"] == 1).sum()),
        rescrapes=int((plan["kind"] == 2).sum()),
        bytes=size,
    )
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="articles (default 100,000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args()
    target = generate(args.n, args.out, args.seed, args.workers)
    print(json.dumps(json.loads((target / "meta.json").read_text())), "->", target)


if __name__ == "__main__":
    main()
