"""Step Functions Local's mock configuration file (``MockConfigFile.json``), read exactly.

The file has two parts::

    {"StateMachines": {MACHINE: {"TestCases": {CASE: {STATE: RESPONSE_NAME}}}},
     "MockedResponses": {RESPONSE_NAME: {"0": {"Return": {...}},
                                         "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}}}

A test case maps Task state names to mocked responses; each mocked response
answers attempts by number (``"0"`` is the first call, ``"1-2"`` the second
and third). A mocked Task writes the same history events as a real one and
its ``Throw`` goes through Retry and Catch as if the service had failed;
states the test case does not name run against the bound resources.

The same file works with Step Functions Local (``SFN_MOCK_CONFIG``) and
LocalStack. Every problem is reported as :class:`MockConfigError`, naming the
file, the place in it and the fix.

https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .definition_walk import walk_states
from .errors import RUNTIME, StatesError
from .resources import Resources, as_resources
from .response_shapes import STRICT, check_mode, shape_problems

_ATTEMPTS = re.compile(r"(\d+)(?:-(\d+))?")


class MockConfigError(ValueError):
    """The mock configuration cannot be used as given; the message says where and how to fix it."""


@dataclass(frozen=True)
class MockedAnswer:
    """One attempt's answer: a ``Return`` value, or a ``Throw`` of ``error`` with ``cause``."""

    returns: Any = None
    error: str | None = None
    cause: str | None = None

    @property
    def throws(self) -> bool:
        return self.error is not None

    def give(self) -> Any:
        """The Return value (a private copy), or raise the Throw as the service's failure."""
        if self.throws:
            raise StatesError(self.error, self.cause)
        return json.loads(json.dumps(self.returns))


class MockedResponse:
    """A named entry of ``MockedResponses``: one answer per attempt number."""

    def __init__(self, name: str, spec: Any, where: str):
        if not isinstance(spec, dict) or not spec:
            raise MockConfigError(f"{where}: MockedResponses.{name} must be an object of attempts like "
                                  '{"0": {"Return": {...}}}')
        ranges = sorted((_attempt_range(key, f"{where}: MockedResponses.{name}"), _answer(value, f"{where}: MockedResponses.{name}.{key}"))
                        for key, value in spec.items())
        expected = 0
        for (first, last), _ in ranges:
            if first != expected:
                problem = "overlap" if first < expected else f"leave attempt {expected} without a response"
                raise MockConfigError(f"{where}: the attempts of MockedResponses.{name} {problem}; number them "
                                      f'from "0" without gaps, e.g. "0", "1-2", "3"')
            expected = last + 1
        self.name = name
        self.answers = [answer for (first, last), answer in ranges for _ in range(first, last + 1)]

    def answer(self, attempt: int) -> MockedAnswer:
        if attempt >= len(self.answers):
            raise StatesError(
                RUNTIME,
                f"The mocked response '{self.name}' has no answer for attempt {attempt} (it defines attempts "
                f"0-{len(self.answers) - 1}); add one to MockedResponses.{self.name}.",
            )
        return self.answers[attempt]


def _attempt_range(key: str, where: str) -> tuple[int, int]:
    match = _ATTEMPTS.fullmatch(key)
    if not match or (match.group(2) is not None and int(match.group(2)) < int(match.group(1))):
        raise MockConfigError(f'{where}: "{key}" is not an attempt number or range; use "0" or "1-2"')
    first = int(match.group(1))
    return first, int(match.group(2) or first)


def _answer(spec: Any, where: str) -> MockedAnswer:
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("Return", "Throw"):
        raise MockConfigError(f'{where}: must hold exactly one of "Return" or "Throw"')
    if "Return" in spec:
        return MockedAnswer(returns=spec["Return"])
    throw = spec["Throw"]
    if not isinstance(throw, dict) or not isinstance(throw.get("Error"), str) or not isinstance(throw.get("Cause", ""), str) \
            or set(throw) - {"Error", "Cause"}:
        raise MockConfigError(f'{where}.Throw: must be {{"Error": "Name", "Cause": "text"}} with string values')
    return MockedAnswer(error=throw["Error"], cause=throw.get("Cause"))


