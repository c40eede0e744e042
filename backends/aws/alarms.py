"""CloudWatch alarms on the workflow: failed executions, and the captured low-confidence share.

The course's stretch goal is an alarm on low-confidence errors. Two signals say it:

- the state machine's ``ExecutionsFailed`` (namespace ``AWS/States``, dimension
  ``StateMachineArn``), which Step Functions publishes itself: every execution
  whose filter refused the image fails, so N failures in a period is the alarm;
- the share of captured inferences under the threshold, which only the captures
  know: ``scones monitor --publish-metrics`` puts it as the custom metric
  ``Scones/LowConfidenceShare`` (dimension ``EndpointName``), with its own alarm
  at ``--fail-above``, the same figure that makes ``monitor`` exit 3 locally.

Both alarms carry the project tag; cleanup finds them by name prefix and deletes
only those whose tags say they are Scones's. The request builders are pure.
"""

from __future__ import annotations

from datetime import datetime

from scones.backends.aws.naming import Scope

FAILED_EXECUTIONS_ALARM = "scones-workflow-failed-executions"
LOW_CONFIDENCE_ALARM = "scones-low-confidence-"  # + the endpoint's name
METRICS_NAMESPACE = "Scones"
LOW_CONFIDENCE_METRIC = "LowConfidenceShare"
DEFAULT_FAILED_EXECUTIONS = 1
DEFAULT_PERIOD_SECONDS = 300
DEFAULT_FAIL_ABOVE = 0.2  # the low-confidence alarm's threshold when --fail-above is not given


def alarm_names_prefix(scope: Scope) -> str:
    return f"{scope.prefix}scones-"


def failed_executions_alarm(scope: Scope, state_machine_arn: str, *, failed_executions: int,
                            period_seconds: int) -> dict:
    """PutMetricAlarm: ``failed_executions`` or more failed executions of the state machine in one period."""
    return {
        "AlarmName": f"{scope.prefix}{FAILED_EXECUTIONS_ALARM}",
        "AlarmDescription": f"Scones: {failed_executions}+ failed executions of {state_machine_arn} in "
                            f"{period_seconds} s (images under the filter's threshold fail their execution)",
        "Namespace": "AWS/States", "MetricName": "ExecutionsFailed",
        "Dimensions": [{"Name": "StateMachineArn", "Value": state_machine_arn}],
        "Statistic": "Sum", "Period": period_seconds, "EvaluationPeriods": 1,
        "Threshold": float(failed_executions), "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching", "Tags": scope.tag_list,
    }


def low_confidence_alarm(scope: Scope, endpoint_name: str, *, fail_above: float, period_seconds: int) -> dict:
    """PutMetricAlarm: the published low-confidence share of ``endpoint_name`` above ``fail_above``."""
    return {
        "AlarmName": f"{scope.prefix}{LOW_CONFIDENCE_ALARM}{endpoint_name}",
        "AlarmDescription": f"Scones: more than {fail_above:.0%} of {endpoint_name}'s captured inferences "
                            "under the filter's threshold (published by scones monitor --publish-metrics)",
        "Namespace": METRICS_NAMESPACE, "MetricName": LOW_CONFIDENCE_METRIC,
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
        "Statistic": "Maximum", "Period": period_seconds, "EvaluationPeriods": 1,
        "Threshold": fail_above, "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching", "Tags": scope.tag_list,
    }


def low_confidence_datum(endpoint_name: str, share: float, at: datetime) -> dict:
    """PutMetricData: one value of the low-confidence share (0–1) at ``at``."""
    return {"Namespace": METRICS_NAMESPACE,
            "MetricData": [{"MetricName": LOW_CONFIDENCE_METRIC,
                            "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
                            "Timestamp": at, "Value": share, "Unit": "None"}]}


def ensure_alarm(cloudwatch, request: dict) -> bool:
    """PutMetricAlarm unless the alarm already has exactly these settings; True if it was put.

    A second deploy then changes nothing, as for the functions and the state machine.
    """
    current = cloudwatch.describe_alarms(AlarmNames=[request["AlarmName"]])["MetricAlarms"]
    settings = {key: value for key, value in request.items() if key != "Tags"}
    if current and all(current[0].get(key) == value for key, value in settings.items()):
        return False
    cloudwatch.put_metric_alarm(**request)
    return True


def scones_alarms(cloudwatch, scope: Scope) -> list[tuple[str, str]]:
    """(name, ARN) of every metric alarm named with Scones's prefix and tagged with this project."""
    found = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=alarm_names_prefix(scope),
                                                                      AlarmTypes=["MetricAlarm"]):
        for alarm in page["MetricAlarms"]:
            tags = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
            if scope.owns({tag["Key"]: tag["Value"] for tag in tags}):
                found.append((alarm["AlarmName"], alarm["AlarmArn"]))
    return found
