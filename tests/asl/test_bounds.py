"""Executions end where AWS ends them: the 25,000-event history quota.

https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
"""

from scones.asl import FAILED

LIMIT_CAUSE = "The execution reached the maximum number of history events (25000)."

SPIN = {"StartAt": "Loop", "States": {"Loop": {"Type": "Choice", "Default": "Loop",
                                                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}]},
                                       "Done": {"Type": "Succeed"}}}


def _ends_at_the_quota(execution):
    """The failure is event 25,000 itself, following the last real event; Catch and Retry did not apply."""
    last = execution.history[-1]
    assert (execution.status, execution.error, execution.cause) == (FAILED, "States.Runtime", LIMIT_CAUSE)
    assert len(execution.history) == 25_000
    assert last == {"timestamp": last["timestamp"], "type": "ExecutionFailed", "id": 25_000, "previousEventId": 24_999,
                    "executionFailedEventDetails": {"error": "States.Runtime", "cause": LIMIT_CAUSE}}


def test_a_choice_looping_to_itself_fails_at_the_history_quota(run):
    execution = run(SPIN, {"spin": True})
    _ends_at_the_quota(execution)
    assert execution.history[-2]["type"] == "ChoiceStateExited"


def test_a_retry_of_99999999_attempts_fails_at_the_history_quota(run, clock):
    definition = {"StartAt": "Flaky", "States": {"Flaky": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky", "Next": "Caught",
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 99_999_999, "IntervalSeconds": 1, "BackoffRate": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}, "Caught": {"Type": "Succeed"}}}

    def flaky(event, context):
        raise RuntimeError("down")

    execution = run(definition, {}, resources={"flaky": flaky})
    _ends_at_the_quota(execution)
    assert 8_000 < len(clock.sleeps) < 25_000
