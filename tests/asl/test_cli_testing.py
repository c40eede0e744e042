"""``scones asl run`` and ``scones asl test-state`` on the Step Functions Local example."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scones.asl.cli import asl_group

DATA = Path(__file__).parent / "data"
DEFINITION = str(DATA / "lambda_sqs_integration.asl.json")
CONFIG = str(DATA / "sfn_local_mock_config.json")


def invoke(*arguments):
    return CliRunner().invoke(asl_group, list(arguments))


def test_run_prints_the_output_and_writes_the_history(tmp_path):
    history = tmp_path / "history.json"
    result = invoke("run", DEFINITION, "--input", '{"orderId": 7}', "--mock-config", CONFIG, "--test-case", "RetryPath",
                    "--history", str(history))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
                                         "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}
    events = json.loads(history.read_text())["events"]
    assert [event["type"] for event in events].count("TaskFailed") == 3
    assert events[0]["executionStartedEventDetails"]["input"] == '{"orderId":7}'
    assert events[0]["timestamp"] == "2024-01-01T00:00:00+00:00"
    assert events[-1]["timestamp"] == "2024-01-01T00:00:14+00:00"  # 2 + 4 + 8 s of simulated retry waits


def test_run_exits_1_with_the_error_when_the_execution_fails(tmp_path):
    (tmp_path / "input.json").write_text("{}")
    result = invoke("run", DEFINITION, "--input", f"@{tmp_path / 'input.json'}", "--mock-config", CONFIG,
                    "--test-case", "HybridPath")
    assert result.exit_code == 1
    failure = json.loads(result.stdout)
    assert (failure["status"], failure["error"]) == ("FAILED", "States.Runtime")


def test_run_refuses_an_unusable_mock_config_with_exit_2():
    result = invoke("run", DEFINITION, "--mock-config", CONFIG, "--test-case", "SadPath")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"error: {CONFIG}: StateMachines.LambdaSQSIntegration has no test case 'SadPath'; "
                             f"it has HappyPath, HybridPath, RetryPath\n")
    bad_input = invoke("run", DEFINITION, "--input", "{oops")
    assert bad_input.exit_code == 2 and "not JSON" in bad_input.stderr


def test_test_state_prints_the_teststate_response():
    result = invoke("test-state", DEFINITION, "LambdaState", "--input", '{"a": 1}', "--inspection-level", "DEBUG",
                    "--mock", '{"errorOutput": {"error": "Lambda.TimeoutException", "cause": "slow"}}',
                    "--retrier-retry-count", "1")
    assert result.exit_code == 1  # not SUCCEEDED
    assert json.loads(result.stdout) == {
        "error": "Lambda.TimeoutException",
        "cause": "slow",
        "inspectionData": {
            "input": '{"a":1}',
            "afterInputPath": '{"a":1}',
            "afterParameters": '{"Payload":{"a":1},"FunctionName":"HelloWorldFunction"}',
            "errorDetails": {"retryIndex": 0, "retryBackoffIntervalSeconds": 4},
        },
        "status": "RETRIABLE",
    }
    succeeded = invoke("test-state", DEFINITION, "SQSState", "--mock", json.dumps({"result": '{"MessageId": "m"}'}))
    assert succeeded.exit_code == 0
    assert json.loads(succeeded.stdout) == {"output": '{"MessageId":"m"}', "status": "SUCCEEDED"}


def test_the_mock_config_defaults_to_sfn_mock_config_as_step_functions_local_reads_it():
    result = CliRunner(env={"SFN_MOCK_CONFIG": CONFIG}).invoke(asl_group, ["run", DEFINITION, "--test-case", "HappyPath"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["MessageId"] == "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"
