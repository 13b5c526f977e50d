"""Every python snippet of the README's "Using the data" section runs against a generated dataset."""

import json
import random
import re

import pytest

from conftest import PROJECT
from newsfold import pipeline
from newsfold.records import SCHEMA_VERSION

SECTION = "## Using the data"
# Names each snippet must leave bound to a non-empty result, keyed by the library it shows.
EXPECTED = {
    "pandas": ["articles", "stories", "shared_text", "distinct", "largest", "coverage"],
    "pyarrow": ["february", "spring"],
    "duckdb": ["top_stories"],
    "polars": ["per_day", "stories"],
}
FOOTER = "Subscribe to the Daily Example newsletter for the morning's top stories, free every weekday."


def readme_snippets() -> dict[str, str]:
    """The section's python blocks, keyed by the first module each imports."""
    text = (PROJECT / "README.md").read_text()
    section = text[text.index(SECTION) + len(SECTION) :]
    section = section[: m.start()] if (m := re.search(r"^## ", section, flags=re.M)) else section
    snippets = {}
    for block in re.findall(r"^```python\n(.*?)^```", section, flags=re.M | re.S):
        library = re.search(r"^import (\w+)", block, flags=re.M)
        assert library, f"snippet without an import:\n{block}"
        snippets[library.group(1)] = block
    return snippets


TOPICS = {
    "Harbour bridge shut": (
        "engineers closed the harbour bridge on monday after inspectors found corroded cables in the "
        "northern span and the council said repairs would take at least six weeks while ferries run "
        "extra crossings commuters face long queues and freight is diverted through the ring road"
    ),
    "Budget approved": (
        "the city council approved its annual budget after a late night vote raising spending on "
        "schools and buses by four percent while freezing parking charges opposition members said the "
        "plan relies on optimistic tax forecasts and called for an independent review of the numbers"
    ),
    "Library reopens": (
        "the central library reopened its reading room after a two year restoration that uncovered "
        "painted ceilings hidden behind plaster visitors queued from dawn and volunteers guided tours "
        "through the archive where maps of the old harbour are on display for the first time"
    ),
}
# (topic, outlet, publication day or None): two months, several outlets, one undated article.
PLAN = [
    ("Harbour bridge shut", "daily.example", "2026-02-03"),
    ("Harbour bridge shut", "coast.example", "2026-02-03"),
    ("Harbour bridge shut", "daily.example", "2026-02-04"),
    ("Harbour bridge shut", "north.example", "2026-02-05"),
    ("Budget approved", "daily.example", "2026-03-10"),
    ("Budget approved", "north.example", "2026-03-11"),
    ("Budget approved", "daily.example", "2026-03-12"),
    ("Library reopens", "daily.example", None),
]


# Each article adds its own 40 words from this pool to its topic's text: related, not copies.
POOL = " ".join(
    [
        "residents officials witnesses morning evening statement spokesperson weekend district warned",
        "confirmed expected reported earlier later according local regional national minister mayor",
        "police volunteers schedule delays traffic weather costs funding contract workers families",
        "shops owners visitors students teachers drivers passengers crowds meeting hearing report",
    ]
).split()


def _article(i: int, topic: str, source: str, day: str | None) -> dict[str, object]:
    body = f"{TOPICS[topic]} {' '.join(random.Random(i).sample(POOL, 40))}"
    return {
        "id": f"{source}-{i:02d}",
        "title": f"{topic} ({source})",
        "text": f"{body}\n\n{FOOTER}" if source == "daily.example" else body,
        "published": f"{day}T09:00:00Z" if day else None,
        "source": source,
        "url": f"https://{source}/news/{i}",
    }


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    """The PLAN corpus plus a verbatim reprint, run through the pipeline into data/processed."""
    root = tmp_path_factory.mktemp("readme")
    records = [_article(i, *row) for i, row in enumerate(PLAN)]
    reprint = dict(records[0], id="coast.example-99", source="coast.example", url="https://coast.example/r")
    raw = root / "raw"
    raw.mkdir()
    (raw / "articles.jsonl").write_text("\n".join(json.dumps(r) for r in [*records, reprint]) + "\n")
    pipeline.run(raw, root / "data" / "processed")
    return root


def test_the_section_shows_every_library():
    assert set(readme_snippets()) == set(EXPECTED)


@pytest.mark.parametrize("library", sorted(EXPECTED))
def test_snippet_runs(library, dataset_root, monkeypatch):
    monkeypatch.chdir(dataset_root)
    namespace: dict[str, object] = {}
    exec(compile(readme_snippets()[library], f"README.md[{library}]", "exec"), namespace)
    for name in EXPECTED[library]:
        value = namespace[name]
        rows = value.num_rows if hasattr(value, "num_rows") else len(value)
        assert rows > 0, f"{library} snippet: {name} is empty"
    if library == "pyarrow":
        assert namespace["schema_version"] == SCHEMA_VERSION
