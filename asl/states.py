"""The eight state types, compiled from their JSON once and run many times.

Every state follows one life cycle (:meth:`State.run`): write its
``…StateEntered`` event, compute ``(next state, output, assigned variables)``
in :meth:`State.execute`, commit the variables and write ``…StateExited``.
Task, Parallel and Map share :class:`ExecutableState`, which wraps their
work in ``Retry`` and ``Catch``.

States talk to the running execution through two small objects from
:mod:`scones.asl.execution`: the *run* (clock, history, resources, how to run
a sub-graph) and the *visit* (this entry into this state: its context object,
retry count and event trail).

https://states-language.net/spec.html#state-types
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any, NoReturn

from .choice_rules import compile_condition, compile_rule
from .clock import parse_timestamp
from .dataflow import JSONATA, JSONPATH, Setting, flow_for, payload_template, select
from .error_handling import ErrorHandling
from .errors import (
    DATA_LIMIT_EXCEEDED,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    HEARTBEAT_TIMEOUT,
    Interrupt,
    ITEM_READER_FAILED,
    NO_CHOICE_MATCHED,
    RUNTIME,
    TIMEOUT,
    StatesError,
    internal_failure,
)
from .ids import random_uuid
from .paths import Scope, parse_path, to_json
from .query_jsonata import Expression, JsonataTemplate, QueryEvaluationError, is_expression
from .distributed_map import LIST_OBJECTS, ChildRun, MapRun, list_all, write_results
from .resources import ACTIVITY_EVENTS, TaskContext, call, classify, lambda_not_found

PAYLOAD_LIMIT_BYTES = 256 * 1024
NOT_TRUNCATED = {"truncated": False}


def payload_json(value: Any, state_name: str) -> str:
    """JSON text of a state's payload, refusing more than Step Functions' 256 KiB."""
    text = to_json(value)
    if len(text) * 4 > PAYLOAD_LIMIT_BYTES and len(text.encode("utf-8")) > PAYLOAD_LIMIT_BYTES:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The state/task '{state_name}' returned a result with a size exceeding the maximum number "
            f"of bytes service limit.",
        )
    return text


def assigned_json(assigned: dict, state_name: str) -> dict:
    """The JSON text of each assigned variable; together at most 256 KiB, as for payloads."""
    texts = {name: to_json(value) for name, value in assigned.items()}
    if sum(len(text.encode("utf-8")) for text in texts.values()) > PAYLOAD_LIMIT_BYTES:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The variables assigned by the state '{state_name}' exceed the maximum number of bytes service limit.",
        )
    return texts


class Graph:
    """A ``StartAt`` and its ``States``: the machine itself, a Parallel branch or a Map's ItemProcessor."""

    def __init__(self, spec: dict, language: str):
        self.start_at = spec["StartAt"]
        language = spec.get("QueryLanguage", language)
        self.states = {name: compile_state(name, state, language) for name, state in spec["States"].items()}


def compile_state(name: str, spec: dict, language: str) -> "State":
    return STATE_TYPES[spec["Type"]](name, spec, spec.get("QueryLanguage", language))


class State:
    retries = False  # only Task, Parallel and Map have Retry (and $$.State.RetryCount)

    def __init__(self, name: str, spec: dict, language: str):
        self.name = name
        self.type = spec["Type"]
        self.language = language
        self.next = spec.get("Next")
        self.entered = f"{self.type}StateEntered"
        self.exited = f"{self.type}StateExited"

    def run(self, run, branch, raw: Any, raw_text: str | None = None) -> tuple[str | None, Any, str]:
        """Enter the state with ``raw`` input (``raw_text`` is its JSON, when already known).

        Returns the next state's name (None at the end), the output, and the
        output's JSON, which the next state reuses for its Entered event.
        """
        visit = self.enter(run, branch, raw, raw_text)
        try:
            next_name, output, assigned = self.execute(visit, raw)
            output_text = payload_json(output, self.name)
            details = {"name": self.name, "output": output_text, "outputDetails": NOT_TRUNCATED}
            if assigned:
                details["assignedVariables"] = assigned_json(assigned, self.name)
                details["assignedVariablesDetails"] = NOT_TRUNCATED
        except StatesError as error:
            raise visit.failed(error) from None
        except Interrupt:
            raise
        except Exception as error:  # a Python error in this state: States.Runtime, named after the state
            raise visit.failed(internal_failure(error)) from error
        if assigned:
            branch.variables.assign(assigned)
        run.event(branch, self.exited, details)
        return next_name, output, output_text

    def enter(self, run, branch, raw: Any, raw_text: str | None):
        """Write the Entered event and return the visit that the rest of the state works in."""
        text = raw_text if raw_text is not None else to_json(raw)
        entered_id = run.event(branch, self.entered, {"name": self.name, "input": text, "inputDetails": NOT_TRUNCATED})
        return run.visit(branch, self, entered_id)

    def execute(self, visit, raw: Any) -> tuple[str | None, Any, dict | None]:
        """The state's work: (next state or None, output, variables to assign or None)."""
        raise NotImplementedError


