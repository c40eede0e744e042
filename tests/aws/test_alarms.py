"""CloudWatch alarms: the failed-executions alarm of a deployment, the published low-confidence share, cleanup.

Request shapes under moto; tests/emulated runs the same code against MiniStack's CloudWatch.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.backends.aws import alarms
from scones.backends.aws.naming import Scope
from scones.errors import InputError

from .aws_fakes import ACCOUNT, REGION

MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:scones-workflow"
TAGS = [{"Key": "scones:project", "Value": "scones"}]


@given(st.integers(1, 10_000), st.integers(10, 86_400), st.sampled_from(["", "team-a-"]))
def test_the_failed_executions_alarm_request(failed, period, prefix):
    scope = Scope(account=ACCOUNT, region=REGION, prefix=prefix)
    request = alarms.failed_executions_alarm(scope, MACHINE_ARN, failed_executions=failed, period_seconds=period)
    assert request["AlarmName"] == f"{prefix}scones-workflow-failed-executions"
    assert request["AlarmName"].startswith(alarms.alarm_names_prefix(scope))
    assert {key: request[key] for key in ("Namespace", "MetricName", "Dimensions", "Statistic", "Period",
                                          "EvaluationPeriods", "Threshold", "ComparisonOperator")} == {
        "Namespace": "AWS/States", "MetricName": "ExecutionsFailed",
        "Dimensions": [{"Name": "StateMachineArn", "Value": MACHINE_ARN}], "Statistic": "Sum", "Period": period,
        "EvaluationPeriods": 1, "Threshold": float(failed), "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
    assert request["Tags"] == TAGS


def described(session, name: str) -> dict:
    (alarm,) = session.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarm


def test_deploying_the_workflow_creates_its_alarm_tagged(make_backend, session):
    backend = make_backend(alarm_failed_executions=3, alarm_period_seconds=60)
    info = backend.deploy_workflow(endpoint_name="scones-endpoint")
    alarm = described(session, "scones-workflow-failed-executions")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"], alarm["Period"]) == (
        "AWS/States", "ExecutionsFailed", 3.0, 60)
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": info.state_machine}]
    assert session.client("cloudwatch").list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"] == TAGS
    backend.deploy_workflow(endpoint_name="scones-endpoint")  # a redeploy replaces it, no second alarm
    assert len(session.client("cloudwatch").describe_alarms()["MetricAlarms"]) == 1


def test_publishing_the_low_confidence_share(backend, session, recorder):
    name = backend.publish_low_confidence_share("scones-endpoint", 0.35, fail_above=0.25)
    assert name == "scones-low-confidence-scones-endpoint"
    (put,) = recorder.of("PutMetricData")
    (datum,) = put["MetricData"]
    assert put["Namespace"] == "Scones" and datum["MetricName"] == "LowConfidenceShare"
    assert datum["Value"] == 0.35 and datum["Dimensions"] == [{"Name": "EndpointName", "Value": "scones-endpoint"}]
    assert abs((datum["Timestamp"] - datetime.now(timezone.utc)).total_seconds()) < 60
    alarm = described(session, name)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Scones", "LowConfidenceShare", 0.25, "GreaterThanThreshold")
    assert backend.publish_low_confidence_share("scones-endpoint", 0.1) == name
    assert described(session, name)["Threshold"] == alarms.DEFAULT_FAIL_ABOVE


def test_cleanup_deletes_scones_alarms_and_only_those(backend, session):
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    backend.publish_low_confidence_share("scones-endpoint", 0.5)
    cloudwatch = session.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName="scones-someone-elses", Namespace="X", MetricName="Y", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    assert sorted(i for i in backend.cleanup(dry_run=True).deleted if i.startswith("CloudWatch")) == [
        "CloudWatch alarm scones-low-confidence-scones-endpoint", "CloudWatch alarm scones-workflow-failed-executions"]
    assert len(cloudwatch.describe_alarms()["MetricAlarms"]) == 3  # a dry run deletes nothing
    backend.cleanup()
    assert [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]] == ["scones-someone-elses"]
    assert not [i for i in backend.cleanup().deleted if i.startswith("CloudWatch")]


@pytest.mark.parametrize("settings", [{"alarm_failed_executions": 0}, {"alarm_period_seconds": 5}])
def test_bad_alarm_settings_are_refused_in_one_line(make_backend, settings):
    with pytest.raises(InputError, match="^alarm settings: --alarm-failed-executions must be at least 1"):
        make_backend(**settings)
