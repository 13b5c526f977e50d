"""Make a labelled near-duplicate set from real article texts: the truth follows from construction.

Each original article is used in one family only:

- copy variants, one copy per original, gold `dup_group` shared with it: `word_edits` (1-8 % of
  words substituted, deleted, inserted or swapped), `headline` (a different headline, in the
  title and half the time as the first line), `byline_footer` (a byline and/or footer added to,
  or removed from, the copy), `reorder` (paragraphs shuffled), `truncation` (the copy is the
  first half, cut at a sentence end), `ocr` (1-3 % character errors: confusions, drops,
  insertions, split and joined words), `mixed` (two of the above at milder levels, never
  reordering with truncation);
- `reprinted`: one original with a copy of each variant but byline_footer at once (an outlet
  reprinting a story many times), all in one gold group;
- negatives, which must not be merged: `same_story` (two different real articles on one event,
  found as mutual nearest TF-IDF neighbours published within three days that are not reprints),
  `shared_quote` (such a pair where the second also quotes two sentences of the first);
- every remaining original as a `unique` distractor.

Originals are the source's articles with at least `--min-words` words, keeping one of any set
that shares a title or reprints one text (natural reprints would make the truth wrong; see
MAX_SHARED_RUNS).

Usage:
    python bench/make_duplicates.py --out /tmp/dups.jsonl          # ../shared/eval/newsarticles.jsonl
    python bench/make_duplicates.py --source data/raw --out dups.jsonl --per-variant 20
"""

import argparse
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = PROJECT.parent / "shared" / "eval" / "newsarticles.jsonl"
COPY_VARIANTS = ("word_edits", "headline", "byline_footer", "reorder", "truncation", "ocr", "mixed")
NEGATIVE_VARIANTS = ("same_story", "shared_quote")

# Sentence ends: . ! ? (optionally closed by a quote or bracket) followed by space and a capital,
# digit or opening quote.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])(?:[\"'”’)\]]*)\s+(?=[\"“‘(A-Z0-9])")
_KEY = re.compile(r"[^a-z0-9]+")
# Reprint test of the originals, independent of the pipeline's shingles: independently written
# articles share 8-word runs only in quotes and reused background paragraphs. Among close TF-IDF
# neighbours in newsarticles.jsonl, pairs sharing >= 0.45 of the shorter text's runs were all
# checked by hand to be one wire story reprinted by two outlets; 0.2-0.4 are follow-ups reusing
# background. Cutting at 0.35 keeps the follow-ups as hard negatives and drops every reprint.
RUN_WORDS = 8
MAX_SHARED_RUNS = 0.35

FIRST_NAMES = (
    "Anna", "Tomasz", "Leila", "Marcus", "Ines", "Kwame", "Sofia", "Dmitri", "Priya", "Owen", "Hana",
    "Rafael", "Grace", "Yusuf", "Elena", "Jonah", "Mei", "Tariq", "Clara", "Niall",
)  # fmt: skip
LAST_NAMES = (
    "Kowalski", "Haddad", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Brennan", "Osei", "Varga",
    "Castillo", "Novak", "Fischer", "Rahman", "Doyle", "Petrova", "Mendes", "Achterberg", "Quinn",
)  # fmt: skip
AGENCIES = ("Reuters", "Associated Press", "AFP", "dpa", "Bloomberg", "PA Media", "ANSA", "EFE")
CITIES = ("Brussels", "Washington", "Moscow", "Beijing", "Dublin", "London", "Berlin", "Doha", "Kabul")
BYLINES = (
    "By {name}, {agency}",
    "By {name} | {agency} | {city}",
    "{name}, {agency} correspondent in {city}",
    "By {name} and {name2}",
    "{city} ({agency}) —",
)
FOOTERS = (
    "Copyright 2017 The Associated Press. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed.",
    "(Reporting by {name}; additional reporting by {name2}; editing by {name3})",
    "{name} contributed reporting from {city}.",
    "Follow {first} on Twitter: @{handle}",
    "This article has been updated with additional details.",
    "Additional reporting by {agency}.",
    "Source: {agency}",
)

