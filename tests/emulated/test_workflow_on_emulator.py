"""The aws backend's real deployment on an AWS emulator: an execution there next to scones.asl's, and cleanup.

The same definition (``asl/scones_workflow.asl.json`` with the deployed ARNs),
the same three handlers and the same stand-in endpoint runtime run once in
the emulator's Lambda and Step Functions and once in scones.asl. Their
histories are compared event by event after :data:`KNOWN_DIFFERENCES` are
applied to scones.asl's (which follows AWS's shapes): a new difference, or
a fixed one, fails the test.
"""

from __future__ import annotations

import json
from typing import Callable

import pytest

from scones.asl import Resources, StateMachine
from scones.backends.aws import function_environments, sdk
from scones.backends.aws.naming import PROJECT_TAG
from scones.backends.aws.roles import scones_roles
from scones.clients import make_client
from scones.function_environment import configured_handler
from scones.workflow import handler

from ..workflow.colour_model import expected_probabilities
from .conftest import BUCKET, ENDPOINT, REGION, RED_BIKE_KEY

pytestmark = pytest.mark.localstack

HANDLER_ERROR = "Runtime.HandlerError"
ALGORITHM_IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"


def _drop_task_started(events: list[dict]) -> list[dict]:
    return [event for event in events if event["type"] != "TaskStarted"]


def _renumber(events: list[dict]) -> list[dict]:
    return [{**event, "id": number} for number, event in enumerate(events, start=1)]


def _details(transform: Callable[[str, dict], dict]) -> Callable[[list[dict]], list[dict]]:
    """A history transform applying ``transform(event type, details)`` to every event's details."""
    return lambda events: [{**event, "details": transform(event["type"], event["details"])} for event in events]


def _without(*fields: str):
    return _details(lambda _, details: {key: value for key, value in details.items() if key not in fields})


def _full_resource_arn(kind: str, details: dict) -> dict:
    if "resourceType" not in details:
        return details
    dropped = ("region", "parameters") if kind == "TaskScheduled" else ("resourceType",)
    kept = {key: value for key, value in details.items() if key not in dropped}
    return {**kept, "resource": f"arn:aws:states:::{details['resourceType']}:{details['resource']}"}


def _invoke_result_of_status_and_payload(kind: str, details: dict) -> dict:
    if kind != "TaskSucceeded":
        return details
    output = details["output"]
    return {**details, "output": {"StatusCode": output["StatusCode"], "Payload": output["Payload"]}}


def _handler_error(kind: str, details: dict) -> dict:
    if "error" not in details:
        return details
    cause = details["cause"]
    return {**details, "error": HANDLER_ERROR,
            "cause": {"errorMessage": cause["errorMessage"], "errorType": HANDLER_ERROR}}


# (what differs, scones.asl and AWS, MiniStack 1.5.33, the transform of scones.asl's history that removes it)
KNOWN_DIFFERENCES = (
    ("TaskStarted events", "TaskScheduled, TaskStarted, TaskSucceeded/TaskFailed",
     "no TaskStarted", _drop_task_started),
    ("event ids", "consecutive, counting TaskStarted", "consecutive without it", _renumber),
    ("previousEventId", "on every event", "absent", lambda events: [
        {key: value for key, value in event.items() if key != "previousEventId"} for event in events]),
    ("inputDetails/outputDetails", '{"truncated": false} beside each input and output', "absent",
     _without("inputDetails", "outputDetails")),
    ("Task events' resource", 'resourceType "lambda", resource "invoke", and on TaskScheduled region and '
     "parameters (the resolved FunctionName and Payload)",
     'resource "arn:aws:states:::lambda:invoke"; no region or parameters, resourceType on TaskScheduled only',
     _details(_full_resource_arn)),
    ("lambda:invoke result in TaskSucceeded", "ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, "
     "StatusCode", "StatusCode and Payload only", _details(_invoke_result_of_status_and_payload)),
    ("a handler's exception", 'error is its type ("NoSuchKey"); cause has errorMessage, errorType, requestId, '
     "stackTrace", f'error "{HANDLER_ERROR}"; cause has errorMessage and errorType "{HANDLER_ERROR}" only',
     _details(_handler_error)),
    ("JSON text in events", 'compact (",", ":")', 'Python\'s default (", ", ": "): compared parsed, not as text',
     lambda events: events),
    ("DescribeExecution output of a failed execution", "none", '{"Error": …, "Cause": …}', lambda events: events),
)


