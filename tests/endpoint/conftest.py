"""Fixtures for the local endpoint tests: the tiny model's weights, stored in the test bucket."""

from __future__ import annotations

import pytest
from .endpoint_support import FakeClock, TinyPredictor, tiny_artifact


@pytest.fixture(scope="session")
def tiny_params() -> bytes:
    return tiny_artifact()


@pytest.fixture
def tiny_predictor(tiny_params) -> TinyPredictor:
    return TinyPredictor(tiny_params)


@pytest.fixture
def model_uri(storage, bucket, tiny_params) -> str:
    uri = f"s3://{bucket}/models/tiny/model.params"
    storage.put(uri, tiny_params)
    return uri


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
