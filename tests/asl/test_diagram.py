"""The workflow graph: every state and transition drawn, nothing overlapping, outcomes read from history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scones.asl import FakeClock, execute
from scones.asl.diagram import CATCH, CHOICE, DEFAULT, END, NEXT, START, layout, rule_text, subtitle, transitions
from scones.asl.diagram_drawing import COLOURS, render
from .seeds import SEED_NAMES, seed
from scones.asl.state_outcomes import (
    CANCELLED,
    CAUGHT,
    FAILED,
    IN_PROGRESS,
    SUCCEEDED,
    events_of,
    state_outcomes,
)

WORKFLOW = Path(__file__).resolve().parents[2] / "asl" / "scones_workflow.asl.json"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:work"

# Map, Parallel, Catch, Choice with a Default and a loop back: the shapes that stress a layout.
BUSY = {
    "StartAt": "Fetch",
    "States": {
        "Fetch": {"Type": "Task", "Resource": LAMBDA, "Next": "Route",
                  "Catch": [{"ErrorEquals": ["States.TaskFailed", "States.Timeout"], "Next": "Report"}]},
        "Route": {"Type": "Choice", "Default": "Report", "Choices": [
            {"Variable": "$.kind", "StringEquals": "many", "Next": "Each"},
            {"And": [{"Variable": "$.n", "NumericGreaterThan": 3}, {"Variable": "$.ok", "BooleanEquals": True}],
             "Next": "Both"},
            {"Variable": "$.again", "IsPresent": True, "Next": "Fetch"},
        ]},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "Next": "Done",
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Report"}],
                 "ItemProcessor": {"StartAt": "Get", "States": {
                     "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "Next": "Keep"},
                     "Keep": {"Type": "Pass", "End": True}}}},
        "Both": {"Type": "Parallel", "Next": "Done", "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
            {"StartAt": "Right", "States": {"Right": {"Type": "Wait", "Seconds": 5, "Next": "RightAfter"},
                                            "RightAfter": {"Type": "Pass", "End": True}}}]},
        "Report": {"Type": "Fail", "Error": "Workflow.Failed", "Cause": "see the history"},
        "Done": {"Type": "Succeed"},
    },
}


def all_states(graph: dict, prefix: str = "") -> dict[str, dict]:
    """Every state by its drawing path (``Each/Get`` for Get inside the Map Each)."""
    found = {}
    for name, state in graph["States"].items():
        found[prefix + name] = state
        for child in state.get("Branches", []) + ([state["ItemProcessor"]] if "ItemProcessor" in state else []):
            found.update(all_states(child, f"{prefix}{name}/"))
    return found


def assert_complete_and_apart(definition: dict) -> None:
    region = layout(definition)
    boxes = list(region.all_boxes())
    states = all_states(definition)
    assert sorted(box.path for box in boxes) == sorted([*states, START, END])
    drawn = {(arrow.source, arrow.target) for arrow in region.all_arrows()}
    expected = {(name.split("/")[-1], target) for name, state in states.items() for target, _, _ in transitions(state)}
    expected |= {(START, definition["StartAt"])}
    expected |= {(name, END) for name, state in definition["States"].items()
                 if state["Type"] in ("Succeed", "Fail") or state.get("End")}
    assert drawn == expected
    for index, box in enumerate(boxes):
        for other in boxes[index + 1:]:
            nested = other.path.startswith(box.path + "/") or box.path.startswith(other.path + "/")
            assert nested or not box.overlaps(other), (box.path, other.path)
            if other.path.startswith(box.path + "/"):  # inside its frame
                assert box.x <= other.x and other.x + other.width <= box.x + box.width
                assert box.y <= other.y and other.y + other.height <= box.y + box.height
    by_path = {box.path: box for box in boxes}
    for region_arrow in region.arrows:  # top-level arrows start and end on their boxes' edges
        for name, point in ((region_arrow.source, region_arrow.points[0]), (region_arrow.target, region_arrow.points[-1])):
            box = by_path[name]
            assert box.x - 1 <= point[0] <= box.x + box.width + 1 and box.y - 1 <= point[1] <= box.y + box.height + 1


def test_the_busy_definition_has_every_state_and_edge_and_no_overlap():
    assert_complete_and_apart(BUSY)


def test_the_scones_workflow_is_a_chain_from_start_to_end():
    definition = json.loads(WORKFLOW.read_text())
    region = layout(definition)
    assert [(arrow.source, arrow.target) for arrow in region.arrows] == [
        (START, "serializeImageData"), ("serializeImageData", "classifyImage"),
        ("classifyImage", "filterInferences"), ("filterInferences", END)]
    ys = [box.y for box in sorted(region.boxes, key=lambda box: box.y)]
    assert ys == sorted(set(ys))  # one state per layer, top to bottom


@pytest.mark.parametrize("name", SEED_NAMES)
def test_each_exported_definition_is_drawn_whole(name):
    assert_complete_and_apart(seed(name))


@st.composite
def chains(draw):
    """Definitions of 1–12 states whose Next, Choice rules and Catch point anywhere (loops included)."""
    count = draw(st.integers(1, 12))
    names = [f"S{index}" for index in range(count)]
    states = {}
    for name in names:
        kind = draw(st.sampled_from(["Pass", "Choice", "Task", "Succeed"]))
        target = st.sampled_from(names)
        if kind == "Choice":
            rules = draw(st.lists(target, min_size=1, max_size=3))
            states[name] = {"Type": "Choice", "Default": draw(target),
                            "Choices": [{"Variable": "$.x", "NumericEquals": i, "Next": to} for i, to in enumerate(rules)]}
        elif kind == "Succeed":
            states[name] = {"Type": "Succeed"}
        else:
            state = {"Type": kind, **({"Next": draw(target)} if draw(st.booleans()) else {"End": True})}
            if kind == "Task":
                state["Resource"] = LAMBDA
                if draw(st.booleans()):
                    state["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": draw(target)}]
            states[name] = state
    return {"StartAt": names[0], "States": states}


@settings(max_examples=60, deadline=None)
@given(chains())
def test_any_graph_is_drawn_whole_and_apart(definition):
    assert_complete_and_apart(definition)


def test_transitions_name_their_kind_and_label():
    assert transitions(BUSY["States"]["Route"]) == [
        ("Each", CHOICE, '$.kind == "many"'), ("Both", CHOICE, "($.n > 3) and ($.ok == true)"),
        ("Fetch", CHOICE, "$.again is present"), ("Report", DEFAULT, "Default")]
    assert transitions(BUSY["States"]["Fetch"]) == [("Route", NEXT, ""),
                                                   ("Report", CATCH, "States.TaskFailed, States.Timeout")]
    assert transitions(BUSY["States"]["Done"]) == []


def test_choice_rules_read_as_conditions():
    assert rule_text({"Not": {"Variable": "$.a", "StringMatches": "log-*"}}) == 'not ($.a matches "log-*")'
    assert rule_text({"Variable": "$.t", "TimestampLessThanEqualsPath": "$.limit"}) == "$.t <= $.limit"
    assert rule_text({"Condition": "{% $states.input.confidence >= 0.93 %}"}) == "$states.input.confidence >= 0.93"
    assert rule_text({"Condition": True}) == "true"
    long_rule = {"Variable": "$." + "x" * 80, "NumericEquals": 1, "Next": "A"}
    assert transitions({"Type": "Choice", "Choices": [long_rule]})[0][2].endswith("…")


def test_subtitles_are_the_consoles():
    assert subtitle({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}) == "Lambda: Invoke"
    assert subtitle({"Type": "Task", "Resource": LAMBDA}) == "Lambda: Invoke"
    assert subtitle({"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject"}) == "S3: GetObject"
    assert subtitle({"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync"}) \
        == "SageMaker: CreateTransformJob"
    assert subtitle({"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a"}) == "Activity"
    assert subtitle({"Type": "Map"}) == "Map"


def run(definition, resources, value=None):
    return execute(definition, value if value is not None else {}, resources=resources, clock=FakeClock())


def test_outcomes_of_a_caught_failure():
    def work(event, context):
        raise RuntimeError("the work failed")

    execution = run(BUSY, {LAMBDA: work})
    assert execution.status == "FAILED"
    outcomes = state_outcomes(execution.history)
    assert outcomes["Fetch"].status == CAUGHT and outcomes["Fetch"].error == "RuntimeError"
    assert outcomes["Report"].status == FAILED and outcomes["Report"].error == "Workflow.Failed"
    assert set(outcomes) == {"Fetch", "Report"}  # the rest was not reached


def test_outcomes_of_a_parallel_success_and_a_retried_task():
    calls = []

    def work(event, context):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first attempt")
        return {"kind": "both", "n": 5, "ok": True}

    definition = json.loads(json.dumps(BUSY))
    definition["States"]["Fetch"]["Retry"] = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}]
    execution = run(definition, {LAMBDA: work})
    assert execution.status == "SUCCEEDED", execution.cause
    outcomes = state_outcomes(execution.history)
    assert {name: outcome.status for name, outcome in outcomes.items()} == {
        name: SUCCEEDED for name in ("Fetch", "Route", "Both", "Left", "Right", "RightAfter", "Done")}


def test_outcomes_inside_a_failing_map():
    def work(event, context):
        return {"kind": "many", "items": [1, 2]}

    def keep_failing(event, context):
        raise ValueError("bad item")

    definition = json.loads(json.dumps(BUSY))
    definition["States"]["Each"]["ItemProcessor"]["States"]["Get"]["Resource"] = LAMBDA.replace("work", "get")
    execution = run(definition, {LAMBDA: work, LAMBDA.replace("work", "get"): keep_failing})
    outcomes = state_outcomes(execution.history)
    assert outcomes["Get"].status == FAILED and outcomes["Get"].error == "ValueError"
    assert outcomes["Each"].status == CAUGHT  # its Catch sends the run to Report
    assert "Keep" not in outcomes and outcomes["Report"].status == FAILED


def test_a_branch_stopped_by_its_sibling_is_cancelled_and_a_running_one_in_progress():
    # As AWS records it: both branches entered, one fails, the other is stopped without an exit.
    def event(event_id, previous, event_type, **details):
        found = {"id": event_id, "previousEventId": previous, "type": event_type}
        if "name" in details:
            key = "stateEnteredEventDetails" if event_type.endswith("Entered") else "stateExitedEventDetails"
            found[key] = details
        elif details:
            found[event_type[0].lower() + event_type[1:] + "EventDetails"] = details
        return found

    running = [event(1, 0, "ExecutionStarted"), event(2, 1, "ParallelStateEntered", name="Both"),
               event(3, 2, "ParallelStateStarted"), event(4, 3, "FailStateEntered", name="Boom"),
               event(5, 3, "WaitStateEntered", name="Slow")]
    ended = [*running, event(6, 4, "ParallelStateFailed"), event(7, 6, "ExecutionFailed", error="Boom", cause="c")]
    outcomes = state_outcomes(ended)
    assert outcomes["Boom"].status == FAILED and outcomes["Both"].status == FAILED
    assert outcomes["Both"].error == "Boom" and outcomes["Both"].cause == "c"
    assert outcomes["Slow"].status == CANCELLED
    assert state_outcomes(running)["Slow"].status == IN_PROGRESS
    # And from the interpreter: the failing branch's Fail state and its Parallel are failed.
    definition = {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom"}}},
        {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 3600, "End": True}}}]}}}
    outcomes = state_outcomes(run(definition, {}).history)
    assert outcomes["Boom"].status == FAILED and outcomes["Both"].status == FAILED


def test_history_files_are_read_in_every_shape():
    events = [{"id": 2, "type": "B"}, {"id": 1, "type": "A"}]
    assert [event["id"] for event in events_of({"events": events})] == [1, 2]
    assert [event["id"] for event in events_of(events)] == [1, 2]
    with pytest.raises(ValueError, match="list of events"):
        events_of({"executions": []})


def test_render_writes_svg_with_text_png_and_a_page():
    svg = render(layout(BUSY), ".svg").decode()
    assert svg.startswith("<?xml") and all(f">{name}<" in svg for name in all_states(BUSY) if "/" not in name)
    png = render(layout(BUSY), ".png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert render(layout(BUSY), ".svg") == render(layout(BUSY), ".svg")  # same graph, same bytes
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.html"):
        render(layout(BUSY), ".jpg")


def scones(*args):
    return subprocess.run([sys.executable, "-m", "scones", "asl", "graph", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_graph_of_an_execution(tmp_path):
    definition = tmp_path / "busy.asl.json"
    definition.write_text(json.dumps(BUSY))

    def work(event, context):
        raise RuntimeError("the work failed")

    execution = run(BUSY, {LAMBDA: work})
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"events": execution.history}, default=str))
    result = scones(str(definition), "--history", str(history), "--out", str(tmp_path / "graph.html"))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "graph.html").read_text()
    assert "<svg" in page and "<?xml" not in page
    svg = page[page.index("<svg"):]
    assert svg.count(f"fill: {COLOURS[CAUGHT][0]}") == 1  # Fetch
    assert svg.count(f"fill: {COLOURS[FAILED][0]}") == 1  # Report
    assert svg.count(f"fill: {COLOURS[SUCCEEDED][0]}") == 1  # Start; End is not reached
    assert "<b>Fetch</b>: RuntimeError" in page and "<b>Report</b>: Workflow.Failed" in page
    assert scones(str(definition), "--out", str(tmp_path / "graph.png")).returncode == 0
    assert (tmp_path / "graph.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_graph_refuses_bad_input(tmp_path):
    definition = tmp_path / "bad.asl.json"
    definition.write_text(json.dumps({"StartAt": "Missing", "States": {"A": {"Type": "Pass", "End": True}}}))
    result = scones(str(definition), "--out", str(tmp_path / "g.svg"))
    assert result.returncode == 1 and "is not a valid definition" in result.stderr and "Missing" in result.stderr
    assert not (tmp_path / "g.svg").exists()
    good = tmp_path / "good.asl.json"
    good.write_text(json.dumps(BUSY))
    result = scones(str(good), "--out", str(tmp_path / "g.jpg"))
    assert result.returncode == 2 and "must end in .svg, .png or .html" in result.stderr
    history = tmp_path / "h.json"
    history.write_text('{"nothing": 1}')
    result = scones(str(good), "--history", str(history), "--out", str(tmp_path / "g.svg"))
    assert result.returncode == 1 and "cannot read the history" in result.stderr
