"""stage(): the same staging code as local, into a real-S3-shaped bucket (the SDK's default when none is given)."""

from __future__ import annotations

import boto3

from .aws_fakes import ACCOUNT, REGION
from scones.synthetic_cifar import synthetic_split, write_cifar_archive


def test_stage_creates_tags_and_fills_the_default_bucket(make_backend, tmp_path):
    archive = write_cifar_archive(tmp_path / "cifar-100-python.tar.gz",
                                  synthetic_split([8, 48, 3], seed=1), synthetic_split([48, 8], seed=2))
    backend = make_backend(bucket=None)
    report = backend.stage(str(archive))

    bucket = f"sagemaker-{REGION}-{ACCOUNT}"
    assert report.bucket == bucket and report.bucket_created
    keys = sorted(stored.uri.split("/", 3)[3] for stored in backend.storage.list(f"s3://{bucket}/"))
    assert keys == ["classes.json", "scones/staging.json", "test.lst", "test/bicycle_s_02000001.png", "test/motorcycle_s_02000000.png",
                    "train.lst", "train/bicycle_s_01000000.png", "train/motorcycle_s_01000001.png"]
    tags = boto3.client("s3", region_name=REGION).get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert tags == [{"Key": "scones:project", "Value": "scones"}]

    again = backend.stage(str(archive))
    assert again.uploaded == [] and not again.bucket_created


def test_the_stage_command_goes_through_the_backend_and_tags_the_new_bucket(mocked_aws, tmp_path, capsys):
    from scones.cli import cli

    archive = write_cifar_archive(tmp_path / "cifar-100-python.tar.gz",
                                  synthetic_split([8, 48], seed=1), synthetic_split([48, 8], seed=2))
    cli.main(["stage", "--backend", "aws", "--bucket", "scones-cli-stage", "--source", str(archive)],
             standalone_mode=False)

    assert capsys.readouterr().out == "7 object(s) uploaded, 0 already there in s3://scones-cli-stage/\n"
    tags = boto3.client("s3", region_name=REGION).get_bucket_tagging(Bucket="scones-cli-stage")["TagSet"]
    assert tags == [{"Key": "scones:project", "Value": "scones"}]
