"""What the SageMaker Python SDK (3.x) does for Scones: image URIs, the default bucket's name, unique names.

The SDK knows which ECR registry hosts the built-in algorithm in each region
and how SageMaker names things; that is what it is used for. Its estimators
and predictors are not: they hide the request (which the tests check field by
field) and pull in far more than three calls need, so the steps themselves use
boto3. The SDK takes seconds to import, hence the imports inside functions.
"""

from __future__ import annotations

from scones.clients import configured_endpoint_url

ALGORITHM = "image-classification"


class ConfiguredEndpointsSession:
    """A boto3 session whose clients go where the user's configuration says, whatever endpoint the SDK names.

    The SDK names the default bucket after ``GetCallerIdentity`` on an STS
    client it makes with ``endpoint_url=sts.REGION.amazonaws.com``, which
    overrides ``AWS_ENDPOINT_URL(_STS)``: against an emulator it would call AWS.
    Only an endpoint the user configured for that service wins; on AWS the
    SDK's own stands.
    """

    def __init__(self, session):
        self._session = session
        self.region_name = session.region_name

    def client(self, service: str, *args, **kwargs):
        if configured_endpoint_url(self._session, service):
            kwargs.pop("endpoint_url", None)
        return self._session.client(service, *args, **kwargs)


def algorithm_image_uri(region: str) -> str:
    """The built-in image-classification algorithm's image in ``region`` (offline: a table in the SDK)."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(ALGORITHM, region)


def default_bucket_name(boto_session) -> str:
    """``sagemaker-{region}-{account}``: the SDK's default bucket for this account and region."""
    from sagemaker.core.helper.session_helper import Session

    session = Session(boto_session=boto_session, sagemaker_client=boto_session.client("sagemaker"))
    return session.generate_default_sagemaker_bucket_name(ConfiguredEndpointsSession(boto_session))


def timestamped_name(base: str) -> str:
    """``BASE-yyyy-mm-dd-HH-MM-SS-mmm`` within 63 characters, as the SDK names training jobs."""
    from sagemaker.core.common_utils import name_from_base

    return name_from_base(base)


def unique_name(base: str) -> str:
    """``BASE-<unix time>-<4 hex>`` within 63 characters: for models and endpoint configs made in a row."""
    from sagemaker.core.common_utils import unique_name_from_base

    return unique_name_from_base(base)
