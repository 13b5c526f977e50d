"""report.html rendered in a real headless Chromium; `newsfold report` and `newsfold stories` via the CLI."""

import html
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from conftest import DEMO_RAW
from newsfold import cli, pipeline, report, store

HOSTILE_TITLE = '<img src=x onerror=alert(2)> Harbour "pier" collapse & <b>rescue</b>'
HOSTILE_TEXT = "<script>alert(1)</script> Divers searched the harbour after the old pier collapsed."
# Every element the report uses; anything else in the page came from the data.
ALLOWED_TAGS = {
    *("html", "head", "meta", "title", "style", "body", "header", "section", "figure"),
    *("h1", "h2", "h3", "p", "div", "span", "b", "a", "code"),
    *("table", "thead", "tbody", "tr", "th", "td"),
    *("svg", "line", "text", "circle"),
}
WINDOW = (1200, 1600)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt when absent and we may (CI runs as root)."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            "apt-get update -q && apt-get install -y -q chromium",
            shell=True,
            check=True,
            env=env,
            timeout=1200,
            capture_output=True,
        )
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed and this user cannot install it: apt-get install chromium")
    return found


def run_chromium(binary: str, profile: Path, *args: str) -> str:
    result = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def hostile_records() -> list[dict[str, object]]:
    """Two reports of one event whose title, text, source and url try to inject markup."""
    return [
        {
            "id": f"hostile-{i}",
            "title": HOSTILE_TITLE,
            "text": f"{HOSTILE_TEXT} Reporter {i} spoke to the harbour master about the night's events.",
            "published": f"2026-03-0{i + 1}T08:00:00Z",
            "source": '"><b>evil.example</b>',
            "url": "javascript:alert(3)",
        }
        for i in range(2)
    ]


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    """The demo corpus plus the hostile records, run through the pipeline."""
    root = tmp_path_factory.mktemp("report")
    raw = root / "raw"
    shutil.copytree(DEMO_RAW, raw)
    (raw / "hostile.jsonl").write_text("\n".join(json.dumps(r) for r in hostile_records()) + "\n")
    pipeline.run(raw, root / "out")
    return root / "out"


@pytest.fixture(scope="module")
def rendered(output, tmp_path_factory) -> tuple[Path, str]:
    """report.html written by the CLI, covering every story so the hostile one is on the page."""
    path = tmp_path_factory.mktemp("html") / "report.html"
    assert cli.main(["report", str(output), "--out", str(path), "--top", "1000"]) == 0
    return path, path.read_text()


