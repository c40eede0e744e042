"""Shared fixtures: a real S3 over HTTP for every test that stores anything; ``--backend``.

LocalStack is used when one answers on localhost:4566 (start it with
``docker compose --profile localstack up -d``); otherwise an embedded S3 server is started on
127.0.0.1 for the session. Each test gets a bucket of its own.

``aws_emulator_url`` is an emulator of the AWS services the aws backend uses
(IAM, STS, Lambda, Step Functions, S3, the tagging API) that really runs them:
LocalStack on 127.0.0.1:4566 when one answers, else MiniStack started from
``.venv-ministack`` on a free loopback port for the session.
"""

from __future__ import annotations

import itertools
import os

import pytest

from scones.backends.local.s3_choice import EmbeddedS3, localstack_is_healthy, localstack_url
from scones.ministack import MiniStackUnavailable, answers_health, ministack_command, running_ministack
from scones.storage import Storage, s3_client

_bucket_numbers = itertools.count()


def pytest_addoption(parser):
    parser.addoption("--backend", choices=("local", "aws"), default="local",
                     help="aws also runs the end-to-end tests against the AWS account boto3 finds "
                          "(billed: about $1, cleaned up afterwards)")


@pytest.fixture(scope="session")
def s3_endpoint_url():
    """The URL of the S3 server the tests use (LocalStack if running, else embedded)."""
    candidate = localstack_url(os.environ)
    if localstack_is_healthy(candidate):
        yield candidate
        return
    with EmbeddedS3() as server:
        yield server.url


LOCALSTACK_ON_LOOPBACK = "http://127.0.0.1:4566"


@pytest.fixture(scope="session")
def aws_emulator_url():
    """LocalStack's URL if it answers on 127.0.0.1:4566, else a MiniStack's started for the session."""
    if answers_health(LOCALSTACK_ON_LOOPBACK):
        yield LOCALSTACK_ON_LOOPBACK
        return
    try:
        ministack_command()
    except MiniStackUnavailable as missing:
        pytest.skip(f"no AWS emulator: {missing}")
    with running_ministack() as url:
        yield url


@pytest.fixture
def storage(s3_endpoint_url):
    return Storage(s3_client(s3_endpoint_url))


@pytest.fixture
def bucket(storage):
    name = f"scones-test-{os.getpid()}-{next(_bucket_numbers)}"
    storage.ensure_bucket(name)
    return name


@pytest.fixture(autouse=True)
def capture_spool(tmp_path_factory, monkeypatch):
    """Each test's endpoints spool captures in a folder of their own, never in the user's cache."""
    root = tmp_path_factory.mktemp("capture-spool")
    monkeypatch.setenv("SCONES_CAPTURE_SPOOL", str(root))
    return root
