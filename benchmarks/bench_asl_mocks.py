"""What answering Tasks from a mock file costs, next to calling in-process handlers.

Runs Step Functions Local's documented example (LambdaSQSIntegration) many
times on a fake clock, three ways:

- ``handlers``: both Tasks call trivial in-process handlers (the floor);
- ``mocked HappyPath``: both Tasks answered from the mock file, whose Return
  values are checked against botocore's response shapes on every run (STRICT);
- ``mocked RetryPath``: three mocked failures and the retry waits first;

plus ``test_state`` calls per second on one mocked Task at DEBUG. The mock
config is parsed once, as a test module would hold it.

Run: ``.venv/bin/python benchmarks/bench_asl_mocks.py`` (about 10 seconds).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from scones.asl import FakeClock, MockConfig, StateMachine, execute, test_state

DATA = Path(__file__).resolve().parents[1] / "tests" / "asl" / "data"
DEFINITION = json.loads((DATA / "lambda_sqs_integration.asl.json").read_text())
CONFIG = MockConfig.load(DATA / "sfn_local_mock_config.json")
RUNS = 2000


def per_second(label: str, once, runs: int = RUNS) -> float:
    once()  # warm caches (botocore's models load on first use)
    started = time.perf_counter()
    for _ in range(runs):
        once()
    rate = runs / (time.perf_counter() - started)
    print(f"{label:<28} {rate:10,.0f} /s")
    return rate


def main() -> None:
    machine = StateMachine(DEFINITION)
    handlers = {
        "HelloWorldFunction": lambda event, context: {"body": "Hello from Lambda!"},
        "arn:aws:states:::sqs:sendMessage": lambda parameters, context: {"MessageId": "m", "MD5OfMessageBody": "d"},
    }
    floor = per_second("handlers", lambda: machine.execute({}, resources=handlers, clock=FakeClock()))
    happy = per_second("mocked HappyPath", lambda: execute(machine, {}, mock_config=CONFIG, test_case="HappyPath", clock=FakeClock()))
    retry = per_second("mocked RetryPath", lambda: execute(machine, {}, mock_config=CONFIG, test_case="RetryPath", clock=FakeClock()))
    mock = {"result": json.dumps({"StatusCode": 200, "Payload": {"ok": True}})}
    single = per_second("test_state (DEBUG, mocked)", lambda: test_state(DEFINITION, "LambdaState", {}, mock=mock,
                                                                          inspection_level="DEBUG"))
    print(f"mocked HappyPath / handlers: {happy / floor:.2f}x; RetryPath / handlers: {retry / floor:.2f}x; "
          f"test_state / handlers execution: {single / floor:.2f}x")


if __name__ == "__main__":
    main()
