"""The aws backend deployed to an AWS emulator, with stand-ins for what no emulator here runs.

MiniStack (or LocalStack) runs S3, IAM, STS, Lambda and Step Functions for
real. SageMaker has no free emulator: its runtime is the project's local
endpoint server on 127.0.0.1 serving a tiny real MXNet model (the deployed
classifier reaches it through ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` in its
environment), and its control plane, which only cleanup calls here, a moto
server over HTTP. Everything is deployed once per module: a deployment takes
seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import boto3
import pytest
from moto.server import ThreadedMotoServer

from scones.backend import WorkflowInfo
from scones.backends.aws import AwsBackend
from scones.backends.local.endpoints import LocalEndpointServer, deploy_local_endpoint, serve
from scones.backends.local.sagemaker_api import make_local_aws_server
from scones.clients import make_client
from scones.ministack import free_loopback_port
from scones.storage import Storage

from ..workflow.colour_model import colour_model_tarball, solid_png

BUCKET = "scones-emulated"
ENDPOINT = "scones-endpoint"
MODEL_URI = f"s3://{BUCKET}/models/colour/output/model.tar.gz"
RED_BIKE_KEY = "test/red_bike.png"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass(frozen=True)
class EmulatedDeployment:
    backend: AwsBackend
    workflow: WorkflowInfo
    storage: Storage
    runtime: LocalEndpointServer
    environment: dict[str, str]


@pytest.fixture(scope="module")
def sagemaker_control_plane():
    """A moto server's URL: SageMaker's List*/ListTags/Create* over HTTP, for cleanup to find."""
    port = free_loopback_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def emulated(aws_emulator_url, sagemaker_control_plane):
    """The workflow deployed by the aws backend's own code to the emulator, the colour model serving."""
    storage = Storage(make_client("s3", endpoint_url=aws_emulator_url))
    storage.ensure_bucket(BUCKET)
    storage.put(f"s3://{BUCKET}/{RED_BIKE_KEY}", solid_png(255, 0, 0))
    storage.put(MODEL_URI, colour_model_tarball())
    with serve(storage, BUCKET) as runtime, pytest.MonkeyPatch.context() as patch:
        deploy_local_endpoint(runtime, ENDPOINT, MODEL_URI)
        environment = {"AWS_ENDPOINT_URL": aws_emulator_url, "AWS_ENDPOINT_URL_SAGEMAKER": sagemaker_control_plane,
                       "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url, "SCONES_AWS_MAX_POLL_SECONDS": "0.05",
                       "AWS_DEFAULT_REGION": REGION, **CREDENTIALS}
        for name, value in environment.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        backend = AwsBackend(session=boto3.session.Session(region_name=REGION), bucket=BUCKET, log=lambda line: None)
        workflow = backend.deploy_workflow(endpoint_name=ENDPOINT)
        yield EmulatedDeployment(backend, workflow, storage, runtime, environment)


@pytest.fixture(scope="session")
def sagemaker_control_plane_url(aws_emulator_url):
    """`scones up --endpoint-url EMULATOR --logs-endpoint-url EMULATOR` in a thread: the local SageMaker,
    training and serving on the emulator's S3 and logging to its CloudWatch Logs, on a free loopback port."""
    server = make_local_aws_server("127.0.0.1", 0, endpoint_url=aws_emulator_url, logs_endpoint_url=aws_emulator_url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.service.close()
    thread.join(10)
