"""The staged bucket: writing a stage plan to S3, and reading back what staging left there.

Uploads are skipped when an object with the same content is already there;
the listings are withdrawn before any image is replaced and written last, so
a run that stops midway never leaves a ``.lst`` pointing at missing images or
at images of another staging. Every reader here refuses a bucket that
was not staged with :class:`~scones.errors.NotStaged`, whose message says to
run `scones stage`; every key comes from :mod:`scones.bucket_layout`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable, Sequence

from scones import bucket_layout as layout
from scones.cifar import read_archive
from scones.class_names import DEFAULT_CLASSES, default_class_names
from scones.errors import InputError, NotFound, NotStaged
from scones.execution_inputs import ImageCase, pick_cases
from scones.lst import LstEntry, parse_lst
from scones.staging import StagedObject, StagePlan, plan_stage
from scones.storage import NoSuchObject, Storage

STAGE_FIRST = "run `scones stage` first (or pass the right --bucket)"
STAGING_FORMAT = "scones-staging/1"


class StagedDataError(InputError):
    """Staged data that is malformed; the message says how to stage again."""


@dataclass
class StageReport:
    bucket: str
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    bucket_created: bool = False

    def summary(self) -> str:
        return (f"{len(self.uploaded)} object(s) uploaded, {len(self.unchanged)} already there "
                f"in s3://{self.bucket}/")


def _changed(batch: Sequence[StagedObject], existing: dict[str, str], bucket: str) -> list[StagedObject]:
    """The objects of ``batch`` not already stored with the same content (``existing``: URI -> ETag)."""
    return [obj for obj in batch if existing.get(layout.uri(bucket, obj.key)) != obj.md5]


def staging_record(archive_sha256: str, plan: StagePlan, *, finished: bool) -> bytes:
    """``scones/staging.json``: which archive, which classes, whether it finished, the listings' MD5s."""
    return json.dumps({"format": STAGING_FORMAT, "archive_sha256": archive_sha256,
                       "classes": list(plan.classes), "state": "finished" if finished else "unfinished",
                       "listings": {obj.key: obj.md5 for obj in plan.listings}}, indent=1).encode()


def upload_plan(
    plan: StagePlan,
    storage: Storage,
    bucket: str,
    *,
    archive_sha256: str,
    on_progress: Callable[[int], None] | None = None,
) -> StageReport:
    """Upload what is missing or different; images first, listings last.

    Before any image is replaced, the listings already there are withdrawn, so
    a run that stops midway never leaves a listing naming images of two
    stagings: the bucket reads as not staged until a run completes. The
    staging record says which archive was staged: "unfinished" before the
    first upload, "finished" with the listings' MD5s after the last, so a
    trainer can refuse a half-done staging or a listing changed since.
    """
    report = StageReport(bucket=bucket, bucket_created=storage.ensure_bucket(bucket))
    record_uri = layout.uri(bucket, layout.STAGING_RECORD_KEY)
    storage.put(record_uri, staging_record(archive_sha256, plan, finished=False), content_type="application/json")
    existing = {}
    for prefix in (*(layout.images_prefix(s) for s in layout.SPLITS), *(o.key for o in plan.listings)):
        for stored in storage.list(layout.uri(bucket, prefix)):
            existing[stored.uri] = stored.etag
    if _changed(plan.images, existing, bucket):
        withdrawn = [uri for uri in (layout.uri(bucket, obj.key) for obj in plan.listings) if uri in existing]
        storage.delete(withdrawn)
        for uri in withdrawn:
            del existing[uri]
    for batch in (plan.images, plan.listings):
        pending = {layout.uri(bucket, obj.key): obj for obj in _changed(batch, existing, bucket)}
        report.unchanged += [layout.uri(bucket, obj.key) for obj in batch if layout.uri(bucket, obj.key) not in pending]
        storage.put_many({uri: obj.body for uri, obj in pending.items()},
                         content_types={uri: obj.content_type for uri, obj in pending.items()})
        report.uploaded += list(pending)
        if on_progress:
            on_progress(len(batch))
    storage.put(record_uri, staging_record(archive_sha256, plan, finished=True), content_type="application/json")
    return report


