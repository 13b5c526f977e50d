"""Quality pins: duplicates, shared text and natural repeats, measured through the real pipeline.

The small corpus is our own (tests/fixtures/quality/articles.json: five events with three
articles each from four outlets, and five unrelated articles); copies, follow-ups, boilerplate
and quotes are made from it by the bench generators, so the truth follows from construction.
Tests on ../shared/eval/newsarticles.jsonl skip cleanly when it is absent.
"""

import json
import random
import shutil
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from conftest import PROJECT, shared_path
from newsfold import pipeline, store
from newsfold.benchmark_eval import evaluate_file, write_input
from newsfold.normalize import normalize_text

sys.path.insert(0, str(PROJECT / "bench"))
import eval_boilerplate
import make_duplicates

ARTICLES = json.loads((PROJECT / "tests" / "fixtures" / "quality" / "articles.json").read_text())

# Follow-ups an outlet writes after its first article, reusing much of its text: different
# articles of one story, never duplicates. The bridge follow-up keeps the middle of the first
# article between a new lead and a new ending; the volcano one keeps all of it but puts a new
# lead on top and a new paragraph inside (as the natural follow-ups in newsarticles.jsonl do).
FOLLOW_UPS = {
    "bridge-1": (
        "Harlow Cross council will pay for a temporary crossing over the Tamsin and has asked the "
        "county to inspect every bridge of the same age, a day after the Miller's Walk footbridge "
        "fell into the river.",
        "The temporary crossing, a steel truss lent by the army, should open within a month. "
        "Council leader Imogen Vance said the cost would be met from the highways reserve.",
    ),
    "volcano-1": (
        "Lava from Mount Oren reached the sea on Isla Corva on Tuesday, sending plumes of steam "
        "over the southern coast as the eruption entered its third day.",
        "Fishermen in Vila Alta said the sea near the lava front was too hot to touch, and dead "
        "fish had washed up on the beaches east of the harbour overnight.",
    ),
}


def follow_up(article: dict) -> str:
    lead, new = FOLLOW_UPS[article["id"]]
    paragraphs = article["text"].split("\n\n")
    if article["id"] == "bridge-1":
        return "\n\n".join([lead, *paragraphs[1:-1], new])
    return "\n\n".join([lead, *paragraphs[:2], new, *paragraphs[2:]])


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def pair_stats(articles, variant_of):
    """Per variant: gold pairs, found pairs, and predicted pairs touching it that are wrong."""
    stats = defaultdict(lambda: {"gold": 0, "found": 0, "false": 0})
    by_gold, by_pred = defaultdict(list), defaultdict(list)
    for row in articles.itertuples():
        by_gold[row.gold_dup_group].append(row)
        by_pred[row.duplicate_group].append(row)
    for rows in by_gold.values():
        for a, b in combinations(rows, 2):
            stats[variant_of[b.article_id]]["gold"] += 1
            stats[variant_of[b.article_id]]["found"] += a.duplicate_group == b.duplicate_group
    for rows in by_pred.values():
        for a, b in combinations(rows, 2):
            if a.gold_dup_group != b.gold_dup_group:
                stats[variant_of[a.article_id]]["false"] += 1
                stats[variant_of[b.article_id]]["false"] += 1
    return stats


def test_every_copy_variant_is_found_and_no_two_articles_are_merged(tmp_path):
    rng = random.Random(0)
    vocabulary = sorted({w for a in ARTICLES for w in a["text"].split() if w.isalpha() and len(w) > 2})
    records, variant_of = [], {}
    for article in ARTICLES:
        records.append({**article, "dup_group": article["id"]})
        variant_of[article["id"]] = "original"
        for variant in make_duplicates.COPY_VARIANTS:
            original, copy = make_duplicates.VARIANTS[variant](article, rng, vocabulary)
            if original is not article:  # byline/footer removed from the copy: keep the furnished one too
                records.append(
                    {**original, "id": f"{article['id']}~{variant}~furnished", "dup_group": article["id"]}
                )
                variant_of[records[-1]["id"]] = variant
            records.append({**copy, "id": f"{article['id']}~{variant}", "dup_group": article["id"]})
            variant_of[records[-1]["id"]] = variant
    for article in ARTICLES:
        if article["id"] in FOLLOW_UPS:
            article_id = f"{article['id']}-follow-up"
            records.append({**article, "id": article_id, "text": follow_up(article), "dup_group": article_id})
            variant_of[article_id] = "follow_up"
    evaluation = evaluate_file(write_jsonl(tmp_path / "dups.jsonl", records), stories=False, duplicates=True)
    stats = pair_stats(evaluation.articles, variant_of)
    for variant in make_duplicates.COPY_VARIANTS:
        assert stats[variant]["found"] == stats[variant]["gold"] > 0, variant
    assert {v: s["false"] for v, s in stats.items() if s["false"]} == {}
    assert evaluation.report["duplicates"]["precision"] == evaluation.report["duplicates"]["recall"] == 1.0


# ---- shared text ---------------------------------------------------------------------------

# One quote per event, carried as a paragraph of its own by all three articles of the event.
QUOTES = {
    "bridge": '"Nobody should ever again cross a bridge in this county without knowing it is safe," '
    "the chief fire officer said.",
    "rates": '"We will not hesitate to act again if prices keep rising faster than wages," the '
    "deputy governor told reporters.",
    "marathon": '"I ran the last ten kilometres with nothing but the sound of the sea in my ears," '
    "Mbeki said after crossing the line.",
    "breach": '"No system is perfectly safe, but we should have spotted this attack much sooner," '
    "the company's security chief admitted.",
    "volcano": '"The mountain decides how long this lasts, not us," the head of the volcanic '
    "observatory said on Monday.",
}


