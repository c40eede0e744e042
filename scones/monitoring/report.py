"""Writing a report: ``summary.json``, the PNGs, and one self-contained ``report.html``.

The HTML embeds every figure and thumbnail as a base64 data URI, so the one
file can be mailed, attached to a CI run or opened offline.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Sequence

from scones.monitoring.summary import MonitorSummary
from scones.monitoring.threshold_control import threshold_control_html
from scones.monitoring.thumbnails import Thumbnail

REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.json"
FIGURE_FILES = ("confidence_over_time.png", "confidence_histogram.png", "low_confidence_share.png",
                "class_balance.png")
# What ``scones run`` adds: the workflow graph of one execution with each of these statuses.
WORKFLOW_GRAPH_FILES = {"SUCCEEDED": "workflow-succeeded.png", "FAILED": "workflow-failed.png"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { margin-bottom: 0.2rem; } .muted { color: #666; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #ccc; padding: 0.3rem 0.6rem; }
th { background: #f3f3f3; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.alert { padding: 0.8rem 1rem; border-radius: 4px; margin: 1rem 0; }
.alert.on { background: #fde2e1; border: 1px solid #d62728; }
.alert.off { background: #e6f4ea; border: 1px solid #2ca02c; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
.thumbs { display: flex; flex-wrap: wrap; gap: 1rem; } .thumbs figure { margin: 0; width: 12rem; font-size: 0.85rem; }
.thumbs img { image-rendering: pixelated; width: 96px; }
"""


@dataclass(frozen=True)
class ReportFigure:
    file_name: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    summary: Path
    figures: tuple[Path, ...]


