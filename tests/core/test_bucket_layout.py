"""The bucket layout: every key Scones writes, spelled in one module, exactly as AWS and the course spell them."""

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones import bucket_layout as layout
from scones.errors import InputError
from scones.s3_uri import S3Uri

WHEN = datetime(2026, 11, 23, 19, 30, 5, 123456, tzinfo=timezone.utc)


def test_staged_keys():
    assert [layout.image_key(split, "bike_s_000682.png") for split in layout.SPLITS] == [
        "train/bike_s_000682.png", "test/bike_s_000682.png"]
    assert [layout.listing_key(split) for split in layout.SPLITS] == ["train.lst", "test.lst"]
    assert layout.CLASSES_KEY == "classes.json"


def test_training_channels_are_the_courses():
    assert layout.TRAINING_CHANNELS == (("train", "train/"), ("validation", "test/"),
                                        ("train_lst", "train.lst"), ("validation_lst", "test.lst"))


def test_model_and_metadata_uris():
    model = layout.model_uri("bucket", "job-1")
    assert model == "s3://bucket/models/job-1/output/model.tar.gz" and layout.is_model_uri(model)
    assert layout.metadata_uri(model) == "s3://bucket/models/job-1/output/scones-metadata.json"
    assert layout.training_output_uri("bucket") == "s3://bucket/models/"
    assert layout.checkpoints_uri("bucket", "job-1") == "s3://bucket/models/checkpoints/job-1/"
    with pytest.raises(InputError, match="expected a …/model.tar.gz URI"):
        layout.metadata_uri("s3://bucket/models/job-1/output/other.tar.gz")


def test_capture_keys():
    assert layout.capture_destination("b") == "s3://b/data_capture"
    assert layout.endpoint_captures_uri("b", "scones-endpoint") == "s3://b/data_capture/scones-endpoint/"
    prefix = layout.capture_prefix(layout.capture_destination("scones"), "scones-endpoint", "AllTraffic")
    uri = layout.capture_key(prefix, WHEN, "0b8d-uuid")
    assert str(uri) == "s3://scones/data_capture/scones-endpoint/AllTraffic/2026/11/23/19/30-05-123-0b8d-uuid.jsonl"


def test_endpoint_records():
    assert layout.endpoint_record_uri("b", "scones-endpoint") == "s3://b/scones/endpoints/scones-endpoint.json"
    assert layout.endpoint_records_uri("b") == "s3://b/scones/endpoints/"


keys_scones_writes = st.sampled_from([
    layout.image_key("train", "a.png"), layout.image_key("test", "a.png"), layout.listing_key("train"),
    layout.listing_key("test"), layout.CLASSES_KEY, layout.model_uri("b", "j").split("/", 3)[3],
    str(layout.capture_key(layout.capture_prefix(layout.capture_destination("b"), "e", "v"), WHEN, "u")).split("/", 3)[3],
    layout.endpoint_record_uri("b", "e").split("/", 3)[3],
])


@given(keys_scones_writes)
def test_every_key_scones_writes_is_under_a_data_prefix(key):
    """What `cleanup --delete-data` removes covers everything the steps write."""
    assert any(key.startswith(prefix) for prefix in layout.DATA_PREFIXES)


@given(st.text(alphabet="abcdefghij-/", max_size=20))
def test_a_key_outside_the_layout_is_not_a_data_key(suffix):
    assert not any(f"user/{suffix}".startswith(prefix) for prefix in layout.DATA_PREFIXES)


def test_s3_uri_is_refused_with_the_fix():
    with pytest.raises(InputError, match="names no bucket; write s3://BUCKET/key"):
        S3Uri.parse("s3:///key")
