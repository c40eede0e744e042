"""Batched augmentation, image fitting, batching and the schedule: pure NumPy/MXNet helpers."""

from __future__ import annotations

import colorsys

import mxnet as mx
import numpy as np
import pytest
from hypothesis import given, strategies as st

from scones.backends.local import training
from scones.hyperparameters import Hyperparameters


@pytest.fixture
def images():
    return np.random.RandomState(1).randint(0, 256, (6, 8, 10, 3)).astype(np.uint8)


def test_crop_cuts_a_window_of_the_padded_image(images):
    out = training.pad_and_random_crop(images, np.random.RandomState(0), pad=2)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=training.FILL_VALUE)
    assert out.shape == images.shape and out.dtype == np.uint8
    for image, window in zip(padded, out):
        assert any(np.array_equal(image[y:y + 8, x:x + 10], window) for y in range(5) for x in range(5))


def test_mirror_flips_some_and_keeps_the_rest(images):
    out = training.random_mirror(np.repeat(images, 10, axis=0), np.random.RandomState(0))
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, np.repeat(images, 10, axis=0))]
    kept = [np.array_equal(o, i) for o, i in zip(out, np.repeat(images, 10, axis=0))]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


def test_hls_matches_colorsys_and_round_trips(images):
    hls = training.rgb_to_hls(images)
    r, g, b = images[0, 0, 0] / 255.0
    h, l, s = colorsys.rgb_to_hls(r, g, b)
    np.testing.assert_allclose(hls[0, 0, 0], [h * 180, l * 255, s * 255], atol=1e-3)
    assert np.abs(training.hls_to_rgb(hls).astype(int) - images).max() <= 1


def test_every_level_keeps_shape_and_type_and_is_seeded(images):
    assert training.augment(images, None, np.random.RandomState(0)) is images
    for kind in ("crop", "crop_color", "crop_color_transform"):
        first = training.augment(images, kind, np.random.RandomState(5))
        assert first.shape == images.shape and first.dtype == np.uint8
        assert np.array_equal(first, training.augment(images, kind, np.random.RandomState(5)))


pixel = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))


@given(st.lists(pixel, min_size=1, max_size=12))
def test_hls_of_every_pixel_is_colorsys_in_opencv_units(pixels):
    images = np.array(pixels, dtype=np.uint8).reshape(1, 1, len(pixels), 3)
    hls = training.rgb_to_hls(images)[0, 0]
    for (r, g, b), got in zip(pixels, hls):
        h, l, s = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
        hue_gap = abs(got[0] - h * 180) % 180  # hue is a circle: 0 and 180 are the same
        assert min(hue_gap, 180 - hue_gap) < 1e-2
        np.testing.assert_allclose(got[1:], [l * 255, s * 255], atol=1e-3)


@given(st.integers(0, 3), st.lists(st.tuples(st.integers(-3, 10), st.integers(-3, 8)), min_size=1, max_size=20))
def test_bilinear_reads_whole_pixels_exactly_and_the_fill_outside(seed, points):
    images = np.random.RandomState(seed).randint(0, 256, (2, 6, 8, 3)).astype(np.uint8)
    xs = np.array([x for x, _ in points], dtype=np.float64)
    ys = np.array([y for _, y in points], dtype=np.float64)
    out = training._bilinear(images, np.tile(xs, (2, 1, 1)), np.tile(ys, (2, 1, 1)))
    for n in range(2):
        for k, (x, y) in enumerate(points):
            inside = 0 <= x < 8 and 0 <= y < 6
            expected = images[n, y, x] if inside else [training.FILL_VALUE] * 3
            assert list(out[n, 0, k]) == list(expected), (n, x, y)


def test_bilinear_blends_neighbours_by_distance():
    images = np.zeros((1, 2, 2, 3), dtype=np.uint8)
    images[0, :, 1] = 200  # right column bright
    out = training._bilinear(images, np.array([[[0.25, 0.5], [0.75, 0.0]]]), np.array([[[0.0, 1.0], [0.5, 0.5]]]))
    assert out[0, :, :, 0].tolist() == [[50, 100], [150, 0]]
    # Past the edge: half a pixel out blends with the fill (127), a pixel and a half out is all fill.
    out = training._bilinear(images, np.array([[[1.5, -1.5], [0.0, 7.25]]]), np.array([[[0.0, 0.0], [-1.5, 0.0]]]))
    assert out[0, :, :, 0].tolist() == [[164, 127], [127, 127]]  # 164 = (200 + 127) / 2, rounded up


