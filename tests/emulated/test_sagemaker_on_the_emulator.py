"""The local SageMaker with MiniStack's S3 and CloudWatch Logs: channels read there, model and logs written there."""

from __future__ import annotations

import threading

import pytest

from scones.backends.aws.training import TrainingSettings, training_job_request
from scones.backends.aws.training_logs import TRAINING_LOG_GROUP
from scones.backends.aws.waiters import Poller
from scones.clients import make_client
from scones.storage import Storage
from scones.training_log import collect_epochs

from tests.training.synthetic_data import stage_synthetic, tiny_hyperparameters

pytestmark = pytest.mark.localstack
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"


def test_a_training_job_reads_and_writes_the_emulators_s3_and_logs_to_its_cloudwatch(aws_emulator_url,
                                                                                      sagemaker_control_plane_url):
    storage = Storage(make_client("s3", endpoint_url=aws_emulator_url))
    bucket = "scones-emulated-training"
    storage.ensure_bucket(bucket)
    stage_synthetic(storage, bucket)
    sagemaker = make_client("sagemaker", endpoint_url=sagemaker_control_plane_url)
    sagemaker.create_training_job(**training_job_request(
        job_name="emulated-job", bucket=bucket, image_uri=IMAGE, role_arn="arn:aws:iam::000000000000:role/r",
        hyperparameters=tiny_hyperparameters(epochs=2).to_sagemaker(), settings=TrainingSettings(), tags=[]))
    description = Poller(sleep=lambda _: threading.Event().wait(0.1)).until(
        lambda: sagemaker.describe_training_job(TrainingJobName="emulated-job"),
        lambda d: d["TrainingJobStatus"] != "InProgress", what="job", interval=0.1, timeout=120)
    assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
    assert storage.exists(description["ModelArtifacts"]["S3ModelArtifacts"])

    logs = make_client("logs", endpoint_url=aws_emulator_url)
    streams = logs.describe_log_streams(logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix="emulated-job/")
    [stream] = streams["logStreams"]
    assert stream["logStreamName"].startswith("emulated-job/algo-1-")
    events = logs.get_log_events(logGroupName=TRAINING_LOG_GROUP, logStreamName=stream["logStreamName"],
                                 startFromHead=True)["events"]
    assert [epoch.epoch for epoch in collect_epochs([event["message"] for event in events])] == [0, 1]
