"""``test_state``: run one state on its own and answer what AWS's TestState API answers.

The response has TestState's fields and meanings: ``status`` is
``SUCCEEDED``, ``FAILED``, ``RETRIABLE`` (the state failed and one of its
retriers still has attempts left after ``retrier_retry_count`` retries) or
``CAUGHT_ERROR`` (the retries are spent, or none applies, and a catcher
handles the error); ``output``, ``error``, ``cause`` and ``nextState`` as
the API returns them (payloads as JSON text). At ``DEBUG`` (or ``TRACE``)
``inspectionData`` shows each data-flow step: ``input``, ``afterInputPath``,
``afterParameters``, ``result``, ``afterResultSelector``, ``afterResultPath``
(JSONPath) or ``afterArguments`` (JSONata), the ``variables`` after
``Assign``, and ``errorDetails`` (``retryIndex`` and
``retryBackoffIntervalSeconds``, or ``catchIndex``).

The state runs through the interpreter's own state code, so what it computes
is what an execution would; a ``mock`` answers its task the way a mocked
response of :mod:`scones.asl.mock_config` does, checked with
``fieldValidationMode``. Nothing waits: the clock is a :class:`FakeClock`
unless one is given.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
"""

from __future__ import annotations

import json
import random as random_module
from typing import Any, Mapping

from .clock import Clock, FakeClock
from .dataflow import JSONATA
from .definition import Definition, load
from .definition_walk import walk_states
from .errors import StatesError, is_terminal, matches
from .execution import StateMachine, _Branch, _Visit
from .mock_config import MockedResources, MockedResponse
from .paths import apply_result_path, to_json
from .resources import ACTIVITY_EVENTS, Resources, as_resources
from .response_shapes import STRICT, check_mode, shape_problems
from .states import ExecutableState, FailState, Graph, MapState, ParallelState, PassState, TaskState
from .variables import Variables

SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR = "SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR"
INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
SINGLE_STATE_NAME = "TestState"  # the name a lone state definition runs under


class TestStateError(ValueError):
    """The request cannot be tested as given (TestState's ValidationException); the message says why."""

    __test__ = False  # not a pytest test class, though its name says Test


def test_state(
    definition: Definition,
    state_name: str | None = None,
    input: Any = None,
    *,
    mock: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | str | None = None,
    context: Mapping[str, Any] | str | None = None,
    inspection_level: str = "INFO",
    retrier_retry_count: int | None = None,
    error_caused_by_state: str | None = None,
    resources: Resources | Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    random: random_module.Random | None = None,
) -> dict:
    """Test one state: of a whole state machine ``definition`` when ``state_name`` is given, else a lone state.

    ``mock`` is TestState's MockInput: ``{"result": JSON text}`` or
    ``{"errorOutput": {"error": ..., "cause": ...}}``, with an optional
    ``"fieldValidationMode"`` (STRICT by default). ``variables`` and
    ``context`` are JSON objects (or their text): the variables in scope and
    the context object ``$$`` (only with a mock, as on AWS). Unmocked tasks
    call ``resources``.
    """
    if inspection_level not in INSPECTION_LEVELS:
        raise TestStateError(f"inspection_level must be one of {', '.join(INSPECTION_LEVELS)}, not {inspection_level!r}")
    machine, state = _isolate(load(definition), state_name)
    spec = next(spec for name, spec, _ in walk_states(machine.definition) if name == state.name)
    if context is not None and mock is None:
        raise TestStateError("context may only be given together with a mock (as TestState requires)")
    _check_supported(state, spec, mock, error_caused_by_state)
    bound = as_resources(resources)
    answer = None
    if mock is not None:
        answer = _mocked_response(mock, state, spec)
        bound = MockedResources(bound, {state.name: answer})
    run = machine._prepare(input, bound, clock or FakeClock(), None, random or random_module.Random(), 1, None)
    if context is not None:
        given = _json_object(context, "context")
        run.visit = lambda branch, visited, entered_id: _GivenContextVisit(run, branch, visited, entered_id, given)
    branch = _Branch(Variables(), 0)
    branch.variables.assign(_json_object(variables, "variables") if variables is not None else {})
    trace = _Trace(run, branch, state, run.execution.input, inspection_level != "INFO")
    trace.execute(answer if isinstance(state, (MapState, ParallelState)) else None, retrier_retry_count or 0)
    return trace.response()


