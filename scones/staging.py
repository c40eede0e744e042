"""Planning a stage: CIFAR-100 rows of the chosen classes → named PNG and ``.lst`` bytes.

Pure: :func:`plan_stage` turns an archive into the objects staging will
write, with their keys from :mod:`scones.bucket_layout`;
:mod:`scones.staged_bucket` moves those bytes to S3 and reads them back.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from scones import bucket_layout as layout
from scones.class_names import DEFAULT_CLASSES
from scones.cifar import CifarArchive, CifarSplit, fine_label_ids, select_rows
from scones.images import encode_png, row_to_array
from scones.lst import LstEntry, format_lst



@dataclass(frozen=True)
class StagedObject:
    key: str
    body: bytes
    content_type: str

    @property
    def md5(self) -> str:
        """The ETag S3 gives a single-part upload of ``body``: how an unchanged object is recognised."""
        return hashlib.md5(self.body).hexdigest()


@dataclass(frozen=True)
class StagePlan:
    classes: tuple[str, ...]
    images: tuple[StagedObject, ...]
    listings: tuple[StagedObject, ...]  # train.lst, test.lst, classes.json: written last
    counts: dict[str, dict[str, int]]  # split -> class name -> images


def unique_names(filenames: Sequence[str], rows: Sequence[int]) -> list[str]:
    """The archive's file names, with the row appended to any name used twice in a split."""
    counts = Counter(filenames[row] for row in rows)
    names = []
    for row in rows:
        name = filenames[row]
        if counts[name] > 1:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}_{row}.{ext}" if dot else f"{name}_{row}"
        names.append(name)
    return names


def plan_split(split: CifarSplit, split_name: str, label_ids: Sequence[int]) -> tuple[list[StagedObject], str]:
    """PNG objects for one split, and its ``.lst`` text (paths relative to the split's prefix)."""
    rows, class_ids = select_rows(split, label_ids)
    names = unique_names(split.filenames, rows)
    images = [
        StagedObject(layout.image_key(split_name, name), encode_png(row_to_array(split.data[row])), "image/png")
        for row, name in zip(rows, names)
    ]
    listing = format_lst(LstEntry(int(row), int(cls), name) for row, cls, name in zip(rows, class_ids, names))
    return images, listing


def plan_stage(archive: CifarArchive, classes: Sequence[str] = DEFAULT_CLASSES) -> StagePlan:
    """Everything staging will write, as bytes: pure, no I/O."""
    label_ids = fine_label_ids(archive.fine_label_names, list(classes))
    images: list[StagedObject] = []
    listings: list[StagedObject] = []
    counts: dict[str, dict[str, int]] = {}
    for split_name in layout.SPLITS:
        split = getattr(archive, split_name)
        split_images, listing = plan_split(split, split_name, label_ids)
        images += split_images
        listings.append(StagedObject(layout.listing_key(split_name), listing.encode(), "text/plain"))
        counts[split_name] = {
            name: int((split.fine_labels == label).sum()) for name, label in zip(classes, label_ids)
        }
    listings.append(StagedObject(layout.CLASSES_KEY, json.dumps(list(classes)).encode(), "application/json"))
    return StagePlan(tuple(classes), tuple(images), tuple(listings), counts)
