"""The analyst report: the largest stories, a per-day timeline and duplicate and shared-text statistics.

:func:`write_report` renders one self-contained ``report.html`` (inline CSS and SVG, no scripts,
no network) from an output directory; :func:`largest_stories` and :func:`format_stories` back
``newsfold stories``. Everything read from the data is HTML-escaped before it reaches the page,
and the page's Content-Security-Policy forbids scripts and remote loads as a second line.
"""

import html
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from newsfold import store
from newsfold.records import DATASET_SCHEMAS, ROLES

REPORT_FILE = "report.html"
# Enough for a first read; the whole dataset is one pd.read_parquet away (README "Using the data").
DEFAULT_TOP = 20
# Per story section: beyond this many articles the page lists the count, not the rows.
MAX_ARTICLES_PER_STORY = 200
SNIPPET_CHARS = 280
TOP_DUPLICATE_GROUPS = 10
TOP_SEGMENTS = 10
# Tableau 10: ten colours chosen to stay apart from one another on a white page.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _clip(text: str | None, limit: int) -> str:
    text = " ".join(text.split()) if isinstance(text, str) else ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _read(out_dir: Path, name: str, columns: list[str], where: pc.Expression | None = None) -> pa.Table:
    """Only the columns (and rows) the report needs from one dataset of the current version."""
    version = store.current_version(out_dir)
    if version is None:
        raise FileNotFoundError(f"no newsfold dataset in {out_dir} (run `newsfold run` first)")
    dataset = ds.dataset(version / name, format="parquet", schema=DATASET_SCHEMAS[name], partitioning="hive")
    return dataset.to_table(columns=columns, filter=where)


def largest_stories(out_dir: Path, top: int = DEFAULT_TOP) -> pd.DataFrame:
    """The `top` stories with the most articles (ties: earliest first), with their outlets.

    A story that an incremental run recorded as merged into another (``merged_into``) is counted
    as part of that one: its articles keep their ``story_id``, but they are one story now.

    Returns:
        One row per story: ``story_id``, ``headline``, ``n_articles``, ``n_outlets``, ``outlets``
        (most frequent first), ``first_published``, ``last_published``, ``top_terms`` and
        ``story_ids`` (the story's own id first, then those merged into it).

    Raises:
        FileNotFoundError: out_dir holds no newsfold dataset.
        ValueError: top is not positive.
    """
    if top < 1:
        raise ValueError("top must be at least 1")
    rows = _read(out_dir, "stories", list(DATASET_SCHEMAS["stories"].names)).to_pandas()
    rows["root"] = rows["merged_into"].where(rows["merged_into"].notna(), rows["story_id"])
    rows = rows.sort_values(["root", "merged_into", "story_id"], na_position="first")
    folded = rows.groupby("root", sort=False).agg(
        n_articles=("n_articles", "sum"),
        first_published=("first_published", "min"),
        last_published=("last_published", "max"),
        story_ids=("story_id", list),
    )
    own = rows[rows["merged_into"].isna()].set_index("story_id")
    stories = own[["headline", "top_terms"]].join(folded, how="inner").rename_axis("story_id").reset_index()
    stories = stories.sort_values(
        ["n_articles", "first_published", "story_id"], ascending=[False, True, True], na_position="last"
    ).head(top)
    root_of = _root_of(stories)
    members = _read(
        out_dir, "articles", ["story_id", "source"], ds.field("story_id").isin(_strings(list(root_of)))
    ).to_pandas()
    members["story_id"] = members["story_id"].map(root_of)
    outlets = (
        members.dropna(subset=["source"])
        .groupby(["story_id", "source"], sort=True)
        .size()
        .reset_index(name="n")
        .sort_values(["story_id", "n", "source"], ascending=[True, False, True])
        .groupby("story_id", sort=False)["source"]
        .agg(list)
    )
    stories["outlets"] = [outlets.get(sid, []) for sid in stories["story_id"]]
    stories["n_outlets"] = [len(o) for o in stories["outlets"]]
    columns = ["story_id", "headline", "n_articles", "n_outlets", "outlets", "first_published"]
    return stories[[*columns, "last_published", "top_terms", "story_ids"]].reset_index(drop=True)


def _root_of(stories: pd.DataFrame) -> dict[str, str]:
    """Every story id that articles carry, mapped to the story it is part of now."""
    return {
        sid: root for root, ids in zip(stories["story_id"], stories["story_ids"], strict=True) for sid in ids
    }


