"""What each threshold from 0.50 to 0.99 would have done to the captured inferences.

Choosing the filter's threshold is a trade: a higher one lets fewer wrong
answers through and fails more executions. The curve answers "what if" from
the captures alone, with no redeploy: at each threshold, the share of
inferences that would pass, overall and per predicted class, and, where the
true class is known (``scones run`` knows it from the test images' listing),
the accuracy among those that pass and how many wrong answers pass.

Pass means ``confidence >= threshold``, the filter function's rule
(:func:`scones.inferences.meets_threshold`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

# 0.50, 0.51, … 0.99: below 0.5 a two-class model passes everything.
CURVE_THRESHOLDS = tuple(round(0.50 + 0.01 * step, 2) for step in range(50))


@dataclass(frozen=True)
class LabelledInference:
    """An inference whose true class is known."""

    true_class: str
    predicted_class: str
    confidence: float


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    passed: int
    share_passed: float | None
    per_class_share_passed: dict[str, float | None]  # by predicted class
    labelled: int  # inferences with a known true class (the same at every threshold)
    labelled_passed: int
    accuracy_among_passed: float | None  # None: nothing labelled passes
    wrong_passed: int

    def to_json(self) -> dict:
        return {
            "threshold": self.threshold, "passed": self.passed, "share_passed": self.share_passed,
            "per_class_share_passed": self.per_class_share_passed, "labelled": self.labelled,
            "labelled_passed": self.labelled_passed, "accuracy_among_passed": self.accuracy_among_passed,
            "wrong_passed": self.wrong_passed,
        }


def threshold_curve(class_ids: np.ndarray, confidences: np.ndarray, class_names: Sequence[str],
                    labelled: Sequence[LabelledInference] = (),
                    thresholds: Sequence[float] = CURVE_THRESHOLDS) -> tuple[CurvePoint, ...]:
    """One point per threshold; ``class_ids`` index ``class_names``. One sort, then a binary search per point."""
    order = np.argsort(confidences, kind="stable")
    sorted_confidences = confidences[order]
    sorted_ids = class_ids[order].astype(np.int64)
    per_class_total = np.bincount(sorted_ids, minlength=len(class_names))
    label_confidences = np.array([item.confidence for item in labelled], dtype=np.float64)
    label_right = np.array([item.true_class == item.predicted_class for item in labelled], dtype=bool)
    points = []
    for threshold in thresholds:
        first_passing = int(np.searchsorted(sorted_confidences, threshold, side="left"))
        passing_ids = sorted_ids[first_passing:]
        per_class_passed = np.bincount(passing_ids, minlength=len(class_names))
        passes = label_confidences >= threshold
        labelled_passed = int(np.count_nonzero(passes))
        right_passed = int(np.count_nonzero(passes & label_right))
        points.append(CurvePoint(
            threshold=float(threshold),
            passed=int(passing_ids.size),
            share_passed=_share(passing_ids.size, sorted_ids.size),
            per_class_share_passed={name: _share(int(per_class_passed[index]), int(per_class_total[index]))
                                    for index, name in enumerate(class_names)},
            labelled=len(labelled),
            labelled_passed=labelled_passed,
            accuracy_among_passed=_share(right_passed, labelled_passed),
            wrong_passed=labelled_passed - right_passed,
        ))
    return tuple(points)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
