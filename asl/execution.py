"""State machines and their executions.

:class:`StateMachine` loads, substitutes, validates and compiles a definition
once; it holds no per-run state, so any number of threads may execute it at
the same time. Each execution gets a :class:`_Run` of its own (history, clock,
random source, variables), and returns an :class:`Execution` shaped like
``DescribeExecution`` plus the ``GetExecutionHistory`` events.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
"""

from __future__ import annotations

import json
import random as random_module
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta
from typing import Any, Mapping

from .clock import Clock, RealClock, iso_timestamp
from .definition import Definition, load, substitute
from .distributed_map import ChildRun
from .errors import QUERY_EVALUATION_ERROR, RUNTIME, TIMEOUT, Interrupt, StatesError, internal_failure
from .execution_input import accepted_input
from .history import History, HistoryLimitReached
from .ids import random_uuid
from .mock_config import mocked_resources
from .paths import Scope
from .query_jsonata import QueryEvaluationError
from .resources import Resources, as_resources
from .states import NOT_TRUNCATED, Graph, exceeds, tolerance_exceeded
from .validation import DefinitionError, validate
from .variables import Variables

RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED = "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"

# The random source of executions that bring none; seeding one per execution would cost more than a state.
# (Its methods are safe to call from many threads.)
_SHARED_RANDOM = random_module.Random()


@dataclass
class Execution:
    """The outcome of one execution: ``DescribeExecution``'s fields plus the history.

    ``output`` is the output's JSON text, as ``DescribeExecution`` returns it
    (an output may be any JSON value, a string or null included);
    ``output_value`` is that text parsed. ``input`` is parsed.
    """

    execution_arn: str
    name: str
    state_machine_arn: str
    input: Any
    start_date: datetime
    status: str = RUNNING
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: datetime | None = None
    _history: History | None = field(default=None, repr=False)  # set when the execution is prepared
    _finished: threading.Event | None = field(default=None, repr=False)  # set by start()
    _stop_reason: tuple | None = field(default=None, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)  # wakes a sleeping run

    def wait(self, timeout: float | None = None) -> "Execution":
        """Block until an execution begun with :meth:`StateMachine.start` ends."""
        if self._finished is not None and not self._finished.wait(timeout):
            raise TimeoutError(f"execution {self.name} still {self.status} after {timeout} s")
        return self

    def stop(self, error: str | None = None, cause: str | None = None) -> None:
        """Ask a running execution to stop (StopExecution): it ends ABORTED promptly.

        The run notices at its next state boundary, within 1,024 steps of a
        JSONata evaluation, or at once in a Wait or a Retry interval; a Task's
        handler already running is not interrupted (its result is discarded).
        """
        self._stop_reason = (error, cause)
        self._stopping.set()

    @property
    def history(self) -> list[dict]:
        """The ``GetExecutionHistory`` events so far."""
        return [] if self._history is None else self._history.events

    @property
    def output_value(self) -> Any:
        """The output as a JSON value (None while running, after a failure, or for a null output)."""
        return None if self.output is None else json.loads(self.output)

    @property
    def event_types(self) -> list[str]:
        return [event["type"] for event in self.history]


