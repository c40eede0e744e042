"""start_execution(): StartExecution, a wait with the fake sleep, DescribeExecution and every history page.

moto leaves an execution RUNNING forever (it does not run Lambda without
Docker), so each test moves it to its end from the fake sleep, as AWS would.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import Stubber
from moto.stepfunctions.models import stepfunctions_backends

from .aws_fakes import ACCOUNT, BUCKET, REGION
from scones.backends.aws.errors import SconesAwsError
from scones.backends.aws.state_machines import execution_history

INPUT = {"s3_bucket": BUCKET, "s3_key": "test/bicycle_s_000513.png"}


@pytest.fixture
def workflow(backend):
    return backend.deploy_workflow(endpoint_name="scones-endpoint")


def finish_on_sleep(fake_clock, *, after: int, status: str, output=None, error=None, cause=None):
    def finish(count):
        if count == after:
            for machine in stepfunctions_backends[ACCOUNT][REGION].state_machines:
                for execution in machine.executions:
                    execution.status, execution.output = status, output
                    execution.error, execution.cause = error, cause
                    execution.stop_date = datetime.now(timezone.utc)

    fake_clock.on_sleep.append(finish)


def test_a_succeeded_execution(backend, workflow, fake_clock, recorder):
    output = {"statusCode": 200, "body": {"inferences": [0.97, 0.03]}}
    finish_on_sleep(fake_clock, after=3, status="SUCCEEDED", output=json.dumps(output))
    outcome = backend.start_execution(workflow, INPUT, name="scones-0-0000")

    assert recorder.of("StartExecution") == [{"stateMachineArn": workflow.state_machine, "name": "scones-0-0000",
                                              "input": json.dumps(INPUT)}]
    assert fake_clock.sleeps == [1.0, 1.0, 1.0]
    assert outcome.name == "scones-0-0000" and outcome.input == INPUT
    assert outcome.status == "SUCCEEDED" and outcome.output == output
    assert outcome.error is None and outcome.cause is None
    assert [event["type"] for event in outcome.history] == ["ExecutionStarted", "PassStateEntered",
                                                           "PassStateExited", "ExecutionSucceeded"]


def test_a_failed_execution_reports_error_and_cause(backend, workflow, fake_clock):
    finish_on_sleep(fake_clock, after=1, status="FAILED", error="THRESHOLD_CONFIDENCE_NOT_MET",
                    cause='{"errorMessage": "top confidence 0.6100 (class 0) is below the threshold 0.93"}')
    outcome = backend.start_execution(workflow, INPUT, name="low-confidence")
    assert outcome.status == "FAILED" and outcome.output is None
    assert outcome.error == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert "below the threshold 0.93" in outcome.cause


def test_a_reused_name_says_names_are_unique(backend, workflow, fake_clock):
    finish_on_sleep(fake_clock, after=1, status="SUCCEEDED", output="{}")
    backend.start_execution(workflow, INPUT, name="scones-0-0000")
    with pytest.raises(SconesAwsError, match="an execution named scones-0-0000 already ran") as caught:
        backend.start_execution(workflow, {**INPUT, "s3_key": "test/other.png"}, name="scones-0-0000")
    assert "unique per state machine for 90 days" in caught.value.advice


def test_an_unnamed_execution_gets_a_unique_name(backend, workflow, fake_clock):
    finish_on_sleep(fake_clock, after=1, status="SUCCEEDED", output="{}")
    outcome = backend.start_execution(workflow, INPUT)
    assert outcome.name.startswith("scones-execution-")


def test_a_stuck_execution_times_out_with_advice(backend, workflow, fake_clock):
    fake_clock.on_sleep.append(lambda _: setattr(fake_clock, "now", fake_clock.now + 99))  # a slow minute per poll
    with pytest.raises(SconesAwsError, match="gave up waiting for execution stuck after 900 s") as caught:
        backend.start_execution(workflow, INPUT, name="stuck")
    assert "AWS console" in caught.value.advice
    assert fake_clock.now >= 900 and len(fake_clock.sleeps) == 9


def test_history_reads_every_page(mocked_aws):
    client = boto3.client("stepfunctions", region_name=REGION)
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:scones-workflow:x"
    moment = datetime(2026, 11, 23, tzinfo=timezone.utc)
    pages = [[{"timestamp": moment, "type": "ExecutionStarted", "id": 1, "previousEventId": 0}],
             [{"timestamp": moment, "type": "TaskStateEntered", "id": 2, "previousEventId": 1}],
             [{"timestamp": moment, "type": "ExecutionSucceeded", "id": 3, "previousEventId": 2}]]
    with Stubber(client) as stub:
        stub.add_response("get_execution_history", {"events": pages[0], "nextToken": "t1"}, {"executionArn": arn})
        stub.add_response("get_execution_history", {"events": pages[1], "nextToken": "t2"},
                          {"executionArn": arn, "nextToken": "t1"})
        stub.add_response("get_execution_history", {"events": pages[2]}, {"executionArn": arn, "nextToken": "t2"})
        history = execution_history(client, arn)
    assert [event["id"] for event in history] == [1, 2, 3]