def injected_corpus(seed: int) -> list[dict]:
    """Fixture articles with per-outlet boilerplate lines and one shared quote per event."""
    rng = random.Random(seed)
    lines = eval_boilerplate.outlet_lines(sorted({a["source"] for a in ARTICLES}), 5, rng)
    records = []
    for article in ARTICLES:
        record = dict(article)
        if article["story"] in QUOTES:
            record["text"] = eval_boilerplate.insert_paragraph(article["text"], QUOTES[article["story"]], rng)
            record["_quote"] = QUOTES[article["story"]]
        record["_body"] = normalize_text(record["text"])
        carried = [(text, where) for text, where, share in lines[article["source"]] if rng.random() < share]
        record["_top"] = [t for t, where in carried if where == "top"]
        record["_bottom"] = [t for t, where in carried if where == "bottom"]
        record["text"] = "\n\n".join([*record["_top"], record["text"], *record["_bottom"]])
        records.append(record)
    return records


def run_injected(tmp_path: Path, records: list[dict], hide_sources: bool) -> dict:
    hidden = {"source", "story"} if hide_sources else {"story"}
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_input(
        [{k: v for k, v in r.items() if not k.startswith("_") and k not in hidden} for r in records], raw
    )
    pipeline.run(raw, out)
    articles = {a["article_id"]: a for a in store.read_table(out, "articles").to_pylist()}
    roles = {
        (s["article_id"], s["text"]): s["role"] for s in store.read_table(out, "shared_text").to_pylist()
    }
    return eval_boilerplate.measure(records, articles, roles)


@pytest.mark.parametrize("hide_sources", [False, True], ids=["with-sources", "without-sources"])
@pytest.mark.parametrize("seed", [0, 1])
def test_injected_boilerplate_is_removed_and_quotes_are_kept(tmp_path, seed, hide_sources):
    records = injected_corpus(seed)
    result = run_injected(tmp_path, records, hide_sources)
    assert result["injected_lines"] > 40
    # A line only one article carries is not shared text; every line carried by two or more goes.
    carriers = defaultdict(int)
    for record in records:
        for line in record["_top"] + record["_bottom"]:
            carriers[line] += 1
    missed = {key.rsplit(" [", 1)[0] for key in result["missed_lines"]}
    assert {line for line in missed if carriers[line] > 1} == set()
    assert result["injected_removed"] >= 0.95
    assert result["body_removed"] == 0.0, result["lost_body_lines"]
    assert result["quotes"] == 15
    assert result["quotes_kept"] == result["quotes_syndicated"] == 1.0, result["quotes_not_syndicated"]


# ---- on ../shared/eval/newsarticles.jsonl, when present --------------------------------------


@pytest.fixture(scope="module")
def newsarticles():
    return make_duplicates.load_source(shared_path("eval", "newsarticles.jsonl"))


def test_generated_near_duplicates_of_real_articles(newsarticles, tmp_path):
    records = make_duplicates.make_set(newsarticles[:1500], per_variant=25, negatives=40, seed=1)
    evaluation = evaluate_file(write_jsonl(tmp_path / "dups.jsonl", records), stories=False, duplicates=True)
    variant_of = {r["id"]: r["variant"] for r in records}
    stats = pair_stats(evaluation.articles, variant_of)
    for variant in (*make_duplicates.COPY_VARIANTS, "reprinted"):
        assert stats[variant]["found"] >= 0.97 * stats[variant]["gold"], (variant, stats[variant])
    assert evaluation.report["duplicates"]["precision"] >= 0.99
    assert stats["same_story"]["false"] == stats["shared_quote"]["false"] == 0


def test_injected_boilerplate_in_real_articles(newsarticles, tmp_path):
    sample = random.Random(3).sample(newsarticles, 600)
    records = eval_boilerplate.build(sample, per_outlet=5, seed=3, min_cosine=0.5)
    result = run_injected(tmp_path, records, hide_sources=True)
    assert result["injected_removed"] >= 0.98
    assert result["body_removed"] <= 0.005
    assert result["quotes_syndicated"] >= 0.95


def test_natural_duplicates_are_the_hand_checked_reprints(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(shared_path("eval", "newsarticles.jsonl"), raw / "newsarticles.jsonl")
    pipeline.run(raw, tmp_path / "out")
    groups = defaultdict(set)
    for row in store.read_table(tmp_path / "out", "articles").to_pylist():
        groups[row["duplicate_group"]].add(row["article_id"])
    found = {frozenset(g) for g in groups.values() if len(g) > 1}
    # Checked by hand: two HuffPost pages scraped twice; the same wire story reprinted by two
    # outlets (Duterte death penalty, the Congress speech transcript); an AP profile and its
    # longer update. Not merged: follow-ups that reuse an earlier article under a new lead
    # (Orly airport, Leila de Lima, Russian skiers), "View Comments" stubs and gallery captions
    # under different titles, and (the price of the lead rule) an AP climate story that Al
    # Jazeera reprinted under a rewritten lead (na03519, na03574).
    assert found == {
        frozenset({"na03093", "na03098"}),
        frozenset({"na02823", "na02825"}),
        frozenset({"na01833", "na01859"}),
        frozenset({"na01659", "na01727"}),
        frozenset({"na03082", "na03235"}),
    }
