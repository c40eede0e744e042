"""Fixtures for the aws backend's tests: moto's in-process AWS, a recorded session, a fake clock."""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from scones.backends.aws.waiters import MAX_POLL_VARIABLE
from scones.clients import endpoint_overrides

from .aws_fakes import BUCKET, REGION, FakeClock, Recorder, repair_endpoint_config_arns


@pytest.fixture
def aws_credentials(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", MAX_POLL_VARIABLE,
                 *endpoint_overrides(os.environ)):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def mocked_aws(aws_credentials):
    with mock_aws():
        yield


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def session(mocked_aws, recorder):
    boto_session = boto3.session.Session(region_name=REGION)
    boto_session.events.register("provide-client-params", recorder)
    boto_session.events.register("after-call.sagemaker.CreateEndpointConfig", repair_endpoint_config_arns)
    return boto_session


@pytest.fixture
def fake_clock():
    return FakeClock()


@pytest.fixture
def messages():
    return []


@pytest.fixture
def make_backend(session, fake_clock, messages):
    from scones.backends.aws import AwsBackend

    def make(**settings) -> AwsBackend:
        settings.setdefault("bucket", BUCKET)
        return AwsBackend(session=settings.pop("session", session), sleep=fake_clock.sleep, clock=fake_clock.clock,
                          log=messages.append, **settings)

    return make


@pytest.fixture
def backend(make_backend):
    return make_backend()


@pytest.fixture
def staged_bucket(backend):
    """The bucket as ``scones stage`` leaves it (listings, class names, a couple of images)."""
    storage = backend.storage
    storage.ensure_bucket(BUCKET)
    for key, body in {"train/bicycle_s_000001.png": b"png", "test/bicycle_s_000513.png": b"png",
                      "train.lst": b"0\t0\tbicycle_s_000001.png\n", "test.lst": b"0\t0\tbicycle_s_000513.png\n",
                      "classes.json": b'["bicycle", "motorcycle"]'}.items():
        storage.put(f"s3://{BUCKET}/{key}", body)
    return BUCKET


