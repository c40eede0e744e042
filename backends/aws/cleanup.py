"""Cleanup: find everything tagged ``scones:project=<project>``, delete it, and say what it would have cost.

Regional resources are found with the Resource Groups Tagging API
(``GetResources`` with a tag filter: SageMaker endpoints, endpoint configs,
models and training jobs, Lambda functions, Step Functions state machines —
moto implements it for all of these). SageMaker's resources are also found
through SageMaker's own List* and ListTags calls, merged without duplicates:
the tagging API lags behind SageMaker on AWS, and a separate SageMaker service
(``scones up`` next to an emulator) is invisible to the emulator's tagging API.
The state machine is likewise looked up through Step Functions itself
(MiniStack's tagging API does not cover Step Functions). IAM roles are global and listed under
Scones's ``/scones/`` path, each checked for the tag. Nothing without the tag
is ever touched. The tagging API can still list a resource for a while after
it is deleted, so every resource is described first and one that is already
gone (or still going: endpoints and state machines are deleted
asynchronously) is skipped, so a second cleanup finds nothing and says so.

Deletion runs in dependency order: running training jobs are stopped,
endpoints deleted, then endpoint configs, models, state machines, functions,
CloudWatch alarms, roles, and — only with ``delete_data`` — the bucket's Scones prefixes (the
bucket itself stays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import botocore.exceptions

from scones import bucket_layout as layout
from scones.backend import CleanupReport
from scones.backends.aws.alarms import scones_alarms
from scones.backends.aws.errors import is_not_found
from scones.backends.aws.naming import PROJECT_TAG, Scope
from scones.backends.aws.prices import describe_price, hourly_cost
from scones.backends.aws.roles import delete_role, scones_roles
from scones.staged_bucket import data_uris
from scones.storage import Storage

RESOURCE_TYPES = ("sagemaker:training-job", "sagemaker:endpoint", "sagemaker:endpoint-config", "sagemaker:model",
                  "states:stateMachine", "lambda:function")


@dataclass(frozen=True)
class Doomed:
    """One thing cleanup deletes (or stops), and what it bills per hour while it exists."""

    kind: str
    name: str
    delete: Callable[[], None] = field(compare=False, repr=False)
    instances: tuple[tuple[str, int], ...] = ()

    @property
    def hourly_usd(self) -> float:
        return hourly_cost(dict(self.instances))[0]

    def describe(self) -> str:
        billed = "; ".join(describe_price(instance, count) for instance, count in self.instances)
        return f"{self.kind} {self.name}" + (f" ({billed})" if billed else "")


def arn_resource(arn: str) -> tuple[str, str]:
    """``(resource type, name)`` of an ARN: ``endpoint/NAME``, ``function:NAME``, ``stateMachine:NAME``."""
    resource = arn.split(":", 5)[5]
    kind, _, name = resource.partition("/") if "/" in resource else resource.partition(":")
    return kind, name


def tagged_arns(tagging, scope: Scope) -> dict[str, list[str]]:
    """ARNs of this project's regional resources, by resource type (``endpoint``, ``function``, …)."""
    found: dict[str, list[str]] = {}
    pages = tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": PROJECT_TAG, "Values": [scope.project]}], ResourceTypeFilters=list(RESOURCE_TYPES))
    for page in pages:
        for mapping in page["ResourceTagMappingList"]:
            found.setdefault(arn_resource(mapping["ResourceARN"])[0], []).append(mapping["ResourceARN"])
    return found


# SageMaker's List* call, its result key and ARN field, per resource type (as arn_resource names them).
SAGEMAKER_LISTINGS = (
    ("training-job", "list_training_jobs", "TrainingJobSummaries", "TrainingJobArn", {"StatusEquals": "InProgress"}),
    ("endpoint", "list_endpoints", "Endpoints", "EndpointArn", {}),
    ("endpoint-config", "list_endpoint_configs", "EndpointConfigs", "EndpointConfigArn", {}),
    ("model", "list_models", "Models", "ModelArn", {}),
)


def sagemaker_listed_arns(sagemaker, scope: Scope) -> dict[str, list[str]]:
    """ARNs of this project's SageMaker resources by type, from SageMaker's own listings and tags.

    Training jobs are listed only while in progress: a finished job costs nothing and cannot be deleted.
    """
    found: dict[str, list[str]] = {}
    for kind, operation, key, arn_field, filters in SAGEMAKER_LISTINGS:
        for page in sagemaker.get_paginator(operation).paginate(**filters):
            for summary in page[key]:
                arn = summary[arn_field]
                listed = _describe(sagemaker.list_tags, ResourceArn=arn) or {}  # None: deleted since listed
                if scope.owns({tag["Key"]: tag["Value"] for tag in listed.get("Tags", [])}):
                    found.setdefault(kind, []).append(arn)
    return found


def state_machine_listed_arns(sfn, scope: Scope) -> dict[str, list[str]]:
    """This project's state machine, found through Step Functions' own listing and tags."""
    found: dict[str, list[str]] = {}
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] != scope.state_machine_name:
                continue
            listed = _describe(sfn.list_tags_for_resource, resourceArn=machine["stateMachineArn"]) or {}
            if scope.owns({tag["key"]: tag["value"] for tag in listed.get("tags", [])}):
                found.setdefault("stateMachine", []).append(machine["stateMachineArn"])
    return found


def merged_arns(*findings: dict[str, list[str]]) -> dict[str, list[str]]:
    """The union of several ``{type: [ARN]}`` findings, each ARN once (SageMaker ARNs compare case-blind)."""
    merged: dict[str, dict[str, str]] = {}
    for found in findings:
        for kind, arns in found.items():
            for arn in arns:
                merged.setdefault(kind, {}).setdefault(arn.lower(), arn)
    return {kind: list(arns.values()) for kind, arns in merged.items()}


