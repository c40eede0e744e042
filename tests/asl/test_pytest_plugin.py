"""The pytest plugin as a user meets it: installed by the entry point, used from a test file of their own."""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).parent / "data"


def user_project(pytester):
    shutil.copy(DATA / "lambda_sqs_integration.asl.json", pytester.path / "workflow.asl.json")
    shutil.copy(DATA / "sfn_local_mock_config.json", pytester.path / "MockConfigFile.json")


def test_the_asl_fixture_is_available_without_any_conftest(pytester):
    user_project(pytester)
    pytester.makepyfile(test_user="""
        def test_retry_path(asl):
            execution = asl.run("workflow.asl.json", {"order": 1},
                                mock_config="MockConfigFile.json", test_case="RetryPath")
            assert execution.status == "SUCCEEDED"
            assert execution.path == ["LambdaState", "SQSState"]
            assert [retry.wait_seconds for retry in execution.retries("LambdaState")] == [2, 4, 8]
            assert execution.state("SQSState").attempts[0].output["MessageId"].startswith("3bcb6e8e")
            assert asl.clock.sleeps == [2, 4, 8]
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_failed_status_assertion_prints_the_path_and_the_failing_state_not_the_history(pytester):
    user_project(pytester)
    pytester.makepyfile(test_user="""
        import json

        def test_sad_path(asl):
            config = json.load(open("MockConfigFile.json"))
            config["MockedResponses"]["MockedLambdaRetry"]["3"] = {
                "Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out again."}}
            execution = asl.run("workflow.asl.json", {"order": 1}, mock_config=config, test_case="RetryPath")
            assert execution.status == "SUCCEEDED"
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E       assert 'FAILED' == 'SUCCEEDED'",
        "E         execution FAILED: Lambda.TimeoutException: Lambda timed out again.",
        "E         path: LambdaState",
        """E         failing state 'LambdaState': input {"order": 1}""",
        "E           4 attempt(s): Lambda.ResourceNotReadyException, Lambda.TimeoutException, Lambda.TimeoutException, "
        "Lambda.TimeoutException",
    ])
    assert "truncated" not in result.stdout.str()
    assert "TaskScheduled" not in result.stdout.str()


def test_the_local_backend_fixture_stores_on_an_embedded_s3(pytester):
    pytester.makepyfile(test_user="""
        def test_backend(scones_local_backend, scones_embedded_s3_url):
            backend = scones_local_backend
            uri = f"s3://{backend.bucket}/probe.txt"
            backend.storage.put(uri, b"hello")
            assert backend.storage.get(uri) == b"hello"
            assert backend.s3_endpoint.url == scones_embedded_s3_url
            assert scones_embedded_s3_url.startswith("http://127.0.0.1:")
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
