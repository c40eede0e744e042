"""How fast scones.asl runs the workflow's shapes, next to moto's Step Functions.

Two definitions, run by both interpreters:

- ``three_tasks``: the Scones workflow's shape, three chained
  ``arn:aws:states:::lambda:invoke`` tasks with ``OutputPath: $.Payload``;
- ``map_1000``: a Map over 1,000 items whose ItemProcessor is one such task.

Every Lambda is trivial (it returns its event). scones.asl calls an in-process
Python handler. moto (5.x) runs the same definitions with its bundled
interpreter, enabled by ``mock_aws(config={"stepfunctions":
{"execute_state_machine": True}})``; its Lambdas are created through moto's
own Lambda mock with ``{"lambda": {"use_docker": False}}``, whose "simple"
backend answers every invoke by echoing the payload — the same trivial
function, so both sides run the identical definitions. moto executes
asynchronously; an execution is timed from StartExecution until
DescribeExecution no longer says RUNNING.

Per-state overhead is CPU time (process time, so other processes on the
machine do not count), the difference between 11-state and 1-state chains of
Pass states and of lambda:invoke tasks; throughput is wall-clock.

Run: ``.venv/bin/python benchmarks/bench_asl.py`` (bounded: well under 2 minutes).
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

from scones.asl import Resources, StateMachine

REGION, ACCOUNT = "us-east-1", "123456789012"
MAP_ITEMS = 1000
WORKFLOW_INPUT = {"s3_bucket": "scones-unlimited", "s3_key": "test/bicycle_s_000513.png"}


def invoke_task(function: str, next_state: str | None) -> dict:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "OutputPath": "$.Payload",
        "Parameters": {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:$LATEST", "Payload.$": "$"},
    }
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


THREE_TASKS = {
    "StartAt": "Serialize",
    "States": {
        "Serialize": invoke_task("serializeImageData", "Classify"),
        "Classify": invoke_task("classifyImageData", "Filter"),
        "Filter": invoke_task("filterInferences", None),
    },
}
MAP_1000 = {
    "StartAt": "ClassifyAll",
    "States": {
        "ClassifyAll": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "Classify", "States": {"Classify": invoke_task("classifyImageData", None)}},
            "End": True,
        }
    },
}


def chain(length: int, make_state) -> dict:
    """``length`` states in a row, each made by ``make_state(next_state_or_None)``."""
    names = [f"S{index}" for index in range(length)]
    nexts = names[1:] + [None]
    return {"StartAt": names[0], "States": {name: make_state(following) for name, following in zip(names, nexts)}}


def pass_state(next_state: str | None) -> dict:
    return {"Type": "Pass", **({"Next": next_state} if next_state else {"End": True})}


def echo_task(next_state: str | None) -> dict:
    return invoke_task("classifyImageData", next_state)


FUNCTIONS = ("serializeImageData", "classifyImageData", "filterInferences")
MAP_INPUT = {"items": [{"s3_key": f"test/image_{index}.png"} for index in range(MAP_ITEMS)]}


def echo(event, context):
    return event


def local_resources() -> Resources:
    resources = Resources(region=REGION, account=ACCOUNT)
    for name in FUNCTIONS:
        resources.add_lambda(name, echo)
    return resources


def time_local(definition: dict, state_input: dict, *, seconds: float, max_runs: int) -> tuple[float, float, int]:
    """(executions per second, CPU seconds per execution, runs) for scones.asl, bounded by time and count."""
    machine, resources = StateMachine(definition), local_resources()
    for _ in range(min(20, max_runs)):
        assert machine.execute(state_input, resources=resources).status == "SUCCEEDED"
    runs, wall_start, cpu_start = 0, time.perf_counter(), time.process_time()
    while runs < max_runs and time.perf_counter() - wall_start < seconds:
        machine.execute(state_input, resources=resources)
        runs += 1
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start
    return runs / wall, cpu / runs, runs


def time_moto(definitions: dict[str, tuple[dict, dict, int]]) -> dict[str, float]:
    """Executions per second on moto for each named (definition, input, runs)."""
    import boto3
    from moto import mock_aws

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    rates = {}
    with mock_aws(config=config):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="bench-sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return event\n")
        lambdas = boto3.client("lambda", region_name=REGION)
        for name in FUNCTIONS:
            lambdas.create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                    Handler="lambda_function.lambda_handler", Code={"ZipFile": code.getvalue()})
        sfn = boto3.client("stepfunctions", region_name=REGION)
        for label, (definition, state_input, runs) in definitions.items():
            arn = sfn.create_state_machine(name=label, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
            start = time.perf_counter()
            for run in range(runs):
                execution = sfn.start_execution(stateMachineArn=arn, name=f"{label}-{run}", input=json.dumps(state_input))
                while (status := sfn.describe_execution(executionArn=execution["executionArn"])["status"]) == "RUNNING":
                    time.sleep(0.002)
                assert status == "SUCCEEDED", status
            rates[label] = runs / (time.perf_counter() - start)
    return rates


def best_cpu_per_execution(definition: dict, runs: int, repeats: int = 7) -> float:
    """The least CPU seconds per execution over ``repeats`` batches (the least disturbed by other load)."""
    machine, resources = StateMachine(definition), local_resources()
    for _ in range(20):
        machine.execute(WORKFLOW_INPUT, resources=resources)
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(runs):
            machine.execute(WORKFLOW_INPUT, resources=resources)
        best = min(best, (time.process_time() - start) / runs)
    return best


def state_overhead(make_state) -> tuple[float, float]:
    """(CPU µs per additional state, CPU µs of an execution's own set-up), from 1- and 11-state chains."""
    one = best_cpu_per_execution(chain(1, make_state), runs=2000)
    eleven = best_cpu_per_execution(chain(11, make_state), runs=300)
    per_state = (eleven - one) / 10
    return per_state * 1e6, (one - per_state) * 1e6


def main() -> None:
    print(f"scones.asl benchmark (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    local_three = time_local(THREE_TASKS, WORKFLOW_INPUT, seconds=5, max_runs=20_000)
    local_map = time_local(MAP_1000, MAP_INPUT, seconds=10, max_runs=50)
    pass_state_us, pass_setup_us = state_overhead(pass_state)
    task_state_us, task_setup_us = state_overhead(echo_task)
    moto = time_moto({"three_tasks": (THREE_TASKS, WORKFLOW_INPUT, 20), "map_1000": (MAP_1000, MAP_INPUT, 1)})

    print()
    print(f"{'shape':<12} {'scones.asl exec/s':>18} {'moto exec/s':>12} {'ratio':>8}")
    for label, (rate, _, runs) in (("three_tasks", local_three), ("map_1000", local_map)):
        print(f"{label:<12} {rate:>18.1f} {moto[label]:>12.2f} {rate / moto[label]:>7.0f}x   ({runs} local runs)")
    print()
    print("per-state overhead (CPU time; history, JSON round trips and Lambda semantics included):")
    print(f"  Pass state:                         {pass_state_us:6.1f} us   (+ {pass_setup_us:.1f} us per execution)")
    print(f"  Task arn:aws:states:::lambda:invoke: {task_state_us:6.1f} us   (+ {task_setup_us:.1f} us per execution)")
    print(f"  three_tasks, all included:          {local_three[1] / 3 * 1e6:6.1f} us per state")
    print(f"  map_1000, all included:             {local_map[1] / (2 * MAP_ITEMS + 1) * 1e6:6.1f} us per state "
          f"(each item: Map iteration + Task)")


if __name__ == "__main__":
    main()