class _Halt(Interrupt):
    """The execution must end now, with ``status`` (TIMED_OUT or ABORTED); no Catch applies."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


class _Cancelled(Interrupt):
    """A sibling branch or iteration failed; this one stops (MapIterationAborted)."""


class _Branch:
    """One thread of control: its variable scope, its event trail and what may cancel it."""

    __slots__ = ("variables", "last_event", "cancels")

    def __init__(self, variables: Variables, last_event: int, cancels: tuple = ()):
        self.variables = variables
        self.last_event = last_event
        self.cancels = cancels


class _Visit:
    """One entry into one state: what its context object (``$$``) and failures need."""

    __slots__ = ("run", "branch", "state", "entered_event_id", "entered_time", "retry_count", "task_token")

    def __init__(self, run: "_Run", branch: _Branch, state, entered_event_id: int):
        self.run = run
        self.branch = branch
        self.state = state
        self.entered_event_id = entered_event_id
        self.entered_time = run.history.timestamp(entered_event_id)
        self.retry_count = 0
        self.task_token: str | None = None

    def scope(self, input: Any, map_item: tuple[int, Any] | None = None) -> Scope:
        return Scope(input, lambda: self.context_object(map_item), self.branch.variables, self.run.random,
                     lambda: self.run.check(self.branch))

    def context_object(self, map_item: tuple[int, Any] | None = None) -> dict:
        state = {"EnteredTime": iso_timestamp(self.entered_time), "Name": self.state.name}
        if self.state.retries:  # AWS shows RetryCount only to the states that can retry
            state["RetryCount"] = self.retry_count
        context = {"Execution": self.run.execution_context, "State": state, "StateMachine": self.run.machine_context}
        if self.task_token is not None:
            context["Task"] = {"Token": self.task_token}
        if map_item is not None:
            context["Map"] = {"Item": {"Index": map_item[0], "Value": map_item[1]}}
        return context

    def failed(self, error: StatesError) -> StatesError:
        """Dress an evaluation failure as AWS reports it (once): prefix its cause, record EvaluationFailed."""
        if isinstance(error, (_LocatedError, HistoryLimitReached)) or error.error not in (RUNTIME, QUERY_EVALUATION_ERROR):
            return error
        cause = (
            f"An error occurred while executing the state '{self.state.name}' "
            f"(entered at the event id #{self.entered_event_id}). {error.cause or ''}".rstrip()
        )
        if error.error == QUERY_EVALUATION_ERROR:
            details = {"error": error.error, "cause": cause, "state": self.state.name}
            if isinstance(error, QueryEvaluationError) and error.location:
                details["location"] = error.location
            self.run.event(self.branch, "EvaluationFailed", details)
        return _LocatedError(error.error, cause)


class _LocatedError(StatesError):
    """A States.Runtime or QueryEvaluationError whose cause already names its state."""


class _Run:
    """The mutable side of one execution; states reach it as ``visit.run``."""

    def __init__(self, machine: "StateMachine", execution: Execution, input_text: str, *, resources: Resources,
                 clock: Clock, rng: random_module.Random, max_workers: int, role_arn: str):
        self.machine = machine
        self.execution = execution
        self.execution_arn = execution.execution_arn
        self.resources = resources
        self.clock = clock
        self.random = rng
        self.max_workers = max(1, max_workers)
        self.history = History(clock)
        execution._history = self.history
        self.input_text = input_text
        self.role_arn = role_arn
        self.deadline = (
            execution.start_date + timedelta(seconds=machine.timeout_seconds) if machine.timeout_seconds else None
        )

    @cached_property
    def execution_context(self) -> dict:
        """``$$.Execution``: built when a state first reads the context object."""
        execution = self.execution
        return {
            "Id": execution.execution_arn,
            "Input": execution.input,
            "Name": execution.name,
            "RoleArn": self.role_arn,
            "StartTime": iso_timestamp(execution.start_date),
            "RedriveCount": 0,
        }

    @cached_property
    def machine_context(self) -> dict:
        """``$$.StateMachine``."""
        return {"Id": self.machine.arn(self.resources), "Name": self.machine.name}

    # --- events and time -----------------------------------------------------------

    def event(self, branch: _Branch, event_type: str, details: dict | None) -> int:
        branch.last_event = self.history.add(event_type, details, branch.last_event)
        return branch.last_event

    def visit(self, branch: _Branch, state, entered_event_id: int) -> _Visit:
        return _Visit(self, branch, state, entered_event_id)

    def check(self, branch: _Branch) -> None:
        """Stop here if the execution was stopped, timed out, or this branch was cancelled."""
        if self.execution._stop_reason is not None:
            raise _Halt(ABORTED)
        if self.deadline is not None and self.clock.now() >= self.deadline:
            raise _Halt(TIMED_OUT)
        if any(cancel.is_set() for cancel in branch.cancels):
            raise _Cancelled()

    def sleep(self, branch: _Branch, seconds: float) -> None:
        if seconds > 0:
            self.sleep_until(branch, self.clock.now() + timedelta(seconds=seconds))

    def sleep_until(self, branch: _Branch, moment: datetime) -> None:
        """Wait until ``moment`` (a Wait state, a retry interval), but not past the execution's timeout."""
        now, wake = self.clock.now(), self.execution._stopping
        if self.deadline is not None and moment >= self.deadline:
            self.clock.sleep(max(0.0, (self.deadline - now).total_seconds()), wake)
            self.check(branch)  # a stop during the sleep is an abort, not a timeout
            raise _Halt(TIMED_OUT)
        seconds = (moment - now).total_seconds()
        if seconds > 0:
            self.clock.sleep(seconds, wake)
        self.check(branch)

    # --- running graphs --------------------------------------------------------------

    def run_graph(self, graph: Graph, value: Any, branch: _Branch) -> tuple[Any, str | None]:
        """Run from StartAt to the end; return the output and its JSON text."""
        name, text = graph.start_at, None
        while True:
            self.check(branch)
            name, value, text = graph.states[name].run(self, branch, value, text)
            if name is None:
                return value, text

    def run_children(self, visit: _Visit, jobs: list[tuple[Graph, Any]], concurrency: int, *,
                     map_name: str | None = None, tolerance=None, children: list | None = None) -> list:
        """Run Parallel branches or Map iterations; outputs in job order.

        ``concurrency`` is the state's MaxConcurrency (0 = unlimited), capped by
        the execution's ``max_workers``; with one worker, jobs run in order in
        this thread and the history is deterministic. A failure fails the
        whole state (cancelling the jobs still running) unless a Map's
        tolerated failure threshold allows it. ``children``, when given,
        receives a :class:`ChildRun` per job that ran (a Distributed Map's
        ResultWriter lists them).
        """
        parent = visit.branch
        cancel = threading.Event()
        outputs: list[Any] = [None] * len(jobs)
        failures: list[StatesError] = []
        halts: list[_Halt] = []
        lock = threading.Lock()
        describe = (lambda index: {"name": map_name, "index": index}) if map_name else (lambda index: None)

        def job(index: int) -> None:
            if cancel.is_set():
                return
            graph, value = jobs[index]
            branch = _Branch(parent.variables.child(), parent.last_event, parent.cancels + (cancel,))
            if map_name:
                self.event(branch, "MapIterationStarted", describe(index))
            started = self.clock.now()
            try:
                outputs[index] = self.run_graph(graph, value, branch)[0]
            except _Cancelled:
                if map_name:
                    self.event(branch, "MapIterationAborted", describe(index))
                return
            except _Halt as halt:
                halts.append(halt)
                cancel.set()
                return
            except StatesError as error:
                if map_name:
                    self.event(branch, "MapIterationFailed", describe(index))
                with lock:
                    failures.append(error)
                    outputs[index] = error.error_output
                    if children is not None:
                        children.append(ChildRun(index, value, "FAILED", error=error.error, cause=error.cause,
                                                 started=started, stopped=self.clock.now()))
                    if tolerance is None or error.terminal or exceeds(tolerance, len(failures), len(jobs)):
                        cancel.set()
                return
            if children is not None:
                with lock:
                    children.append(ChildRun(index, value, "SUCCEEDED", outputs[index], started=started,
                                             stopped=self.clock.now()))
            if map_name:
                self.event(branch, "MapIterationSucceeded", describe(index))

        workers = min(self.max_workers, concurrency or len(jobs), len(jobs))
        if workers <= 1:
            for index in range(len(jobs)):
                job(index)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"asl-{visit.state.name}") as pool:
                list(pool.map(job, range(len(jobs))))
        parent.last_event = len(self.history)
        if halts:
            raise halts[0]
        terminal = [failure for failure in failures if failure.terminal]
        if terminal or (failures and tolerance is None):
            raise (terminal or failures)[0]
        if failures and exceeds(tolerance, len(failures), len(jobs)):
            raise tolerance_exceeded()
        return outputs

    # --- the execution --------------------------------------------------------------

    def run(self) -> Execution:
        execution = self.execution
        root = _Branch(Variables(), 0)
        self.event(root, "ExecutionStarted", {"input": self.input_text, "inputDetails": NOT_TRUNCATED, "roleArn": self.role_arn})
        root.last_event = 0  # AWS records the first state's Entered event with previousEventId 0, not 1
        try:
            try:
                _, output_text = self.run_graph(self.machine.graph, execution.input, root)
            except (StatesError, Interrupt):
                raise
            except Exception as error:  # a last guard: a Python error ends the execution, it never escapes
                raise internal_failure(error) from error
            self.event(root, "ExecutionSucceeded", {"output": output_text, "outputDetails": NOT_TRUNCATED})
            execution.output, execution.status = output_text, SUCCEEDED
        except StatesError as failure:
            if isinstance(failure, HistoryLimitReached):  # whichever branch filled it, the failure follows the last event
                root.last_event = len(self.history)
            details = {key: value for key, value in (("error", failure.error), ("cause", failure.cause)) if value is not None}
            self.event(root, "ExecutionFailed", details or None)
            execution.error, execution.cause, execution.status = failure.error, failure.cause, FAILED
        except _Halt as halt:
            if halt.status == TIMED_OUT:
                self.event(root, "ExecutionTimedOut", {"error": TIMEOUT})
                execution.error = TIMEOUT
            else:
                error, cause = execution._stop_reason
                details = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
                self.event(root, "ExecutionAborted", details or None)
                execution.error, execution.cause = error, cause
            execution.status = halt.status
        execution.stop_date = self.clock.now()
        if execution._finished is not None:
            execution._finished.set()
        return execution


