"""Loading definitions and SAM-style ${Name} substitutions.

https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-statemachine.html#sam-statemachine-definitionsubstitutions
"""

import json

import pytest
from click.testing import CliRunner

from scones.asl import DefinitionLoadError, SubstitutionError, load, substitute
from scones.asl.cli import asl_group

TEMPLATE = {
    "StartAt": "Classify",
    "States": {
        "Classify": {
            "Type": "Task",
            "Resource": "${ClassifyFunctionArn}",
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": "${Retries}"}],
            "End": True,
        }
    },
}


def test_load_accepts_dict_text_and_path(tmp_path):
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(TEMPLATE))
    assert load(TEMPLATE) == load(json.dumps(TEMPLATE)) == load(path) == load(str(path)) == TEMPLATE


def test_load_reports_bad_json_with_its_position():
    with pytest.raises(DefinitionLoadError, match="line 1 column 2"):
        load("{,}")


def test_load_reports_missing_file(tmp_path):
    with pytest.raises(DefinitionLoadError, match="cannot read definition file"):
        load(tmp_path / "missing.json")


def test_substitute_dict_keeps_types_of_whole_placeholders():
    result = substitute(TEMPLATE, {"ClassifyFunctionArn": "arn:aws:lambda:us-east-1:1:function:classify", "Retries": 3})
    task = result["States"]["Classify"]
    assert task["Resource"] == "arn:aws:lambda:us-east-1:1:function:classify"
    assert task["Retry"][0]["MaxAttempts"] == 3
    assert TEMPLATE["States"]["Classify"]["Resource"] == "${ClassifyFunctionArn}"  # the input is untouched


def test_substitute_text_inserts_values_in_place():
    text = '{"Comment": "bucket ${Bucket}/${Prefix}", "Count": ${Count}}'
    assert json.loads(substitute(text, {"Bucket": "b", "Prefix": "p", "Count": 2})) == {"Comment": "bucket b/p", "Count": 2}


def test_unfilled_placeholders_are_named():
    with pytest.raises(SubstitutionError) as raised:
        substitute(TEMPLATE, {})
    assert raised.value.missing == ["ClassifyFunctionArn", "Retries"]
    assert "${ClassifyFunctionArn}, ${Retries}" in str(raised.value)


def test_escaped_placeholder_stays_literal():
    assert substitute({"Comment": "${!Literal} and ${X}"}, {"X": "x"}) == {"Comment": "${Literal} and x"}


def write(tmp_path, definition) -> str:
    path = tmp_path / "machine.asl.json"
    path.write_text(json.dumps(definition))
    return str(path)


def test_cli_validate_prints_valid_and_state_count(tmp_path):
    path = write(tmp_path, {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}})
    result = CliRunner().invoke(asl_group, ["validate", path])
    assert result.exit_code == 0
    assert result.output == f"{path}: valid (2 states)\n"


def test_cli_validate_prints_each_diagnostic_and_exits_1(tmp_path):
    path = write(tmp_path, {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Classfy"}, "Classify": {"Type": "Succeed"}}})
    result = CliRunner().invoke(asl_group, ["validate", path])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "/States/A/Next: Next 'Classfy' does not name a state of this state machine; did you mean 'Classify'?",
        "/States/Classify: state 'Classify' is unreachable: no Next, Default, Choice or Catch leads to it from 'A'",
    ]


def test_cli_validate_substitutes_before_checking(tmp_path):
    path = write(tmp_path, TEMPLATE)
    unfilled = CliRunner().invoke(asl_group, ["validate", path])
    assert unfilled.exit_code == 1
    assert "${ClassifyFunctionArn}" in unfilled.output
    filled = CliRunner().invoke(
        asl_group,
        ["validate", path, "--substitute", "ClassifyFunctionArn=arn:aws:lambda:us-east-1:1:function:f", "--substitute", "Retries=2"],
    )
    # "2" arrives as text: MaxAttempts must be an integer, and validation says where.
    assert filled.exit_code == 1
    assert filled.output == "/States/Classify/Retry/0/MaxAttempts: must be an integer from 0 to 99999999\n"


def test_cli_rejects_malformed_substitution(tmp_path):
    result = CliRunner().invoke(asl_group, ["validate", write(tmp_path, TEMPLATE), "--substitute", "NoEquals"])
    assert result.exit_code == 2
    assert "'NoEquals' is not NAME=VALUE" in result.output
