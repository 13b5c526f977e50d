"""`newsfold eval`: the real pipeline on a labelled file, scored against its gold labels."""

import json

import pytest

from conftest import PROJECT
from newsfold import cli, store
from newsfold.evaluate import score_clustering

ARTICLES = json.loads((PROJECT / "tests" / "fixtures" / "quality" / "articles.json").read_text())


def first_half(text: str) -> str:
    paragraphs = text.split("\n\n")
    return "\n\n".join(paragraphs[: len(paragraphs) // 2])


def copies() -> list[dict]:
    """Four copies of fixture articles, each made in a way the truth follows from."""
    by_id = {a["id"]: a for a in ARTICLES}
    bridge, rates, marathon, breach = (by_id[k] for k in ("bridge-1", "rates-1", "marathon-1", "breach-1"))
    return [
        {**bridge, "id": "bridge-1-half", "text": first_half(bridge["text"])},
        {**rates, "id": "rates-1-retitled", "title": "Verana lifts rates by half a point"},
        {
            **marathon,
            "id": "marathon-1-wire",
            "text": f"By Ada Brun, Coastal Press\n\n{marathon['text']}\n\n(Editing by Lars Moe)",
        },
        {**breach, "id": "breach-1-edited", "text": breach["text"].replace("three million", "3 million")},
    ]


def labelled_records() -> list[dict]:
    originals = [{**a, "dup_group": a["id"]} for a in ARTICLES]
    dups = [{**c, "dup_group": c["id"].rsplit("-", 1)[0]} for c in copies()]
    return originals + dups


@pytest.fixture
def labelled(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in labelled_records()))
    return path


def test_eval_prints_a_table(labelled, capsys):
    assert cli.main(["eval", str(labelled)]) == 0
    out = capsys.readouterr().out
    for word in ("B-cubed", "pairwise", "ARI", "NMI", "24 articles", "24 with a story label"):
        assert word in out


def test_json_scores_are_those_of_the_pipeline_output(labelled, tmp_path, capsys):
    out_dir = tmp_path / "kept"
    assert cli.main(["eval", str(labelled), "--json", "--duplicates", "--output", str(out_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["records"] == report["counts"]["articles"] == report["counts"]["labelled"] == 24
    assert report["counts"]["quarantined"] == 0
    assert {"pipeline", "total"} <= set(report["seconds"])

    articles = store.read_table(out_dir, "articles").to_pylist()
    gold = {r["id"]: r for r in labelled_records()}
    expected = score_clustering(
        [gold[a["article_id"]]["story"] for a in articles], [a["story_id"] for a in articles]
    )
    assert report["stories"] == pytest.approx(expected)
    # The four copies are found, and nothing else is merged.
    assert report["duplicates"]["true_pairs"] == 4
    assert report["duplicates"]["precision"] == 1.0 and report["duplicates"]["recall"] == 1.0


def test_gold_labels_are_hidden_from_the_pipeline(labelled, tmp_path, capsys):
    out_dir = tmp_path / "kept"
    assert cli.main(["eval", str(labelled), "--output", str(out_dir)]) == 0
    for article in store.read_table(out_dir, "articles").to_pylist():
        extra = json.loads(article["extra"] or "{}")
        assert "story" not in extra and "dup_group" not in extra


def test_records_without_an_id_are_joined_by_line(tmp_path, capsys):
    path = tmp_path / "no_ids.jsonl"
    records = [{k: v for k, v in a.items() if k != "id"} for a in ARTICLES]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert cli.main(["eval", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["labelled"] == len(ARTICLES)
    assert report["stories"]["n_true_clusters"] == 10


def test_unlabelled_records_are_run_but_not_scored(tmp_path, capsys):
    path = tmp_path / "partly.jsonl"
    records = [dict(a, story=None) if a["story"] in ("film", "chess") else a for a in ARTICLES]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert cli.main(["eval", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["articles"] == 20 and report["counts"]["labelled"] == 18


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "labelled file not found"),
        ('{"id": "a", "text": "x", "story": "s"}\n{"id": "b", "text": \n', [], ":2: not valid JSON"),
        (
            '{"id": "a", "text": "x", "story": "s"}\n{"id": "a", "text": "y", "story": "s"}\n',
            [],
            "duplicate id",
        ),
        ('{"id": "a", "text": "some text", "story": "s"}\n', ["--duplicates"], "no record has a dup_group"),
        ('{"id": "a", "text": "some text"}\n', [], "no record has a story label"),
    ],
)
def test_unusable_input_exits_2(tmp_path, capsys, content, args, message):
    path = tmp_path / "bad.jsonl"
    if content is not None:
        path.write_text(content)
    assert cli.main(["eval", str(path), *args]) == 2
    assert message in capsys.readouterr().err