def test_affine_warp_keeps_the_centre_and_fills_outside():
    flat = np.full((8, 32, 32, 3), 200, dtype=np.uint8)
    out = training.random_affine(flat, np.random.RandomState(0))
    assert (out[:, 16, 16] == 200).all()
    assert set(np.unique(out)) <= set(range(127, 201))


def test_fit_to_shape_resizes_then_centre_crops():
    wide = np.zeros((40, 80, 3), dtype=np.uint8)
    assert training.fit_to_shape(wide, 32, 32, None).shape == (32, 32, 3)
    assert training.fit_to_shape(wide, 32, 32, 36).shape == (32, 32, 3)
    small = np.zeros((16, 16, 3), dtype=np.uint8)
    assert training.fit_to_shape(small, 32, 32, None).shape == (32, 32, 3)
    exact = np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)
    assert np.array_equal(training.fit_to_shape(exact, 32, 32, None), exact)


def test_batches_are_full_and_wrap_around():
    batches = training.epoch_batches(10, 4, np.random.RandomState(0))
    assert [len(b) for b in batches] == [4, 4, 4]
    assert set(np.concatenate(batches)) == set(range(10))


def test_schedule_steps_in_num_training_samples_epochs():
    hp = Hyperparameters.course(num_training_samples=640).replace(mini_batch_size=64, lr_scheduler_step=(2, 3),
                                                                   learning_rate=0.1, lr_scheduler_factor=0.5)
    schedule = training.learning_rate_schedule(hp)
    assert isinstance(schedule, mx.lr_scheduler.MultiFactorScheduler)
    assert [round(schedule(n), 6) for n in (20, 21, 31)] == [0.1, 0.05, 0.025]
    assert training.learning_rate_schedule(hp.replace(lr_scheduler_step=None)) is None
    assert training.optimizer_params(hp.replace(optimizer="adam"))["beta2"] == 0.999
    assert "wd" not in training.optimizer_params(hp.replace(optimizer="rmsprop"))


def test_cosine_schedule_falls_from_the_rate_to_zero_over_all_epochs():
    hp = Hyperparameters.course(num_training_samples=640).replace(mini_batch_size=64, epochs=4, learning_rate=0.1,
                                                                   lr_schedule="cosine", lr_scheduler_step=(2, 3))
    schedule = training.learning_rate_schedule(hp)  # lr_scheduler_step is the step schedule's, not used here
    assert [round(schedule(n), 6) for n in (0, 10, 20, 30, 40, 41)] == [0.1, 0.085355, 0.05, 0.014645, 0.0, 0.0]


@given(labels=st.lists(st.integers(0, 4), min_size=1, max_size=20), smoothing=st.floats(0.0, 1.0))
def test_smoothed_targets_are_distributions_leaning_to_the_true_class(labels, smoothing):
    targets = training.smoothed_targets(np.array(labels), 5, smoothing)
    assert targets.shape == (len(labels), 5) and targets.dtype == np.float32
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    rows = np.arange(len(labels))
    np.testing.assert_allclose(targets[rows, labels], 1 - smoothing + smoothing / 5, rtol=1e-6)
    others = np.ones_like(targets, dtype=bool)
    others[rows, labels] = False
    np.testing.assert_allclose(targets[others], smoothing / 5, rtol=1e-6, atol=1e-7)


def test_early_stopping_waits_for_min_epochs_then_patience():
    hp = Hyperparameters.course().replace(early_stopping=True, early_stopping_min_epochs=3,
                                          early_stopping_patience=2, early_stopping_tolerance=0.1)
    assert not training.should_stop_early([0.5, 0.5], hp)
    assert training.should_stop_early([0.5, 0.6, 0.6, 0.6], hp)
    assert training.should_stop_early([0.5, 0.6, 0.61, 0.6], hp)  # 1.7% better: under the 10% tolerance
    assert not training.should_stop_early([0.5, 0.6, 0.7, 0.6], hp)
    assert not training.should_stop_early([0.5, 0.6, 0.6, 0.6], hp.replace(early_stopping=False))
