"""The report's figures, drawn with matplotlib's Agg renderer into PNG bytes.

Figures are built on :class:`matplotlib.figure.Figure` directly, not pyplot,
and ``savefig(format="png")`` renders them with Agg: no GUI backend is ever
chosen and the caller's pyplot backend (say, a notebook's) is left alone.
Each function takes the compact columns (or bucket counts) and returns PNG bytes.
"""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from scones.monitoring.buckets import BucketCounts, describe_bucket

FIGURE_INCHES = (10.0, 4.5)
DPI = 100  # 1000 x 450 pixels
# Beyond this many points a scatter plot is a solid smear and slow to draw.
MAX_SCATTER_POINTS = 20_000
THRESHOLD_STYLE = {"color": "#d62728", "linestyle": "--", "linewidth": 1.5}
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf")
TIME_LABEL = "time (UTC)"
MIN_TIME_MARGIN_SECONDS = 60.0
CONFIDENCE_LABEL = "top confidence (0–1)"


def colour(class_id: int) -> str:
    return CLASS_COLOURS[class_id % len(CLASS_COLOURS)]


def as_datetimes(epoch_seconds: np.ndarray) -> np.ndarray:
    return (epoch_seconds * 1e6).astype("datetime64[us]")


def scatter_sample(count: int, limit: int = MAX_SCATTER_POINTS) -> np.ndarray:
    """Indices of at most ``limit`` points spread evenly over ``count``: the same every run."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(np.int64))


def _new_axes(title: str, xlabel: str, ylabel: str):
    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def time_limits(first: float, last: float) -> tuple[float, float]:
    """The x range of a time axis, in epoch seconds: the data's span and a margin of 5 % (at least a
    minute), so captures made within one second get seconds on the axis, not years."""
    margin = max((last - first) * 0.05, MIN_TIME_MARGIN_SECONDS)
    return first - margin, last + margin


def _time_axis(axes, first: float, last: float) -> None:
    axes.set_xlim(*as_datetimes(np.array(time_limits(first, last))))
    locator = mdates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _bucket_time_axis(axes, buckets: BucketCounts) -> None:
    """A time axis from the first bucket's start to the last one's end."""
    _time_axis(axes, float(buckets.starts.min()), float(buckets.starts.max()) + buckets.bucket_seconds)


def _count_axis(axis) -> None:
    """Whole numbers with thousands separators: 180,000 not 180000 or 1.75."""
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _legend(axes, title: str | None = None) -> None:
    """The legend beside the plot, where it hides no data."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title=title, fontsize="small")


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _confidence_floor(confidences: np.ndarray, threshold: float) -> float:
    """A lower y/x limit on a 0.05 grid that shows both the lowest confidence and the threshold."""
    lowest = min(float(confidences.min()), threshold)
    return max(0.0, np.floor(lowest * 20) / 20 - 0.05) if lowest > 0.05 else 0.0


def confidence_over_time(times: np.ndarray, class_ids: np.ndarray, confidences: np.ndarray,
                         class_names: Sequence[str], threshold: float,
                         max_points: int = MAX_SCATTER_POINTS) -> bytes:
    """Scatter of top confidence over time, one colour per predicted class, with the threshold."""
    shown = scatter_sample(times.size, max_points)
    title = "Top confidence of each inference over time"
    if shown.size < times.size:
        title += f"\n(showing {shown.size:,} of {times.size:,} inferences, evenly sampled)"
    figure, axes = _new_axes(title, TIME_LABEL, CONFIDENCE_LABEL)
    t, c, k = as_datetimes(times[shown]), confidences[shown], class_ids[shown]
    point_size = 24 if shown.size <= 500 else 6
    for class_id, name in enumerate(class_names):
        mine = k == class_id
        if mine.any():
            total = int(np.count_nonzero(class_ids == class_id))
            axes.scatter(t[mine], c[mine], s=point_size, alpha=0.7, color=colour(class_id),
                         label=f"{name} ({total:,})", edgecolors="none")
    axes.axhline(threshold, label=f"threshold {threshold:g}", **THRESHOLD_STYLE)
    axes.set_ylim(_confidence_floor(confidences, threshold), 1.01)
    _time_axis(axes, float(times.min()), float(times.max()))
    _legend(axes, "predicted class (inferences)")
    return _png(figure)


