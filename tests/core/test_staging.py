"""Staging end to end against a real S3 over HTTP."""

import hashlib
import json

import numpy as np
import pytest

from scones.cifar import read_archive
from scones.images import decode_image, encode_png, row_to_array
from scones.lst import LstEntry, parse_lst
from scones.staged_bucket import stage_archive, staging_record, upload_plan
from scones.staging import plan_stage, unique_names
from scones.storage import StorageError
from scones.synthetic_cifar import synthetic_split, write_cifar_archive

TRAIN_LABELS = [8, 48, 3, 8, 48, 99, 8]
TEST_LABELS = [48, 8, 0]


@pytest.fixture
def archive(tmp_path):
    train = synthetic_split(TRAIN_LABELS, seed=1)
    test = synthetic_split(TEST_LABELS, seed=2)
    return write_cifar_archive(tmp_path / "cifar-100-python.tar.gz", train, test), train, test


def test_plan_is_the_course_layout(archive):
    path, train, test = archive
    plan = plan_stage(read_archive(path))
    keys = [obj.key for obj in plan.images]
    assert keys == [f"train/{train.filenames[r]}" for r in (0, 1, 3, 4, 6)] + \
                   [f"test/{test.filenames[r]}" for r in (0, 1)]
    listings = {obj.key: obj.body.decode() for obj in plan.listings}
    assert parse_lst(listings["train.lst"]) == [
        LstEntry(0, 0, train.filenames[0]), LstEntry(1, 1, train.filenames[1]),
        LstEntry(3, 0, train.filenames[3]), LstEntry(4, 1, train.filenames[4]),
        LstEntry(6, 0, train.filenames[6]),
    ]
    assert listings["test.lst"] == f"0\t1\t{test.filenames[0]}\n1\t0\t{test.filenames[1]}\n"
    assert json.loads(listings["classes.json"]) == ["bicycle", "motorcycle"]
    assert plan.counts == {"train": {"bicycle": 3, "motorcycle": 2}, "test": {"bicycle": 1, "motorcycle": 1}}


def test_class_order_sets_class_ids(archive):
    plan = plan_stage(read_archive(archive[0]), ["motorcycle", "bicycle"])
    listing = {obj.key: obj.body.decode() for obj in plan.listings}["test.lst"]
    assert [entry.label for entry in parse_lst(listing)] == [0, 1]


def test_stage_uploads_exact_bytes(archive, storage, bucket):
    path, train, _ = archive
    report = stage_archive(str(path), storage, bucket)
    assert len(report.uploaded) == 7 + 3 and report.unchanged == []
    png = storage.get(f"s3://{bucket}/train/{train.filenames[1]}")
    assert png == encode_png(row_to_array(train.data[1]))
    assert np.array_equal(decode_image(png), row_to_array(train.data[1]))
    stored = {o.uri.split("/", 3)[3] for o in storage.list(f"s3://{bucket}/")}
    assert stored == {f"train/{train.filenames[r]}" for r in (0, 1, 3, 4, 6)} | \
        {f"test/{n}" for n in synthetic_split(TEST_LABELS, seed=2).filenames[:2]} | \
        {"train.lst", "test.lst", "classes.json", "scones/staging.json"}


def test_second_run_uploads_nothing(archive, storage, bucket):
    stage_archive(str(archive[0]), storage, bucket)
    again = stage_archive(str(archive[0]), storage, bucket)
    assert again.uploaded == []
    assert len(again.unchanged) == 10


def test_changed_image_is_uploaded_again(archive, storage, bucket):
    path, train, _ = archive
    stage_archive(str(path), storage, bucket)
    storage.put(f"s3://{bucket}/train/{train.filenames[0]}", b"stale")
    again = stage_archive(str(path), storage, bucket)
    # The listings are withdrawn before an image is replaced, then written again.
    assert again.uploaded == [f"s3://{bucket}/train/{train.filenames[0]}",
                              *(f"s3://{bucket}/{key}" for key in ("train.lst", "test.lst", "classes.json"))]


class FailingAfter:
    """A storage whose uploads fail after ``allowed`` puts, like a dropped connection."""

    def __init__(self, inner, allowed):
        self.inner, self.allowed = inner, allowed

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def put_many(self, objects, *, content_types=None):
        items = list(objects.items())
        keep = dict(items[: self.allowed])
        self.inner.put_many(keep, content_types=content_types)
        self.allowed -= len(keep)
        if len(keep) < len(items):
            raise StorageError("connection dropped")


DIGEST = "ab" * 32


def test_failed_run_leaves_no_listing(archive, storage, bucket):
    plan = plan_stage(read_archive(archive[0]))
    with pytest.raises(StorageError):
        upload_plan(plan, FailingAfter(storage, allowed=3), bucket, archive_sha256=DIGEST)
    keys = {o.uri.rsplit("/", 1)[-1] for o in storage.list(f"s3://{bucket}/")}
    assert not keys & {"train.lst", "test.lst", "classes.json"}
    # Re-running finishes the job, skipping what already arrived.
    report = upload_plan(plan, storage, bucket, archive_sha256=DIGEST)
    assert len(report.unchanged) == 3 and len(report.uploaded) == 7


