"""The real-time endpoint: model → endpoint config (with Data Capture) → endpoint.

A first deploy creates all three. Deploying a new model to an existing
endpoint is a blue/green swap: a new model and a new endpoint config with
unique names, then ``UpdateEndpoint``; SageMaker moves traffic only once the
new instances are healthy, so the endpoint keeps its name and never stops
answering. The configs and models the endpoint used before are deleted after
the swap.
"""

from __future__ import annotations

from typing import Callable, Sequence

import botocore.exceptions

from scones.errors import InputError
from scones.backend import DEFAULT_VARIANT
from scones.backends.aws.errors import SconesAwsError, is_not_found
from scones.backends.aws.naming import PROJECT_TAG, Scope
from scones.backends.aws.waiters import Poller
from scones.capture import CaptureConfig

CLASS_NAMES_TAG = "scones:class-names"
ENDPOINT_WAIT_SECONDS = 60 * 60  # creating an endpoint takes 5-15 minutes; an update about as long
ENDPOINT_POLL_SECONDS = 30.0


def class_names_tag(class_names: Sequence[str]) -> dict:
    """The class names, id order, space-separated (tag values allow letters, digits, spaces and _.:/=+-@)."""
    value = " ".join(class_names)
    if len(value) > 256 or any(" " in name or not name for name in class_names):
        raise InputError(f"class names {list(class_names)!r} do not fit a tag: non-empty, no spaces, 256 characters")
    return {"Key": CLASS_NAMES_TAG, "Value": value}


def model_request(*, model_name: str, image_uri: str, model_uri: str, role_arn: str, tags: list[dict]) -> dict:
    return {
        "ModelName": model_name,
        "PrimaryContainer": {"Image": image_uri, "ModelDataUrl": model_uri},
        "ExecutionRoleArn": role_arn,
        "Tags": tags,
    }


def endpoint_config_request(*, config_name: str, model_name: str, instance_type: str, capture: CaptureConfig,
                            tags: list[dict], instance_count: int = 1) -> dict:
    return {
        "EndpointConfigName": config_name,
        "ProductionVariants": [{
            "VariantName": DEFAULT_VARIANT,
            "ModelName": model_name,
            "InitialInstanceCount": instance_count,
            "InstanceType": instance_type,
            "InitialVariantWeight": 1.0,
        }],
        "DataCaptureConfig": capture.to_api(),
        "Tags": tags,
    }


def describe_endpoint(sagemaker, endpoint_name: str) -> dict | None:
    try:
        return sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except botocore.exceptions.ClientError as error:
        if is_not_found(error):
            return None
        raise


def config_models(sagemaker, config_name: str) -> list[str]:
    """The models an endpoint config serves (none if the config is already gone)."""
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except botocore.exceptions.ClientError as error:
        if is_not_found(error):
            return []
        raise
    return [variant["ModelName"] for variant in config["ProductionVariants"]]


def sagemaker_tags(sagemaker, arn: str) -> dict:
    pages = sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn)
    return {tag["Key"]: tag["Value"] for page in pages for tag in page["Tags"]}


def check_owned(sagemaker, scope: Scope, description: dict) -> None:
    if not scope.owns(sagemaker_tags(sagemaker, description["EndpointArn"])):
        raise SconesAwsError(
            f"an endpoint named {description['EndpointName']} exists but is not tagged "
            f"{PROJECT_TAG}={scope.project}",
            "Scones does not modify endpoints it did not create: pass a different --endpoint-name",
            code="NotScones")


def wait_in_service(sagemaker, endpoint_name: str, poller: Poller, log: Callable[[str], None]) -> dict:
    description = poller.until(
        lambda: sagemaker.describe_endpoint(EndpointName=endpoint_name),
        lambda d: d["EndpointStatus"] not in ("Creating", "Updating", "SystemUpdating"),
        what=f"endpoint {endpoint_name}", interval=ENDPOINT_POLL_SECONDS, timeout=ENDPOINT_WAIT_SECONDS,
        status=lambda d: d["EndpointStatus"], on_change=lambda status: log(f"endpoint {endpoint_name}: {status}"))
    if description["EndpointStatus"] != "InService":
        raise SconesAwsError(
            f"endpoint {endpoint_name} is {description['EndpointStatus']}: {description.get('FailureReason', '')}",
            "read the reason above (and /aws/sagemaker/Endpoints/" + endpoint_name + " in CloudWatch Logs); "
            "`scones cleanup --backend aws` removes what was created", code="EndpointFailed")
    return description


