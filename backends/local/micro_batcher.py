"""Micro-batching: items submitted by many threads, served by one call per batch.

A CNN's forward pass on 32 images costs about half as much per image as 32
passes on one (ResNet-20 on a laptop CPU: 0.8 against 1.5 ms), so the endpoint
holds each request for at most a few milliseconds and lets the requests that
arrive together share one call of ``run_batch``.

The policy, in pure functions below so it can be read and tested on its own:

- a batch leaves when it holds ``max_batch_size`` items (16: see
  :class:`BatchPolicy`); or when no
  *announced* item is still on its way (a caller announces an item before
  preparing it — the endpoint announces each request before decoding it — so
  a batch waits for requests the server is already reading, never for ones
  that may not come: a lone request waits for nothing); or, at the latest,
  when its oldest item has waited ``max_wait_seconds`` since it was queued;
- the queue holds at most ``queue_capacity`` items. A submitter finding it
  full waits up to ``admission_timeout_seconds`` for room — a model server
  queues requests briefly too — and then gets :class:`QueueFull`, which the
  endpoint answers as a model server with a full job queue does (503 from the
  container, which SageMaker hands back as ``ModelError``);
- a batch whose call fails is run again one item at a time, so a failure
  belongs to the request that caused it and the other requests still succeed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Generic, Mapping, Sequence, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class BatchPolicy:
    """How long an item may wait for company, how many share a call, how many may queue.

    ``max_batch_size`` is 16, not the 32 a forward pass would like best: the
    model's pass releases the interpreter lock, and while one batch is in the
    network the server reads, decodes, answers and captures the requests of
    the next. With 32 clients and batches of 32, every client waits in the
    same batch, so the server's per-request work and the network's pass take
    turns instead of overlapping. Measured with ``benchmarks/bench_endpoint.py``
    (ApacheBench, 32 keep-alive clients, capture on, as a fraction of the bare
    predictor at batch 32): 0.59–0.60 at 32, 0.65 at 24, 0.85–0.87 at 16,
    0.82 at 8; at 64 clients 0.82 at both 32 and 16.
    """

    max_batch_size: int = 16
    max_wait_seconds: float = 0.005
    queue_capacity: int = 256
    admission_timeout_seconds: float = 1.0

    def __post_init__(self):
        if self.max_batch_size < 1 or self.queue_capacity < self.max_batch_size:
            raise ValueError(f"need 1 <= max_batch_size <= queue_capacity, got max_batch_size="
                             f"{self.max_batch_size}, queue_capacity={self.queue_capacity}")
        if self.max_wait_seconds < 0 or self.admission_timeout_seconds < 0:
            raise ValueError("max_wait_seconds and admission_timeout_seconds must not be negative")


def batch_deadline(first_queued_at: float, policy: BatchPolicy) -> float:
    """When a batch must leave: its oldest item's queueing time plus the window."""
    return first_queued_at + policy.max_wait_seconds


def batch_is_ready(queued: int, announced: int, now: float, deadline: float, policy: BatchPolicy) -> bool:
    """A batch leaves when it is full, when nothing announced is still coming, or when its window is over."""
    return queued >= policy.max_batch_size or announced == 0 or now >= deadline


class QueueFull(RuntimeError):
    """The queue stayed full for the whole admission timeout."""


class BatcherClosed(RuntimeError):
    """The batcher is shutting down and takes no new items."""


@dataclass(frozen=True)
class BatchStats:
    """What the batcher has done: how many calls, how many items, how big the batches were."""

    batches: int
    items: int
    histogram: Mapping[int, int]  # batch size -> number of batches of that size
    isolated_batches: int  # failed batches that were re-run one item at a time

    @property
    def mean_batch_size(self) -> float:
        return self.items / self.batches if self.batches else 0.0


@dataclass
class _Queued(Generic[Item, Result]):
    item: Item
    future: "Future[Result]"
    queued_at: float