test_state.__test__ = False  # a user's test module imports it: pytest must not collect it as a test


class _GivenContextVisit(_Visit):
    """A visit whose context object is the caller's (TestState's ``context``) over the default one."""

    __slots__ = ("given",)

    def __init__(self, run, branch, state, entered_event_id: int, given: dict):
        super().__init__(run, branch, state, entered_event_id)
        self.given = given

    def context_object(self, map_item=None) -> dict:
        default = super().context_object(map_item)
        return {**default, **{key: {**default.get(key, {}), **value} if isinstance(value, dict) else value
                              for key, value in self.given.items()}}


def _isolate(data: dict, state_name: str | None) -> tuple[StateMachine, Any]:
    """The compiled machine to run in, and the compiled state under test."""
    if state_name is None:
        if not isinstance(data.get("Type"), str):
            raise TestStateError("a definition without state_name must be one state (an object with a \"Type\"); "
                                 "to test a state of a state machine, pass state_name")
        targets = _targets(data)
        data = {"StartAt": SINGLE_STATE_NAME, "States": {SINGLE_STATE_NAME: data, **{name: {"Type": "Succeed"} for name in targets}}}
        state_name = SINGLE_STATE_NAME
    machine = StateMachine(data)
    state = _find(machine.graph, state_name)
    if state is None:
        raise TestStateError(f"the definition has no state named '{state_name}'")
    return machine, state


def _targets(spec: dict) -> set[str]:
    """The states a lone state may go to (its Next, Default, Choices' and Catchers' Next)."""
    names = {spec.get("Next"), spec.get("Default")}
    names.update(rule.get("Next") for rule in spec.get("Choices", ()))
    names.update(catcher.get("Next") for catcher in spec.get("Catch", ()))
    return {name for name in names if isinstance(name, str) and name != SINGLE_STATE_NAME}


def _find(graph: Graph, name: str):
    for state in graph.states.values():
        if state.name == name:
            return state
        inner = state.branches if isinstance(state, ParallelState) else [state.processor] if isinstance(state, MapState) else []
        for child in inner:
            found = _find(child, name)
            if found is not None:
                return found
    return None


def _check_supported(state, spec: dict, mock, error_caused_by_state: str | None) -> None:
    """What TestState refuses: mocks of states that do no work, and work it cannot do without a mock."""
    if mock is not None and not isinstance(state, ExecutableState):
        raise TestStateError(f"a mock can only be given for a Task, Map or Parallel state, not a {state.type} state")
    if mock is None:
        if isinstance(state, (MapState, ParallelState)):
            raise TestStateError(f"a {state.type} state can only be tested with a mock of its result")
        if isinstance(state, TaskState) and (state.target.waits_for_task_token or ".sync" in state.target.arn
                                             or state.target.events == ACTIVITY_EVENTS):
            raise TestStateError("activities, .sync and .waitForTaskToken tasks can only be tested with a mock")
    if error_caused_by_state is not None:
        if not isinstance(state, (MapState, ParallelState)) or mock is None or "errorOutput" not in mock:
            raise TestStateError("error_caused_by_state applies to a Map or Parallel state with a mocked errorOutput")
        graphs = state.branches if isinstance(state, ParallelState) else [state.processor]
        if all(_find(graph, error_caused_by_state) is None for graph in graphs):
            raise TestStateError(f"error_caused_by_state '{error_caused_by_state}' is not a state inside '{state.name}'")


