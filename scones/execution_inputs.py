"""Inputs for the state machine: random staged test images, as the course's ``generate_test_case``.

Each case knows its true class (from ``test.lst``), so an execution table can
show whether the workflow got it right. Pure: the entries come from
:func:`scones.staged_bucket.read_listing`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from scones import bucket_layout as layout
from scones.errors import InputError
from scones.lst import LstEntry


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
        raise InputError(f"{layout.uri(bucket, layout.listing_key(layout.TEST_SPLIT))} lists no images; "
                         "run `scones stage` first")
    if count < 1:
        raise InputError(f"--count must be at least 1, got {count}")
    rng = random.Random(seed)
    return [ImageCase(bucket, layout.image_key(layout.TEST_SPLIT, entry.path), entry.label)
            for entry in (rng.choice(entries) for _ in range(count))]
