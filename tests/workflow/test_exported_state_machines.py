"""The five state machines users really exported from the AWS console run locally with the
Scones handlers bound in call order. Needs ../shared (skipped, saying why, without it)."""

from __future__ import annotations

import json

import pytest

from scones.execution_inputs import ImageCase
from scones.workflow import bind_by_order, called_functions

from ..asl.seeds import SEED_NAMES, seed

# What each seed does with an image below the threshold (the grey one).
LOW_CONFIDENCE = {
    "Sudonuma__jsonpath_catch-succeed": ("SUCCEEDED", None),
    "angernarwa__jsonpath_payload-body": ("FAILED", "THRESHOLD_CONFIDENCE_NOT_MET"),
    "idarapatrick__jsonpath_payload-template_catch-fail": ("FAILED", None),
    "justtmanss__jsonata": ("FAILED", "THRESHOLD_CONFIDENCE_NOT_MET"),
    "sukruta230901__jsonpath_inputpath-body_retry": ("FAILED", "THRESHOLD_CONFIDENCE_NOT_MET"),
}


def test_all_five_seeds_are_known():
    assert sorted(SEED_NAMES) == sorted(LOW_CONFIDENCE)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_classifies_a_confident_image(name, deployed, backend):
    endpoint, _ = deployed
    workflow = backend.deploy_workflow(endpoint_name=endpoint.name, definition=seed(name))
    outcome = backend.start_execution(workflow, ImageCase(backend.bucket, "test/red_bike.png", 0).execution_input())
    assert outcome.status == "SUCCEEDED", outcome.cause
    body = outcome.output.get("body", outcome.output)
    body = json.loads(body) if isinstance(body, str) else body
    assert body["inferences"][0] > 0.999 and body["s3_key"] == "test/red_bike.png"


@pytest.mark.parametrize("name", SEED_NAMES)
def test_seed_handles_low_confidence_as_written(name, deployed, backend):
    endpoint, _ = deployed
    workflow = backend.deploy_workflow(endpoint_name=endpoint.name, definition=seed(name))
    outcome = backend.start_execution(workflow, ImageCase(backend.bucket, "test/grey_unsure.png", 0).execution_input())
    assert (outcome.status, outcome.error) == LOW_CONFIDENCE[name]


def test_functions_are_bound_in_call_order():
    definition = seed("sukruta230901__jsonpath_inputpath-body_retry")
    assert bind_by_order(definition) == {
        "arn:aws:lambda:us-east-1:731326286809:function:serializeImageData:$LATEST": "serializeImageData",
        "arn:aws:lambda:us-east-1:731326286809:function:classifyImageData:$LATEST": "classifyImage",
        "arn:aws:lambda:us-east-1:731326286809:function:filterLowConfidenceInferences:$LATEST": "filterInferences",
    }


def test_a_definition_without_three_functions_is_refused():
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    assert called_functions(definition) == []
    with pytest.raises(ValueError, match="calls 0 Lambda function"):
        bind_by_order(definition)