def dom_text(value: str) -> str:
    """How Chromium's DOM serialiser writes a text node."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\xa0", "&nbsp;")


def test_the_page_needs_no_network_and_runs_no_script(rendered, output):
    _, page = rendered
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # Every "<" from the data is escaped, so each one left opens one of our own elements.
    assert set(re.findall(r"<([a-zA-Z][\w-]*)", page)) <= ALLOWED_TAGS
    assert not re.search(r"<[^>]*\s(src|srcset|action|formaction)=", page)
    (style,) = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert "url(" not in style and "@import" not in style
    urls = set(store.read_table(output, "articles").column("url").drop_null().to_pylist())
    for href in re.findall(r'href="([^"]*)"', page):
        assert href.startswith("#") or html.unescape(href) in urls, href


@pytest.mark.slow
def test_chromium_renders_stories_chart_and_escaped_text(chromium, rendered, output, tmp_path):
    path, _ = rendered
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", path.as_uri())
    stories = report.largest_stories(output, 1000)

    for headline in stories["headline"].dropna():
        assert dom_text(headline) in dom, headline
    for story_id in stories["story_id"]:
        assert f'href="#story-{story_id}"' in dom and f'id="story-{story_id}"' in dom
    articles = store.read_table(output, "articles")
    for article_id in articles.column("article_id").to_pylist():
        assert f'id="article-{article_id}"' in dom, article_id

    # One dot per (story, day) with articles, counted from the data rather than from the page.
    dated = articles.filter(pc.is_valid(articles.column("published_at")))
    days = {(row["story_id"], row["published_at"].date()) for row in dated.to_pylist()}
    assert '<svg id="timeline-chart"' in dom
    assert len(re.findall(r'<circle class="dot"', dom)) == len(days)

    duplicates = articles.num_rows - len(set(articles.column("duplicate_group").to_pylist()))
    assert f"{duplicates:,} of {articles.num_rows:,} articles" in dom
    shared = store.read_table(output, "shared_text")
    assert f"{len(set(shared.column('segment_id').to_pylist())):,} segments recur" in dom

    # The hostile article is on the page, as text: no element, handler or javascript: link made it in.
    assert dom_text(HOSTILE_TEXT) in dom and dom_text(HOSTILE_TITLE) in dom
    assert dom_text('"><b>evil.example</b>') in dom
    assert set(re.findall(r"<([a-zA-Z][\w-]*)", dom)) <= ALLOWED_TAGS
    assert not re.search(r"<[^>]*\sonerror=", dom) and 'href="javascript:' not in dom


@pytest.mark.slow
def test_chromium_screenshot_shows_content_and_chart(chromium, rendered, tmp_path):
    path, _ = rendered
    shot = tmp_path / "report.png"
    run_chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", path.as_uri())
    pixels = read_png(shot)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    rgb = pixels[..., :3].astype(np.int16)
    background = np.all(rgb == rgb[0, 0], axis=-1).mean()
    assert background < 0.97, "the screenshot is (almost) blank"
    # The timeline's dots: palette colours at the dots' 0.8 opacity over the white page.
    found = 0
    for colour in report.PALETTE[:6]:
        target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) * 0.8 + 255 * 0.2
        near = np.all(np.abs(rgb - target) <= 10, axis=-1).sum()
        found += near >= 20
    assert found >= 3, "the timeline chart's coloured dots are not visible"


def read_png(path: Path) -> np.ndarray:
    """Pixels of an 8-bit, non-interlaced RGB(A) PNG as (height, width, channels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = struct.unpack(">IIBBBBB", body) if kind == b"IHDR" else header
        idat += [body] if kind == b"IDAT" else []
        pos += 12 + length
    assert header is not None
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    rows = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, width * bpp + 1)
    out = np.zeros((height, width * bpp), np.uint8)
    prev = np.zeros(width * bpp, np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:
            cur = (line.reshape(-1, bpp).cumsum(axis=0, dtype=np.int64) % 256).astype(np.uint8).ravel()
        elif kind == 2:
            cur = line + prev
        else:
            cur = np.frombuffer(_unfilter_row(kind, line.tobytes(), prev.tobytes(), bpp), np.uint8)
        out[y], prev = cur, cur
    return out.reshape(height, width, bpp)


def _unfilter_row(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes:
    """PNG's Average (3) and Paeth (4) filters, which depend on the pixel just decoded."""
    cur = bytearray(line)
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        if kind == 3:
            cur[i] = (cur[i] + ((a + b) >> 1)) & 0xFF
            continue
        c = prev[i - bpp] if i >= bpp else 0
        pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
        cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return bytes(cur)


def test_stories_command_prints_the_largest_stories(output, capsys):
    assert cli.main(["stories", str(output), "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = report.largest_stories(output, 3)
    assert len(lines) == 4 and lines[0].split()[:3] == ["#", "articles", "outlets"]
    for line, story in zip(lines[1:], expected.itertuples(), strict=True):
        assert story.story_id in line and line.split()[1] == str(story.n_articles)


def test_largest_stories_order_and_outlets(output):
    stories = report.largest_stories(output, 1000)
    assert list(stories["n_articles"]) == sorted(stories["n_articles"], reverse=True)
    assert len(stories) == store.read_table(output, "stories").num_rows
    articles = store.read_table(output, "articles").to_pandas()
    for story in stories.itertuples():
        sources = articles.loc[articles["story_id"] == story.story_id, "source"].dropna()
        assert set(story.outlets) == set(sources) and story.n_outlets == sources.nunique()


def test_report_defaults_to_the_output_directory(output):
    assert cli.main(["report", str(output)]) == 0
    assert (output / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_commands_on_a_directory_without_a_dataset_fail_clearly(tmp_path, capsys):
    assert cli.main(["stories", str(tmp_path)]) == 2
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "no newsfold dataset" in capsys.readouterr().err
    assert cli.main(["stories", str(tmp_path), "--top", "0"]) == 2


def test_an_empty_dataset_still_renders(tmp_path):
    (tmp_path / "raw").mkdir()
    pipeline.run(tmp_path / "raw", tmp_path / "out")
    html = report.render_report(tmp_path / "out")
    assert "No stories." in html and "No dated articles." in html


def test_a_story_merged_by_a_later_run_is_shown_as_part_of_the_one_it_joined(output, tmp_path):
    # What an incremental run writes when new articles join two stored stories: both keep their
    # ids and articles, and one's merged_into names the other (README, Operations).
    tables = {name: store.read_table(output, name) for name in store.DATASET_SCHEMAS}
    by_size = tables["stories"].sort_by([("n_articles", "descending"), ("story_id", "ascending")])
    kept, merged = by_size.column("story_id").to_pylist()[:2]
    merged_into = [
        kept if sid == merged else None for sid in tables["stories"].column("story_id").to_pylist()
    ]
    tables["stories"] = tables["stories"].set_column(
        tables["stories"].schema.get_field_index("merged_into"),
        "merged_into",
        pa.array(merged_into, pa.string()),
    )
    out = tmp_path / "merged"
    store.write_version(out, tables, {**store.read_manifest(output), "run_id": store.new_run_id()})

    stored = {s["story_id"]: s for s in tables["stories"].to_pylist()}
    stories = report.largest_stories(out, 1000).set_index("story_id")
    assert merged not in stories.index and list(stories.at[kept, "story_ids"]) == [kept, merged]
    assert stories.at[kept, "n_articles"] == stored[kept]["n_articles"] + stored[merged]["n_articles"]
    assert stories.index[0] == kept
    page = report.render_report(out, 1000)
    section = page[page.index(f'<section class="story" id="story-{kept}"') :]
    section = section[: section.index("</section>")]
    members = tables["articles"].filter(
        pc.is_in(tables["articles"].column("story_id"), pa.array([kept, merged]))
    )
    for article_id in members.column("article_id").to_pylist():
        assert f'id="article-{article_id}"' in section