def _mocked_response(mock: Mapping[str, Any], state, spec: dict) -> MockedResponse:
    """TestState's MockInput as a one-attempt mocked response, its result checked against the task's response shape."""
    unknown = set(mock) - {"result", "errorOutput", "fieldValidationMode"}
    if unknown or ("result" in mock) == ("errorOutput" in mock):
        raise TestStateError('a mock is {"result": JSON text} or {"errorOutput": {"error": ..., "cause": ...}}, '
                             'with an optional "fieldValidationMode"')
    mode = check_mode(mock.get("fieldValidationMode", STRICT))
    if "errorOutput" in mock:
        error = mock["errorOutput"]
        throw = {"Error": error.get("error"), **({"Cause": error["cause"]} if error.get("cause") is not None else {})}
        return MockedResponse(state.name, {"0": {"Throw": throw}}, "mock")
    result = mock["result"]
    try:
        value = json.loads(result) if isinstance(result, str) else result
    except json.JSONDecodeError as failure:
        raise TestStateError(f"mock.result is not JSON text ({failure.msg}); pass the result as a JSON string") from None
    if isinstance(state, TaskState):
        problems = shape_problems(spec["Resource"], value, mode)
        if problems:
            raise TestStateError(f"mock.result does not fit the response of {spec['Resource']}: {'; '.join(problems)} "
                                 f"(fieldValidationMode {mode})")
    return MockedResponse(state.name, {"0": {"Return": value}}, "mock")


def _json_object(value: Any, field: str) -> dict:
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError as failure:
        raise TestStateError(f"{field} is not JSON text ({failure.msg}); pass a JSON object") from None
    if not isinstance(parsed, dict):
        raise TestStateError(f"{field} must be a JSON object")
    return json.loads(json.dumps(parsed))


