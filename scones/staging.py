"""Staging: CIFAR-100 rows of the chosen classes → PNGs and ``.lst`` files in S3.

Planning is pure (:func:`plan_stage` turns an archive into named bytes);
:func:`upload_plan` moves those bytes. Uploads are skipped when an object with
the same content is already there, and the listings are written last, so a run
that stops midway never leaves a ``.lst`` pointing at missing images.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from scones.cifar import CifarArchive, CifarSplit, fine_label_ids, read_archive, select_rows
from scones.images import encode_png, row_to_array
from scones.lst import LstEntry, format_lst, parse_lst
from scones.model_artifact import default_class_names
from scones.storage import NoSuchObject, Storage, content_md5

DEFAULT_CLASSES = ("bicycle", "motorcycle")
# The course's channel names: the CIFAR test split is the validation channel.
SPLITS = ("train", "test")
CLASSES_KEY = "classes.json"


@dataclass(frozen=True)
class StagedObject:
    key: str
    body: bytes
    content_type: str

    @property
    def md5(self) -> str:
        return content_md5(self.body)


@dataclass(frozen=True)
class StagePlan:
    classes: tuple[str, ...]
    images: tuple[StagedObject, ...]
    listings: tuple[StagedObject, ...]  # train.lst, test.lst, classes.json: written last
    counts: dict[str, dict[str, int]]  # split -> class name -> images


@dataclass
class StageReport:
    bucket: str
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    bucket_created: bool = False

    def summary(self) -> str:
        return (f"{len(self.uploaded)} object(s) uploaded, {len(self.unchanged)} already there "
                f"in s3://{self.bucket}/")


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
        StagedObject(f"{split_name}/{name}", encode_png(row_to_array(split.data[row])), "image/png")
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
    for split_name in SPLITS:
        split = getattr(archive, split_name)
        split_images, listing = plan_split(split, split_name, label_ids)
        images += split_images
        listings.append(StagedObject(f"{split_name}.lst", listing.encode(), "text/plain"))
        counts[split_name] = {
            name: int((split.fine_labels == label).sum()) for name, label in zip(classes, label_ids)
        }
    listings.append(StagedObject(CLASSES_KEY, json.dumps(list(classes)).encode(), "application/json"))
    return StagePlan(tuple(classes), tuple(images), tuple(listings), counts)


def upload_plan(
    plan: StagePlan,
    storage: Storage,
    bucket: str,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> StageReport:
    """Upload what is missing or different; images first, listings last."""
    report = StageReport(bucket=bucket, bucket_created=storage.ensure_bucket(bucket))
    existing = {}
    for prefix in (*(f"{s}/" for s in SPLITS), *(o.key for o in plan.listings)):
        for stored in storage.list(f"s3://{bucket}/{prefix}"):
            existing[stored.uri] = stored.etag
    for batch in (plan.images, plan.listings):
        pending = {}
        for obj in batch:
            uri = f"s3://{bucket}/{obj.key}"
            if existing.get(uri) == obj.md5:
                report.unchanged.append(uri)
            else:
                pending[uri] = obj
        storage.put_many({uri: obj.body for uri, obj in pending.items()},
                         content_types={uri: obj.content_type for uri, obj in pending.items()})
        report.uploaded += list(pending)
        if on_progress:
            on_progress(len(batch))
    return report


def stage_archive(
    archive_path: str,
    storage: Storage,
    bucket: str,
    classes: Sequence[str] = DEFAULT_CLASSES,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> StageReport:
    """Read the archive, plan, upload: the whole staging step, for any backend's storage."""
    return upload_plan(plan_stage(read_archive(archive_path), classes), storage, bucket,
                       on_progress=on_progress)


# ------------------------------------------------------------ what was staged


class StagedDataError(ValueError):
    """Staged data that is missing or malformed; the message says how to stage again."""


def read_class_names(storage: Storage, bucket: str) -> tuple[str, ...] | None:
    """The class names staging recorded in ``classes.json`` (class id order); None when there is none."""
    uri = f"s3://{bucket}/{CLASSES_KEY}"
    try:
        raw = storage.get(uri)
    except NoSuchObject:
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        names = None
    if (not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names)
            or len(set(names)) != len(names)):
        raise StagedDataError(f"{uri} must be a JSON list of distinct class names such as "
                              f'["bicycle", "motorcycle"]; run `scones stage` again')
    return tuple(names)


def class_names_for(storage: Storage, bucket: str, num_classes: int) -> tuple[str, ...]:
    """The staged class names, checked against ``num_classes``; ``class_0``, … when none were staged."""
    names = read_class_names(storage, bucket)
    if names is None:
        return default_class_names(num_classes)
    if len(names) != num_classes:
        raise StagedDataError(f"s3://{bucket}/{CLASSES_KEY} names {len(names)} classes but num_classes is "
                              f"{num_classes}: set num_classes to the number of staged classes")
    return names


def count_training_images(storage: Storage, bucket: str) -> int:
    """How many images ``train.lst`` lists: the algorithm's ``num_training_samples``."""
    uri = f"s3://{bucket}/train.lst"
    try:
        return len(parse_lst(storage.get(uri).decode("utf-8"), source=uri))
    except NoSuchObject:
        raise StagedDataError(f"{uri} does not exist: run `scones stage` first (or pass the right --bucket)") from None
