"""How fast scones.asl runs the workflow's shapes, next to moto's and MiniStack's Step Functions.

Definitions run by every interpreter:

- ``three_tasks``: the Scones workflow's shape, three chained
  ``arn:aws:states:::lambda:invoke`` tasks with ``OutputPath: $.Payload``;
- ``pass_100``: a chain of 100 Pass states (and ``pass_1``, one, to subtract
  an execution's own cost);
- ``map_1000``: a Map over 1,000 items whose ItemProcessor is one such task
  (scones.asl and moto).

Every Lambda is trivial (it returns its event). scones.asl calls an in-process
Python handler. moto (5.x) runs the same definitions with its bundled
interpreter, enabled by ``mock_aws(config={"stepfunctions":
{"execute_state_machine": True}})``; its Lambdas are created through moto's
own Lambda mock with ``{"lambda": {"use_docker": False}}``, whose "simple"
backend answers every invoke by echoing the payload. MiniStack (1.5.33, the
free LocalStack replacement) is started by this benchmark on a free loopback
port from its own virtualenv (``.venv-ministack``: it pins botocore exactly)
by :mod:`scones.ministack`, and is talked to over HTTP only; it runs the same echo function as a real
Python Lambda. moto and MiniStack execute asynchronously: an execution is
timed from StartExecution until DescribeExecution no longer says RUNNING.
When ``.venv-ministack`` is absent, MiniStack is skipped with the reason.

scones.asl's per-state overhead is CPU time (process time, so other
processes on the machine do not count): for Pass, the difference between the
100-state and the 1-state chain, per state; for lambda:invoke, the 3-task
shape all included, per task. The peers' figures are wall-clock per state,
all included (their work happens in server threads or processes, and their
start-and-poll latency varies more than one state costs them).

Run: ``.venv/bin/python benchmarks/bench_asl.py`` (bounded: about two minutes).
Set up MiniStack once: ``make ministack`` (``make test`` does it too).
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile

from scones.asl import Resources, StateMachine
from scones.ministack import MiniStackUnavailable, ministack_command, running_ministack

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


def echo_zip() -> bytes:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return event\n")
    return code.getvalue()


def time_remote(session_kwargs: dict, definitions: dict[str, tuple[dict, dict, int]]) -> dict[str, float]:
    """Wall seconds per execution on a Step Functions API (moto in-process, or MiniStack over HTTP)."""
    import boto3

    iam = boto3.client("iam", **session_kwargs)
    role = iam.create_role(RoleName="bench-sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambdas = boto3.client("lambda", **session_kwargs)
    for name in FUNCTIONS:
        lambdas.create_function(FunctionName=name, Runtime="python3.11", Role=role,
                                Handler="lambda_function.lambda_handler", Code={"ZipFile": echo_zip()})
    sfn = boto3.client("stepfunctions", **session_kwargs)
    seconds = {}
    for label, (definition, state_input, runs) in definitions.items():
        arn = sfn.create_state_machine(name=label, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
        start = time.perf_counter()
        for run in range(runs):
            execution = sfn.start_execution(stateMachineArn=arn, name=f"{label}-{run}", input=json.dumps(state_input))
            while (status := sfn.describe_execution(executionArn=execution["executionArn"])["status"]) == "RUNNING":
                time.sleep(0.002)
            assert status == "SUCCEEDED", (label, status)
        seconds[label] = (time.perf_counter() - start) / runs
    return seconds


def time_moto(definitions: dict[str, tuple[dict, dict, int]]) -> dict[str, float]:
    from moto import mock_aws

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        return time_remote({"region_name": REGION}, definitions)


def time_ministack(definitions: dict[str, tuple[dict, dict, int]]) -> dict[str, float] | str:
    """Wall seconds per execution on MiniStack, or the reason it was skipped."""
    try:
        ministack_command()
    except MiniStackUnavailable as missing:
        return f"skipped: {missing}"
    with running_ministack() as url:
        # MiniStack takes a 12-digit access key as the account id: the definitions' ARNs name ACCOUNT.
        credentials = {"aws_access_key_id": ACCOUNT, "aws_secret_access_key": "test"}
        return time_remote({"region_name": REGION, "endpoint_url": url, **credentials}, definitions)


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


def pass_overhead() -> float:
    """CPU µs per Pass state: the 100-state chain less the 1-state chain, per added state."""
    hundred = best_cpu_per_execution(PASS_100, runs=100)
    one = best_cpu_per_execution(PASS_1, runs=2000)
    return (hundred - one) / 99 * 1e6


PASS_1, PASS_100 = chain(1, pass_state), chain(100, pass_state)


def main() -> None:
    print(f"scones.asl benchmark (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    local_three = time_local(THREE_TASKS, WORKFLOW_INPUT, seconds=5, max_runs=20_000)
    local_map = time_local(MAP_1000, MAP_INPUT, seconds=10, max_runs=50)
    pass_us = pass_overhead()
    task_us = best_cpu_per_execution(THREE_TASKS, runs=1000) / 3 * 1e6
    shapes = {"three_tasks": (THREE_TASKS, WORKFLOW_INPUT, 20), "pass_100": (PASS_100, WORKFLOW_INPUT, 10)}
    moto = time_moto({**shapes, "map_1000": (MAP_1000, MAP_INPUT, 1)})
    ministack = time_ministack(shapes)

    print()
    print(f"{'shape':<12} {'scones.asl exec/s':>18} {'moto exec/s':>12} {'ratio':>8}")
    for label, (rate, _, runs) in (("three_tasks", local_three), ("map_1000", local_map)):
        print(f"{label:<12} {rate:>18.1f} {1 / moto[label]:>12.2f} {rate * moto[label]:>7.0f}x   ({runs} local runs)")
    print()
    print("per-state overhead (scones.asl: CPU time, history, JSON round trips and Lambda semantics included;")
    print("moto and MiniStack: wall time per state, all included)")
    peers = {"moto": moto, "MiniStack": ministack}
    # The peers' start-and-poll latency varies more than a state costs them: their figure is all-in per state.
    rows = (("Pass state (chain of 100)", pass_us, 20, lambda t: t["pass_100"] / 100),
            ("lambda:invoke Task (3-task shape)", task_us, 35, lambda t: t["three_tasks"] / 3))
    for label, ours, target, per_state in rows:
        line = f"  {label:<34} scones.asl {ours:7.1f} us (target <= {target} us: {'met' if ours <= target else 'MISSED'})"
        for name, timing in peers.items():
            if isinstance(timing, dict):
                theirs = per_state(timing) * 1e6
                line += f" | {name} {theirs:9.1f} us ({theirs / ours:5.0f}x)"
        print(line)
    if isinstance(ministack, str):
        print(f"  MiniStack {ministack}")
    print(f"  map_1000, all included:            {local_map[1] / (2 * MAP_ITEMS + 1) * 1e6:7.1f} us per state "
          f"(each item: Map iteration + Task)")


if __name__ == "__main__":
    main()