def _describe(call, **kwargs) -> dict | None:
    """The description, or None when the resource is already gone."""
    try:
        return call(**kwargs)
    except botocore.exceptions.ClientError as error:
        if is_not_found(error):
            return None
        raise


def _names(arns: list[str]) -> list[str]:
    return sorted(arn_resource(arn)[1] for arn in arns)


def sagemaker_doomed(sagemaker, arns: dict[str, list[str]]) -> list[Doomed]:
    """Running training jobs, endpoints, endpoint configs and models (names from the ARNs are lower case;
    each description gives the real name)."""
    doomed = []
    for name in _names(arns.get("training-job", [])):
        job = _describe(sagemaker.describe_training_job, TrainingJobName=name)
        if job and job["TrainingJobStatus"] == "InProgress":
            real = job["TrainingJobName"]
            config = job["ResourceConfig"]
            doomed.append(Doomed("training job (stopped)", real,
                                 lambda real=real: sagemaker.stop_training_job(TrainingJobName=real),
                                 ((config["InstanceType"], config["InstanceCount"]),)))
    for name in _names(arns.get("endpoint", [])):
        endpoint = _describe(sagemaker.describe_endpoint, EndpointName=name)
        if endpoint and endpoint["EndpointStatus"] != "Deleting":
            real = endpoint["EndpointName"]
            doomed.append(Doomed("endpoint", real, lambda real=real: sagemaker.delete_endpoint(EndpointName=real),
                                 endpoint_instances(sagemaker, endpoint)))
    for name in _names(arns.get("endpoint-config", [])):
        config = _describe(sagemaker.describe_endpoint_config, EndpointConfigName=name)
        if config:
            real = config["EndpointConfigName"]
            doomed.append(Doomed("endpoint config", real,
                                 lambda real=real: sagemaker.delete_endpoint_config(EndpointConfigName=real)))
    for name in _names(arns.get("model", [])):
        model = _describe(sagemaker.describe_model, ModelName=name)
        if model:
            real = model["ModelName"]
            doomed.append(Doomed("model", real, lambda real=real: sagemaker.delete_model(ModelName=real)))
    return doomed


def endpoint_instances(sagemaker, endpoint: dict) -> tuple[tuple[str, int], ...]:
    """What an endpoint runs on: its config's instance types, with the current instance counts."""
    config = _describe(sagemaker.describe_endpoint_config, EndpointConfigName=endpoint["EndpointConfigName"])
    if config is None:
        return ()
    current = {variant["VariantName"]: variant.get("CurrentInstanceCount")
               for variant in endpoint.get("ProductionVariants", [])}
    return tuple((variant["InstanceType"], current.get(variant["VariantName"]) or variant["InitialInstanceCount"])
                 for variant in config["ProductionVariants"] if "InstanceType" in variant)


def workflow_doomed(sfn, lambda_client, arns: dict[str, list[str]]) -> list[Doomed]:
    doomed = []
    for arn in sorted(arns.get("stateMachine", [])):
        machine = _describe(sfn.describe_state_machine, stateMachineArn=arn)
        if machine and machine.get("status") != "DELETING":  # deletion is asynchronous
            doomed.append(Doomed("state machine", arn_resource(arn)[1],
                                 lambda arn=arn: sfn.delete_state_machine(stateMachineArn=arn)))
    for name in _names(arns.get("function", [])):
        if _describe(lambda_client.get_function, FunctionName=name):
            doomed.append(Doomed("Lambda function", name,
                                 lambda name=name: lambda_client.delete_function(FunctionName=name)))
    return doomed


def alarm_doomed(cloudwatch, scope: Scope) -> list[Doomed]:
    """The workflow's CloudWatch alarms (:mod:`~scones.backends.aws.alarms`), found by name prefix and tag."""
    return [Doomed("CloudWatch alarm", name, lambda name=name: cloudwatch.delete_alarms(AlarmNames=[name]))
            for name, _ in scones_alarms(cloudwatch, scope)]


def role_doomed(iam, scope: Scope) -> list[Doomed]:
    return [Doomed("IAM role", name, lambda name=name: delete_role(iam, name)) for name in scones_roles(iam, scope)]


def data_doomed(storage: Storage, bucket: str) -> list[Doomed]:
    uris = data_uris(storage, bucket)
    if not uris:
        return []
    return [Doomed("data", f"{len(uris)} object(s) under s3://{bucket}/ ({', '.join(layout.DATA_PREFIXES)})",
                   lambda: storage.delete(uris))]


def run_cleanup(doomed: list[Doomed], *, dry_run: bool, scope: Scope, log: Callable[[str], None]) -> CleanupReport:
    """Delete (or, in a dry run, list) ``doomed`` in order; the report says what and what it cost per hour."""
    report = CleanupReport(dry_run=dry_run)
    if not doomed:
        log(f"nothing to delete: no resources tagged {PROJECT_TAG}={scope.project} in {scope.region}")
        return report
    verb = "would delete" if dry_run else "deleted"
    for item in doomed:
        if not dry_run:
            item.delete()
        report.deleted.append(item.describe())
        log(f"{verb} {item.describe()}")
    report.hourly_cost_usd = round(sum(item.hourly_usd for item in doomed), 4)
    _, unknown = hourly_cost({instance: count for item in doomed for instance, count in item.instances})
    priced = f"${report.hourly_cost_usd:.3f}/h (${report.hourly_cost_usd * 24 * 30:.0f} a month)"
    log(f"{len(doomed)} resource(s) {verb}; they {'bill' if dry_run else 'would have billed'} {priced}"
        + (f", plus {', '.join(unknown)} not in the price table" if unknown else ""))
    return report
