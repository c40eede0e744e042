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
from dataclasses import dataclass, field
from typing import Callable

import boto3
from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID

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
