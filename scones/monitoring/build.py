"""Building a monitoring report: captures → rows → compact columns → summary, figures, thumbnails → files.

This is the one pass over the captures; ``scones monitor`` and the end of
``scones run`` both call :func:`build_report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from scones.errors import InputError
from scones.inferences import DEFAULT_THRESHOLD, check_threshold
from scones.monitoring import figures
from scones.monitoring.buckets import check_bucket_minutes, choose_bucket_seconds, count_per_bucket
from scones.monitoring.reading import CaptureSource, MalformedLine, ReadStats, TimeWindow, read_records
from scones.monitoring.report import ReportFigure, write_report
from scones.monitoring.rows import OutputFormatError, inference_row
from scones.monitoring.summary import (
    Counts,
    InferenceColumns,
    MalformedLog,
    MonitorSummary,
    resolve_class_names,
    summarize,
)
from scones.monitoring.threshold_curve import LabelledInference
from scones.monitoring.thumbnails import LowestConfidence, Thumbnail, make_thumbnail


@dataclass
class Collected:
    """What one pass over the captures keeps: compact columns, tallies and the thumbnail candidates."""

    columns: InferenceColumns = field(default_factory=InferenceColumns)
    malformed: MalformedLog = field(default_factory=MalformedLog)
    without_output: int = 0
    stats: ReadStats = field(default_factory=ReadStats)
    lowest: LowestConfidence = field(default_factory=lambda: LowestConfidence(0))


def collect(source: CaptureSource, *, class_names: Sequence[str] | None, threshold: float,
            window: TimeWindow = TimeWindow(), variant: str | None = None, thumbnails: int = 0) -> Collected:
    """Stream every record once; nothing per record is kept beyond the columns and N thumbnail candidates."""
    collected = Collected(lowest=LowestConfidence(thumbnails))
    now = datetime.now(timezone.utc)  # one reading of the clock for the whole pass
    for item in read_records(source, now=now, window=window, variant=variant, stats=collected.stats):
        if isinstance(item, MalformedLine):
            collected.malformed.add(item)
            continue
        record = item.record
        if record.endpoint_output is None:
            collected.without_output += 1
            continue
        try:
            row = inference_row(item, class_names=class_names, threshold=threshold)
        except OutputFormatError as error:
            collected.malformed.add(MalformedLine(item.location, item.line_number, str(error)))
            continue
        collected.columns.append(row)
        if record.endpoint_input is not None:
            collected.lowest.offer(row, record.endpoint_input)
    return collected


def render_figures(columns: InferenceColumns, summary: MonitorSummary) -> list[ReportFigure]:
    """The four figures, or none when there is no inference to plot."""
    if len(columns) == 0:
        return []
    times, class_ids, confidences = columns.times, columns.class_ids, columns.confidences
    names, threshold = summary.class_names, summary.threshold
    buckets = count_per_bucket(times, class_ids, columns.meets_threshold, len(names), summary.bucket_seconds)
    return [
        ReportFigure("confidence_over_time.png", "Top confidence of each inference over time, by predicted class",
                     figures.confidence_over_time(times, class_ids, confidences, names, threshold)),
        ReportFigure("confidence_histogram.png", "Distribution of top confidence, with the threshold",
                     figures.confidence_histogram(class_ids, confidences, names, threshold,
                                                  summary.share_below_threshold)),
        ReportFigure("low_confidence_share.png", "Share of inferences below the threshold per time bucket",
                     figures.low_confidence_share(buckets, threshold, summary.share_below_threshold,
                                                  summary.alert.fail_above)),
        ReportFigure("class_balance.png", "Inferences per predicted class per time bucket",
                     figures.class_balance(buckets, names)),
    ]


def bucket_seconds_for(columns: InferenceColumns, bucket_minutes: int | None) -> int | None:
    if len(columns) == 0:
        return None
    times = columns.times
    first, last = float(times.min()), float(times.max())
    if bucket_minutes is None:
        return choose_bucket_seconds(first, last, len(columns))
    return check_bucket_minutes(first, last, bucket_minutes)


def build_report(source: CaptureSource, *, out_dir: str | Path, class_names: Sequence[str] | None = None,
                 threshold: float = DEFAULT_THRESHOLD, window: TimeWindow = TimeWindow(),
                 variant: str | None = None, thumbnails: int = 0, bucket_minutes: int | None = None,
                 fail_above: float | None = None, workflow_graphs: Sequence[ReportFigure] = (),
                 labelled: Sequence[LabelledInference] = ()) -> MonitorSummary:
    """Read ``source``, write ``report.html``, ``summary.json`` and the PNGs into ``out_dir``; return the summary.

    ``class_names`` are in the model's class order (None: ``class_0``, ``class_1``, …).
    ``thumbnails`` > 0 decodes the captured input of that many least confident
    inferences. Raises :class:`~scones.monitoring.reading.NoCapturesFound` when
    there is no capture file to read, ValueError for an argument out of range.
    ``workflow_graphs`` (from ``scones run``: the graph of a succeeded and of a
    failed execution) are written and shown after the monitoring figures;
    ``labelled`` (also from ``scones run``) are inferences whose true class is
    known, for the threshold curve's accuracy among those that pass.
    """
    threshold = check_threshold(threshold)
    if fail_above is not None and not 0.0 <= fail_above <= 1.0:
        raise InputError(f"--fail-above is a share between 0 and 1 (0.2 = 20%), got {fail_above!r}")
    if thumbnails < 0:
        raise InputError(f"--thumbnails is a count of images, 0 or more; got {thumbnails!r}")
    collected = collect(source, class_names=class_names, threshold=threshold, window=window, variant=variant,
                        thumbnails=thumbnails)
    columns = collected.columns
    summary = summarize(
        columns,
        class_names=resolve_class_names(class_names, columns.class_ids),
        threshold=threshold,
        counts=Counts(valid=len(columns), malformed=collected.malformed.count,
                      without_output=collected.without_output,
                      outside_window=collected.stats.records_outside_window),
        malformed=collected.malformed,
        fail_above=fail_above,
        bucket_seconds=bucket_seconds_for(columns, bucket_minutes),
        source=source.description,
        window=window.to_json(),
        variant=variant,
        files=collected.stats.to_json(),
        labelled=labelled,
    )
    thumbs: list[Thumbnail] = [make_thumbnail(row, payload) for row, payload in collected.lowest.lowest()]
    write_report(out_dir, summary, [*render_figures(columns, summary), *workflow_graphs], thumbs, thumbnails)
    return summary
