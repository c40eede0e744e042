"""train(): the exact CreateTrainingJob request, and following the job through its status and logs.

moto cannot run the built-in algorithm (it marks a job Completed at once), so
the tests set the job back to InProgress when it is created and let each fake
sleep advance it, writing the algorithm's log lines into moto's CloudWatch Logs.
"""

from __future__ import annotations

import math
import time

import boto3
import pytest

from scones.errors import NotStaged

from scones.training_log import EpochMetrics

from scones.backends.aws import AwsBackend
from scones.backends.aws.errors import SconesAwsError
from scones.backends.aws.training import TrainingSettings, training_job_request
from scones.hyperparameters import HyperparameterError, Hyperparameters

from .aws_fakes import ACCOUNT, BUCKET, REGION, sagemaker_backend

JOB = "scones-test-job"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
STREAM = f"{JOB}/algo-1-1700000000"
US_EAST_1_IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"

# What the algorithm logs, tick by tick (mx.mod.fit's format behind the container's prefix).
LOG_TICKS = [
    ["[11/23/2026 19:00:00 INFO 140] Epoch[0] Batch [20]\tSpeed: 800.1 samples/sec\taccuracy=0.61",
     "[11/23/2026 19:00:01 INFO 140] Epoch[0] Train-accuracy=0.625000",
     "[11/23/2026 19:00:01 INFO 140] Epoch[0] Time cost=14.863",
     "[11/23/2026 19:00:02 INFO 140] Epoch[0] Validation-accuracy=0.771429",
     "[11/23/2026 19:00:02 INFO 140] Storing the best model with validation accuracy: 0.771429"],
    ["[11/23/2026 19:00:20 INFO 140] Epoch[1] Train-accuracy=0.812500",
     "[11/23/2026 19:00:20 INFO 140] Epoch[1] Time cost=13.002",
     "[11/23/2026 19:00:21 INFO 140] Epoch[1] Validation-accuracy=0.857143",
     "[11/23/2026 19:00:21 INFO 140] Storing the best model with validation accuracy: 0.857143"],
    ["[11/23/2026 19:00:40 INFO 140] Epoch[2] Train-accuracy=0.906250",
     "[11/23/2026 19:00:40 INFO 140] Epoch[2] Time cost=12.950",
     "[11/23/2026 19:00:41 INFO 140] Epoch[2] Validation-accuracy=0.842857"],
]


def expected_request(hyperparameters: dict, **overrides) -> dict:
    request = {
        "TrainingJobName": JOB,
        "AlgorithmSpecification": {"TrainingImage": US_EAST_1_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/scones/scones-sagemaker-execution",
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {"ChannelName": name, "ContentType": "application/x-image",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{key}",
                                             "S3DataDistributionType": "FullyReplicated"}}}
            for name, key in (("train", "train/"), ("validation", "test/"),
                              ("train_lst", "train.lst"), ("validation_lst", "test.lst"))
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models/"},
        "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
        "Tags": [{"Key": "scones:project", "Value": "scones"}],
    }
    request.update(overrides)
    return request


class JobDriver:
    """Puts a just-created job back to InProgress and advances it one step per fake sleep."""

    def __init__(self, session, fake_clock, *, final_status="Completed", failure_reason=None):
        self.logs = boto3.client("logs", region_name=REGION)
        self.final_status = final_status
        self.failure_reason = failure_reason
        session.events.register("after-call.sagemaker.CreateTrainingJob", self.created)
        fake_clock.on_sleep.append(self.tick)

    def job(self):
        return sagemaker_backend().training_jobs[JOB]

    def created(self, **_):
        self.job().training_job_status, self.job().secondary_status = "InProgress", "Starting"

    def write(self, lines, first_ms):
        self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=STREAM, logEvents=[
            {"timestamp": first_ms + index, "message": line} for index, line in enumerate(lines)])

    def tick(self, count):
        job = self.job()
        if count == 1:
            self.logs.create_log_group(logGroupName=LOG_GROUP)
            self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=STREAM)
            job.secondary_status = "Training"
        if count <= len(LOG_TICKS):
            # CloudWatch Logs refuses events older than 14 days, so the times are recent.
            self.write(LOG_TICKS[count - 1], int(time.time() * 1000) - 60_000 + count * 1_000)
        if count == len(LOG_TICKS):
            job.training_job_status = job.secondary_status = self.final_status
            if self.failure_reason:
                job.failure_reason = self.failure_reason


