"""The one boto3 client factory: every client Scones makes, for any service, configured one way.

Standard retries and a connection pool large enough for S3's upload threads;
a client pointed at a local service (``endpoint_url``) gets path-style S3
addressing (no DNS per bucket) and dummy credentials when none are
configured, so nothing has to be set up first.

The Lambda handlers' :func:`client` reads the standard
``AWS_ENDPOINT_URL_<SERVICE>`` / ``AWS_ENDPOINT_URL`` variables of the running
function (:mod:`scones.function_environment`): unset on AWS, pointed at local
services by the local backend, or by the aws backend at the emulators the
user's own ``AWS_ENDPOINT_URL*`` variables name. Those clients are cached per
configuration because creating one costs tens of milliseconds, far more than a
local invocation.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Mapping

import boto3
import botocore.config
import botocore.utils
from botocore.configprovider import ConfiguredEndpointProvider

from scones.function_environment import configured_client, environment

DEFAULT_REGION = "us-east-1"
MAX_ATTEMPTS = 5
# Enough connections for the storage's upload threads (see scones.storage.DEFAULT_CONCURRENCY).
MAX_POOL_CONNECTIONS = 32
LOCAL_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
ENDPOINT_OVERRIDE = "AWS_ENDPOINT_URL"


def endpoint_override_variable(service: str) -> str:
    """``AWS_ENDPOINT_URL_<SERVICE ID>`` as botocore names it: ``stepfunctions`` is ``…_SFN``, ``logs`` ``…_CLOUDWATCH_LOGS``."""
    name = botocore.utils.SERVICE_NAME_ALIASES.get(service, service)
    service_id = botocore.utils.CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES.get(name, name)
    return f"{ENDPOINT_OVERRIDE}_{service_id.replace('-', '_').upper()}"


def endpoint_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` variables set in ``environ`` (empty on AWS)."""
    return {name: value for name, value in environ.items()
            if value and (name == ENDPOINT_OVERRIDE or name.startswith(ENDPOINT_OVERRIDE + "_"))}


def configured_endpoint_url(session: boto3.session.Session, service: str) -> str | None:
    """The endpoint boto3 takes for ``service`` from the environment or the config file, None for AWS's own."""
    core = session._session  # boto3 keeps the botocore session here; its configuration is botocore's
    if core.get_config_variable("ignore_configured_endpoint_urls"):
        return None
    return ConfiguredEndpointProvider(full_config=core.full_config, scoped_config=core.get_scoped_config(),
                                      client_name=service).provide()


def parse_timestamp(value):
    """botocore's timestamp parsing, with ISO 8601 read by :meth:`datetime.fromisoformat` first.

    botocore reads every timestamp with dateutil's general parser: parsing
    the ``LastModified`` of a 200-key ListObjectsV2 answer took 15 of its
    27 ms of client time, and ``scones batch`` lists every object it
    classifies. ``fromisoformat`` reads S3's ``2026-12-07T11:45:03.000Z`` to
    the same instant; anything it does not read to an aware datetime (HTTP
    dates, epoch numbers, no zone, ``Z`` before Python 3.11) goes to
    botocore's own parser.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return botocore.utils.parse_timestamp(value)


def make_client(service: str, *, endpoint_url: str | None = None, region: str | None = None,
                session: boto3.session.Session | None = None, credentials: dict | None = None):
    """A boto3 client for ``service``; ``endpoint_url`` None means AWS itself."""
    session = session or boto3.session.Session()
    session._session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    config = botocore.config.Config(
        max_pool_connections=MAX_POOL_CONNECTIONS,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint_url and service == "s3" else {},
    )
    kwargs: dict = {"config": config, "region_name": region or session.region_name or DEFAULT_REGION}
    if credentials:
        kwargs.update(credentials)
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
        if not credentials and session.get_credentials() is None:
            kwargs.update(LOCAL_CREDENTIALS)
    return session.client(service, **kwargs)


@functools.lru_cache(maxsize=32)
def _cached(service: str, endpoint_url: str | None, region: str | None, access_key: str | None,
            secret_key: str | None):
    credentials = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key} if access_key else None
    return make_client(service, endpoint_url=endpoint_url, region=region, credentials=credentials)


def client(service: str):
    """A boto3 client for ``service`` as the running function's environment configures it."""
    given = configured_client(service)
    if given is not None:
        return given
    variables = environment()
    endpoint = variables.get(endpoint_override_variable(service)) or variables.get(ENDPOINT_OVERRIDE) or None
    region = variables.get("AWS_REGION") or variables.get("AWS_DEFAULT_REGION") or None
    return _cached(service, endpoint, region, variables.get("AWS_ACCESS_KEY_ID"),
                   variables.get("AWS_SECRET_ACCESS_KEY"))
