"""Time buckets: how wide, and how many inferences (per class, below threshold) fall in each.

Buckets are aligned to multiples of their width since the Unix epoch (5-minute
buckets start at :00, :05, …), so the same inference lands in the same bucket
whatever else was read. Pure numpy; no plotting here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scones.errors import InputError

# Widths a person reads at a glance, smallest first.
NICE_BUCKET_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200)
# Aim for at most this many buckets across the time range: enough to show a
# trend, few enough that each bar is visible...
TARGET_BUCKETS = 48
# ...but with few inferences, fewer and wider buckets, about this many
# inferences each, so a share per bucket means something.
INFERENCES_PER_BUCKET = 10
MIN_TARGET_BUCKETS = 6
# A chosen --bucket-minutes beyond this many buckets is refused: the bars would be invisible.
MAX_BUCKETS = 5000


def target_buckets(inferences: int) -> int:
    """How many buckets ``inferences`` deserve: MIN_TARGET_BUCKETS to TARGET_BUCKETS."""
    return min(TARGET_BUCKETS, max(MIN_TARGET_BUCKETS, inferences // INFERENCES_PER_BUCKET))


def choose_bucket_seconds(first: float, last: float, inferences: int) -> int:
    """The smallest nice width that covers ``[first, last]`` in at most :func:`target_buckets` buckets."""
    target = target_buckets(inferences)
    for minutes in NICE_BUCKET_MINUTES:
        if bucket_count(first, last, minutes * 60) <= target:
            return minutes * 60
    longest = NICE_BUCKET_MINUTES[-1] * 60
    return int(math.ceil((last - first) / longest / (target - 1))) * longest


def bucket_count(first: float, last: float, bucket_seconds: int) -> int:
    """How many aligned buckets ``[first, last]`` touches."""
    return int(math.floor(last / bucket_seconds) - math.floor(first / bucket_seconds)) + 1


def check_bucket_minutes(first: float, last: float, bucket_minutes: int) -> int:
    """``bucket_minutes`` in seconds, refused with the smallest sensible width when it makes too many buckets."""
    seconds = bucket_minutes * 60
    count = bucket_count(first, last, seconds)
    if count > MAX_BUCKETS:
        smallest = int(math.ceil((last - first) / 60 / (MAX_BUCKETS - 1)))
        raise InputError(
            f"--bucket-minutes {bucket_minutes} splits the {describe_span(last - first)} of captures into "
            f"{count:,} buckets (at most {MAX_BUCKETS:,}); use --bucket-minutes {smallest} or more, "
            "or leave it out to have one chosen"
        )
    return seconds


def describe_span(seconds: float) -> str:
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def describe_bucket(bucket_seconds: int) -> str:
    """``5 min``, ``2 h``, ``1 day``: for axis labels such as ``inferences per 5 min``."""
    minutes = bucket_seconds / 60
    if minutes < 60 or minutes % 60:
        return f"{minutes:g} min"
    hours = minutes / 60
    if hours < 24 or hours % 24:
        return f"{hours:g} h"
    days = hours / 24
    return "1 day" if days == 1 else f"{days:g} days"


@dataclass(frozen=True)
class BucketCounts:
    """Per aligned bucket: its start, the inferences of each class, and how many were below threshold."""

    bucket_seconds: int
    starts: np.ndarray  # float64 epoch seconds, one per bucket, consecutive
    per_class: np.ndarray  # int64, shape (buckets, classes)
    below_threshold: np.ndarray  # int64, shape (buckets,)

    @property
    def totals(self) -> np.ndarray:
        return self.per_class.sum(axis=1)

    def below_threshold_share(self) -> np.ndarray:
        """Share of each bucket's inferences below threshold; NaN where a bucket is empty."""
        totals = self.totals
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, self.below_threshold / np.maximum(totals, 1), np.nan)


def count_per_bucket(times: np.ndarray, class_ids: np.ndarray, meets_threshold: np.ndarray,
                     class_count: int, bucket_seconds: int) -> BucketCounts:
    """Count inferences into aligned buckets spanning the first to the last time (empty buckets included)."""
    if times.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return BucketCounts(bucket_seconds, np.zeros(0), np.zeros((0, class_count), dtype=np.int64), empty)
    index = np.floor(times / bucket_seconds).astype(np.int64)
    first_index = int(index.min())
    index -= first_index
    buckets = int(index.max()) + 1
    per_class = np.bincount(index * class_count + class_ids.astype(np.int64),
                            minlength=buckets * class_count).reshape(buckets, class_count)
    below = np.bincount(index, weights=~meets_threshold, minlength=buckets).astype(np.int64)
    starts = (first_index + np.arange(buckets, dtype=np.float64)) * bucket_seconds
    return BucketCounts(bucket_seconds, starts, per_class, below)