# OCR confusions: glyphs a recogniser mistakes for one another.
OCR_CONFUSIONS = {
    "l": ["1", "I", "i"], "I": ["l", "1"], "i": ["l", "1"], "1": ["l", "I"], "O": ["0"], "0": ["O", "o"],
    "o": ["0", "a", "c"], "e": ["c", "o"], "c": ["e", "o"], "a": ["o", "e"], "n": ["m", "ri", "h"],
    "m": ["rn", "nn"], "h": ["b", "li"], "b": ["h", "6"], "u": ["v", "n"], "v": ["u", "y"],
    "t": ["f", "l"], "f": ["t"], "S": ["5", "s"], "s": ["5"], "5": ["S"], "B": ["8"], "8": ["B"],
    "g": ["q", "9"], "q": ["g"], "r": ["n"], "w": ["vv"], "d": ["cl"], "k": ["lc"], "y": ["v"],
    ".": [",", ""], ",": [".", ""], "'": ["", "`"], '"': ["''", ""],
}  # fmt: skip


# ---- text helpers --------------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    """Sentences of a text (paragraph breaks are sentence breaks too)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(s.strip() for s in _SENTENCE_BREAK.split(paragraph) if s.strip())
    return out


def _person(rng: random.Random) -> tuple[str, str]:
    first = rng.choice(FIRST_NAMES)
    return first, f"{first} {rng.choice(LAST_NAMES)}"


def _fill(template: str, rng: random.Random) -> str:
    first, name = _person(rng)
    return template.format(
        name=name,
        name2=_person(rng)[1],
        name3=_person(rng)[1],
        first=first,
        handle=name.replace(" ", "").lower() + str(rng.randint(1, 99)),
        agency=rng.choice(AGENCIES),
        city=rng.choice(CITIES),
    )


# ---- copy variants: (record, rng, vocabulary) -> (original record, copy record) ------------------

Record = dict[str, Any]
Variant = Callable[[Record, random.Random, Sequence[str]], tuple[Record, Record]]


def edit_words(text: str, rng: random.Random, rate: float, vocabulary: Sequence[str]) -> str:
    """Substitute, delete, insert or swap about `rate` of the words (each paragraph on its own)."""
    paragraphs = []
    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        out: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            if not word or rng.random() >= rate:
                out.append(word)
                i += 1
                continue
            op = rng.random()
            if op < 0.45:  # substitute (a number changes to another number)
                out.append(str(rng.randint(2, 99)) if word.isdigit() else rng.choice(vocabulary))
            elif op < 0.65:  # delete
                pass
            elif op < 0.85:  # insert before
                out.extend([rng.choice(vocabulary), word])
            elif i + 1 < len(words):  # swap with the next word
                out.extend([words[i + 1], word])
                i += 1
            else:
                out.append(word)
            i += 1
        paragraphs.append(" ".join(w for w in out if w))
    return "\n".join(paragraphs)


def add_ocr_noise(text: str, rng: random.Random, rate: float) -> str:
    """Character errors at about `rate` per character: confusions, drops, insertions, split/joined words."""
    out: list[str] = []
    for ch in text:
        if ch == "\n" or rng.random() >= rate:
            out.append(ch)
            continue
        op = rng.random()
        if ch == " ":
            out.append("" if op < 0.7 else "  ")  # two words run together, or a stray space
        elif op < 0.6 and ch in OCR_CONFUSIONS:
            out.append(rng.choice(OCR_CONFUSIONS[ch]))
        elif op < 0.75:
            out.append("")  # a dropped glyph
        elif op < 0.9:
            out.append(ch + rng.choice("ilrn.,'"))  # a speck read as a glyph
        else:
            out.append(ch + " ")  # a word split in two
    return "".join(out)


def new_headline(record: Record, rng: random.Random) -> str:
    """A different headline: from the lead sentence, or the old one reworded with an outlet suffix."""
    sentences = split_sentences(record["text"])
    if sentences and rng.random() < 0.5:
        words = sentences[0].rstrip(".").split()
        return " ".join(words[: rng.randint(7, 12)])
    words = (record.get("title") or (sentences[0] if sentences else "News")).split()
    rng.shuffle(words)
    keep = words[: max(3, len(words) - 2)]
    return " ".join(keep).capitalize() + f" - {rng.choice(AGENCIES)}"


