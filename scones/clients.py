"""boto3 clients for the Lambda handlers, one per service and endpoint configuration.

Handlers read the standard ``AWS_ENDPOINT_URL_<SERVICE>`` / ``AWS_ENDPOINT_URL``
variables when they run: unset on AWS, pointed at local services by the local
backend. Clients are cached per configuration because creating one costs tens
of milliseconds, far more than a local invocation.
"""

from __future__ import annotations

import functools
import os

import boto3


@functools.lru_cache(maxsize=32)
def _cached(service: str, endpoint_url: str | None, region: str | None):
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, region_name=region)


def client(service: str):
    """A boto3 client for ``service`` as the current environment configures it."""
    variable = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
    endpoint = os.environ.get(variable) or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    return _cached(service, endpoint, region)