def format_stories(stories: pd.DataFrame, width: int | None = None) -> str:
    """The stories of :func:`largest_stories` as a plain-text table that fits `width` columns."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    header = ("#", "articles", "outlets", "first", "last", "story_id", "headline")
    rows = [
        (
            str(rank),
            str(row.n_articles),
            str(row.n_outlets),
            _day(row.first_published),
            _day(row.last_published),
            str(row.story_id),
            " ".join((_value(row.headline) or "").split()),
        )
        for rank, row in enumerate(stories.itertuples(index=False), start=1)
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    fixed = sum(widths) + 2 * len(widths)
    headline_width = max(20, width - fixed)
    lines = []
    for r in [header, *rows]:
        cells = [c.rjust(w) if i < 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))]
        lines.append("  ".join([*cells, _clip(r[-1], headline_width)]).rstrip())
    return "\n".join(lines)


def _day(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def write_report(out_dir: Path, path: Path | None = None, top: int = DEFAULT_TOP) -> Path:
    """Write the report of out_dir's current dataset to `path` (default ``out_dir/report.html``).

    Raises:
        FileNotFoundError: out_dir holds no newsfold dataset.
    """
    path = Path(path) if path is not None else Path(out_dir) / REPORT_FILE
    document = render_report(Path(out_dir), top)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(document, encoding="utf-8")
    tmp.replace(path)
    return path


def render_report(out_dir: Path, top: int = DEFAULT_TOP) -> str:
    """The report of out_dir's current dataset as one self-contained HTML document."""
    manifest = store.read_manifest(out_dir) if store.current_version(out_dir) else {}
    stories = largest_stories(out_dir, top)
    root_of = _root_of(stories)
    members = _read(
        out_dir,
        "articles",
        [
            "article_id",
            "title",
            "published_at",
            "source",
            "url",
            "text",
            "is_canonical",
            "duplicate_of",
            "story_id",
        ],
        ds.field("story_id").isin(_strings(list(root_of))),
    ).to_pandas()
    members["story_id"] = members["story_id"].map(root_of)
    counts = manifest.get("counts", {})
    body = [
        _summary_section(out_dir, manifest, counts),
        _timeline_section(stories, members),
        _stories_section(stories),
        _duplicates_section(out_dir),
        _shared_text_section(out_dir),
        _story_details_section(stories, members),
    ]
    return _PAGE.format(
        title=_esc(f"newsfold report: {out_dir.name or out_dir}"), css=_CSS, body="\n".join(body)
    )


def _summary_section(out_dir: Path, manifest: dict[str, Any], counts: dict[str, Any]) -> str:
    labels = [
        ("articles", "articles"),
        ("duplicates", "duplicates"),
        ("duplicate_groups", "duplicate groups"),
        ("stories", "stories"),
        ("shared_segments", "shared segments"),
        ("quarantined", "quarantined inputs"),
    ]
    tiles = "".join(
        f'<div class="tile"><b>{_esc(f"{counts[key]:,}")}</b><span>{_esc(label)}</span></div>'
        for key, label in labels
        if key in counts
    )
    run = _esc(manifest.get("run_id", "?"))
    schema = _esc(manifest.get("schema_version", "?"))
    return (
        f'<section id="summary"><h2>Dataset</h2><div class="tiles">{tiles}</div>'
        f'<p class="meta">Output <code>{_esc(out_dir)}</code>, run <code>{run}</code>, '
        f"schema version {schema}.</p></section>"
    )


