"""Test doubles for the aws backend's tests: a request recorder, a fake clock, moto shims.

moto stands in for AWS here and only here (the design's rule: mocks of AWS
are for the aws backend's request shapes). Requests are recorded with
botocore's ``provide-client-params`` event, so tests assert the exact
parameters each call sent. Nothing sleeps: the backend's ``sleep`` advances
:class:`FakeClock` and runs whatever the test scheduled for that tick.

moto does not implement SageMaker's UpdateEndpoint; :func:`emulate_update_endpoint`
answers it from moto's own state (the endpoint switches to the new config, as
AWS does once the new instances are healthy).
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import boto3
from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.models import stepfunctions_backends

from scones.backend import DEFAULT_ENDPOINT, DEFAULT_VARIANT
from scones.bucket_layout import capture_key, capture_prefix
from scones.capture import build_record

REGION = "us-east-1"
BUCKET = "scones-aws-test"
ACCOUNT = DEFAULT_ACCOUNT_ID


@dataclass
class Call:
    service: str
    operation: str
    params: dict


@dataclass
class Recorder:
    """Every API call a session's clients make, with the parameters the caller passed."""

    calls: list[Call] = field(default_factory=list)

    def __call__(self, params, model, **_):
        self.calls.append(Call(model.service_model.service_id.hyphenize(), model.name, copy.deepcopy(params)))

    def of(self, operation: str, service: str | None = None) -> list[dict]:
        return [c.params for c in self.calls if c.operation == operation and (service is None or c.service == service)]

    def operations(self, prefixes=("Create", "Update", "Put", "Delete", "Stop", "Tag")) -> list[str]:
        """The calls that change something, in order."""
        return [f"{c.service}:{c.operation}" for c in self.calls if c.operation.startswith(prefixes)]

    def clear(self) -> None:
        self.calls.clear()


class FakeClock:
    """``sleep`` advances ``now``; callbacks scheduled per sleep drive moto's state forward."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep: list[Callable[[int], None]] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for callback in list(self.on_sleep):
            callback(len(self.sleeps))


def sagemaker_backend():
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[ACCOUNT][REGION]


def repair_endpoint_config_arns(**_):
    """moto stores an endpoint config's ARN as a 1-tuple, which its tagging API then returns as text."""
    for config in sagemaker_backend().endpoint_configs.values():
        config.arn = config.endpoint_config_arn


def emulate_update_endpoint(session: boto3.session.Session) -> list[dict]:
    """Answer UpdateEndpoint from moto's state (moto lacks it); returns the requests it answered."""
    answered: list[dict] = []

    def update(params, **_):
        params = json.loads(params["body"])  # before-call sees the serialised request
        state = sagemaker_backend()
        endpoint = state.endpoints[params["EndpointName"]]
        config = state.endpoint_configs[params["EndpointConfigName"]]
        endpoint.endpoint_config_name = params["EndpointConfigName"]
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
        endpoint.data_capture_config = config.data_capture_config
        answered.append(dict(params))
        return AWSResponse("https://sagemaker.amazonaws.com/", 200, {}, None), {"EndpointArn": endpoint.arn}

    session.events.register("before-call.sagemaker.UpdateEndpoint", update)
    return answered


def emulate_stop_training_job(session: boto3.session.Session) -> None:
    """Answer StopTrainingJob (moto lacks it): the job goes to Stopped, as AWS's does within minutes."""

    def stop(params, **_):
        job = sagemaker_backend().training_jobs[json.loads(params["body"])["TrainingJobName"]]
        job.training_job_status = job.secondary_status = "Stopped"
        return AWSResponse("https://sagemaker.amazonaws.com/", 200, {}, None), {}

    session.events.register("before-call.sagemaker.StopTrainingJob", stop)


# What every execution returns when act_as_aws finishes it.
EXECUTION_OUTPUT = {"statusCode": 200, "body": {"image_data": "", "inferences": [0.97, 0.03]}}


def act_as_aws(backend, session, model_tarball: bytes):
    """Do what AWS would have done: a finished training job has its model.tar.gz (written as the
    backend reads the job's description), and by each sleep the executions have run and been captured."""
    capture = backend.default_capture()

    def model_written(parsed, **_):
        uri = parsed.get("ModelArtifacts", {}).get("S3ModelArtifacts")
        if parsed.get("TrainingJobStatus") == "Completed" and uri and not backend.storage.exists(uri):
            backend.storage.put(uri, model_tarball)

    session.events.register("after-call.sagemaker.DescribeTrainingJob", model_written)

    def callback(_count):
        for machine in stepfunctions_backends[ACCOUNT][REGION].state_machines:
            for execution in machine.executions:
                if execution.status == "RUNNING":
                    execution.status, execution.output = "SUCCEEDED", json.dumps(EXECUTION_OUTPUT)
                    execution.stop_date = now = datetime.now(timezone.utc)
                    record = build_record(config=capture, event_id=str(uuid.uuid4()), inference_time=now,
                                          request_body=b"\x89PNG", request_content_type="image/png",
                                          response_body=b"[0.97, 0.03]", response_content_type="application/json")
                    key = capture_key(capture_prefix(capture.destination_s3_uri, DEFAULT_ENDPOINT, DEFAULT_VARIANT),
                                      now, str(uuid.uuid4()))
                    backend.storage.put(str(key), record.to_line().encode())

    return callback
