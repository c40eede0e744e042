"""The numbers of a monitoring report: counts, per-class counts, share below threshold, quantiles, alert.

Rows are not kept: :class:`InferenceColumns` keeps 19 bytes per inference
(time, class, confidence, met-threshold) in compact arrays, which is all the
summary and the figures need, so a million captures cost about 19 MB whatever
the size of the captured images. Everything else here is a pure function of
those columns.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

import numpy as np

from scones.monitoring.reading import MalformedLine
from scones.class_names import default_class_names
from scones.monitoring.rows import InferenceRow
from scones.monitoring.threshold_curve import CurvePoint, LabelledInference, threshold_curve

QUANTILES = (("min", 0.0), ("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95), ("max", 1.0))
# Malformed lines beyond this many are counted but not listed one by one.
MALFORMED_LISTED = 1000


class InferenceColumns:
    """Time, class id, confidence and met-threshold of every inference, appended one row at a time."""

    def __init__(self):
        self._times = array("d")  # epoch seconds, UTC
        self._class_ids = array("h")
        self._confidences = array("d")
        self._meets = array("b")

    def __len__(self) -> int:
        return len(self._times)

    def append(self, row: InferenceRow) -> None:
        self._times.append(row.inference_time.timestamp())
        self._class_ids.append(row.class_id)
        self._confidences.append(row.confidence)
        self._meets.append(row.meets_threshold)

    @property
    def times(self) -> np.ndarray:
        return np.frombuffer(self._times, dtype=np.float64) if self._times else np.zeros(0)

    @property
    def class_ids(self) -> np.ndarray:
        return np.frombuffer(self._class_ids, dtype=np.int16) if self._class_ids else np.zeros(0, np.int16)

    @property
    def confidences(self) -> np.ndarray:
        return np.frombuffer(self._confidences, dtype=np.float64) if self._confidences else np.zeros(0)

    @property
    def meets_threshold(self) -> np.ndarray:
        return np.frombuffer(self._meets, dtype=np.bool_) if self._meets else np.zeros(0, np.bool_)


@dataclass
class MalformedLog:
    """Every malformed line counted; the first MALFORMED_LISTED kept to be shown."""

    count: int = 0
    listed: list[MalformedLine] = field(default_factory=list)
    limit: int = MALFORMED_LISTED

    def add(self, line: MalformedLine) -> None:
        self.count += 1
        if len(self.listed) < self.limit:
            self.listed.append(line)


@dataclass(frozen=True)
class Alert:
    """``--fail-above``: triggered when the share below threshold exceeds it."""

    fail_above: float | None
    low_confidence_share: float | None
    triggered: bool

    def to_json(self) -> dict:
        return {"fail_above": self.fail_above, "low_confidence_share": self.low_confidence_share,
                "triggered": self.triggered}


def evaluate_alert(low_confidence_share: float | None, fail_above: float | None) -> Alert:
    """Triggered only by a share strictly above ``fail_above``; no inferences never triggers."""
    triggered = fail_above is not None and low_confidence_share is not None and low_confidence_share > fail_above
    return Alert(fail_above, low_confidence_share, triggered)


def confidence_quantiles(confidences: np.ndarray) -> dict[str, float] | None:
    """min, p5, p25, p50, p75, p95, max with linear interpolation; None without inferences."""
    if confidences.size == 0:
        return None
    values = np.quantile(confidences, [q for _, q in QUANTILES])
    return {name: float(value) for (name, _), value in zip(QUANTILES, values)}


def share_below_threshold(meets_threshold: np.ndarray) -> float | None:
    if meets_threshold.size == 0:
        return None
    return float(np.count_nonzero(~meets_threshold) / meets_threshold.size)


def resolve_class_names(class_names: Sequence[str] | None, class_ids: np.ndarray) -> tuple[str, ...]:
    """The given names, or ``class_0`` … up to the highest class seen."""
    if class_names is not None:
        return tuple(class_names)
    return default_class_names(int(class_ids.max()) + 1 if class_ids.size else 0)


def iso_utc(epoch_seconds: float) -> str:
    """An epoch time as ISO 8601 UTC with a ``Z``, like ``inferenceTime`` (fractions kept when present)."""
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Counts:
    valid: int
    malformed: int
    without_output: int
    outside_window: int

    @property
    def total(self) -> int:
        """Records read inside the window, whatever became of them (blank lines are not records)."""
        return self.valid + self.malformed + self.without_output

    def to_json(self) -> dict:
        return {"total": self.total, "valid": self.valid, "malformed": self.malformed,
                "without_output": self.without_output, "outside_window": self.outside_window}


@dataclass(frozen=True)
class MonitorSummary:
    """Everything ``summary.json`` says; the report and the exit status are derived from it."""

    source: str
    window: dict
    variant: str | None
    files: dict
    threshold: float
    class_names: tuple[str, ...]
    counts: Counts
    per_class_counts: dict[str, int]
    per_class_below_threshold: dict[str, int]
    share_below_threshold: float | None
    confidence_quantiles: dict[str, float] | None
    first_inference_time: str | None
    last_inference_time: str | None
    bucket_seconds: int | None
    alert: Alert
    malformed_lines: tuple[MalformedLine, ...]
    threshold_curve: tuple[CurvePoint, ...] = ()

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "window": self.window,
            "variant": self.variant,
            "files": self.files,
            "threshold": self.threshold,
            "class_names": list(self.class_names),
            "counts": self.counts.to_json(),
            "per_class_counts": self.per_class_counts,
            "per_class_below_threshold": self.per_class_below_threshold,
            "share_below_threshold": self.share_below_threshold,
            "confidence_quantiles": self.confidence_quantiles,
            "time_range": {"first": self.first_inference_time, "last": self.last_inference_time},
            "bucket_minutes": None if self.bucket_seconds is None else self.bucket_seconds // 60,
            "alert": self.alert.to_json(),
            "malformed_lines": [line.to_json() for line in self.malformed_lines],
            "malformed_lines_listed_limit": MALFORMED_LISTED,
            "threshold_curve": [point.to_json() for point in self.threshold_curve],
        }


def summarize(columns: InferenceColumns, *, class_names: Sequence[str], threshold: float, counts: Counts,
              malformed: MalformedLog, fail_above: float | None, bucket_seconds: int | None, source: str,
              window: dict, variant: str | None, files: dict,
              labelled: Sequence[LabelledInference] = ()) -> MonitorSummary:
    """The summary of what was read; pure apart from reading the columns.

    ``labelled``: inferences whose true class is known, for the threshold curve's accuracy figures.
    """
    class_ids, meets, times = columns.class_ids, columns.meets_threshold, columns.times
    ids = class_ids.astype(np.int64)
    per_class = np.bincount(ids, minlength=len(class_names))
    below = np.bincount(ids, weights=~meets, minlength=len(class_names))
    share = share_below_threshold(meets)
    return MonitorSummary(
        source=source,
        window=window,
        variant=variant,
        files=files,
        threshold=threshold,
        class_names=tuple(class_names),
        counts=counts,
        per_class_counts={name: int(per_class[i]) for i, name in enumerate(class_names)},
        per_class_below_threshold={name: int(below[i]) for i, name in enumerate(class_names)},
        share_below_threshold=share,
        confidence_quantiles=confidence_quantiles(columns.confidences),
        first_inference_time=iso_utc(times.min()) if times.size else None,
        last_inference_time=iso_utc(times.max()) if times.size else None,
        bucket_seconds=bucket_seconds,
        alert=evaluate_alert(share, fail_above),
        malformed_lines=tuple(malformed.listed),
        threshold_curve=threshold_curve(class_ids, columns.confidences, class_names, labelled),
    )
