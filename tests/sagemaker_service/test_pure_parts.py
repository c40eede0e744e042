"""The local SageMaker's pure rules: artifact location, list filters, channels from a request."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from scones.backends.local.sagemaker_service import matches, model_artifact_uri
from scones.backends.local.training import Channels, TrainingDataError
from scones.backends.aws.training import input_channels

names = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@given(bucket=st.from_regex(r"[a-z0-9]{3,20}", fullmatch=True), prefix=names, job=names, slash=st.booleans())
def test_the_artifact_is_output_path_job_output_model_tar_gz(bucket, prefix, job, slash):
    output = f"s3://{bucket}/{prefix}{'/' if slash else ''}"
    assert model_artifact_uri(output, job) == f"s3://{bucket}/{prefix}/{job}/output/model.tar.gz"


def test_an_output_path_at_the_bucket_root():
    assert model_artifact_uri("s3://bkt", "j") == "s3://bkt/j/output/model.tar.gz"


@given(name=names, part=names)
def test_name_contains_is_case_insensitive(name, part):
    assert matches({"NameContains": part.upper()}, name) == (part in name)


def test_status_equals_filters_on_the_status():
    assert matches({"StatusEquals": "InService"}, "e", "InService")
    assert not matches({"StatusEquals": "InService"}, "e", "Creating")
    assert matches({}, "e", "Creating")


def test_the_aws_backends_channels_are_the_staged_channels():
    assert Channels.from_input_data_config(input_channels("bkt")) == Channels.staged("bkt")
    assert Channels.staged("bkt") == Channels("s3://bkt/train/", "s3://bkt/test/", "s3://bkt/train.lst",
                                              "s3://bkt/test.lst")


def test_a_request_without_a_listing_channel_names_what_is_missing():
    with pytest.raises(TrainingDataError, match="no S3 channel validation_lst"):
        Channels.from_input_data_config(input_channels("bkt")[:3])
