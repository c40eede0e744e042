"""The workflow's three Lambda functions, created or updated idempotently.

A function is updated only where it differs: its code when the package's
SHA-256 differs from GetFunction's ``CodeSha256``, its configuration when the
runtime, handler, role, memory, timeout or environment differ. Running the
deploy twice changes nothing the second time. Lambda applies one update at a
time, so each update is followed by a wait until ``LastUpdateStatus`` is
``Successful``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import botocore.exceptions

from scones.backends.aws.errors import SconesAwsError, is_not_found
from scones.backends.aws.lambda_packaging import LambdaPackage
from scones.backends.aws.naming import PROJECT_TAG, Scope
from scones.backends.aws.waiters import Poller

# Current on Lambda (Amazon Linux 2023, supported until 2029); the handlers need only 3.10+.
RUNTIME = "python3.13"
# arm64 (Graviton) costs less per GB-second than x86_64, and the handlers are pure Python.
ARCHITECTURE = "arm64"
MEMORY_MB = 256
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class FunctionSpec:
    """Everything a function's configuration should be."""

    name: str
    package: LambdaPackage
    role_arn: str
    environment: dict
    description: str

    def configuration(self) -> dict:
        return {
            "FunctionName": self.name, "Runtime": RUNTIME, "Handler": self.package.handler, "Role": self.role_arn,
            "MemorySize": MEMORY_MB, "Timeout": TIMEOUT_SECONDS, "Description": self.description,
            "Environment": {"Variables": dict(self.environment)},
        }


def configuration_differences(current: dict, spec: FunctionSpec) -> list[str]:
    """Names of the settings where GetFunction's ``Configuration`` differs from the spec (pure)."""
    wanted = spec.configuration()
    actual = {
        "Runtime": current.get("Runtime"), "Handler": current.get("Handler"), "Role": current.get("Role"),
        "MemorySize": current.get("MemorySize"), "Timeout": current.get("Timeout"),
        "Description": current.get("Description", ""),
        "Environment": {"Variables": (current.get("Environment") or {}).get("Variables", {})},
    }
    return [key for key, value in actual.items() if wanted[key] != value]


def _wait_updated(lambda_client, name: str, poller: Poller) -> None:
    def probe():
        return lambda_client.get_function_configuration(FunctionName=name)

    final = poller.until(probe, lambda c: c.get("State", "Active") != "Pending"
                         and c.get("LastUpdateStatus", "Successful") != "InProgress",
                         what=f"Lambda function {name} to become ready", interval=2, timeout=300,
                         status=lambda c: f"{c.get('State')}/{c.get('LastUpdateStatus')}")
    if final.get("State") == "Failed" or final.get("LastUpdateStatus") == "Failed":
        reason = final.get("LastUpdateStatusReason") or final.get("StateReason")
        raise SconesAwsError(f"Lambda function {name} failed to update: {reason}",
                             "fix the cause above and deploy the workflow again", code="FunctionFailed")


def ensure_function(lambda_client, scope: Scope, spec: FunctionSpec, *, poller: Poller,
                    log: Callable[[str], None]) -> str:
    """Create the function, or update what differs; returns its (unqualified) ARN."""
    try:
        current = lambda_client.get_function(FunctionName=spec.name)
    except botocore.exceptions.ClientError as error:
        if not is_not_found(error):
            raise
        created = poller.retry_while_role_propagates(lambda: lambda_client.create_function(
            **spec.configuration(), Code={"ZipFile": spec.package.zip_bytes}, Architectures=[ARCHITECTURE],
            Tags=scope.tag_map))
        _wait_updated(lambda_client, spec.name, poller)
        log(f"Lambda function {spec.name} created ({len(spec.package.files)} files, {RUNTIME})")
        return created["FunctionArn"]
    configuration = current["Configuration"]
    if not scope.owns(current.get("Tags") or {}):
        raise SconesAwsError(
            f"a Lambda function named {spec.name} exists but is not tagged {PROJECT_TAG}={scope.project}",
            "Scones does not modify functions it did not create: pass a different --name-prefix, or delete it",
            code="NotScones")
    if configuration.get("CodeSha256") != spec.package.code_sha256:
        lambda_client.update_function_code(FunctionName=spec.name, ZipFile=spec.package.zip_bytes)
        _wait_updated(lambda_client, spec.name, poller)
        log(f"Lambda function {spec.name}: code updated")
    differences = configuration_differences(configuration, spec)
    if differences:
        poller.retry_while_role_propagates(
            lambda: lambda_client.update_function_configuration(**spec.configuration()))
        _wait_updated(lambda_client, spec.name, poller)
        log(f"Lambda function {spec.name}: {', '.join(differences)} updated")
    return configuration["FunctionArn"]


def function_variables(lambda_client, name: str) -> dict | None:
    """A deployed function's environment variables; None if there is no such function."""
    try:
        configuration = lambda_client.get_function_configuration(FunctionName=name)
    except botocore.exceptions.ClientError as error:
        if is_not_found(error):
            return None
        raise
    return dict((configuration.get("Environment") or {}).get("Variables", {}))


def update_function_variables(lambda_client, name: str, changes: dict, *, poller: Poller) -> None:
    """``UpdateFunctionConfiguration`` of the environment alone, keeping every other variable as it is."""
    current = function_variables(lambda_client, name)
    if current is None:
        raise SconesAwsError(f"the Lambda function {name} is not deployed",
                             "deploy the workflow first (`scones execute --backend aws` or `scones run --backend aws "
                             "--keep-endpoint`)", code="ResourceNotFoundException")
    lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": {**current, **changes}})
    _wait_updated(lambda_client, name, poller)
