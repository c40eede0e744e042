"""The Step Functions workflow: the repository's ASL definition with real function ARNs, and its executions.

The definition is ``asl/scones_workflow.asl.json``, the very file the local
interpreter runs; only its ``${...Arn}`` placeholders differ between the two.
A state machine is created once and updated only when its definition or role
changes. An execution is started, waited for (injectable sleep), and read
back with DescribeExecution and every page of GetExecutionHistory.
"""

from __future__ import annotations

import json
from typing import Callable

import botocore.exceptions

from scones.backend import ExecutionOutcome
from scones.backends.aws.errors import SconesAwsError, is_not_found
from scones.backends.aws.naming import PROJECT_TAG, Scope
from scones.backends.aws.waiters import Poller

STATE_MACHINE_TYPE = "STANDARD"
EXECUTION_POLL_SECONDS = 1.0
EXECUTION_WAIT_SECONDS = 15 * 60


def _tags(sfn, arn: str) -> dict:
    return {tag["key"]: tag["value"] for tag in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}


def ensure_state_machine(sfn, scope: Scope, *, definition: dict, role_arn: str, poller: Poller,
                         log: Callable[[str], None], batch: bool = False) -> str:
    """Create the state machine (the workflow's, or with ``batch`` the batch one), or update it; returns its ARN."""
    arn = scope.batch_state_machine_arn if batch else scope.state_machine_arn
    name = scope.batch_state_machine_name if batch else scope.state_machine_name
    try:
        current = sfn.describe_state_machine(stateMachineArn=arn)
    except botocore.exceptions.ClientError as error:
        if not is_not_found(error):
            raise
        created = poller.retry_while_role_propagates(lambda: sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=role_arn,
            type=STATE_MACHINE_TYPE, tags=scope.tag_list_lower))
        log(f"state machine {name} created")
        return created["stateMachineArn"]
    if not scope.owns(_tags(sfn, arn)):
        raise SconesAwsError(
            f"a state machine named {name} exists but is not tagged {PROJECT_TAG}={scope.project}",
            "Scones does not modify state machines it did not create: pass a different --name-prefix",
            code="NotScones")
    changes = {}
    if json.loads(current["definition"]) != definition:
        changes["definition"] = json.dumps(definition)
    if current["roleArn"] != role_arn:
        changes["roleArn"] = role_arn
    if changes:
        poller.retry_while_role_propagates(lambda: sfn.update_state_machine(stateMachineArn=arn, **changes))
        log(f"state machine {name}: {' and '.join(sorted(changes))} updated")
    return arn


def execution_history(sfn, execution_arn: str) -> tuple[dict, ...]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return tuple(event for page in pages for event in page["events"])


def _json_or_text(value: str | None):
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def run_execution(sfn, state_machine_arn: str, execution_input: dict, *, name: str, poller: Poller) -> ExecutionOutcome:
    """Start an execution and wait for its end; the outcome as the API reports it."""
    try:
        execution_arn = sfn.start_execution(stateMachineArn=state_machine_arn, name=name,
                                            input=json.dumps(execution_input))["executionArn"]
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            raise SconesAwsError(f"an execution named {name} already ran on this state machine",
                                 "execution names are unique per state machine for 90 days: pass a new name",
                                 code="ExecutionAlreadyExists") from error
        raise
    described = poller.until(lambda: sfn.describe_execution(executionArn=execution_arn),
                             lambda d: d["status"] != "RUNNING", what=f"execution {name}",
                             interval=EXECUTION_POLL_SECONDS, timeout=EXECUTION_WAIT_SECONDS,
                             status=lambda d: d["status"])
    return ExecutionOutcome(
        name=name,
        input=execution_input,
        status=described["status"],
        output=_json_or_text(described.get("output")),
        error=described.get("error"),
        cause=described.get("cause"),
        history=execution_history(sfn, execution_arn),
    )
