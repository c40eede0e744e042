"""set_threshold on AWS: UpdateFunctionConfiguration of the filter function alone (request shapes under moto)."""

from __future__ import annotations

import pytest

from scones.backends.aws.errors import SconesAwsError


def snapshot(session) -> dict:
    """Everything set_threshold must leave alone, and the filter's variables."""
    lambdas, states = session.client("lambda"), session.client("stepfunctions")
    configurations = {name: lambdas.get_function_configuration(FunctionName=name)
                      for name in ("serializeImageData", "classifyImage", "filterInferences")}
    (machine,) = states.list_state_machines()["stateMachines"]
    definition = states.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]
    return {"functions": {name: (c["CodeSha256"], c["Role"], c["Handler"], c.get("Environment"))
                          for name, c in configurations.items()},
            "definition": definition}


def test_only_the_filter_functions_threshold_changes(backend, session, recorder):
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    before = snapshot(session)
    backend.set_threshold(0.8)
    after = snapshot(session)

    (update,) = recorder.of("UpdateFunctionConfiguration")
    assert update == {"FunctionName": "filterInferences", "Environment": {"Variables": {"THRESHOLD": "0.8"}}}
    assert after["definition"] == before["definition"]
    for name in ("serializeImageData", "classifyImage"):
        assert after["functions"][name] == before["functions"][name]
    assert after["functions"]["filterInferences"][3] == {"Variables": {"THRESHOLD": "0.8"}}
    assert backend.filter_threshold() == 0.8
    assert not recorder.of("UpdateEndpoint") and not recorder.of("UpdateStateMachine")


def test_a_redeploy_keeps_the_configured_threshold_unless_one_is_given(backend):
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    backend.set_threshold(0.75)
    assert backend.deploy_workflow(endpoint_name="scones-endpoint").threshold == 0.75
    assert backend.filter_threshold() == 0.75
    assert backend.deploy_workflow(endpoint_name="scones-endpoint", threshold=0.9).threshold == 0.9
    assert backend.filter_threshold() == 0.9


def test_other_variables_of_the_filter_are_kept(backend, session):
    backend.deploy_workflow(endpoint_name="scones-endpoint")
    session.client("lambda").update_function_configuration(
        FunctionName="filterInferences", Environment={"Variables": {"THRESHOLD": "0.93", "EXTRA": "kept"}})
    backend.set_threshold(0.6)
    variables = session.client("lambda").get_function_configuration(FunctionName="filterInferences")["Environment"]
    assert variables == {"Variables": {"THRESHOLD": "0.6", "EXTRA": "kept"}}


def test_before_a_deploy_there_is_nothing_to_set(backend):
    assert backend.filter_threshold() is None
    with pytest.raises(SconesAwsError, match="the Lambda function filterInferences is not deployed"):
        backend.set_threshold(0.9)