def _parsed(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def comparable(history) -> list[dict]:
    """Each event's type, id, previousEventId and details (JSON text parsed); timestamps dropped."""
    events = []
    for event in history:
        details_key = next(key for key in event if key.endswith("EventDetails"))
        details = {key: _parsed(value) for key, value in event[details_key].items()}
        events.append({"type": event["type"], "id": event["id"], "details": details,
                       **({"previousEventId": event["previousEventId"]} if "previousEventId" in event else {})})
    return events


def as_ministack_records(history) -> list[dict]:
    events = comparable(history)
    for _, _, _, transform in KNOWN_DIFFERENCES:
        events = transform(events)
    return events


def run_on_scones_asl(emulated, execution_input: dict):
    """The deployed definition, run by scones.asl with the same handlers configured as the deployed functions."""
    scope = emulated.backend.scope
    variables = function_environments(ENDPOINT, emulated.workflow.threshold, emulated.environment)
    resources = Resources(region=scope.region, account=scope.account)
    for logical, arn in emulated.workflow.functions.items():
        resources.add_lambda(arn, configured_handler(handler(logical), {**emulated.environment, **variables[logical]}))
    role_arn = make_client("stepfunctions").describe_state_machine(
        stateMachineArn=emulated.workflow.state_machine)["roleArn"]
    return StateMachine(emulated.workflow.definition).execute(execution_input, resources=resources, role_arn=role_arn)


def execution_input(key: str) -> dict:
    return {"image_data": "", "s3_bucket": BUCKET, "s3_key": key}


def test_the_sdk_names_the_default_bucket_through_the_emulators_sts(emulated):
    account = make_client("sts").get_caller_identity()["Account"]
    assert sdk.default_bucket_name(emulated.backend.session) == f"sagemaker-{REGION}-{account}"


def test_the_deployed_functions_are_given_the_callers_endpoint_overrides(emulated):
    variables = make_client("lambda").get_function_configuration(
        FunctionName=emulated.workflow.functions["classifyImage"])["Environment"]["Variables"]
    assert variables == {"ENDPOINT_NAME": ENDPOINT, "AWS_ENDPOINT_URL": emulated.environment["AWS_ENDPOINT_URL"],
                         "AWS_ENDPOINT_URL_SAGEMAKER": emulated.environment["AWS_ENDPOINT_URL_SAGEMAKER"],
                         "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": emulated.runtime.url}


def test_the_deployed_classifier_reaches_the_stand_in_runtime_and_matches_scones_asl(emulated):
    outcome = emulated.backend.start_execution(emulated.workflow, execution_input(RED_BIKE_KEY))
    local = run_on_scones_asl(emulated, execution_input(RED_BIKE_KEY))
    assert (outcome.status, outcome.error, outcome.cause) == ("SUCCEEDED", None, None)
    assert outcome.output["body"]["inferences"] == pytest.approx(expected_probabilities(255, 0), abs=1e-6)
    assert outcome.output == local.output_value
    assert comparable(outcome.history) == as_ministack_records(local.history)


def test_a_failing_handler_differs_only_as_known(emulated):
    outcome = emulated.backend.start_execution(emulated.workflow, execution_input("test/no-such-image.png"))
    local = run_on_scones_asl(emulated, execution_input("test/no-such-image.png"))
    assert (local.status, local.error) == ("FAILED", "NoSuchKey")
    assert (outcome.status, outcome.error) == ("FAILED", HANDLER_ERROR)
    assert json.loads(outcome.cause) == {"errorMessage": json.loads(local.cause)["errorMessage"],
                                         "errorType": HANDLER_ERROR}
    assert outcome.output == {"Error": outcome.error, "Cause": outcome.cause}
    assert comparable(outcome.history) == as_ministack_records(local.history)


def test_the_alarms_exist_in_the_emulators_cloudwatch_tagged(emulated):
    cloudwatch = make_client("cloudwatch")
    (failed,) = cloudwatch.describe_alarms(AlarmNames=["scones-workflow-failed-executions"])["MetricAlarms"]
    assert (failed["Namespace"], failed["MetricName"], failed["Threshold"], failed["Period"],
            failed["ComparisonOperator"]) == ("AWS/States", "ExecutionsFailed", 1.0, 300,
                                               "GreaterThanOrEqualToThreshold")
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": emulated.workflow.state_machine}]
    assert cloudwatch.list_tags_for_resource(ResourceARN=failed["AlarmArn"])["Tags"] == [
        {"Key": PROJECT_TAG, "Value": emulated.backend.scope.project}]

    name = emulated.backend.publish_low_confidence_share(ENDPOINT, 0.4, fail_above=0.3)
    (low,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert (low["Namespace"], low["MetricName"], low["Threshold"]) == ("Scones", "LowConfidenceShare", 0.3)
    (metric,) = cloudwatch.list_metrics(Namespace="Scones", MetricName="LowConfidenceShare")["Metrics"]
    assert metric["Dimensions"] == [{"Name": "EndpointName", "Value": ENDPOINT}]


def test_cleanup_leaves_nothing_tagged_in_either_service_and_a_second_deletes_nothing(emulated):
    sagemaker = make_client("sagemaker")
    roles = scones_roles(make_client("iam"), emulated.backend.scope)
    assert len(roles) == 4
    model = sagemaker.create_model(ModelName="scones-endpoint-model-1", ExecutionRoleArn="arn:aws:iam::000000000000:role/x",
                                   PrimaryContainer={"Image": ALGORITHM_IMAGE},
                                   Tags=emulated.backend.scope.tag_list)["ModelArn"]
    emulated.backend.publish_low_confidence_share(ENDPOINT, 0.4)  # its alarm is cleanup's too
    first = emulated.backend.cleanup()
    assert sorted(first.deleted) == sorted(
        ["model scones-endpoint-model-1", f"state machine {emulated.backend.scope.state_machine_name}",
         "CloudWatch alarm scones-workflow-failed-executions", f"CloudWatch alarm scones-low-confidence-{ENDPOINT}"]
        + [f"Lambda function {name}" for name in ("classifyImage", "filterInferences", "serializeImageData")]
        + [f"IAM role {name}" for name in roles])
    tagging = make_client("resourcegroupstaggingapi")
    project = emulated.backend.scope.project
    tagged = tagging.get_resources(TagFilters=[{"Key": PROJECT_TAG, "Values": [project]}])["ResourceTagMappingList"]
    # Buckets hold data, kept unless --delete-data (another test of the session may have staged one).
    assert [entry["ResourceARN"] for entry in tagged if not entry["ResourceARN"].startswith("arn:aws:s3:::")] == []
    assert sagemaker.list_models()["Models"] == []
    assert make_client("cloudwatch").describe_alarms(AlarmNamePrefix="scones-")["MetricAlarms"] == []
    assert emulated.backend.cleanup().deleted == []
    assert model.endswith("model/scones-endpoint-model-1")
