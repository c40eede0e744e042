"""The figures are real PNGs of the expected size with something drawn on them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from scones.monitoring import figures
from scones.monitoring.buckets import count_per_bucket
from scones.monitoring.figures import MIN_TIME_MARGIN_SECONDS, time_limits

CLASSES = ("bicycle", "motorcycle")
T0 = 1_772_355_600.0  # 2026-03-01T09:00:00Z


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    count = 600
    times = T0 + np.sort(rng.uniform(0, 6 * 3600, count))
    class_ids = rng.integers(0, 2, count).astype(np.int16)
    confidences = 1 - rng.beta(1, 12, count) * 0.5
    return times, class_ids, confidences, confidences >= 0.93


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (figures.FIGURE_INCHES[0] * figures.DPI, figures.FIGURE_INCHES[1] * figures.DPI)
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def assert_drawn(png: bytes) -> None:
    rgb = pixels(png)
    assert rgb.std() > 20  # not blank
    assert np.count_nonzero(np.ptp(rgb, axis=2) > 60) > 2000  # a good many coloured pixels (the data)


def test_the_four_figures(data):
    times, class_ids, confidences, meets = data
    buckets = count_per_bucket(times, class_ids, meets, 2, 900)
    share = float(np.mean(~meets))
    assert_drawn(figures.confidence_over_time(times, class_ids, confidences, CLASSES, 0.93))
    assert_drawn(figures.confidence_histogram(class_ids, confidences, CLASSES, 0.93, share))
    assert_drawn(figures.low_confidence_share(buckets, 0.93, share, 0.2))
    assert_drawn(figures.class_balance(buckets, CLASSES))


def test_a_huge_scatter_is_sampled_evenly_and_deterministically():
    sample = figures.scatter_sample(1_000_000, 20_000)
    assert sample.size == 20_000 and sample[0] == 0 and sample[-1] == 999_999
    assert np.array_equal(sample, figures.scatter_sample(1_000_000, 20_000))
    gaps = np.diff(sample)
    assert gaps.min() >= 49 and gaps.max() <= 51
    assert np.array_equal(figures.scatter_sample(10, 20_000), np.arange(10))


def test_a_sampled_scatter_still_draws(data):
    times, class_ids, confidences, _ = data
    full = figures.confidence_over_time(times, class_ids, confidences, CLASSES, 0.93)
    sampled = figures.confidence_over_time(times, class_ids, confidences, CLASSES, 0.93, max_points=100)
    assert_drawn(sampled)
    assert pixels(full).tolist() != pixels(sampled).tolist()  # fewer points, and the title says so


def figure_of(name: str, times, class_ids, confidences, threshold: float) -> bytes:
    meets = confidences >= threshold
    buckets = count_per_bucket(times, class_ids, meets, 2, 900)
    share = float(np.mean(~meets))
    return {
        "confidence_over_time": lambda: figures.confidence_over_time(times, class_ids, confidences, CLASSES, threshold),
        "confidence_histogram": lambda: figures.confidence_histogram(class_ids, confidences, CLASSES, threshold, share),
        "low_confidence_share": lambda: figures.low_confidence_share(buckets, threshold, share, 0.2),
        "class_balance": lambda: figures.class_balance(buckets, CLASSES),
    }[name]()


@pytest.mark.parametrize("name", ["confidence_over_time", "confidence_histogram", "low_confidence_share",
                                  "class_balance"])
def test_each_figure_draws_its_data_and_only_its_data(data, name):
    """The same data draws the same pixels; other data (other classes, other confidences) draws others."""
    times, class_ids, confidences, _ = data
    drawn = pixels(figure_of(name, times, class_ids, confidences, 0.93))
    assert np.array_equal(drawn, pixels(figure_of(name, times, class_ids, confidences, 0.93)))
    if name == "class_balance":  # it shows the classes: all bicycles is another picture
        other = figure_of(name, times, np.zeros_like(class_ids), confidences, 0.93)
    else:  # they show the confidences against the threshold
        other = figure_of(name, times, class_ids, confidences, 0.6)
    assert not np.array_equal(drawn, pixels(other))


@given(st.floats(1e9, 2e9), st.floats(0, 1e8))
def test_a_time_axis_spans_the_data_with_a_small_margin(first, span):
    low, high = time_limits(first, first + span)
    assert low < first and high > first + span  # every point is inside
    margin = max(span * 0.05, MIN_TIME_MARGIN_SECONDS)
    assert high - low == pytest.approx(span + 2 * margin)  # captures within a second: two minutes, not years
