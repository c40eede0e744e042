"""The micro-batcher's policy, and batches formed by real concurrent submissions to the tiny model."""

from __future__ import annotations

import threading

import pytest
from .endpoint_support import GatedPredictor, assert_same_answers, png_image

from scones.backends.local.micro_batcher import (
    BatcherClosed,
    BatchPolicy,
    MicroBatcher,
    QueueFull,
    batch_deadline,
    batch_is_ready,
)
from scones.images import ImageDecodeError

LONG_WINDOW = BatchPolicy(max_batch_size=4, max_wait_seconds=30)


@pytest.mark.parametrize("queued, announced, now, ready", [
    (4, 3, 0.0, True),   # full
    (1, 0, 0.0, True),   # nothing else on its way
    (1, 2, 0.0, False),  # two announced items still coming, window open
    (1, 2, 30.0, True),  # window over
])
def test_a_batch_leaves_when_full_when_nothing_is_coming_or_when_its_window_ends(queued, announced, now, ready):
    assert batch_is_ready(queued, announced, now, batch_deadline(0.0, LONG_WINDOW), LONG_WINDOW) is ready


def test_policy_limits_are_checked():
    with pytest.raises(ValueError, match="max_batch_size <= queue_capacity"):
        BatchPolicy(max_batch_size=64, queue_capacity=32)


@pytest.fixture
def gated(tiny_predictor):
    gate = threading.Event()
    yield GatedPredictor(tiny_predictor, gate)
    gate.set()


def test_items_queued_while_a_batch_runs_leave_together_in_batches_of_at_most_the_maximum(gated):
    batcher = MicroBatcher(gated.predict, LONG_WINDOW)
    first = batcher.submit(png_image(0))
    assert gated.entered.wait(10)  # the worker is busy with the first item
    rest = [batcher.submit(png_image(seed)) for seed in range(1, 10)]
    gated.gate.set()
    results = [future.result(10) for future in [first, *rest]]
    batcher.close()
    assert gated.batch_sizes == [1, 4, 4, 1]
    assert batcher.stats().histogram == {1: 2, 4: 2}
    assert batcher.stats().items == 10 and batcher.stats().mean_batch_size == 2.5
    assert results == [gated.inner.predict([png_image(seed)])[0] for seed in range(10)]


def test_an_open_batch_waits_for_an_announced_item(tiny_predictor):
    batcher = MicroBatcher(tiny_predictor.predict, LONG_WINDOW)
    with batcher.announce() as first, batcher.announce() as second:
        futures = [first.submit(png_image(1)), second.submit(png_image(2))]
    assert [future.result(10) for future in futures] == tiny_predictor.predict([png_image(1), png_image(2)])
    batcher.close()
    assert batcher.stats().histogram == {2: 1}  # the first waited for the second, not for the window


def test_a_lone_item_and_a_withdrawn_announcement_do_not_wait_for_the_window(tiny_predictor):
    batcher = MicroBatcher(tiny_predictor.predict, LONG_WINDOW)
    assert batcher.submit(png_image(1)).result(timeout=10) == tiny_predictor.predict([png_image(1)])[0]
    with batcher.announce() as coming, batcher.announce():
        future = coming.submit(png_image(2))
    assert future.result(timeout=10) == tiny_predictor.predict([png_image(2)])[0]
    batcher.close()


def test_batch_answers_are_identical_to_single_answers(tiny_predictor):
    images = [png_image(seed) for seed in range(40)]  # more than one padded forward pass
    assert_same_answers(tiny_predictor.predict(images), [tiny_predictor.predict([image])[0] for image in images])


def test_a_failing_item_fails_alone_and_the_rest_of_its_batch_succeeds(gated):
    batcher = MicroBatcher(gated.predict, LONG_WINDOW)
    blocker = batcher.submit(png_image(0))
    assert gated.entered.wait(10)
    good_1, bad, good_2 = (batcher.submit(body) for body in (png_image(1), b"not an image", png_image(2)))
    gated.gate.set()
    with pytest.raises(ImageDecodeError):
        bad.result(10)
    assert [good_1.result(10), good_2.result(10)] == gated.inner.predict([png_image(1), png_image(2)])
    assert blocker.result(10)
    batcher.close()
    assert gated.batch_sizes == [1, 3, 1, 1, 1]
    assert batcher.stats().isolated_batches == 1


def test_a_wrong_number_of_results_is_an_error_for_every_item():
    batcher = MicroBatcher(lambda items: [], BatchPolicy())
    with pytest.raises(RuntimeError, match="run_batch returned 0 results for 1 items"):
        batcher.submit("x").result(10)
    batcher.close()


def test_a_full_queue_refuses_after_the_admission_timeout_and_a_closed_batcher_refuses_all(gated):
    batcher = MicroBatcher(gated.predict, BatchPolicy(max_batch_size=1, queue_capacity=1, admission_timeout_seconds=0))
    running = batcher.submit(png_image(0))
    assert gated.entered.wait(10)
    queued = batcher.submit(png_image(1))
    with pytest.raises(QueueFull, match="queue of 1 requests stayed full for 0 s"):
        batcher.submit(png_image(2))
    gated.gate.set()
    batcher.close()  # finishes what was queued
    assert running.result(10) and queued.result(10)
    with pytest.raises(BatcherClosed):
        batcher.submit(png_image(3))