class PassState(State):
    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        self.flow = flow_for(spec, language)
        self.result = spec.get("Result")
        self.has_result = "Result" in spec

    def execute(self, visit, raw):
        scope = visit.scope(raw)
        if self.flow.language == JSONATA:
            return self.next, self.flow.plain_output(raw, raw, scope), self.flow.assigned(raw, scope)
        effective = self.flow.effective_input(raw, scope)
        result = self.result if self.has_result else self.flow.task_input(raw, effective, scope)
        return self.next, self.flow.result_output(raw, result, scope), self.flow.assigned(result, scope)


class WaitState(State):
    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        self.flow = flow_for(spec, language)
        self.seconds = Setting(spec, "Seconds", language)
        self.timestamp = Setting(spec, "Timestamp", language)

    def execute(self, visit, raw):
        scope = visit.scope(raw)
        effective = self.flow.effective_input(raw, scope)
        target_scope = scope.with_input(effective)
        if self.seconds.present:
            seconds = _wait_value(self.seconds, target_scope)
            if not _is_count(seconds):
                raise _bad_wait(self.seconds, seconds)
            target = visit.run.clock.now() + timedelta(seconds=seconds)
        else:
            moment = _wait_value(self.timestamp, target_scope)
            target = parse_timestamp(moment)
            if target is None:
                raise _bad_wait(self.timestamp, moment)
        visit.run.sleep_until(visit.branch, target)
        return self.next, self.flow.plain_output(raw, effective, scope), self.flow.assigned(effective, scope)


def _wait_value(setting: Setting, scope: Scope) -> Any:
    """Seconds or Timestamp; a ``…Path`` that finds nothing is AWS's "does not reference an input value"."""
    try:
        return setting.value(scope)
    except StatesError as error:
        if setting.path_text is None or error.error != RUNTIME:
            raise
        raise StatesError(
            RUNTIME, f"The {setting.field}Path parameter does not reference an input value: {setting.path_text}"
        ) from None