def _paragraphs(text: str, rng: random.Random) -> list[str]:
    """The text's paragraphs, or its sentences grouped into 3-6 paragraphs when it has fewer than 3."""
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if len(paragraphs) >= 3:
        return paragraphs
    sentences = split_sentences(text)
    k = min(len(sentences), rng.randint(3, 6))
    if k < 2:
        return paragraphs
    cuts = sorted(rng.sample(range(1, len(sentences)), k - 1))
    return [" ".join(sentences[a:b]) for a, b in zip([0, *cuts], [*cuts, len(sentences)], strict=True)]


def first_half(text: str) -> str:
    """The text up to the first sentence end at or after half of its words."""
    sentences = split_sentences(text)
    total = sum(len(s.split()) for s in sentences)
    kept, count = [], 0
    for sentence in sentences:
        kept.append(sentence)
        count += len(sentence.split())
        if count >= total / 2:
            break
    return " ".join(kept)


def _copy(record: Record, **changes: Any) -> Record:
    return {**record, **changes}


def word_edits(
    record: Record, rng: random.Random, vocabulary: Sequence[str], rate: float = 0.0
) -> tuple[Record, Record]:
    rate = rate or rng.uniform(0.01, 0.08)
    return record, _copy(record, text=edit_words(record["text"], rng, rate, vocabulary))


def headline(record: Record, rng: random.Random, vocabulary: Sequence[str]) -> tuple[Record, Record]:
    title = new_headline(record, rng)
    text = f"{title}\n\n{record['text']}" if rng.random() < 0.5 else record["text"]
    return record, _copy(record, title=title, text=text)


def byline_footer(record: Record, rng: random.Random, vocabulary: Sequence[str]) -> tuple[Record, Record]:
    parts = [_fill(rng.choice(BYLINES), rng)] if rng.random() < 0.7 else []
    parts.append(record["text"])
    if not parts[:-1] or rng.random() < 0.6:
        parts.append(_fill(rng.choice(FOOTERS), rng))
    furnished = "\n\n".join(parts)
    if rng.random() < 0.5:  # added to the copy
        return record, _copy(record, text=furnished)
    return _copy(record, text=furnished), record  # removed from the copy


def reorder(record: Record, rng: random.Random, vocabulary: Sequence[str]) -> tuple[Record, Record]:
    paragraphs = _paragraphs(record["text"], rng)
    order = list(range(len(paragraphs)))
    while len(order) > 1 and order == sorted(order):
        rng.shuffle(order)
    return record, _copy(record, text="\n\n".join(paragraphs[i] for i in order))


def truncation(record: Record, rng: random.Random, vocabulary: Sequence[str]) -> tuple[Record, Record]:
    half = first_half(record["text"])
    return record, _copy(record, text=half + (" …" if rng.random() < 0.3 else ""))


def ocr(
    record: Record, rng: random.Random, vocabulary: Sequence[str], rate: float = 0.0
) -> tuple[Record, Record]:
    rate = rate or rng.uniform(0.01, 0.03)
    return record, _copy(record, text=add_ocr_noise(record["text"], rng, rate))


def mixed(record: Record, rng: random.Random, vocabulary: Sequence[str]) -> tuple[Record, Record]:
    """Two variants in a row, edits and noise at the milder end of their ranges.

    Never reordering and truncation together: a copy of some paragraphs of an article in
    another order is, from the texts alone, an article that an outlet's follow-up extends with
    a new lead and new paragraphs, which must not be merged (see DedupConfig.max_uncovered_larger).
    """
    steps: list[Variant] = [
        lambda r, g, v: word_edits(r, g, v, rate=g.uniform(0.01, 0.03)),
        headline,
        byline_footer,
        reorder,
        truncation,
        lambda r, g, v: ocr(r, g, v, rate=g.uniform(0.005, 0.015)),
    ]
    chosen = rng.sample(steps, 2)
    while reorder in chosen and truncation in chosen:
        chosen = rng.sample(steps, 2)
    original, copy = record, record
    for step in chosen:
        a, b = step(copy, rng, vocabulary)
        if a is not copy:  # the step furnished the original side: keep both sides in step
            original, copy = _copy(original, text=a["text"]), b
        else:
            copy = b
    return original, copy