class _Trace:
    """One run of the state under test, and the TestState response it builds."""

    def __init__(self, run, branch: _Branch, state, raw: Any, inspect: bool):
        self.run, self.branch, self.state, self.raw, self.inspect = run, branch, state, raw, inspect
        self.fields: dict[str, Any] = {}
        self.inspection: dict[str, Any] = {"input": to_json(raw)}

    def execute(self, mocked_whole: MockedResponse | None, retry_count: int) -> None:
        state = self.state
        if isinstance(state, FailState):
            try:
                state.run(self.run, self.branch, self.raw)
            except StatesError as failure:
                self._failed(failure)
            return
        visit = state.enter(self.run, self.branch, self.raw, None)
        visit.retry_count = retry_count
        try:
            if isinstance(state, ExecutableState):
                next_name, output, assigned = self._work(visit, mocked_whole)
            else:
                scope = self._inspect_input(visit)
                next_name, output, assigned = state.execute(visit, self.raw)
                if isinstance(state, PassState) and state.flow.language != JSONATA:
                    self._inspect_pass_result(scope)
        except StatesError as failure:
            error = visit.failed(failure)
            if isinstance(state, ExecutableState) and not is_terminal(error.error):
                self._handle(visit, error, retry_count)
            else:
                self._failed(error)
            return
        self._succeeded(SUCCEEDED, next_name, output, assigned)

    def _work(self, visit, mocked_whole: MockedResponse | None):
        """A Task's (or a mocked Map's or Parallel's) one attempt and its result processing."""
        state, raw = self.state, self.raw
        flow = state.flow
        scope = self._inspect_input(visit)
        if mocked_whole is not None:
            result = mocked_whole.answer(0).give()
        else:
            try:
                result, scope = state.attempt(visit, raw)
            finally:
                self._inspect_scheduled()
        self._inspect("result", result)
        if flow.language != JSONATA:
            selected = flow.result_selector.evaluate(scope.with_input(result)) if flow.result_selector is not None else result
            self._inspect("afterResultSelector", selected)
            self._inspect("afterResultPath", apply_result_path(raw, selected, flow.result_path))
        assigned = flow.assigned(result, scope, {"result": result})
        return state.next, flow.result_output(raw, result, scope), assigned

    def _inspect_input(self, visit):
        """Record afterInputPath and afterParameters/afterArguments; return the state's scope."""
        state, raw = self.state, self.raw
        scope = visit.scope(raw)
        flow = state.flow
        if flow.language != JSONATA:
            effective = flow.effective_input(raw, scope)
            self._inspect("afterInputPath", effective)
            if isinstance(state, (MapState, ParallelState)):
                self._inspect("afterParameters", flow.task_input(raw, effective, scope))
        elif isinstance(state, (MapState, ParallelState)) and flow.arguments is not None:
            self._inspect("afterArguments", flow.task_input(raw, raw, scope))
        return scope

    def _inspect_pass_result(self, scope) -> None:
        """A Pass state's result (its Result, or its Parameters applied) and where ResultPath put it."""
        state, raw = self.state, self.raw
        flow = state.flow
        effective = flow.effective_input(raw, scope)
        if flow.arguments is not None:
            self._inspect("afterParameters", flow.task_input(raw, effective, scope))
        result = state.result if state.has_result else flow.task_input(raw, effective, scope)
        self._inspect("result", result)
        self._inspect("afterResultPath", apply_result_path(raw, result, flow.result_path))

    def _inspect_scheduled(self) -> None:
        """A Task's parameters as its Scheduled event recorded them (evaluating again could differ: States.UUID)."""
        state = self.state
        scheduled = [event for event in self.run.history.events if event["type"] == state.event_type["Scheduled"]]
        if not scheduled:
            return
        details = next(value for key, value in scheduled[-1].items() if key.endswith("EventDetails"))
        text = details.get("parameters", details.get("input"))
        if state.flow.language != JSONATA:
            self.inspection["afterParameters"] = text
        elif state.flow.arguments is not None:
            self.inspection["afterArguments"] = text

    def _inspect(self, field: str, value: Any) -> None:
        self.inspection[field] = to_json(value)

    def _handle(self, visit, error: StatesError, retry_count: int) -> None:
        """RETRIABLE if a retrier has attempts left, CAUGHT_ERROR if a catcher matches, else FAILED."""
        handling = self.state.handling
        index = handling.retrier_for(error)
        if index is not None and retry_count < handling.retriers[index].max_attempts:
            delay = handling.retriers[index].delay(retry_count, self.run.random)
            self.inspection["errorDetails"] = {"retryIndex": index, "retryBackoffIntervalSeconds": int(delay)}
            self._failed(error, RETRIABLE)
            return
        for catch_index, catcher in enumerate(handling.catchers):
            if matches(catcher.error_equals, error.error):
                output, assigned = catcher.handle(self.raw, error, visit.scope(self.raw))
                self.inspection["errorDetails"] = {"catchIndex": catch_index}
                self._error_fields(error)
                self._succeeded(CAUGHT_ERROR, catcher.next, output, assigned)
                return
        self._failed(error)

    def _error_fields(self, error: StatesError) -> None:
        self.fields.update({key: value for key, value in (("error", error.error), ("cause", error.cause)) if value is not None})

    def _failed(self, error: StatesError, status: str = FAILED) -> None:
        self._error_fields(error)
        self.fields["status"] = status
        self._record_variables(None)

    def _succeeded(self, status: str, next_name: str | None, output: Any, assigned: dict | None) -> None:
        self.fields.update(status=status, output=to_json(output))
        if next_name is not None:
            self.fields["nextState"] = next_name
        self._record_variables(assigned)

    def _record_variables(self, assigned: dict | None) -> None:
        variables = {**self.branch.variables.visible(), **(assigned or {})}
        if variables:
            self.inspection["variables"] = to_json(variables)

    def response(self) -> dict:
        """The TestState response: its fields in the API's order, inspectionData only when asked for."""
        order = ("output", "error", "cause", "inspectionData", "nextState", "status")
        fields = dict(self.fields)
        if self.inspect:
            fields["inspectionData"] = self.inspection
        return {name: fields[name] for name in order if name in fields}