class MockConfig:
    """A parsed mock configuration: its state machines' test cases and the mocked responses."""

    def __init__(self, data: Any, source: str = "mock config"):
        self.source = source
        if not isinstance(data, dict) or set(data) - {"StateMachines", "MockedResponses"}:
            raise MockConfigError(f'{source}: the top level must be an object with "StateMachines" and "MockedResponses"')
        machines = data.get("StateMachines", {})
        responses = data.get("MockedResponses", {})
        if not isinstance(machines, dict) or not isinstance(responses, dict):
            raise MockConfigError(f'{source}: "StateMachines" and "MockedResponses" must be objects')
        self.responses = {name: MockedResponse(name, spec, source) for name, spec in responses.items()}
        self.test_cases: dict[str, dict[str, dict[str, str]]] = {}
        for machine, spec in machines.items():
            cases = spec.get("TestCases") if isinstance(spec, dict) else None
            if not isinstance(cases, dict):
                raise MockConfigError(f'{source}: StateMachines.{machine} must be {{"TestCases": {{...}}}}')
            for case, states in cases.items():
                where = f"{source}: StateMachines.{machine}.TestCases.{case}"
                if not isinstance(states, dict) or not all(isinstance(value, str) for value in states.values()):
                    raise MockConfigError(f"{where} must map state names to names of MockedResponses")
                for state, response in states.items():
                    if response not in self.responses:
                        raise MockConfigError(f"{where}.{state}: no MockedResponses entry is named '{response}'; "
                                              f"define it or fix the name")
            self.test_cases[machine] = cases

    @classmethod
    def load(cls, value: "str | Path | Mapping | MockConfig") -> "MockConfig":
        """A MockConfig from a file path, JSON text or an already parsed dict."""
        if isinstance(value, MockConfig):
            return value
        if isinstance(value, Mapping):
            return cls(dict(value))
        text, source = str(value), "mock config"
        if not text.lstrip().startswith("{"):
            path = Path(text)
            try:
                text, source = path.read_text(encoding="utf-8"), str(path)
            except OSError as error:
                raise MockConfigError(f"{path}: cannot read the mock config ({error.strerror}); check the path") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise MockConfigError(f"{source}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
        return cls(data, source)

    def test_case(self, test_case: str, state_machine: str | None = None) -> dict[str, MockedResponse]:
        """The mocked response of each state in ``test_case`` of ``state_machine`` (optional if the file has one)."""
        if state_machine is None:
            if len(self.test_cases) != 1:
                raise MockConfigError(f"{self.source}: name the state machine (state_machine=...); the file has "
                                      f"{', '.join(sorted(self.test_cases)) or 'none'}")
            state_machine = next(iter(self.test_cases))
        if state_machine not in self.test_cases:
            raise MockConfigError(f"{self.source}: no state machine '{state_machine}' under StateMachines; it has "
                                  f"{', '.join(sorted(self.test_cases)) or 'none'}")
        cases = self.test_cases[state_machine]
        if test_case not in cases:
            raise MockConfigError(f"{self.source}: StateMachines.{state_machine} has no test case '{test_case}'; "
                                  f"it has {', '.join(sorted(cases)) or 'none'}")
        return {state: self.responses[name] for state, name in cases[test_case].items()}


def task_resources(definition: dict) -> dict[str, str]:
    """The ``Resource`` of every Task state, nested ones included, by state name."""
    return {name: spec["Resource"] for name, spec, _ in walk_states(definition) if spec.get("Type") == "Task"}


def check_against_definition(mocks: Mapping[str, MockedResponse], definition: dict, mode: str = STRICT) -> None:
    """Refuse mocks of states that are not Tasks, and Return values that do not fit the Task's response shape."""
    check_mode(mode)
    tasks = task_resources(definition)
    for state, response in mocks.items():
        if state not in tasks:
            raise MockConfigError(f"the test case mocks '{state}', which is not a Task state of this state machine "
                                  f"(its Tasks: {', '.join(sorted(tasks)) or 'none'}); fix the state name")
        for attempt, answer in enumerate(response.answers):
            if answer.throws:
                continue
            problems = shape_problems(tasks[state], answer.returns, mode)
            if problems:
                raise MockConfigError(
                    f"the mocked response '{response.name}' (attempt {attempt}) of state '{state}' does not fit the "
                    f"response of {tasks[state]}: {'; '.join(problems)}. Fix the mock, or pass "
                    f"field_validation_mode='PRESENT' or 'NONE'."
                )


class MockedResources(Resources):
    """The bound resources, with the mocked states of one test case answered from their mocked responses.

    Attempts are counted per state across the execution, in call order, so a
    retried Task gets ``"0"``, then ``"1"``…; one instance serves one execution.
    """

    def __init__(self, bound: Resources, mocks: Mapping[str, MockedResponse]):
        super().__init__(region=bound.region, account=bound.account)
        # The same registries as the bound resources (not copies): unmocked states call exactly what was bound.
        self._lambdas = bound._lambdas
        self._integrations = bound._integrations
        self._mocks = dict(mocks)
        self._attempts = {state: 0 for state in self._mocks}
        self._lock = threading.Lock()

    def mocks(self, state_name: str) -> bool:
        return state_name in self._mocks

    def mocked_answer(self, state_name: str) -> MockedAnswer | None:
        response = self._mocks.get(state_name)
        if response is None:
            return None
        with self._lock:
            attempt = self._attempts[state_name]
            self._attempts[state_name] = attempt + 1
        return response.answer(attempt)


def mocked_resources(definition: dict, resources: Any, mock_config: Any, test_case: str | None,
                     state_machine: str | None, field_validation_mode: str = STRICT) -> MockedResources:
    """The resources of one execution of ``test_case``, its mocks checked against ``definition`` first."""
    if test_case is None:
        raise MockConfigError("a mock config needs test_case=NAME: the test case of the file to run")
    if mock_config is None:
        raise MockConfigError(f"test_case='{test_case}' needs mock_config=PATH (the MockConfigFile.json to read)")
    mocks = MockConfig.load(mock_config).test_case(test_case, state_machine)
    check_against_definition(mocks, definition, field_validation_mode)
    return MockedResources(as_resources(resources), mocks)
