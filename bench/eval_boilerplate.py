"""Score shared-text stripping of the real pipeline: inject per-outlet boilerplate, measure what goes.

Into real articles (../shared/eval/newsarticles.jsonl, else the demo corpus) this script injects,
as lines of their own:

- boilerplate: every outlet gets `--lines` different lines (drawn from the templates below with
  the outlet's name filled in), each fixed at the top or the bottom and carried by a fixed share
  of the outlet's articles (100 %, 70 % or 40 %), in a seeded random order;
- syndicated quotes: for groups of two or three articles from different outlets on one event
  (mutual nearest TF-IDF neighbours within three days), one sentence of the first becomes a
  paragraph of its own in all of them, inside the body.

It then runs the pipeline and reports: the share of injected boilerplate lines removed (target
>= 0.98), the share of genuine body characters removed (target <= 0.5 %), and the share of quote
occurrences kept in the text and labelled `syndicated`.

    python bench/eval_boilerplate.py [--source FILE_OR_DIR] [--config my.toml] [--json] [--show 10]
"""

import argparse
import json
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors

from make_duplicates import DEFAULT_SOURCE, PROJECT, load_source, split_sentences
from newsfold import pipeline, store
from newsfold.benchmark_eval import write_input
from newsfold.config import load_config
from newsfold.normalize import normalize_text

TOP_TEMPLATES = (
    "Advertisement",
    "Share this article",
    "Listen to this article",
    "Home | News | World | {outlet}",
    "{outlet} staff and agencies",
    "Skip to main content",
    "You are reading the {outlet} international edition",
    "Breaking news and analysis from {outlet}",
    "Image copyright Getty Images / {outlet}",
)
BOTTOM_TEMPLATES = (
    "© 2017 {outlet}. All rights reserved.",
    "Follow {outlet} on Twitter and Facebook for the latest updates.",
    "Sign up for the {outlet} morning briefing, delivered to your inbox every weekday.",
    "The views expressed in this article are the author's own and do not necessarily reflect "
    "the editorial policy of {outlet}.",
    "Have a story idea or a tip? Contact the {outlet} newsroom.",
    "Source: {outlet} and news agencies",
    "This article was originally published on {outlet}.",
    "More from {outlet}: the week's most read stories",
    "Comments are closed for this article.",
    "Related Topics",
    "Copying or redistributing {outlet} content without prior written consent is prohibited.",
    "Read the latest news and analysis on {outlet} every day",
)
CARRIED_BY = (1.0, 0.7, 0.4)


