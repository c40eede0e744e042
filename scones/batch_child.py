"""The child of ``scones batch``'s Distributed Map: one batch of listed images read, classified, judged.

Pure and light (it ships in the classifyBatch Lambda's zip): the reading and
the classifying are functions each backend supplies. The local backend hands
a batch to the endpoint's container in one forward pass; AWS's Lambda calls
the endpoint once per image, since the built-in algorithm's endpoint takes one
image per request. An object that cannot be read or is not an image fails
alone: it is listed in ``failures``, and the batch goes on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

from scones.class_names import class_name
from scones.inferences import check_threshold, parse_inferences, top_class

# read(bucket, keys) -> each object's bytes, or the exception that reading it raised
Reader = Callable[[str, Sequence[str]], list]
# classify(bodies) -> each body's class probabilities, or the exception classifying it raised
Classifier = Callable[[Sequence[bytes]], list]


class ModelError(Exception):
    """The endpoint refused one image: InvokeEndpoint's ModelError (its message says why)."""


@dataclass(frozen=True)
class ImageRecord:
    key: str
    class_name: str
    confidence: float
    passed: bool  # the top confidence meets the threshold


@dataclass(frozen=True)
class ItemFailure:
    key: str
    error: str
    cause: str


def failure_of(key: str, error: Exception) -> dict:
    """A failed image as the child reports it: its key, the error's name (an AWS error's code) and message."""
    code = getattr(error, "response", {}).get("Error", {}).get("Code")  # botocore's ClientError names it
    name = code or type(error).__name__
    return asdict(ItemFailure(key, name, str(error) or name))


def classify_batch(event: dict, *, read: Reader, classify: Classifier) -> dict:
    """One child's work: read the batch's objects, classify those that read, judge each against the threshold.

    ``event`` is the ItemBatcher's ``{"BatchInput": {bucket, threshold, class_names}, "Items": [listed objects]}``.
    """
    shared, items = event["BatchInput"], event["Items"]
    keys = [item["Key"] for item in items]
    threshold, names = check_threshold(shared["threshold"]), shared.get("class_names")
    bodies = read(shared["bucket"], keys)
    failures = [failure_of(key, body) for key, body in zip(keys, bodies) if isinstance(body, Exception)]
    readable = [(key, body) for key, body in zip(keys, bodies) if not isinstance(body, Exception)]
    answers = classify([body for _, body in readable]) if readable else []
    records = []
    for (key, _), answer in zip(readable, answers):
        if isinstance(answer, Exception):
            failures.append(failure_of(key, answer))
            continue
        best, confidence = top_class(parse_inferences(answer))
        records.append(asdict(ImageRecord(key, class_name(names, best), confidence, confidence >= threshold)))
    return {"records": records, "failures": failures}


class ConcurrentReads:
    """A :data:`Reader` that calls ``get(bucket, key)`` for ``concurrency`` objects at once, on threads it keeps.

    The threads outlive each batch, so whatever a ``get`` keeps per thread (a
    kept-alive connection) serves every batch of a run: a pool made per batch
    paid for new threads and new connections for every batch. Use it as
    a context manager, or :meth:`close` it, to let the threads go.
    """

    def __init__(self, get: Callable[[str, str], bytes], concurrency: int):
        self._get = get
        self._pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="batch-read")

    def __call__(self, bucket: str, keys: Sequence[str]) -> list:
        def one(key: str):
            try:
                return self._get(bucket, key)
            except Exception as error:  # a missing or unreadable object fails its image, not the batch
                return error

        return list(self._pool.map(one, keys))

    def close(self) -> None:
        self._pool.shutdown()

    def __enter__(self) -> "ConcurrentReads":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