class StateMachine:
    """A validated, compiled definition, ready to execute any number of times, from any thread.

    ``definition`` is a dict, JSON text or a file path; ``substitutions`` fill
    its ``${Name}`` placeholders first. Raises :class:`DefinitionError` with
    every problem found.
    """

    def __init__(self, definition: Definition, *, substitutions: Mapping[str, Any] | None = None,
                 name: str = "StateMachine"):
        data = load(definition)
        if substitutions is not None:
            data = substitute(data, substitutions)
        diagnostics = validate(data)
        if diagnostics:
            raise DefinitionError(diagnostics)
        self.definition = data
        self.name = name
        self.timeout_seconds = data.get("TimeoutSeconds")
        self.graph = Graph(data, data.get("QueryLanguage", "JSONPath"))

    def arn(self, resources: Resources) -> str:
        return f"arn:aws:states:{resources.region}:{resources.account}:stateMachine:{self.name}"

    def execute(self, input: Any = None, *, resources: Resources | Mapping[str, Any] | None = None,
                clock: Clock | None = None, name: str | None = None, random: random_module.Random | None = None,
                max_workers: int = 1, role_arn: str | None = None) -> Execution:
        """Run one execution to its end in this thread (like StartSyncExecution) and return it.

        ``input`` is a JSON value or JSON text; ``resources`` the Lambda handlers
        and integrations (a :class:`Resources` or a ``{name or ARN: callable}``
        dict); ``clock`` the time source (real by default); ``random`` the source
        of UUIDs, request ids, jitter and States.MathRandom; ``max_workers``
        how many threads a Map or Parallel state may use (1: run in order).
        An input StartExecution would refuse raises
        :class:`~scones.asl.execution_input.InvalidExecutionInput` (no execution starts).
        """
        return self._prepare(input, resources, clock, name, random, max_workers, role_arn).run()

    def start(self, input: Any = None, *, resources: Resources | Mapping[str, Any] | None = None,
              clock: Clock | None = None, name: str | None = None, random: random_module.Random | None = None,
              max_workers: int = 1, role_arn: str | None = None) -> Execution:
        """Start an execution in a background thread (like StartExecution); ``wait()`` for it or ``stop()`` it."""
        run = self._prepare(input, resources, clock, name, random, max_workers, role_arn)
        run.execution._finished = threading.Event()
        threading.Thread(target=run.run, name=f"asl-execution-{run.execution.name}", daemon=True).start()
        return run.execution

    def _prepare(self, input, resources, clock, name, rng, max_workers, role_arn) -> _Run:
        resources = as_resources(resources)
        clock = clock or RealClock()
        rng = rng if rng is not None else _SHARED_RANDOM
        name = name or random_uuid(rng)
        input_text, input_value = accepted_input(input)
        execution = Execution(
            execution_arn=f"arn:aws:states:{resources.region}:{resources.account}:execution:{self.name}:{name}",
            name=name,
            state_machine_arn=self.arn(resources),
            input=input_value,
            start_date=clock.now(),
        )
        role_arn = role_arn or f"arn:aws:iam::{resources.account}:role/service-role/StepFunctions-{self.name}-role"
        return _Run(self, execution, input_text, resources=resources, clock=clock, rng=rng,
                    max_workers=max_workers, role_arn=role_arn)


def execute(definition: "Definition | StateMachine", input: Any = None, *,
            substitutions: Mapping[str, Any] | None = None, mock_config: Any = None, test_case: str | None = None,
            state_machine: str | None = None, field_validation_mode: str = "STRICT", **options) -> Execution:
    """Validate ``definition`` (unless already a :class:`StateMachine`) and run it once; see :meth:`StateMachine.execute`.

    With ``mock_config`` (a MockConfigFile.json path, its text or dict) and
    ``test_case``, the test case's Task states are answered from their mocked
    responses (checked first with ``field_validation_mode``); ``state_machine``
    names the file's state machine when it has several. See :mod:`scones.asl.mock_config`.
    """
    machine = definition if isinstance(definition, StateMachine) else StateMachine(definition, substitutions=substitutions)
    if mock_config is not None or test_case is not None:
        options["resources"] = mocked_resources(machine.definition, options.get("resources"), mock_config, test_case,
                                                state_machine, field_validation_mode)
    return machine.execute(input, **options)