def test_create_training_job_sends_the_courses_request(backend, staged_bucket, recorder, session, fake_clock):
    JobDriver(session, fake_clock)
    hyperparameters = Hyperparameters.course()
    backend.train(hyperparameters=hyperparameters, job_name=JOB)
    (request,) = recorder.of("CreateTrainingJob")
    assert request == expected_request(hyperparameters.to_sagemaker())
    assert all(isinstance(value, str) for value in request["HyperParameters"].values())
    assert request["HyperParameters"]["num_classes"] == "2"
    assert request["HyperParameters"]["image_shape"] == "3,32,32"


def test_the_job_is_followed_to_the_end_without_sleeping(backend, staged_bucket, session, fake_clock, messages):
    JobDriver(session, fake_clock)
    outcome = backend.train(hyperparameters=Hyperparameters.course(), job_name=JOB)

    assert fake_clock.sleeps == [30.0, 30.0, 30.0]
    assert outcome.job_name == JOB
    assert outcome.model_uri == f"s3://{BUCKET}/models/{JOB}/output/model.tar.gz"
    assert outcome.class_names == ("bicycle", "motorcycle")
    assert outcome.best_epoch == 1 and outcome.validation_accuracy == pytest.approx(0.857143)
    assert outcome.epochs == (
        EpochMetrics(epoch=0, train_accuracy=0.625, validation_accuracy=0.771429, time_cost=14.863),
        EpochMetrics(epoch=1, train_accuracy=0.8125, validation_accuracy=0.857143, time_cost=13.002),
        EpochMetrics(epoch=2, train_accuracy=0.90625, validation_accuracy=0.842857, time_cost=12.95),
    )
    assert f"{JOB}: InProgress – Starting" in messages
    assert f"{JOB}: InProgress – Training" in messages
    assert f"{JOB}: Completed – Completed" in messages
    # Every metric line is shown once; per-batch chatter is not.
    metric_lines = [line for tick in LOG_TICKS for line in tick if "Batch" not in line]
    assert [m for m in messages if m.startswith("[11/23")] == metric_lines


def test_spot_training_sets_max_wait_and_a_checkpoint_uri(make_backend, staged_bucket, recorder, session, fake_clock):
    JobDriver(session, fake_clock)
    spot = make_backend(spot=True, max_runtime_seconds=3600, max_wait_seconds=7200)
    spot.train(hyperparameters=Hyperparameters.course(), job_name=JOB)
    (request,) = recorder.of("CreateTrainingJob")
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert request["CheckpointConfig"] == {"S3Uri": f"s3://{BUCKET}/models/checkpoints/{JOB}/"}


def test_spot_max_wait_shorter_than_runtime_is_refused():
    with pytest.raises(ValueError, match="max_wait_seconds .* must be at least max_runtime_seconds"):
        TrainingSettings(spot=True, max_runtime_seconds=3600, max_wait_seconds=600)


def test_a_failed_job_raises_with_its_reason_and_log_tail(backend, staged_bucket, session, fake_clock, messages):
    JobDriver(session, fake_clock, final_status="Failed",
              failure_reason="ClientError: num_training_samples must match the .lst")
    with pytest.raises(SconesAwsError, match="scones-test-job failed: ClientError: num_training") as caught:
        backend.train(hyperparameters=Hyperparameters.course(), job_name=JOB)
    assert "scones train --backend aws" in caught.value.advice
    assert f"  | {LOG_TICKS[-1][-1]}" in messages


