"""Inputs for the state machine: random staged test images, as the course's ``generate_test_case``.

Each case knows its true class (from ``test.lst``), so an execution table can
show whether the workflow got it right.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from scones.lst import LstEntry, parse_lst
from scones.storage import NoSuchObject, Storage

TEST_PREFIX = "test"


@dataclass(frozen=True)
class ImageCase:
    s3_bucket: str
    s3_key: str
    true_class: int

    def execution_input(self) -> dict:
        """The course's event: ``image_data`` empty, the image named by bucket and key."""
        return {"image_data": "", "s3_bucket": self.s3_bucket, "s3_key": self.s3_key}


def pick_cases(entries: Sequence[LstEntry], bucket: str, count: int, seed: int | None) -> list[ImageCase]:
    """``count`` cases drawn with replacement (the course draws each with ``random.choice``)."""
    if not entries:
        raise ValueError(f"s3://{bucket}/{TEST_PREFIX}.lst lists no images; run `scones stage` first")
    if count < 1:
        raise ValueError(f"--count must be at least 1, got {count}")
    rng = random.Random(seed)
    return [ImageCase(bucket, f"{TEST_PREFIX}/{entry.path}", entry.label)
            for entry in (rng.choice(entries) for _ in range(count))]


def load_test_entries(storage: Storage, bucket: str) -> list[LstEntry]:
    uri = f"s3://{bucket}/{TEST_PREFIX}.lst"
    try:
        text = storage.get(uri).decode("utf-8")
    except NoSuchObject:
        raise NoSuchObject(f"{uri} does not exist: run `scones stage` first (or pass the right --bucket)") from None
    return parse_lst(text, source=uri)


def generate_test_case(storage: Storage, bucket: str, seed: int | None = None) -> dict:
    """The course's helper: the execution input for one random staged test image."""
    return pick_cases(load_test_entries(storage, bucket), bucket, 1, seed)[0].execution_input()