VARIANTS: dict[str, Variant] = {
    "word_edits": word_edits,
    "headline": headline,
    "byline_footer": byline_footer,
    "reorder": reorder,
    "truncation": truncation,
    "ocr": ocr,
    "mixed": mixed,
}


# ---- originals and same-story pairs -------------------------------------------------------------


def load_source(path: Path) -> list[Record]:
    """Records of a JSONL file, or the articles newsfold reads from a directory."""
    if path.is_dir():
        from newsfold.config import IngestConfig
        from newsfold.ingest import read_articles

        return [
            {
                "id": a.article_id,
                "title": a.title,
                "text": a.text,
                "published": a.published_at.isoformat() if a.published_at else None,
                "source": a.source,
                "url": a.url,
            }
            for a in read_articles(path, IngestConfig()).articles
        ]
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def word_runs(text: str, n: int = RUN_WORDS) -> set[int]:
    """Hashes of the text's runs of n consecutive lower-case words."""
    words = _KEY.sub(" ", text.lower()).split()
    return {hash(tuple(words[i : i + n])) for i in range(len(words) - n + 1)}


def pick_originals(records: Sequence[Record], min_words: int) -> list[Record]:
    """Articles long enough, keeping the first of any set that shares a title or reprints text.

    Two articles are reprints of one text when the shorter shares at least MAX_SHARED_RUNS of
    its 8-word runs with the other (see the constant); the later one is dropped.
    """
    kept: list[Record] = []
    n_runs: list[int] = []
    titles: set[str] = set()
    owners: dict[int, list[int]] = defaultdict(list)
    for record in records:
        text = record.get("text") or ""
        if len(text.split()) < min_words:
            continue
        title = _KEY.sub(" ", (record.get("title") or "").lower()).strip()
        if title and title in titles:
            continue
        runs = word_runs(text)
        shared: dict[int, int] = defaultdict(int)
        for run in runs:
            for owner in owners[run]:
                shared[owner] += 1
        if any(count >= MAX_SHARED_RUNS * min(len(runs), n_runs[o]) for o, count in shared.items()):
            continue
        for run in runs:
            owners[run].append(len(kept))
        if title:
            titles.add(title)
        kept.append(record)
        n_runs.append(len(runs))
    return kept


def _day(record: Record) -> float | None:
    value = record.get("published")
    if not value:
        return None
    return datetime.fromisoformat(str(value)[:10]).timestamp() / 86400


def same_story_pairs(
    originals: Sequence[Record], min_cosine: float, max_days: float
) -> list[tuple[int, int]]:
    """Disjoint pairs of different articles on one event: mutual close TF-IDF neighbours, close in time.

    Originals are not reprints of one another (pick_originals), so a pair is two articles, not
    two copies; a cosine of at least min_cosine over content words (checked by hand on samples)
    makes them one event rather than one topic.
    """
    texts = [r["text"] for r in originals]
    x = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2, max_df=0.5).fit_transform(texts)
    nn = NearestNeighbors(n_neighbors=2, metric="cosine", algorithm="brute").fit(x)
    distance, index = nn.kneighbors(x)
    candidates = []
    for i in range(len(originals)):
        j, cosine = int(index[i, 1]), 1.0 - float(distance[i, 1])
        if i < j and int(index[j, 1]) == i and cosine >= min_cosine:
            di, dj = _day(originals[i]), _day(originals[j])
            if di is None or dj is None or abs(di - dj) <= max_days:
                candidates.append((cosine, i, j))
    candidates.sort(reverse=True)
    return [(i, j) for _, i, j in candidates]