def delete_models_and_configs(sagemaker, config_names: Sequence[str], log: Callable[[str], None]) -> None:
    """Delete endpoint configs and the models they served (skipping what is already gone)."""
    for config_name in config_names:
        for model_name in config_models(sagemaker, config_name):
            _delete_quietly(sagemaker.delete_model, ModelName=model_name)
            log(f"model {model_name} deleted")
        _delete_quietly(sagemaker.delete_endpoint_config, EndpointConfigName=config_name)
        log(f"endpoint config {config_name} deleted")


def _delete_quietly(delete, **kwargs) -> None:
    try:
        delete(**kwargs)
    except botocore.exceptions.ClientError as error:
        if not is_not_found(error):
            raise


def deploy_endpoint(sagemaker, scope: Scope, *, endpoint_name: str, model: dict, config: dict,
                    poller: Poller, log: Callable[[str], None]) -> dict:
    """Create the endpoint, or swap an existing one to the new config; returns DescribeEndpoint's answer."""
    existing = describe_endpoint(sagemaker, endpoint_name)
    if existing is not None:
        check_owned(sagemaker, scope, existing)
    if existing is not None and existing["EndpointStatus"] != "InService":
        raise SconesAwsError(
            f"endpoint {endpoint_name} is {existing['EndpointStatus']}, so it cannot take a new model now",
            "wait until it is InService, or delete it (`scones cleanup --backend aws`) and deploy again",
            code="EndpointBusy")
    poller.retry_while_role_propagates(lambda: sagemaker.create_model(**model))
    log(f"model {model['ModelName']} created from {model['PrimaryContainer']['ModelDataUrl']}")
    sagemaker.create_endpoint_config(**config)
    log(f"endpoint config {config['EndpointConfigName']} created "
        f"({config['ProductionVariants'][0]['InstanceType']}, Data Capture to "
        f"{config['DataCaptureConfig']['DestinationS3Uri']})")
    new_config = config["EndpointConfigName"]
    if existing is None:
        sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=new_config, Tags=scope.tag_list)
        log(f"endpoint {endpoint_name} creating")
        return wait_in_service(sagemaker, endpoint_name, poller, log)
    old_config = existing["EndpointConfigName"]
    sagemaker.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=new_config)
    log(f"endpoint {endpoint_name} updating: {old_config} → {new_config} (blue/green; it keeps serving)")
    description = wait_in_service(sagemaker, endpoint_name, poller, log)
    if description["EndpointConfigName"] != new_config:  # SageMaker rolled the update back
        delete_models_and_configs(sagemaker, [new_config], log)
        raise SconesAwsError(
            f"endpoint {endpoint_name} could not switch to {new_config} and still serves {old_config}: "
            f"{description.get('FailureReason', 'no reason given')}",
            "fix the cause above and deploy again; the endpoint was never down", code="UpdateRolledBack")
    delete_models_and_configs(sagemaker, [old_config], log)
    return description


def delete_endpoint(sagemaker, scope: Scope, endpoint_name: str, log: Callable[[str], None]) -> bool:
    """Delete Scones's endpoint, then its config and model; False if there was no such endpoint."""
    existing = describe_endpoint(sagemaker, endpoint_name)
    if existing is None:
        return False
    check_owned(sagemaker, scope, existing)
    sagemaker.delete_endpoint(EndpointName=endpoint_name)
    log(f"endpoint {endpoint_name} deleted")
    delete_models_and_configs(sagemaker, [existing["EndpointConfigName"]], log)
    return True