def outlet_lines(
    outlets: list[str], per_outlet: int, rng: random.Random
) -> dict[str, list[tuple[str, str, float]]]:
    """(text, "top"|"bottom", share of articles) for each outlet's boilerplate lines."""
    lines = {}
    for outlet in outlets:
        labels = [label for label in outlet.split(".") if label != "www"]
        name = max(labels, key=len).replace("-", " ").title()  # europe.chinadaily.com.cn -> Chinadaily
        n_top = rng.randint(1, max(1, per_outlet // 2))
        picked = [("top", t) for t in rng.sample(TOP_TEMPLATES, n_top)]
        picked += [("bottom", t) for t in rng.sample(BOTTOM_TEMPLATES, per_outlet - n_top)]
        lines[outlet] = [(t.format(outlet=name), where, rng.choice(CARRIED_BY)) for where, t in picked]
    return lines


def quote_groups(records: list[dict[str, Any]], min_cosine: float) -> list[list[int]]:
    """Disjoint groups of 2-3 articles from different outlets on one event, published within 3 days."""
    texts = [r["text"] for r in records]
    x = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2, max_df=0.5).fit_transform(texts)
    distance, index = NearestNeighbors(n_neighbors=3, metric="cosine").fit(x).kneighbors(x)
    used: set[int] = set()
    groups = []
    for i in range(len(records)):
        if i in used:
            continue
        group = [i]
        for j, d in zip(index[i, 1:], distance[i, 1:], strict=True):
            j = int(j)
            if j in used or 1.0 - d < min_cosine:
                continue
            if records[j].get("source") in {records[k].get("source") for k in group}:
                continue
            if str(records[j].get("published"))[:10] != str(records[i].get("published"))[:10]:
                continue  # same day: the same event, not a follow-up
            group.append(j)
        if len(group) >= 2:
            used.update(group)
            groups.append(group)
    return groups


def pick_quote(text: str, rng: random.Random) -> str | None:
    """A sentence of 10-40 words, preferably one quoting someone."""
    sentences = [s for s in split_sentences(text) if 10 <= len(s.split()) <= 40]
    quoted = [s for s in sentences if any(q in s for q in '"“”')]
    pool = quoted or sentences
    return rng.choice(pool) if pool else None


def insert_paragraph(text: str, paragraph: str, rng: random.Random) -> str:
    """The text with `paragraph` as a line of its own at a sentence break inside the body."""
    sentences = split_sentences(text)
    if paragraph in sentences:
        sentences.remove(paragraph)
    at = rng.randint(1, max(1, len(sentences) - 1))
    return "\n\n".join([" ".join(sentences[:at]), paragraph, " ".join(sentences[at:])])


def build(
    records: list[dict[str, Any]], per_outlet: int, seed: int, min_cosine: float
) -> list[dict[str, Any]]:
    """Records with injected lines, each with `_top`, `_bottom`, `_quote` and `_body` (its genuine lines)."""
    rng = random.Random(seed)
    records = [dict(r) for r in records if normalize_text(r.get("text") or "")]
    outlets = sorted({r.get("source") or "unknown" for r in records})
    lines = outlet_lines(outlets, per_outlet, rng)
    for group in quote_groups(records, min_cosine):
        quote = pick_quote(records[group[0]]["text"], rng)
        if quote is None:
            continue
        for k in group:
            if len(split_sentences(records[k]["text"])) >= 3:
                records[k]["text"] = insert_paragraph(records[k]["text"], quote, rng)
                records[k]["_quote"] = quote
    for record in records:
        record["_body"] = normalize_text(record["text"])
        top, bottom = [], []
        for text, where, share in lines[record.get("source") or "unknown"]:
            if rng.random() < share:
                (top if where == "top" else bottom).append(text)
        record["_top"], record["_bottom"] = top, bottom
        record["text"] = "\n\n".join([*top, record["text"], *bottom])
    return records


def measure(
    records: list[dict[str, Any]], articles: dict[str, dict[str, Any]], roles: dict[tuple[str, str], str]
) -> dict[str, Any]:
    """Injected lines removed, genuine characters removed, quotes kept and labelled syndicated."""
    injected = removed = 0
    body_chars = body_removed = 0
    quotes = quotes_kept = quotes_syndicated = 0
    missed: dict[str, int] = defaultdict(int)
    lost: list[tuple[str, str]] = []
    lost_quotes: list[tuple[str, str]] = []
    for record in records:
        article = articles.get(str(record["id"]))
        if article is None:
            continue
        kept_lines = set(article["text"].split("\n"))
        for line in record["_top"] + record["_bottom"]:
            injected += 1
            if line in kept_lines:
                missed[f"{line} [{record['id']}]"] += 1
            else:
                removed += 1
        for line in record["_body"].split("\n"):
            if not line:
                continue
            body_chars += len(line)
            if line not in kept_lines:
                body_removed += len(line)
                lost.append((str(record["id"]), line))
        if "_quote" in record:
            quote = normalize_text(record["_quote"])
            quotes += 1
            quotes_kept += quote in kept_lines
            role = roles.get((str(record["id"]), quote))
            quotes_syndicated += role == "syndicated"
            if role != "syndicated":
                lost_quotes.append((str(record["id"]), f"[{role}] {quote}"))
    return {
        "articles": len(articles),
        "injected_lines": injected,
        "injected_removed": removed / injected if injected else 1.0,
        "body_chars": body_chars,
        "body_removed": body_removed / body_chars if body_chars else 0.0,
        "quotes": quotes,
        "quotes_kept": quotes_kept / quotes if quotes else 1.0,
        "quotes_syndicated": quotes_syndicated / quotes if quotes else 1.0,
        "missed_lines": dict(sorted(missed.items(), key=lambda kv: -kv[1])),
        "lost_body_lines": lost,
        "quotes_not_syndicated": lost_quotes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="JSONL file or article directory")
    parser.add_argument("--config", help="pipeline config file")
    parser.add_argument("--lines", type=int, default=5, help="boilerplate lines per outlet")
    parser.add_argument("--min-cosine", type=float, default=0.5, help="TF-IDF cosine of a quote group")
    parser.add_argument("--sample", type=int, default=0, help="use a random sample of N articles")
    parser.add_argument("--no-sources", action="store_true", help="hide the outlet from the pipeline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", type=int, default=0, help="print up to N missed lines and lost body lines")
    args = parser.parse_args()
    source = args.source if args.source.exists() else PROJECT / "data" / "raw"
    source_records = load_source(source)
    if args.sample:
        source_records = random.Random(args.seed).sample(
            source_records, min(args.sample, len(source_records))
        )
    records = build(source_records, args.lines, args.seed, args.min_cosine)
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw", Path(tmp) / "out"
        hidden = ("source",) if args.no_sources else ()
        write_input(
            [{k: v for k, v in r.items() if not k.startswith("_") and k not in hidden} for r in records], raw
        )
        run = pipeline.run(raw, out, load_config(args.config))
        articles = {a["article_id"]: a for a in store.read_table(out, "articles").to_pylist()}
        roles = {
            (s["article_id"], s["text"]): s["role"] for s in store.read_table(out, "shared_text").to_pylist()
        }
    result = measure(records, articles, roles)
    result["seconds"] = run.seconds["total"]
    lost = result.pop("lost_body_lines")
    lost_quotes = result.pop("quotes_not_syndicated")
    if args.json:
        print(json.dumps({**result, "lost_body_lines": len(lost)}, indent=2))
    else:
        print(
            f"{source}: {result['articles']} articles, {result['injected_lines']} injected lines, "
            f"{result['quotes']} quote occurrences, {result['seconds']:.1f}s pipeline\n"
            f"injected lines removed  {result['injected_removed']:.4f}   (target >= 0.98)\n"
            f"body characters removed {result['body_removed']:.4%}  (target <= 0.5 %)\n"
            f"quotes kept             {result['quotes_kept']:.4f}   "
            f"labelled syndicated {result['quotes_syndicated']:.4f}"
        )
    if args.show:
        print("\nmissed lines (occurrences):")
        for line, count in list(result["missed_lines"].items())[: args.show]:
            print(f"  {count:5d}  {line}")
        print(f"\nlost body lines ({len(lost)}):")
        for article_id, line in lost[: args.show]:
            print(f"  {article_id}: {line[:150]!r}")
        print(f"\nquotes not labelled syndicated ({len(lost_quotes)}):")
        for article_id, line in lost_quotes[: args.show]:
            print(f"  {article_id}: {line[:150]!r}")


if __name__ == "__main__":
    main()