def quote_into(target: str, donor: str, rng: random.Random, n: int = 2) -> str:
    """The target with up to n consecutive sentences of the donor (at most a tenth of its words,
    and 60 words) inserted at a sentence break: a quote both articles carry, not a reprint."""
    donor_sentences = split_sentences(donor)
    budget = min(60, len(donor.split()) // 10)
    starts = list(range(len(donor_sentences)))
    rng.shuffle(starts)
    quote = ""
    for start in starts:
        picked = donor_sentences[start : start + n]
        while picked and sum(len(x.split()) for x in picked) > budget:
            picked = picked[:-1]
        if picked:
            quote = " ".join(picked)
            break
    sentences = split_sentences(target)
    at = rng.randint(1, max(1, len(sentences) - 1))
    return " ".join([*sentences[:at], quote, *sentences[at:]]) if quote else target


# ---- the set -------------------------------------------------------------------------------------


def make_set(
    records: Sequence[Record],
    *,
    per_variant: int,
    negatives: int,
    seed: int,
    min_words: int = 80,
    min_cosine: float = 0.5,
    distractors: bool = True,
) -> list[Record]:
    """The labelled records: every family, then the distractors, in a seeded order."""
    rng = random.Random(seed)
    originals = pick_originals(records, min_words)
    vocabulary = sorted({w for r in originals[:500] for w in r["text"].split() if w.isalpha() and len(w) > 2})
    pairs = same_story_pairs(originals, min_cosine, max_days=3)
    n_pairs = min(len(pairs), 2 * negatives)
    used = {k for pair in pairs[:n_pairs] for k in pair}
    free = [i for i in range(len(originals)) if i not in used]
    rng.shuffle(free)
    out: list[Record] = []

    def emit(record: Record, group: str, variant: str, role: str, suffix: str = "") -> None:
        out.append(
            {**record, "id": f"{record['id']}{suffix}", "dup_group": group, "variant": variant, "role": role}
        )

    for variant in COPY_VARIANTS:
        for _ in range(min(per_variant, len(free))):
            base = originals[free.pop()]
            original, copy = VARIANTS[variant](base, rng, vocabulary)
            group = f"dup:{base['id']}"
            emit(original, group, variant, "original")
            emit(copy, group, variant, "copy", f"~{variant}")
    # One outlet reprinting a story many times: every copy variant of one original at once, so
    # that the copies' shared paragraphs recur in many articles of one source.
    for _ in range(min(per_variant // 3, len(free))):
        base = originals[free.pop()]
        group = f"dup:{base['id']}"
        emit(base, group, "reprinted", "original")
        for variant in COPY_VARIANTS:
            if variant != "byline_footer":  # it may furnish the original instead of the copy
                emit(VARIANTS[variant](base, rng, vocabulary)[1], group, "reprinted", "copy", f"~{variant}")
    chosen = pairs[:n_pairs]
    rng.shuffle(chosen)
    for k, (i, j) in enumerate(chosen):
        a, b = originals[i], originals[j]
        if k % 2 == 0:
            emit(a, f"dup:{a['id']}", "same_story", "original")
            emit(b, f"dup:{b['id']}", "same_story", "original")
        else:
            emit(a, f"dup:{a['id']}", "shared_quote", "original")
            quoted = _copy(b, text=quote_into(b["text"], a["text"], rng))
            emit(quoted, f"dup:{b['id']}", "shared_quote", "original", "~quoted")
    if distractors:
        for i in free:
            emit(originals[i], f"dup:{originals[i]['id']}", "unique", "original")
    keep = ("id", "title", "text", "published", "source", "url", "dup_group", "variant", "role")
    return [{k: r.get(k) for k in keep} for r in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="JSONL file or article directory")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-variant", type=int, default=150, help="originals per copy variant")
    parser.add_argument(
        "--negatives", type=int, default=150, help="same-story pairs (half get a shared quote)"
    )
    parser.add_argument("--min-words", type=int, default=80)
    parser.add_argument("--min-cosine", type=float, default=0.5)
    parser.add_argument("--no-distractors", action="store_true", help="leave out the unused originals")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    source = args.source if args.source.exists() else PROJECT / "data" / "raw"
    records = load_source(source)
    labelled = make_set(
        records,
        per_variant=args.per_variant,
        negatives=args.negatives,
        seed=args.seed,
        min_words=args.min_words,
        min_cosine=args.min_cosine,
        distractors=not args.no_distractors,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        for record in labelled:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    counts: dict[str, int] = defaultdict(int)
    for record in labelled:
        counts[record["variant"]] += 1
    print(f"{len(labelled)} records from {source} -> {args.out}: {dict(counts)}")


if __name__ == "__main__":
    main()