def _bad_wait(setting: Setting, value: Any) -> StatesError:
    """AWS's cause for a Wait value it cannot use (``SecondsPath``/``TimestampPath`` name path and value)."""
    if setting.path_text is None:
        expected = "a non-negative integer number of seconds" if setting.field == "Seconds" else (
            "an RFC 3339 timestamp like 2024-01-01T00:00:00Z")
        return _bad_setting(setting, value, expected)
    shown = f"{setting.path_text} == {value if isinstance(value, str) else to_json(value)}"
    if setting.field == "Timestamp":
        problem = "does not reference a valid ISO-8601 extended offset date-time format string"
    elif isinstance(value, int) and not isinstance(value, bool):
        problem = "references a negative value"
    else:
        problem = "cannot be parsed as a long value"
    return StatesError(RUNTIME, f"The {setting.field}Path parameter {problem}: {shown}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bad_setting(setting: Setting, value: Any, expected: str) -> StatesError:
    """A setting evaluated to an unusable value: a query error for JSONata, a runtime error for paths."""
    message = f"The value of the field '{setting.field}' must be {expected}, but was: {to_json(value)}"
    if setting.expression is not None:
        return QueryEvaluationError(message, setting.field)
    return StatesError(RUNTIME, message)


class ChoiceState(State):
    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        self.flow = flow_for(spec, language)
        self.rules = [_ChoiceBranch(rule, language) for rule in spec["Choices"]]
        self.default = spec.get("Default")

    def execute(self, visit, raw):
        scope = visit.scope(raw)
        effective = self.flow.effective_input(raw, scope)
        rule_scope = scope.with_input(effective)
        for rule in self.rules:
            if rule.predicate(rule_scope):
                return rule.next, rule.output(self.flow, raw, effective, scope), rule.assigned(effective, scope)
        if self.default is None:
            raise StatesError(NO_CHOICE_MATCHED, "No Matches!")
        return self.default, self.flow.plain_output(raw, effective, scope), self.flow.assigned(effective, scope)


class _ChoiceBranch:
    """A top-level Choice Rule: its predicate, ``Next``, and its own ``Assign``/``Output``."""

    def __init__(self, rule: dict, language: str):
        self.next = rule["Next"]
        self.language = language
        if language == JSONATA:
            self.predicate = compile_condition(rule["Condition"])
            self.output_template = JsonataTemplate(rule["Output"], "Output") if "Output" in rule else None
            self.assign = JsonataTemplate(rule["Assign"], "Assign") if "Assign" in rule else None
        else:
            self.predicate = compile_rule(rule)
            self.output_template = None
            self.assign = payload_template(rule["Assign"]) if "Assign" in rule else None

    def output(self, flow, raw, effective, scope):
        """The rule's own Output (JSONata), else the input (filtered by the state's OutputPath under JSONPath)."""
        if self.output_template is not None:
            return self.output_template.evaluate(scope)
        return flow.plain_output(raw, effective, scope) if self.language == JSONPATH else raw

    def assigned(self, effective, scope):
        if self.assign is None:
            return None
        if self.language == JSONATA:
            return self.assign.evaluate(scope)
        return self.assign.evaluate(scope.with_input(effective))


class SucceedState(State):
    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        self.flow = flow_for(spec, language)

    def execute(self, visit, raw):
        scope = visit.scope(raw)
        effective = self.flow.effective_input(raw, scope)
        return None, self.flow.plain_output(raw, effective, scope), None


class FailState(State):
    """Ends the execution (or branch) with ``Error`` and ``Cause``; it has no Exited event."""

    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        self.error = Setting(spec, "Error", language)
        self.cause = Setting(spec, "Cause", language)

    def run(self, run, branch, raw, raw_text=None):
        visit = self.enter(run, branch, raw, raw_text)
        scope = visit.scope(raw)
        try:
            error, cause = self.error.value(scope), self.cause.value(scope)
        except StatesError as failure:
            raise visit.failed(failure) from None
        except Exception as failure:
            raise visit.failed(internal_failure(failure)) from failure
        for setting, value in ((self.error, error), (self.cause, cause)):
            if value is not None and not isinstance(value, str):
                raise visit.failed(_bad_setting(setting, value, "a string"))
        raise StatesError(error, cause)


class ExecutableState(State):
    """A state that does work (Task, Parallel, Map), with Retry and Catch around it."""

    takes_arguments = True  # Parameters/Arguments shape the work's input
    retries = True

    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        self.flow = flow_for(spec, language, takes_arguments=self.takes_arguments)
        self.handling = ErrorHandling(spec, language)

    def attempt(self, visit, raw: Any) -> tuple[Any, Scope]:
        """Do the work once; return the raw result and the scope it was computed in."""
        raise NotImplementedError

    def execute(self, visit, raw):
        attempts = [0] * len(self.handling.retriers)
        while True:
            try:
                result, scope = self.attempt(visit, raw)
                assigned = self.flow.assigned(result, scope, {"result": result})
                return self.next, self.flow.result_output(raw, result, scope), assigned
            except StatesError as failure:
                error = visit.failed(failure)
            if error.terminal:
                raise error
            index = self.handling.retrier_for(error)
            if index is not None and attempts[index] < self.handling.retriers[index].max_attempts:
                delay = self.handling.retriers[index].delay(attempts[index], visit.run.random)
                attempts[index] += 1
                visit.retry_count += 1
                visit.run.sleep(visit.branch, delay)
                continue
            catcher = self.handling.catcher_for(error)
            if catcher is None:
                raise error
            output, assigned = catcher.handle(raw, error, visit.scope(raw))
            return catcher.next, output, assigned


class TaskState(ExecutableState):
    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        self.target = classify(spec["Resource"])
        self.timeout = Setting(spec, "TimeoutSeconds", language)
        self.heartbeat = Setting(spec, "HeartbeatSeconds", language)
        # Lambda functions cannot heartbeat; only activities and integrations do.
        self.heartbeats = not (self.target.is_lambda_function or self.target.is_lambda_invoke)
        prefix = self.target.events
        self.event_type = {stage: prefix + stage for stage in ("Scheduled", "Started", "Succeeded", "Failed", "TimedOut", "StartFailed")}
        self.fields = self.target.event_fields()
        self.started_details = {"workerName": "scones-local"} if prefix == ACTIVITY_EVENTS else (self.fields or None)

    def attempt(self, visit, raw):
        run = visit.run
        if self.target.waits_for_task_token:
            visit.task_token = random_uuid(run.random)
        scope = visit.scope(raw)
        parameters = self.flow.task_input(raw, self.flow.effective_input(raw, scope), scope)
        timeout = self._seconds(self.timeout, scope)
        heartbeat = self._seconds(self.heartbeat, scope) if self.heartbeats else None
        parameters_text = payload_json(parameters, self.name)
        run.event(visit.branch, self.event_type["Scheduled"], self._scheduled(run, parameters_text, timeout, heartbeat))
        result, size_bound = self._call(visit, parameters_text, timeout, heartbeat)
        if size_bound is not None and size_bound <= PAYLOAD_LIMIT_BYTES:
            # Surely within the limit: the history's copy of the result is encoded only if someone reads it.
            fields = self.fields
            details = lambda: {**fields, "output": to_json(result), "outputDetails": NOT_TRUNCATED}  # noqa: E731
        else:
            details = {**self.fields, "output": self._result_json(visit, result), "outputDetails": NOT_TRUNCATED}
        run.event(visit.branch, self.event_type["Succeeded"], details)
        return result, scope

    def _scheduled(self, run, parameters_text: str, timeout: int | None, heartbeat: int | None) -> dict:
        if self.fields:
            details = {**self.fields, "region": run.resources.region, "parameters": parameters_text}
        else:
            details = {"resource": self.target.arn, "input": parameters_text, "inputDetails": NOT_TRUNCATED}
        if timeout is not None:
            details["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            details["heartbeatInSeconds"] = heartbeat
        return details

    def _call(self, visit, parameters_text: str, timeout: int | None, heartbeat: int | None) -> tuple[Any, int | None]:
        """Start the task and wait for its result; failures are written to the history and raised.

        Returns the result and, when the integration knows one, a bound of its JSON size in bytes.
        """
        run = visit.run
        request_id = random_uuid(run.random)
        if self.target.is_lambda_function and not run.resources.mocks(self.name) \
                and run.resources.find_lambda(self.target.arn) is None:
            self._fail(visit, "StartFailed", lambda_not_found(self.target.arn, run.resources, request_id))
        run.event(visit.branch, self.event_type["Started"], self.started_details)
        context = TaskContext(execution_arn=run.execution_arn, state_name=self.name, task_token=visit.task_token, clock=run.clock)
        limited = timeout is not None or heartbeat is not None
        started = run.clock.now() if limited else None
        try:
            result = call(self.target, parameters_text, resources=run.resources, context=context, request_id=request_id)
        except StatesError as error:
            failure = error
        else:
            failure = None
        late = _late(started, run.clock.now(), timeout, heartbeat, context.heartbeats) if limited else None
        if late is not None:
            self._fail(visit, "TimedOut", late)
        if failure is not None:
            self._fail(visit, "Failed", failure)
        return result, context.result_size_bound

    def _result_json(self, visit, result: Any) -> str:
        """The task's result as JSON; over 256 KiB the *task* fails (a catchable States.DataLimitExceeded).

        AWS names the resource in the cause: the service (``lambda``) for an
        integration, the ARN for a Lambda function or an activity.
        """
        try:
            return payload_json(result, self.target.resource_type or self.target.arn)
        except StatesError as too_large:
            self._fail(visit, "Failed", StatesError(too_large.error, too_large.cause, terminal=False))

    def _fail(self, visit, stage: str, failure: StatesError) -> NoReturn:
        details = {**self.fields, "error": failure.error}
        if failure.cause is not None:
            details["cause"] = failure.cause
        visit.run.event(visit.branch, self.event_type[stage], details)
        raise failure

    def _seconds(self, setting: Setting, scope: Scope) -> int | None:
        if not setting.present:
            return None
        value = setting.value(scope)
        if not _is_count(value) or value == 0:
            raise _bad_setting(setting, value, "a positive integer number of seconds")
        return value


def _late(started, finished, timeout: int | None, heartbeat: int | None, beats: list) -> StatesError | None:
    """States.Timeout or States.HeartbeatTimeout if the task overran (by the clock), whichever came first."""
    deadlines = []
    if timeout is not None:
        deadlines.append((started + timedelta(seconds=timeout), TIMEOUT))
    if heartbeat is not None:
        last = started
        for beat in [*beats, finished]:
            if (beat - last).total_seconds() > heartbeat:
                deadlines.append((last + timedelta(seconds=heartbeat), HEARTBEAT_TIMEOUT))
                break
            last = beat
    missed = [(moment, error) for moment, error in deadlines if finished > moment]
    if not missed:
        return None
    return StatesError(min(missed)[1])


class ParallelState(ExecutableState):
    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        self.branches = [Graph(branch, language) for branch in spec["Branches"]]

    def attempt(self, visit, raw):
        scope = visit.scope(raw)
        effective = self.flow.effective_input(raw, scope)
        branch_input = self.flow.task_input(raw, effective, scope)
        run = visit.run
        run.event(visit.branch, "ParallelStateStarted", None)
        try:
            outputs = run.run_children(visit, [(graph, branch_input) for graph in self.branches], len(self.branches))
        except StatesError:
            run.event(visit.branch, "ParallelStateFailed", None)
            raise
        run.event(visit.branch, "ParallelStateSucceeded", None)
        return outputs, scope


class MapState(ExecutableState):
    takes_arguments = False  # a Map's Parameters are its legacy ItemSelector, applied per item

    def __init__(self, name, spec, language):
        super().__init__(name, spec, language)
        processor = spec.get("ItemProcessor") or spec["Iterator"]
        self.processor = Graph(processor, language)
        self.items_path = parse_path(spec.get("ItemsPath", "$")) if language == JSONPATH else None
        items = spec.get("Items")
        self.items = Expression(items, "Items") if is_expression(items) else (
            None if items is None else JsonataTemplate(items, "Items"))
        selector = spec.get("ItemSelector", spec.get("Parameters"))
        self.item_selector = None if selector is None else (
            JsonataTemplate(selector, "ItemSelector") if language == JSONATA else payload_template(selector)
        )
        self.max_concurrency = Setting(spec, "MaxConcurrency", language)
        self.tolerated_count = Setting(spec, "ToleratedFailureCount", language)
        self.tolerated_percentage = Setting(spec, "ToleratedFailurePercentage", language)
        self.item_reader = spec.get("ItemReader")
        batcher = spec.get("ItemBatcher")
        self.batcher = _ItemBatcher(batcher, language) if batcher is not None else None
        self.result_writer = spec.get("ResultWriter")
        self.label = spec.get("Label", name)

    def attempt(self, visit, raw):
        scope = visit.scope(raw)
        effective = self.flow.effective_input(raw, scope)
        items = self._items(visit, raw, effective, scope)
        inputs = [self._item_input(visit, raw, effective, index, item) for index, item in enumerate(items)]
        if self.batcher is not None:
            inputs = self.batcher.batches(inputs, scope.with_input(effective))
        setting_scope = scope.with_input(effective)
        concurrency = _map_count(self.max_concurrency, setting_scope, 0)
        tolerance = self._tolerance(setting_scope)
        run = visit.run
        run.event(visit.branch, "MapStateStarted", {"length": len(inputs)})
        children: list[ChildRun] | None = [] if self.result_writer is not None else None
        try:
            try:
                outputs = run.run_children(visit, [(self.processor, item) for item in inputs], concurrency,
                                           map_name=self.name, tolerance=tolerance, children=children)
            finally:
                if children is not None:
                    outputs = self._write_results(visit, setting_scope, inputs, children)
        except StatesError:
            run.event(visit.branch, "MapStateFailed", None)
            raise
        run.event(visit.branch, "MapStateSucceeded", None)
        return outputs, scope

    def _write_results(self, visit, scope: Scope, inputs: list, children: list[ChildRun]) -> dict:
        """``ResultWriter``: the children's executions to S3; the Map's result names the manifest.

        Children that never started (the run failed first) are listed as PENDING.
        """
        run = visit.run
        done = {child.index for child in children}
        everyone = sorted(children + [ChildRun(index, value, "PENDING") for index, value in enumerate(inputs)
                                      if index not in done], key=lambda child: child.index)
        writer = self.result_writer
        parameters = payload_template(writer.get("Parameters", writer.get("Arguments", {}))).evaluate(scope)
        map_run = MapRun(run.resources.region, run.resources.account, run.machine.name, self.label,
                         random_uuid(run.random))
        target = classify(writer["Resource"])

        def put_object(request: dict) -> Any:
            context = TaskContext(execution_arn=run.execution_arn, state_name=visit.state.name, task_token=None,
                                  clock=run.clock)
            return call(target, to_json(request), resources=run.resources, context=context,
                        request_id=random_uuid(run.random))

        return write_results(put_object, parameters, map_run, everyone)

    def _items(self, visit, raw, effective, scope) -> list:
        if self.item_reader is not None:
            return _read_items(visit, self.item_reader, scope.with_input(effective))
        if self.language == JSONATA:
            if self.items is None:
                if not isinstance(raw, list):
                    raise QueryEvaluationError(f"Map state input must be an array but was: {to_json(raw)}", "Items")
                return raw
            items = self.items.evaluate(scope)
            if not isinstance(items, list):
                raise self.items.type_error("array", items)
            return items
        items = select(self.items_path, effective, scope)
        if not isinstance(items, list):
            raise StatesError(
                RUNTIME,
                f"Invalid path '{self.items_path.text}': The value of the ItemsPath field must be a JSON array, "
                f"but was: {to_json(items)}",
            )
        return items

    def _item_input(self, visit, raw, effective, index: int, item: Any) -> Any:
        if self.item_selector is None:
            return item
        scope = visit.scope(raw if self.language == JSONATA else effective, map_item=(index, item))
        return self.item_selector.evaluate(scope)

    def _tolerance(self, scope: Scope) -> tuple[int | None, float | None] | None:
        if not (self.tolerated_count.present or self.tolerated_percentage.present):
            return None
        count = _map_count(self.tolerated_count, scope, None)
        percentage = _map_percentage(self.tolerated_percentage, scope)
        return count, percentage


def _path_number(setting: Setting, value: Any, kind: str, convert) -> Any:
    """A ``…Path`` value as AWS reads it: a number, or a string holding one; else States.Runtime."""
    if isinstance(value, str):
        try:
            value = convert(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "integer" and not isinstance(value, int)):
        shown = value if isinstance(value, str) else to_json(value)
        raise StatesError(
            RUNTIME, f'The {setting.field}Path field refers to value "{shown}" which is not a valid {kind}: {setting.path_text}')
    return value


def _map_count(setting: Setting, scope: Scope, default: Any) -> Any:
    """MaxConcurrency or ToleratedFailureCount: a non-negative integer."""
    value = setting.value(scope, default)
    if value is default:
        return value
    if setting.path_text is not None:
        value = _path_number(setting, value, "integer", int)
    elif not _is_count(value) and setting.expression is not None:
        raise _bad_setting(setting, value, "a non-negative integer")
    if value < 0:
        raise StatesError(RUNTIME, {
            "MaxConcurrency": f"Expected non-negative integer for MaxConcurrency, got '{value}' instead.",
        }.get(setting.field, f"{setting.field} cannot be negative."))
    return value


def _map_percentage(setting: Setting, scope: Scope) -> float | None:
    """ToleratedFailurePercentage: a number from 0 to 100."""
    value = setting.value(scope)
    if value is None:
        return None
    if setting.path_text is not None:
        value = _path_number(setting, value, "float", float)
    elif setting.expression is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise _bad_setting(setting, value, "a number from 0 to 100")
    if not 0 <= value <= 100:
        raise StatesError(RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
    return value


def exceeds(tolerance: tuple[int | None, float | None], failures: int, total: int) -> bool:
    """Do ``failures`` out of ``total`` items exceed a Map's tolerated failure count/percentage?"""
    count, percentage = tolerance
    if count is not None and failures > count:
        return True
    return percentage is not None and total > 0 and failures * 100 / total > percentage


def tolerance_exceeded() -> StatesError:
    return StatesError(EXCEED_TOLERATED_FAILURE_THRESHOLD, "The specified tolerated failure threshold was exceeded")


class _ItemBatcher:
    """``ItemBatcher``: group items into ``{"BatchInput": {...}, "Items": [...]}`` objects."""

    def __init__(self, spec: dict, language: str):
        self.max_items = Setting(spec, "MaxItemsPerBatch", language)
        self.max_bytes = Setting(spec, "MaxInputBytesPerBatch", language)
        batch_input = spec.get("BatchInput")
        self.batch_input = None if batch_input is None else (
            JsonataTemplate(batch_input, "BatchInput") if language == JSONATA else payload_template(batch_input)
        )

    def batches(self, items: list, scope: Scope) -> list:
        max_items = self.max_items.value(scope)
        max_bytes = self.max_bytes.value(scope)
        shared = {"BatchInput": self.batch_input.evaluate(scope)} if self.batch_input is not None else {}
        batches, current, size = [], [], 0
        for item in items:
            item_size = len(to_json(item).encode("utf-8"))
            full = (max_items is not None and len(current) >= max_items) or (
                max_bytes is not None and current and size + item_size > max_bytes
            )
            if full:
                batches.append(current)
                current, size = [], 0
            current.append(item)
            size += item_size
        if current:
            batches.append(current)
        return [{**shared, "Items": batch} for batch in batches]


def _read_items(visit, reader: dict, scope: Scope) -> list:
    """``ItemReader``: fetch the items through the registered resource (e.g. s3:getObject).

    The handler returns the object's content: a JSON array, or JSON/CSV text
    parsed according to ``ReaderConfig.InputType``; for ``s3:listObjectsV2``
    it returns ListObjectsV2 pages, and the items are the listed objects
    (:func:`~scones.asl.distributed_map.list_all`). Any failure is
    ``States.ItemReaderFailed``.
    """
    run = visit.run
    parameters = payload_template(reader.get("Parameters", reader.get("Arguments", {}))).evaluate(scope)
    target = classify(reader["Resource"])
    context = TaskContext(execution_arn=run.execution_arn, state_name=visit.state.name, task_token=None, clock=run.clock)
    request_id = random_uuid(run.random)
    config = reader.get("ReaderConfig", {})
    try:
        if reader["Resource"] == LIST_OBJECTS:
            items = list_all(lambda request: call(target, to_json(request), resources=run.resources, context=context,
                                                  request_id=random_uuid(run.random)), parameters)
        else:
            content = call(target, to_json(parameters), resources=run.resources, context=context,
                           request_id=request_id)
            if isinstance(content, dict) and "Body" in content:
                content = content["Body"]
            items = _parse_items(content, config)
    except (StatesError, ValueError) as error:
        raise StatesError(ITEM_READER_FAILED, f"The ItemReader could not read items from {reader['Resource']}: {error}") from None
    limit = config.get("MaxItems")
    return items[:limit] if isinstance(limit, int) and limit > 0 else items


def _parse_items(content: Any, config: dict) -> list:
    input_type = config.get("InputType", "JSON")
    if isinstance(content, list):
        return content
    if not isinstance(content, str):
        raise ValueError(f"expected the object's content, got {to_json(content)}")
    if input_type == "JSON":
        items = json.loads(content)
        if not isinstance(items, list):
            raise ValueError("the JSON content is not an array")
        return items
    if input_type == "CSV":
        rows = list(csv.reader(io.StringIO(content)))
        if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
            header = config["CSVHeaders"]
        else:
            header, rows = rows[0], rows[1:]
        return [dict(zip(header, row)) for row in rows]
    raise ValueError(f"InputType {input_type} is not supported locally")


STATE_TYPES = {
    "Pass": PassState,
    "Task": TaskState,
    "Choice": ChoiceState,
    "Wait": WaitState,
    "Succeed": SucceedState,
    "Fail": FailState,
    "Parallel": ParallelState,
    "Map": MapState,
}