def write_report(out_dir: str | Path, summary: MonitorSummary, figures: Sequence[ReportFigure],
                 thumbnails: Sequence[Thumbnail], thumbnails_asked: int = 0) -> ReportFiles:
    """Write the report into ``out_dir`` (created), removing figures a previous run left there."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {figure.file_name for figure in figures}
    for stale in {*FIGURE_FILES, *WORKFLOW_GRAPH_FILES.values()} - written:
        (out / stale).unlink(missing_ok=True)
    paths = []
    for figure in figures:
        path = out / figure.file_name
        path.write_bytes(figure.png)
        paths.append(path)
    summary_path = out / SUMMARY_FILE
    summary_path.write_text(json.dumps(summary.to_json(), indent=2) + "\n", encoding="utf-8")
    html_path = out / REPORT_FILE
    html_path.write_text(render_html(summary, figures, thumbnails, thumbnails_asked), encoding="utf-8")
    return ReportFiles(html_path, summary_path, tuple(paths))


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.1%}"


def _row(label: str, value: str) -> str:
    return f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"


def _alert_html(summary: MonitorSummary) -> str:
    alert = summary.alert
    below = f"{percent(summary.share_below_threshold)} of inferences are below the threshold {summary.threshold:g}"
    if alert.fail_above is None:
        return f'<p class="alert off">{escape(below)} (no --fail-above limit set).</p>'
    if alert.triggered:
        return (f'<p class="alert on"><strong>ALERT:</strong> {escape(below)}, above the limit '
                f"{alert.fail_above:.1%} (--fail-above {alert.fail_above:g}).</p>")
    return f'<p class="alert off">OK: {escape(below)}, within the limit {alert.fail_above:.1%}.</p>'


def _summary_table(summary: MonitorSummary) -> str:
    counts, window = summary.counts, summary.window
    quantiles = summary.confidence_quantiles
    rows = [
        _row("source", summary.source),
        _row("variant", summary.variant or "all"),
        _row("time window", f"{window['since'] or 'start'} to {window['until'] or 'end'} (since inclusive, "
                            "until exclusive)"),
        _row("capture files", f"{summary.files['read']:,} read, {summary.files['skipped']:,} skipped "
                              f"(other variant or hour outside the window)"),
        _row("records", f"{counts.total:,} total: {counts.valid:,} valid, {counts.malformed:,} malformed, "
                        f"{counts.without_output:,} without endpointOutput; {counts.outside_window:,} "
                        "outside the window (not counted)"),
        _row("threshold", f"{summary.threshold:g}"),
        _row("share below threshold", percent(summary.share_below_threshold)),
        _row("first / last inferenceTime",
             f"{summary.first_inference_time or '–'} / {summary.last_inference_time or '–'}"),
    ]
    if quantiles is not None:
        rows.append(_row("top confidence quantiles",
                         ", ".join(f"{name} {value:.4f}" for name, value in quantiles.items())))
    return "<table>" + "".join(rows) + "</table>"


def _class_table(summary: MonitorSummary) -> str:
    valid = summary.counts.valid
    rows = []
    for name in summary.class_names:
        count, below = summary.per_class_counts[name], summary.per_class_below_threshold[name]
        rows.append(f"<tr><td>{escape(name)}</td><td class=n>{count:,}</td>"
                    f"<td class=n>{percent(count / valid if valid else None)}</td>"
                    f"<td class=n>{below:,}</td><td class=n>{percent(below / count if count else None)}</td></tr>")
    return ("<table><tr><th>predicted class</th><th>inferences</th><th>share</th><th>below threshold</th>"
            "<th>share below threshold</th></tr>" + "".join(rows) + "</table>")


def _figures_html(figures: Sequence[ReportFigure]) -> str:
    if not figures:
        return "<p>No inference with an endpointOutput in this window: nothing to plot.</p>"
    return "".join(
        f'<figure><img src="{figure.data_uri}" alt="{escape(figure.caption)}">'
        f"<figcaption>{escape(figure.caption)}</figcaption></figure>"
        for figure in figures
    )


def _thumbnails_html(thumbnails: Sequence[Thumbnail], asked: int) -> str:
    if asked == 0:
        return ""
    if not thumbnails:
        return (f"<h2>Least confident inferences</h2><p>--thumbnails {asked}: no inference in this window "
                "has a captured endpointInput (is Input capture off in the endpoint config?).</p>")
    items = []
    for thumbnail in thumbnails:
        row = thumbnail.row
        image = (f'<img src="{thumbnail.data_uri}" alt="captured input of {escape(row.event_id)}">'
                 if thumbnail.data_uri else f"<em>{escape(thumbnail.problem or '')}</em>")
        items.append(
            f"<figure>{image}<figcaption><strong>{escape(row.class_name)}</strong> {row.confidence:.4f}<br>"
            f"{escape(row.inference_time.isoformat().replace('+00:00', 'Z'))}<br>"
            f"<span class=muted>{escape(row.location)}:{row.line_number}</span></figcaption></figure>"
        )
    return (f"<h2>The {len(thumbnails)} least confident inferences</h2>"
            f'<div class="thumbs">{"".join(items)}</div>')


def _malformed_html(summary: MonitorSummary) -> str:
    count = summary.counts.malformed
    if count == 0:
        return "<h2>Malformed lines</h2><p>None.</p>"
    listed = summary.malformed_lines
    note = f" (the first {len(listed):,} listed)" if len(listed) < count else ""
    rows = "".join(f"<tr><td>{escape(line.location)}</td><td class=n>{line.line_number}</td>"
                   f"<td>{escape(line.reason)}</td></tr>" for line in listed)
    return (f"<h2>Malformed lines: {count:,}{note}</h2><p>Skipped; every other line was read.</p>"
            f"<table><tr><th>file</th><th>line</th><th>why</th></tr>{rows}</table>")


def render_html(summary: MonitorSummary, figures: Sequence[ReportFigure], thumbnails: Sequence[Thumbnail],
                thumbnails_asked: int = 0) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Scones endpoint monitoring report</title>
<style>{_STYLE}</style></head><body>
<h1>Scones endpoint monitoring report</h1>
<p class="muted">From SageMaker Data Capture records at {escape(summary.source)}</p>
{_alert_html(summary)}
<h2>Summary</h2>
{_summary_table(summary)}
<h2>Predicted classes</h2>
{_class_table(summary)}
{threshold_control_html(summary)}
<h2>Figures</h2>
{_figures_html(figures)}
{_thumbnails_html(thumbnails, thumbnails_asked)}
{_malformed_html(summary)}
</body></html>
"""