def confidence_histogram(class_ids: np.ndarray, confidences: np.ndarray, class_names: Sequence[str],
                         threshold: float, share_below: float) -> bytes:
    """Histogram of top confidence, stacked by predicted class, with the threshold."""
    low = _confidence_floor(confidences, threshold)
    width = 0.01 if 1.0 - low <= 0.6 else 0.025
    edges = np.arange(low, 1.0 + width / 2, width)
    figure, axes = _new_axes(f"Distribution of top confidence ({confidences.size:,} inferences)",
                             CONFIDENCE_LABEL, f"inferences per bin of {width:g}")
    groups = [(name, confidences[class_ids == i], colour(i)) for i, name in enumerate(class_names)]
    groups = [group for group in groups if group[1].size]
    axes.hist([g[1] for g in groups], bins=edges, stacked=True, color=[g[2] for g in groups],
              label=[f"{g[0]} ({g[1].size:,})" for g in groups])
    axes.axvline(threshold, label=f"threshold {threshold:g}: {share_below:.1%} below", **THRESHOLD_STYLE)
    axes.set_xlim(low, 1.0)
    _count_axis(axes.yaxis)
    _legend(axes, "predicted class (inferences)")
    return _png(figure)


def _bar_width_days(bucket_seconds: int) -> float:
    return bucket_seconds / 86400 * 0.9


def low_confidence_share(buckets: BucketCounts, threshold: float, overall_share: float,
                         fail_above: float | None) -> bytes:
    """Share of each bucket's inferences below threshold, as bars, with the overall share and --fail-above."""
    per = describe_bucket(buckets.bucket_seconds)
    figure, axes = _new_axes(f"Share of inferences below threshold {threshold:g}, per {per}",
                             TIME_LABEL, f"below threshold per {per} (%)")
    share = buckets.below_threshold_share() * 100
    filled = ~np.isnan(share)
    axes.bar(as_datetimes(buckets.starts[filled]), share[filled], width=_bar_width_days(buckets.bucket_seconds),
             align="edge", color="#ff7f0e", label=f"below {threshold:g} (empty buckets left blank)")
    axes.axhline(overall_share * 100, color="#555555", linestyle=":", linewidth=1.5,
                 label=f"all inferences: {overall_share:.1%}")
    if fail_above is not None:
        axes.axhline(fail_above * 100, label=f"--fail-above {fail_above:.0%}", **THRESHOLD_STYLE)
    highest = max(np.nanmax(share), overall_share * 100, 0 if fail_above is None else fail_above * 100)
    axes.set_ylim(0, min(100.0, highest * 1.25 + 1))  # room to see a change, never past 100%
    _bucket_time_axis(axes, buckets)
    _legend(axes)
    return _png(figure)


def class_balance(buckets: BucketCounts, class_names: Sequence[str]) -> bytes:
    """Stacked inference counts per bucket, one colour per predicted class."""
    per = describe_bucket(buckets.bucket_seconds)
    figure, axes = _new_axes(f"Predicted classes over time, per {per}", TIME_LABEL, f"inferences per {per}")
    starts = as_datetimes(buckets.starts)
    bottom = np.zeros(buckets.starts.size)
    for class_id, name in enumerate(class_names):
        counts = buckets.per_class[:, class_id]
        if counts.any():
            axes.bar(starts, counts, bottom=bottom, width=_bar_width_days(buckets.bucket_seconds), align="edge",
                     color=colour(class_id), label=f"{name} ({int(counts.sum()):,})")
            bottom = bottom + counts
    _bucket_time_axis(axes, buckets)
    _count_axis(axes.yaxis)
    _legend(axes, "predicted class (inferences)")
    return _png(figure)
