"""A local SageMaker + S3 server on 127.0.0.1:0, and boto3's real clients for it."""

from __future__ import annotations

import threading

import boto3
import pytest

from scones.backends.local.sagemaker_api import make_local_aws_server
from scones.storage import Storage, s3_client


@pytest.fixture(scope="module")
def server():
    server = make_local_aws_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.service.close()
    thread.join(10)


@pytest.fixture(scope="module")
def url(server):
    return f"http://127.0.0.1:{server.server_address[1]}"


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


@pytest.fixture(scope="module")
def sagemaker(url):
    return client("sagemaker", url)


@pytest.fixture(scope="module")
def runtime(url):
    return client("sagemaker-runtime", url)


@pytest.fixture(scope="module")
def server_storage(url):
    return Storage(s3_client(url))