def test_restaging_another_archive_stopped_midway_leaves_no_mixed_listing(archive, storage, bucket, tmp_path):
    from scones.errors import NotStaged
    from scones.staged_bucket import check_staged, read_listing
    from scones.synthetic_cifar import SyntheticSplit

    path, train, test = archive
    stage_archive(str(path), storage, bucket)
    repainted = [SyntheticSplit(255 - split.data, split.fine_labels, split.filenames) for split in (train, test)]
    other = plan_stage(read_archive(write_cifar_archive(tmp_path / "other.tar.gz", *repainted)))
    with pytest.raises(StorageError):
        upload_plan(other, FailingAfter(storage, allowed=2), bucket, archive_sha256=DIGEST)  # 2 of 7 images replaced, then killed
    with pytest.raises(NotStaged, match=r"has no train\.lst or test\.lst: run `scones stage` first"):
        check_staged(storage, bucket)
    upload_plan(other, storage, bucket, archive_sha256=DIGEST)
    check_staged(storage, bucket)
    for split in ("train", "test"):
        for entry in read_listing(storage, bucket, split):
            assert storage.get(f"s3://{bucket}/{split}/{entry.path}") == \
                next(obj.body for obj in other.images if obj.key == f"{split}/{entry.path}")


def test_bucket_created_when_missing(archive, storage):
    name = f"scones-new-{hashlib.md5(str(archive[0]).encode()).hexdigest()[:8]}"
    report = stage_archive(str(archive[0]), storage, name)
    assert report.bucket_created
    assert storage.exists(f"s3://{name}/train.lst")


def test_duplicate_names_get_their_row():
    assert unique_names(["a.png", "b.png", "a.png"], [0, 1, 2]) == ["a_0.png", "b.png", "a_2.png"]


def test_what_was_staged_is_read_back(archive, storage, bucket):
    from scones.staged_bucket import class_names_for, count_training_images, read_class_names

    assert read_class_names(storage, bucket) is None
    assert class_names_for(storage, bucket, 3) == ("class_0", "class_1", "class_2")
    stage_archive(str(archive[0]), storage, bucket)
    assert read_class_names(storage, bucket) == ("bicycle", "motorcycle")
    assert class_names_for(storage, bucket, 2) == ("bicycle", "motorcycle")
    assert count_training_images(storage, bucket) == 5


@pytest.mark.parametrize("body", [b'{"0": "bicycle"}', b'["a", "a"]', b"[]", b"not json", b'["a", 3]'])
def test_malformed_classes_json(storage, bucket, body):
    from scones.staged_bucket import StagedDataError, read_class_names

    storage.put(f"s3://{bucket}/classes.json", body)
    with pytest.raises(StagedDataError, match=r"classes\.json must be a JSON list of distinct class names"):
        read_class_names(storage, bucket)


def test_class_count_must_match(archive, storage, bucket):
    from scones.errors import NotStaged
    from scones.staged_bucket import StagedDataError, class_names_for, count_training_images

    with pytest.raises(NotStaged, match=r"train\.lst does not exist: run `scones stage` first"):
        count_training_images(storage, bucket)
    stage_archive(str(archive[0]), storage, bucket)
    with pytest.raises(StagedDataError, match="names 2 classes but num_classes is 3"):
        class_names_for(storage, bucket, 3)


def staging_json(storage, bucket) -> dict:
    return json.loads(storage.get(f"s3://{bucket}/scones/staging.json"))


def test_the_staging_record_names_the_archive_and_the_listings(archive, storage, bucket):
    path = archive[0]
    stage_archive(str(path), storage, bucket)
    record = staging_json(storage, bucket)
    listings = {o.uri.split("/", 3)[3]: o.etag for o in storage.list(f"s3://{bucket}/")
                if o.uri.endswith((".lst", "classes.json"))}
    assert record == {"format": "scones-staging/1", "archive_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                      "classes": ["bicycle", "motorcycle"], "state": "finished", "listings": listings}


def test_a_killed_staging_is_refused_by_both_trainers_naming_the_archive(archive, storage, bucket):
    from scones.errors import NotStaged
    from scones.staged_bucket import check_staged, check_staging_record

    stage_archive(str(archive[0]), storage, bucket)
    plan = plan_stage(read_archive(archive[0]))
    storage.put(f"s3://{bucket}/scones/staging.json", staging_record(DIGEST, plan, finished=False))  # killed here
    message = (rf"^the staging of the archive with SHA-256 {DIGEST[:12]}… into s3://{bucket}/ did not finish "
               r"\(.* says 'unfinished'\): run `scones stage` again$")
    with pytest.raises(NotStaged, match=message):
        check_staged(storage, bucket)  # the aws backend's check
    with pytest.raises(NotStaged, match=message):
        check_staging_record(storage, bucket)  # the local trainer's


def test_a_listing_changed_after_staging_is_refused(archive, storage, bucket):
    from scones.errors import NotStaged
    from scones.staged_bucket import check_staged

    stage_archive(str(archive[0]), storage, bucket)
    listing = storage.get(f"s3://{bucket}/train.lst")
    storage.put(f"s3://{bucket}/train.lst", listing.splitlines(keepends=True)[0])
    with pytest.raises(NotStaged, match=rf"^s3://{bucket}/train.lst is not the listing staged from the archive with "
                                        r"SHA-256 [0-9a-f]{12}…: it changed or went after staging"):
        check_staged(storage, bucket)


def test_a_bucket_staged_by_another_tool_has_no_record_and_is_trusted(archive, storage, bucket):
    from scones.staged_bucket import check_staged

    stage_archive(str(archive[0]), storage, bucket)
    storage.delete([f"s3://{bucket}/scones/staging.json"])
    check_staged(storage, bucket)