class MicroBatcher(Generic[Item, Result]):
    """Collects submitted items into batches and runs ``run_batch`` on one worker thread.

    ``run_batch`` takes a list of items and returns one result per item, in
    order. :meth:`submit` returns a :class:`~concurrent.futures.Future` per item.
    """

    def __init__(self, run_batch: Callable[[list[Item]], Sequence[Result]],
                 policy: BatchPolicy = BatchPolicy(), *, name: str = "micro-batcher"):
        self.policy = policy
        self._run_batch = run_batch
        self._queue: deque[_Queued[Item, Result]] = deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._closed = False
        self._announced = 0  # items announced and not yet submitted or withdrawn
        self._histogram: Counter[int] = Counter()
        self._isolated = 0
        self._worker = threading.Thread(target=self._serve, name=name, daemon=True)
        self._worker.start()

    def announce(self) -> "Arrival[Item, Result]":
        """Say an item is being prepared: open batches wait for it (within their window).

        Use as ``with batcher.announce() as arrival: ...; future = arrival.submit(item)``;
        leaving the block without submitting withdraws the announcement.
        """
        with self._lock:
            self._announced += 1
        return Arrival(self)

    def submit(self, item: Item) -> "Future[Result]":
        """Queue ``item``; raises :class:`QueueFull` or :class:`BatcherClosed` instead of queueing."""
        return self._enqueue(item, announced=False)

    def stats(self) -> BatchStats:
        with self._lock:
            histogram = dict(self._histogram)
            isolated = self._isolated
        return BatchStats(batches=sum(histogram.values()),
                          items=sum(size * count for size, count in histogram.items()),
                          histogram=histogram, isolated_batches=isolated)

    def close(self) -> None:
        """Take no new items, finish the queued ones, stop the worker."""
        with self._lock:
            self._closed = True
            self._not_empty.notify_all()
            self._not_full.notify_all()
        self._worker.join()

    # ------------------------------------------------------------- internal

    def _enqueue(self, item: Item, *, announced: bool) -> "Future[Result]":
        policy = self.policy
        with self._lock:
            if announced:
                self._withdraw_locked()
            if not self._closed and len(self._queue) >= policy.queue_capacity:
                self._not_full.wait_for(lambda: self._closed or len(self._queue) < policy.queue_capacity,
                                        timeout=policy.admission_timeout_seconds)
            if self._closed:
                raise BatcherClosed("the endpoint is shutting down")
            if len(self._queue) >= policy.queue_capacity:
                raise QueueFull(f"the model's queue of {policy.queue_capacity} requests stayed full for "
                                f"{policy.admission_timeout_seconds:g} s; retry with backoff or send fewer "
                                "requests at once")
            future: Future[Result] = Future()
            self._queue.append(_Queued(item, future, time.monotonic()))
            self._not_empty.notify()
            return future

    def _withdraw(self) -> None:
        with self._lock:
            self._withdraw_locked()

    def _withdraw_locked(self) -> None:
        self._announced -= 1
        if self._announced == 0:
            self._not_empty.notify()  # a waiting batch need not wait any longer

    # ------------------------------------------------------------------ worker

    def _serve(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._dispatch(batch)

    def _next_batch(self) -> list[_Queued[Item, Result]] | None:
        """Wait for a batch to be ready (or for close) and take it off the queue."""
        with self._lock:
            while not self._queue:
                if self._closed:
                    return None
                self._not_empty.wait()
            deadline = batch_deadline(self._queue[0].queued_at, self.policy)
            while not self._closed:
                now = time.monotonic()
                if batch_is_ready(len(self._queue), self._announced, now, deadline, self.policy):
                    break
                self._not_empty.wait(deadline - now)
            size = min(len(self._queue), self.policy.max_batch_size)
            batch = [self._queue.popleft() for _ in range(size)]
            self._histogram[size] += 1
            self._not_full.notify(size)
            return batch

    def _dispatch(self, batch: list[_Queued[Item, Result]]) -> None:
        try:
            results = self._run_batch([queued.item for queued in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"run_batch returned {len(results)} results for {len(batch)} items")
        except Exception as error:  # the batch function's failure goes to its callers, never kills the worker
            if len(batch) == 1:
                batch[0].future.set_exception(error)
                return
            log.info("a batch of %d failed (%s); running its items one by one", len(batch), error)
            with self._lock:
                self._isolated += 1
            for queued in batch:
                self._dispatch([queued])
            return
        for queued, result in zip(batch, results, strict=True):
            queued.future.set_result(result)


class Arrival(Generic[Item, Result]):
    """An announced item on its way to the batcher (see :meth:`MicroBatcher.announce`)."""

    def __init__(self, batcher: MicroBatcher[Item, Result]):
        self._batcher = batcher
        self._pending = True

    def submit(self, item: Item) -> "Future[Result]":
        """Queue the announced item (at most once)."""
        if not self._pending:
            raise RuntimeError("this arrival was already submitted or withdrawn")
        self._pending = False
        return self._batcher._enqueue(item, announced=True)

    def __enter__(self) -> "Arrival[Item, Result]":
        return self

    def __exit__(self, *exc) -> None:
        if self._pending:
            self._pending = False
            self._batcher._withdraw()
