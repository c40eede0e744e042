"""AWS errors turned into messages that say what to do.

botocore's messages name the problem ("ResourceLimitExceeded", "no identity-
based policy allows ...") but not the fix, and a traceback through five boto3
frames helps nobody at a terminal. :func:`advice_for` (pure) maps an error
code and message to the fix; :func:`aws_errors` wraps one step so every
botocore error leaves it as a :class:`SconesAwsError` naming what Scones was
doing, what AWS said, and the advice.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import botocore.exceptions

from scones.errors import SconesError

CREDENTIALS_ADVICE = (
    "configure AWS credentials: run `aws configure` (access key) or `aws sso login --profile NAME` and "
    "export AWS_PROFILE=NAME, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
REGION_ADVICE = (
    "choose a region: pass --region (e.g. --region us-east-1), export AWS_DEFAULT_REGION, "
    "or run `aws configure set region us-east-1`"
)
EXPIRED_ADVICE = "your credentials have expired: run `aws sso login` (or refresh your session token) and retry"
INVALID_CREDENTIALS_ADVICE = (
    "AWS does not recognise these credentials: check AWS_PROFILE / AWS_ACCESS_KEY_ID "
    "(`aws sts get-caller-identity` shows who you are)"
)

_ACCESS_DENIED = re.compile(
    r"(?:User: (?P<who>\S+) )?is not authorized to perform: (?P<action>[\w-]+:[\w-]+)"
    r"(?: on resource: (?P<resource>\S+?))?(?:\s|$|\.? because)"
)
_QUOTA_NAME = re.compile(r"service limit '(?P<quota>[^']+)'")
_INSTANCE_TYPE = re.compile(r"\b(ml\.[a-z0-9]+\.[a-z0-9]+)\b")

_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_INVALID = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
            "InvalidSignatureException", "AuthFailure"}
_ACCESS = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException", "SlowDown"}


class SconesAwsError(SconesError, RuntimeError):
    """An AWS call failed; ``advice`` says what to do about it."""

    def __init__(self, message: str, advice: str, *, code: str | None = None):
        super().__init__(f"{message}\n  → {advice}")
        self.message = message
        self.advice = advice
        self.code = code


def access_denied_advice(message: str) -> str:
    """Name the exact action and resource the caller must be granted."""
    match = _ACCESS_DENIED.search(message)
    if match is None:
        return ("your identity lacks a permission this step needs; ask your administrator to grant it "
                "(the message above names it), then retry")
    who = match["who"] or "your identity"
    resource = match["resource"] or "*"
    return (f"grant {match['action']} on {resource} to {who} (an IAM policy statement "
            f'{{"Effect": "Allow", "Action": "{match["action"]}", "Resource": "{resource}"}}), then retry')


def quota_advice(message: str, instance_type: str | None) -> str:
    quota = _QUOTA_NAME.search(message)
    found = _INSTANCE_TYPE.search(message)
    instance = instance_type or (found.group(1) if found else None)
    named = f"'{quota['quota']}'" if quota else f"for {instance or 'this instance type'}"
    smaller = (f" or pass a smaller instance type than {instance} (e.g. --instance-type ml.m5.xlarge, "
               "which most new accounts may use)") if instance else ""
    return (f"your account's SageMaker quota {named} is too low: request an increase in the Service Quotas "
            f"console (AWS services → Amazon SageMaker){smaller}")


def advice_for(code: str, message: str, *, instance_type: str | None = None) -> str:
    """What to do about an AWS error ``code`` with ``message``."""
    if code in ("NoCredentialsError", "PartialCredentialsError", "NoCredentials"):
        return CREDENTIALS_ADVICE
    if code == "NoRegionError":
        return REGION_ADVICE
    if code in _EXPIRED:
        return EXPIRED_ADVICE
    if code in _INVALID:
        return INVALID_CREDENTIALS_ADVICE
    if code in _ACCESS:
        return access_denied_advice(message)
    if code == "ResourceLimitExceeded":
        return quota_advice(message, instance_type)
    if code in _THROTTLED:
        return "AWS is throttling these requests even after retries: wait a minute and run the step again"
    if code == "ValidationException":
        return "AWS refused the request as invalid (its reason is above); fix that value and run the step again"
    if code == "EndpointConnectionError":
        return "check your network connection and that the region exists and offers this service"
    return "see AWS's message above; run the step again once it is resolved"


def error_code(error: Exception) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Code", "") or "ClientError"
    return type(error).__name__


def error_message(error: Exception) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("Error", {}).get("Message", "") or str(error)
    return str(error)


def translate(error: Exception, doing: str, *, instance_type: str | None = None) -> SconesAwsError:
    """The :class:`SconesAwsError` for a botocore error raised while ``doing`` something."""
    code, message = error_code(error), error_message(error)
    return SconesAwsError(f"{doing} failed: {code}: {message}", advice_for(code, message, instance_type=instance_type),
                          code=code)


@contextmanager
def aws_errors(doing: str, *, instance_type: str | None = None) -> Iterator[None]:
    """Re-raise any botocore error inside the block as a :class:`SconesAwsError` about ``doing``."""
    try:
        yield
    except (botocore.exceptions.ClientError, botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError, botocore.exceptions.NoRegionError,
            botocore.exceptions.EndpointConnectionError) as error:
        raise translate(error, doing, instance_type=instance_type) from error


def is_not_found(error: botocore.exceptions.ClientError) -> bool:
    """SageMaker says ValidationException "Could not find ..."; the others say ...NotFound...."""
    code, message = error_code(error), error_message(error)
    return ("NotFound" in code or "DoesNotExist" in code or code == "NoSuchEntity"
            or (code == "ValidationException" and message.startswith("Could not find")))
