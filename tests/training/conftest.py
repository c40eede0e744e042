"""Fixtures for the training tests: a bucket staged with a tiny synthetic data set."""

from __future__ import annotations

import pytest
from .synthetic_data import stage_synthetic


@pytest.fixture
def staged(storage, bucket):
    """``bucket`` holding train/, test/, their .lst files and classes.json, as `scones stage` writes them."""
    stage_synthetic(storage, bucket)
    return bucket