def test_an_unstaged_bucket_is_refused_before_anything_is_created(backend, recorder):
    backend.storage.ensure_bucket(BUCKET)
    with pytest.raises(NotStaged) as caught:
        backend.train(hyperparameters=Hyperparameters.course(), job_name=JOB)
    assert str(caught.value) == (f"s3://{BUCKET}/ has no train.lst or test.lst: "
                                 "run `scones stage` first (or pass the right --bucket)")
    assert [op for op in recorder.operations() if not op.startswith("s3:")] == []


def test_scones_local_settings_are_refused_before_any_job_is_created(backend, staged_bucket, recorder):
    with pytest.raises(HyperparameterError, match=r"^mirror_average=1: Scones' local trainer takes this, SageMaker"):
        backend.check_hyperparameters({"mirror_average": "1"})
    with pytest.raises(HyperparameterError, match=r"^lr_schedule=cosine, mirror_average=1: "):
        backend.train(hyperparameters=Hyperparameters.local_default(), job_name=JOB)
    assert recorder.of("CreateTrainingJob") == []


def test_the_image_uri_is_the_regions(make_backend):
    assert make_backend().image_uri == US_EAST_1_IMAGE
    ireland = "685385470294.dkr.ecr.eu-west-1.amazonaws.com/image-classification:1"
    assert make_backend(region="eu-west-1").image_uri == ireland


def test_without_logs_the_final_metric_is_used():
    from scones.backends.aws.training import training_outcome

    description = {"TrainingJobName": JOB, "ModelArtifacts": {"S3ModelArtifacts": "s3://b/m.tar.gz"},
                   "FinalMetricDataList": [{"MetricName": "validation:accuracy", "Value": 0.9}]}
    outcome = training_outcome(description, [], ("a", "b"))
    assert outcome.best_epoch == -1 and outcome.validation_accuracy == 0.9 and outcome.epochs == ()
    no_metrics = {**description, "FinalMetricDataList": []}
    assert math.isnan(training_outcome(no_metrics, [], ("a", "b")).validation_accuracy)


def test_request_builder_is_pure():
    settings = TrainingSettings(instance_type="ml.g4dn.xlarge")
    request = training_job_request(job_name=JOB, bucket=BUCKET, image_uri=US_EAST_1_IMAGE, role_arn="arn:role",
                                   hyperparameters={"epochs": "30"}, settings=settings, tags=[])
    assert request["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge"
    assert "EnableManagedSpotTraining" not in request and "CheckpointConfig" not in request


def test_seed_is_noted_not_sent(backend, staged_bucket, session, fake_clock, messages, recorder):
    JobDriver(session, fake_clock)
    backend.train(hyperparameters=Hyperparameters.course(), job_name=JOB, seed=7)
    assert any("takes no seed" in m for m in messages)
    assert "seed" not in recorder.of("CreateTrainingJob")[0]["HyperParameters"]


def test_default_bucket_is_the_sdks(make_backend):
    from sagemaker.core.helper.session_helper import Session

    backend = make_backend(bucket=None)
    assert backend.bucket == f"sagemaker-{REGION}-{ACCOUNT}"
    sdk_session = Session(boto_session=backend.session)
    assert backend.bucket == sdk_session.generate_default_sagemaker_bucket_name(backend.session)


def test_get_backend_aws_builds_this_backend(session):
    from scones.backend import Backend, get_backend

    backend = get_backend("aws", region=REGION, bucket=BUCKET, session=session)
    assert isinstance(backend, AwsBackend) and isinstance(backend, Backend)
    assert backend.name == "aws" and backend.region == REGION


def test_the_local_backends_endpoint_url_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="--endpoint-url is for the local backend"):
        AwsBackend(endpoint_url="http://127.0.0.1:4566")