def stage_archive(
    archive_path: str,
    storage: Storage,
    bucket: str,
    classes: Sequence[str] = DEFAULT_CLASSES,
    *,
    on_plan: Callable[[StagePlan], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> StageReport:
    """Read the archive, plan, upload: the whole staging step, for any backend's storage.

    ``on_plan`` sees the plan before anything is uploaded (how many objects,
    how many images per class), for a progress bar.
    """
    plan = plan_stage(read_archive(archive_path), classes)
    if on_plan:
        on_plan(plan)
    with open(archive_path, "rb") as archive:
        digest = hashlib.file_digest(archive, "sha256").hexdigest()
    return upload_plan(plan, storage, bucket, archive_sha256=digest, on_progress=on_progress)


def _read_staged(storage: Storage, bucket: str, key: str) -> bytes:
    uri = layout.uri(bucket, key)
    try:
        return storage.get(uri)
    except NoSuchObject:
        raise NotStaged(f"{uri} does not exist: {STAGE_FIRST}") from None


def check_staged(storage: Storage, bucket: str) -> None:
    """Refuse a bucket without the listings (staging writes them last), before anything is spent on it."""
    missing = [key for _, key in layout.TRAINING_CHANNELS
               if key.endswith(".lst") and not storage.exists(layout.uri(bucket, key))]
    if missing:
        raise NotStaged(f"s3://{bucket}/ has no {' or '.join(missing)}: {STAGE_FIRST}")
    check_staging_record(storage, bucket)


def check_staging_record(storage: Storage, bucket: str) -> None:
    """Refuse a staging its record calls unfinished, or whose listings changed since it finished.

    A bucket without a record was staged by another tool (the course's
    notebook, say): its listings are all there is to go by, and are trusted.
    """
    uri = layout.uri(bucket, layout.STAGING_RECORD_KEY)
    try:
        record = json.loads(storage.get(uri))
    except NoSuchObject:
        return
    except ValueError:
        raise NotStaged(f"{uri} is not a staging record: run `scones stage` again") from None
    archive = f"the archive with SHA-256 {str(record.get('archive_sha256'))[:12]}…"
    if record.get("state") != "finished":
        raise NotStaged(f"the staging of {archive} into s3://{bucket}/ did not finish ({uri} says "
                        f"{record.get('state')!r}): run `scones stage` again")
    listings = record.get("listings") or {}
    stored = {item.uri: item.etag for key in listings for item in storage.list(layout.uri(bucket, key))}
    for key, md5 in sorted(listings.items()):
        if stored.get(layout.uri(bucket, key)) != md5:
            raise NotStaged(f"s3://{bucket}/{key} is not the listing staged from {archive}: it changed or went "
                            "after staging; run `scones stage` again")


def read_class_names(storage: Storage, bucket: str) -> tuple[str, ...] | None:
    """The class names staging recorded in ``classes.json`` (class id order); None when there is none."""
    try:
        raw = _read_staged(storage, bucket, layout.CLASSES_KEY)
    except NotStaged:
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        names = None
    if (not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names)
            or len(set(names)) != len(names)):
        raise StagedDataError(f"{layout.uri(bucket, layout.CLASSES_KEY)} must be a JSON list of distinct class "
                              'names such as ["bicycle", "motorcycle"]; run `scones stage` again')
    return tuple(names)


def class_names_for(storage: Storage, bucket: str, num_classes: int) -> tuple[str, ...]:
    """The staged class names, checked against ``num_classes``; ``class_0``, … when none were staged."""
    names = read_class_names(storage, bucket)
    if names is None:
        return default_class_names(num_classes)
    if len(names) != num_classes:
        raise StagedDataError(f"{layout.uri(bucket, layout.CLASSES_KEY)} names {len(names)} classes but "
                              f"num_classes is {num_classes}: set num_classes to the number of staged classes")
    return names


def read_listing(storage: Storage, bucket: str, split: str) -> list[LstEntry]:
    """The entries of ``train.lst`` or ``test.lst``."""
    key = layout.listing_key(split)
    return parse_lst(_read_staged(storage, bucket, key).decode("utf-8"), source=layout.uri(bucket, key))


def count_training_images(storage: Storage, bucket: str) -> int:
    """How many images ``train.lst`` lists: the algorithm's ``num_training_samples``."""
    return len(read_listing(storage, bucket, layout.TRAIN_SPLIT))


def latest_model_uri(storage: Storage, bucket: str) -> str:
    """The newest ``model.tar.gz`` under ``s3://BUCKET/models/`` (by key: job names carry their start time)."""
    prefix = layout.training_output_uri(bucket)
    models = [stored.uri for stored in storage.list(prefix) if layout.is_model_uri(stored.uri)]
    if not models:
        raise NotFound(f"no model under {prefix}: run `scones train` first, or pass --model-uri")
    return max(models)


def pick_test_cases(storage: Storage, bucket: str, count: int, seed: int | None) -> list[ImageCase]:
    """``count`` random staged test images as execution inputs (with replacement, as the course draws them)."""
    return pick_cases(read_listing(storage, bucket, layout.TEST_SPLIT), bucket, count, seed)


def generate_test_case(storage: Storage, bucket: str, seed: int | None = None) -> dict:
    """The course's helper: the execution input for one random staged test image."""
    return pick_test_cases(storage, bucket, 1, seed)[0].execution_input()


def data_uris(storage: Storage, bucket: str) -> list[str]:
    """Every object Scones wrote to ``bucket`` (under the layout's data prefixes), nothing else; [] without a bucket."""
    if not storage.bucket_exists(bucket):
        return []
    return sorted(stored.uri for prefix in layout.DATA_PREFIXES for stored in storage.list(layout.uri(bucket, prefix)))


def delete_scones_data(storage: Storage, bucket: str, *, dry_run: bool) -> list[str]:
    """Delete (in a dry run, only list) :func:`data_uris`; returns what went or would go."""
    uris = data_uris(storage, bucket)
    if not dry_run:
        storage.delete(uris)
    return uris
