"""Prefect artifacts of a newsfold run: a markdown summary and tables of its stories and quarantine.

The content is built by plain functions (:func:`render_summary`, :func:`story_table`,
:func:`quarantine_table`) from the run's report and the version it wrote; only
:func:`publish_run_artifacts` talks to Prefect, and it must run inside a flow run.
"""

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from newsfold import pipeline, store

# Keys are stable, so every run adds a version of the same three artifacts in the Prefect UI.
SUMMARY_KEY = "newsfold-summary"
STORIES_KEY = "newsfold-stories"
QUARANTINE_KEY = "newsfold-quarantine"
# Enough to see what matters in the UI; the datasets hold everything.
TOP_STORIES = 10
MAX_LISTED = 50
_CELL_CHARS = 120


def _cell(value: Any) -> str:
    """A value as one markdown table cell: one line, pipes escaped, clipped."""
    text = "" if value is None else " ".join(str(value).split())
    if len(text) > _CELL_CHARS:
        text = text[: _CELL_CHARS - 1] + "…"
    return text.replace("|", "\\|")


def _biggest(stories: pa.Table, top: int) -> pa.Table:
    if stories.num_rows == 0:
        return stories
    return stories.sort_by([("n_articles", "descending"), ("story_id", "ascending")]).slice(0, top)


def story_table(stories: pa.Table, top: int = TOP_STORIES) -> list[dict[str, Any]]:
    """The largest stories as table rows."""
    return [
        {
            "story_id": row["story_id"],
            "headline": _cell(row["headline"]),
            "n_articles": row["n_articles"],
            "first_published": str(row["first_published"] or ""),
            "last_published": str(row["last_published"] or ""),
            "merged_into": row["merged_into"] or "",
        }
        for row in _biggest(stories, top).to_pylist()
    ]


def quarantine_table(quarantine: pa.Table, limit: int = MAX_LISTED * 4) -> list[dict[str, Any]]:
    """Quarantine records as table rows (source file and reason)."""
    return [
        {"source_file": row["source_file"], "reason": _cell(row["reason"])}
        for row in quarantine.slice(0, limit).to_pylist()
    ]


def render_summary(report: pipeline.RunReport, stories: pa.Table, quarantine: pa.Table) -> str:
    """The run's markdown summary: counts, new stories, biggest stories, quarantined files."""
    counts, changes = report.counts, report.changes
    files = changes.get("files", {})
    status = "wrote a new version" if report.written else "found nothing new; the dataset was not rewritten"
    lines = [
        "# newsfold run",
        "",
        f"**{changes.get('mode', 'full')}** run {status}: `{report.version_dir.name}` in `{report.out_dir}`.",
        "",
        "| | |",
        "|---|---:|",
        *(f"| {name.replace('_', ' ')} | {value} |" for name, value in counts.items()),
        f"| input files new / changed / unchanged / vanished | {files.get('new', 0)} / "
        f"{files.get('changed', 0)} / {files.get('unchanged', 0)} / {files.get('vanished', 0)} |",
        f"| new articles | {changes.get('new_articles', 0)} |",
        f"| replaced articles (their file changed) | {changes.get('replaced_articles', 0)} |",
        f"| seconds | {report.seconds.get('total', 0.0):.1f} |",
        "",
    ]
    new_ids = set(changes.get("new_stories", []))
    new_rows = stories.filter(pc.is_in(stories.column("story_id"), pa.array(sorted(new_ids), pa.string())))
    lines += [f"## New stories ({len(new_ids)})", ""]
    if new_rows.num_rows:
        lines += ["| story | articles | headline |", "|---|---:|---|"]
        for row in _biggest(new_rows, MAX_LISTED).to_pylist():
            lines.append(f"| `{row['story_id']}` | {row['n_articles']} | {_cell(row['headline'])} |")
        if new_rows.num_rows > MAX_LISTED:
            lines.append(f"\n… and {new_rows.num_rows - MAX_LISTED} more.")
    else:
        lines.append("None.")
    merged = changes.get("merged_stories", {})
    if merged:
        lines += ["", f"## Merged stories ({len(merged)})", ""]
        lines += [f"- `{story}` → `{target}`" for story, target in sorted(merged.items())[:MAX_LISTED]]
    lines += ["", f"## Biggest stories (top {TOP_STORIES})", ""]
    if stories.num_rows:
        lines += ["| story | articles | headline |", "|---|---:|---|"]
        for row in story_table(stories):
            lines.append(f"| `{row['story_id']}` | {row['n_articles']} | {row['headline']} |")
    else:
        lines.append("No stories.")
    lines += ["", f"## Quarantined ({quarantine.num_rows})", ""]
    if quarantine.num_rows:
        lines += ["| source file | reason |", "|---|---|"]
        for row in quarantine_table(quarantine, MAX_LISTED):
            lines.append(f"| `{_cell(row['source_file'])}` | {row['reason']} |")
        if quarantine.num_rows > MAX_LISTED:
            lines.append(f"\n… and {quarantine.num_rows - MAX_LISTED} more (see the quarantine dataset).")
    else:
        lines.append("Nothing quarantined.")
    return "\n".join(lines) + "\n"


def publish_run_artifacts(report: pipeline.RunReport) -> None:
    """Publish the summary, story and quarantine artifacts of a run (inside a flow run)."""
    stories = store.read_version_table(report.version_dir, "stories")
    quarantine = store.read_version_table(report.version_dir, "quarantine")
    description = report.summary()
    create_markdown_artifact(
        key=SUMMARY_KEY, markdown=render_summary(report, stories, quarantine), description=description
    )
    create_table_artifact(
        key=STORIES_KEY, table=story_table(stories), description=f"The {TOP_STORIES} largest stories"
    )
    create_table_artifact(
        key=QUARANTINE_KEY,
        table=quarantine_table(quarantine) or [{"source_file": "", "reason": "nothing quarantined"}],
        description="Input files and records that could not be read, and why",
    )
