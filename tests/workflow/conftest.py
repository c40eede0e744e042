"""A local backend with the colour model deployed, on the session's real S3."""

from __future__ import annotations

import pytest

from scones.backends.local import LocalBackend
from scones.capture import CaptureConfig
from scones.lst import LstEntry, format_lst

from .colour_model import colour_model_tarball, solid_png

# Test images: (file name, class id, pixel colour)
IMAGES = {
    "red_bike.png": (0, (255, 0, 0)),
    "grey_unsure.png": (0, (128, 128, 128)),
    "blue_motorbike.png": (1, (0, 0, 200)),
}
FUNCTION_VARIABLES = ("ENDPOINT_NAME", "THRESHOLD", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
                      "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture
def staged(storage, bucket):
    for name, (_, colour) in IMAGES.items():
        storage.put(f"s3://{bucket}/test/{name}", solid_png(*colour))
    entries = [LstEntry(row, label, name) for row, (name, (label, _)) in enumerate(IMAGES.items())]
    storage.put(f"s3://{bucket}/test.lst", format_lst(entries).encode())
    storage.put(f"s3://{bucket}/classes.json", b'["bicycle", "motorcycle"]')
    model_uri = f"s3://{bucket}/models/colour/output/model.tar.gz"
    storage.put(model_uri, colour_model_tarball())
    return model_uri


@pytest.fixture
def backend(monkeypatch, s3_endpoint_url, bucket, staged):
    for variable in FUNCTION_VARIABLES:  # the functions' environment is this process's; restore it afterwards
        monkeypatch.delenv(variable, raising=False)
    with LocalBackend(endpoint_url=s3_endpoint_url, bucket=bucket) as local:
        yield local


@pytest.fixture
def deployed(backend, staged, bucket):
    """The colour model served with full Data Capture, and the workflow compiled."""
    endpoint = backend.deploy(model_uri=staged, capture=CaptureConfig(f"s3://{bucket}/data_capture"))
    workflow = backend.deploy_workflow(endpoint_name=endpoint.name)
    return endpoint, workflow