def _stories_section(stories: pd.DataFrame) -> str:
    if stories.empty:
        return '<section id="stories"><h2>Largest stories</h2><p>No stories.</p></section>'
    rows = []
    for rank, s in enumerate(_records(stories), start=1):
        outlets = ", ".join(_esc(o) for o in s["outlets"][:5]) + (" …" if len(s["outlets"]) > 5 else "")
        terms = " ".join(f'<span class="term">{_esc(t)}</span>' for t in list(s["top_terms"])[:6])
        rows.append(
            f'<tr><td class="num">{rank}</td>'
            f'<td><a href="#{_anchor(s["story_id"])}">{_esc(s["headline"] or "(no headline)")}</a>'
            f'<div>{terms}</div></td><td class="num">{s["n_articles"]}</td>'
            f'<td>{outlets}<div class="meta">{_plural(s["n_outlets"], "outlet")}</div></td>'
            f"<td>{_esc(_day(s['first_published']))} – {_esc(_day(s['last_published']))}</td></tr>"
        )
    return (
        f'<section id="stories"><h2>Largest stories</h2><table class="stories">'
        "<thead><tr><th>#</th><th>headline</th><th>articles</th><th>outlets</th><th>published</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _value(value: Any) -> Any:
    """A cell with pandas' missing markers (NaN, NA, NaT) turned into None."""
    missing = value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    return None if missing else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _strings(values: list[str]) -> pa.Array:
    # Typed, so that an empty list still compares with a string column.
    return pa.array(values, type=pa.string())


def _anchor(story_id: str) -> str:
    return _esc(f"story-{story_id}")


def _timeline_section(stories: pd.DataFrame, members: pd.DataFrame) -> str:
    dated = members.dropna(subset=["published_at"])
    undated = len(members) - len(dated)
    intro = (
        "<p>Articles per story per day (UTC) for the largest stories; a dot's area is the day's count. "
        "Hover a dot for its numbers.</p>"
    )
    if dated.empty:
        return f'<section id="timeline"><h2>Timeline</h2>{intro}<p>No dated articles.</p></section>'
    days = dated["published_at"].dt.tz_convert("UTC").dt.floor("D")
    per_day = dated.assign(day=days).groupby(["story_id", "day"], sort=True).size()
    svg = _timeline_svg(stories, per_day)
    note = f'<p class="meta">{undated} articles without a date are not shown.</p>' if undated else ""
    return f'<section id="timeline"><h2>Timeline</h2>{intro}<figure>{svg}</figure>{note}</section>'


def _timeline_svg(stories: pd.DataFrame, per_day: pd.Series) -> str:
    """A swim-lane chart: one row per story, one dot per day with articles, area ∝ count."""
    label_w, plot_w, row_h, top_pad, axis_h = 300, 640, 26, 12, 34
    ids = stories["story_id"].tolist()
    all_days = per_day.index.get_level_values("day")
    first, last = all_days.min(), all_days.max()
    span = max((last - first).days, 1)
    biggest = int(per_day.max())
    height = top_pad + row_h * len(ids) + axis_h
    width = label_w + plot_w + 40

    def x_of(day: pd.Timestamp) -> float:
        return label_w + 10 + (plot_w - 20) * (day - first).days / span

    parts = [
        f'<svg id="timeline-chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="articles per story per day">'
    ]
    for row, (sid, headline) in enumerate(zip(ids, stories["headline"], strict=True)):
        y = top_pad + row_h * row + row_h / 2
        colour = PALETTE[row % len(PALETTE)]
        parts.append(
            f'<line class="lane" x1="{label_w}" x2="{label_w + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<a href="#{_anchor(sid)}"><text class="lane-label" x="{label_w - 8}" y="{y + 4:.1f}" '
            f'text-anchor="end">{row + 1}. {_esc(_clip(headline, 38))}</text></a>'
        )
        if sid not in per_day.index.get_level_values("story_id"):
            continue
        for day, n in per_day.loc[sid].items():
            radius = 2.5 + 8.5 * math.sqrt(int(n) / biggest)
            tip = f"{_clip(headline, 80)} — {day:%Y-%m-%d}: {int(n)} article{'s' if n != 1 else ''}"
            parts.append(
                f'<circle class="dot" cx="{x_of(day):.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{colour}" '
                f'data-story="{_esc(sid)}" data-day="{day:%Y-%m-%d}" data-count="{int(n)}">'
                f"<title>{_esc(tip)}</title></circle>"
            )
    axis_y = top_pad + row_h * len(ids) + 4
    parts.append(f'<line class="axis" x1="{label_w}" x2="{label_w + plot_w}" y1="{axis_y}" y2="{axis_y}"/>')
    for tick in _ticks(first, last):
        x = x_of(tick)
        parts.append(
            f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 5}"/>'
            f'<text class="tick" x="{x:.1f}" y="{axis_y + 18}" text-anchor="middle">{tick:%Y-%m-%d}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(first: pd.Timestamp, last: pd.Timestamp, n: int = 6) -> list[pd.Timestamp]:
    span = (last - first).days
    if span == 0:
        return [first]
    step = max(1, math.ceil(span / (n - 1)))
    return [first + pd.Timedelta(days=d) for d in range(0, span + 1, step)]


def _duplicates_section(out_dir: Path) -> str:
    table = _read(out_dir, "articles", ["duplicate_group", "is_canonical"])
    n = table.num_rows
    sizes = pd.Series(table.column("duplicate_group").to_numpy(zero_copy_only=False)).value_counts()
    copies = sizes[sizes > 1]
    duplicates = int(n - len(sizes))
    share = f"{100 * duplicates / n:.1f}%" if n else "0%"
    stats = (
        f"<p>{duplicates:,} of {n:,} articles ({share}) are copies of another article: "
        f"{len(copies):,} duplicate groups have more than one member; the largest has "
        f"{int(sizes.max()) if n else 0:,}.</p>"
    )
    histogram = _size_histogram(sizes)
    if copies.empty:
        return f'<section id="duplicates"><h2>Duplicates</h2>{stats}</section>'
    largest = copies.sort_index().sort_values(ascending=False, kind="stable").head(TOP_DUPLICATE_GROUPS)
    canon = _read(
        out_dir,
        "articles",
        ["duplicate_group", "title", "source", "published_at", "story_id"],
        ds.field("duplicate_group").isin(_strings(largest.index.tolist())) & ds.field("is_canonical"),
    ).to_pandas()
    canon = canon.set_index("duplicate_group")
    rows = "".join(
        f'<tr><td class="num">{int(size)}</td>'
        f"<td>{_esc(_clip(_value(canon.at[group, 'title']), 120) or '(untitled)')}</td>"
        f"<td>{_esc(canon.at[group, 'source'])}</td>"
        f"<td>{_esc(_day(canon.at[group, 'published_at']))}</td></tr>"
        for group, size in largest.items()
    )
    return (
        f'<section id="duplicates"><h2>Duplicates</h2>{stats}{histogram}'
        "<h3>Largest duplicate groups</h3><table><thead><tr><th>copies</th><th>canonical title</th>"
        f"<th>outlet</th><th>published</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _size_histogram(sizes: pd.Series) -> str:
    bins = [(1, 1, "1 (unique)"), (2, 2, "2"), (3, 5, "3–5"), (6, 10, "6–10"), (11, None, "11+")]
    cells = []
    for low, high, label in bins:
        mask = (sizes >= low) & ((sizes <= high) if high is not None else True)
        cells.append(f"<tr><td>{_esc(label)}</td><td class='num'>{int(mask.sum()):,}</td></tr>")
    return (
        "<table class='compact'><thead><tr><th>group size</th><th>groups</th></tr></thead>"
        f"<tbody>{''.join(cells)}</tbody></table>"
    )


def _shared_text_section(out_dir: Path) -> str:
    shared = _read(out_dir, "shared_text", ["segment_id", "role", "n_articles"]).to_pandas()
    if shared.empty:
        return '<section id="shared-text"><h2>Shared text</h2><p>No shared text found.</p></section>'
    segments = shared.drop_duplicates("segment_id")
    by_role = "".join(
        f"<tr><td>{_esc(role)}</td><td class='num'>{int((segments['role'] == role).sum()):,}</td>"
        f"<td class='num'>{int((shared['role'] == role).sum()):,}</td>"
        f"<td>{'stripped from bodies' if role != 'syndicated' else 'kept (shared passage)'}</td></tr>"
        for role in ROLES
    )
    top = segments.sort_values(["n_articles", "segment_id"], ascending=[False, True]).head(TOP_SEGMENTS)
    texts = (
        _read(
            out_dir,
            "shared_text",
            ["segment_id", "text"],
            ds.field("segment_id").isin(_strings(top["segment_id"].tolist())),
        )
        .to_pandas()
        .drop_duplicates("segment_id")
        .set_index("segment_id")["text"]
    )
    rows = "".join(
        f'<tr><td class="num">{int(s.n_articles)}</td><td>{_esc(s.role)}</td>'
        f"<td>{_esc(_clip(_value(texts.get(s.segment_id)), 200))}</td></tr>"
        for s in top.itertuples(index=False)
    )
    return (
        '<section id="shared-text"><h2>Shared text</h2>'
        f"<p>{len(segments):,} segments recur across articles ({len(shared):,} occurrences).</p>"
        "<table class='compact'><thead><tr><th>role</th><th>segments</th><th>occurrences</th><th></th></tr>"
        f"</thead><tbody>{by_role}</tbody></table>"
        "<h3>Most shared segments</h3><table><thead><tr><th>articles</th><th>role</th><th>text</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></section>"
    )


def _story_details_section(stories: pd.DataFrame, members: pd.DataFrame) -> str:
    if stories.empty:
        return ""
    members = members.sort_values(["published_at", "article_id"], na_position="last")
    grouped = dict(tuple(members.groupby("story_id", sort=False)))
    sections = []
    for rank, s in enumerate(_records(stories), start=1):
        rows = grouped.get(s["story_id"], members.iloc[:0])
        shown = rows.head(MAX_ARTICLES_PER_STORY)
        items = "".join(_article_row(a) for a in _records(shown))
        more = (
            f'<p class="meta">… and {len(rows) - len(shown):,} more articles.</p>'
            if len(rows) > len(shown)
            else ""
        )
        sections.append(
            f'<section class="story" id="{_anchor(s["story_id"])}">'
            f"<h3>{rank}. {_esc(s['headline'] or '(no headline)')}</h3>"
            f'<p class="meta"><code>{_esc(s["story_id"])}</code> · '
            f"{_plural(s['n_articles'], 'article')} from {_plural(s['n_outlets'], 'outlet')} · "
            f"{_merged_note(s['story_ids'])}"
            '<a href="#stories">back to the list</a></p>'
            "<table><thead><tr><th>published</th><th>outlet</th><th>title and opening</th>"
            f"<th>copy of</th></tr></thead><tbody>{items}</tbody></table>{more}</section>"
        )
    return f'<section id="articles"><h2>Stories and their articles</h2>{"".join(sections)}</section>'


def _merged_note(story_ids: list[str]) -> str:
    merged = list(story_ids)[1:]
    if not merged:
        return ""
    codes = ", ".join(f"<code>{_esc(sid)}</code>" for sid in merged)
    return f"merged with {codes} by a later run · "


def _article_row(article: dict[str, Any]) -> str:
    title = _esc(article["title"] or "(untitled)")
    url = article["url"] or ""
    # Only web links become hrefs: a javascript: or data: URL from a scraped page stays text.
    if url.startswith(("http://", "https://")):
        title = f'<a href="{_esc(url)}" rel="noreferrer noopener">{title}</a>'
    return (
        f'<tr id="{_esc("article-" + article["article_id"])}"><td>{_esc(_day(article["published_at"]))}</td>'
        f"<td>{_esc(article['source'])}</td>"
        f'<td>{title}<div class="snippet">{_esc(_clip(article["text"], SNIPPET_CHARS))}</div>'
        f'<div class="meta"><code>{_esc(article["article_id"])}</code></div></td>'
        f"<td>{'' if article['is_canonical'] else _esc(article['duplicate_of'])}</td></tr>"
    )


_CSS = """
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; max-width: 1040px; padding: 24px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { margin-top: 36px; border-bottom: 2px solid var(--line); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { font-size: 13px; color: var(--muted); font-weight: 600; }
table.compact { width: auto; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: var(--muted); font-size: 13px; } code { font-size: 12px; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 140px; }
.tile b { display: block; font-size: 24px; } .tile span { color: var(--muted); font-size: 13px; }
.term { display: inline-block; background: #eef3f8; border-radius: 4px; padding: 0 6px; margin: 2px 4px 0 0;
        font-size: 12px; color: var(--muted); }
.snippet { color: #3d444d; font-size: 13px; margin-top: 2px; white-space: pre-wrap; overflow-wrap: anywhere; }
figure { margin: 0; overflow-x: auto; }
svg .lane { stroke: #eaeef2; stroke-width: 1; } svg .axis { stroke: #8c959f; stroke-width: 1; }
svg text { font: 12px system-ui, sans-serif; fill: var(--fg); } svg .tick { fill: var(--muted); }
svg .dot { fill-opacity: 0.8; stroke: #fff; stroke-width: 1; }
section.story { margin-top: 28px; } section.story td:first-child { white-space: nowrap; }
section.story:target { outline: 3px solid #f2cc60; outline-offset: 6px; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>newsfold report</h1><p class="meta">
<a href="#stories">stories</a> · <a href="#timeline">timeline</a> · <a href="#duplicates">duplicates</a> ·
<a href="#shared-text">shared text</a> · <a href="#articles">articles</a></p></header>
{body}
</body>
</html>
"""
