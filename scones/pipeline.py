"""The main job: every step of the workflow in order, with an output folder.

``scones run`` is this module. Each step is a method of the backend, so the
same sequence runs locally and on AWS; a step that fails stops the run with
:class:`StepFailed` naming the step and the reason, and whatever the run had
started (an endpoint) is still torn down.
"""

from __future__ import annotations

import csv
import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from scones.backend import (
    DEFAULT_ENDPOINT,
    Backend,
    EndpointInfo,
    ExecutionOutcome,
    TrainingOutcome,
)
from scones.class_names import DEFAULT_CLASSES
from scones.execution_inputs import ImageCase
from scones.execution_rows import ExecutionRow, execution_row
from scones.inferences import DEFAULT_THRESHOLD
from scones.monitoring.reading import StorageCaptures
from scones.monitoring.report import WORKFLOW_GRAPH_FILES, ReportFigure
from scones.monitoring.threshold_curve import LabelledInference
from scones.staged_bucket import pick_test_cases, read_class_names


# Without --seed, `scones run` still sends the same test images every time, so runs compare.
DEFAULT_CASE_SEED = 0


class StepFailed(RuntimeError):
    """A step of ``scones run`` failed; ``step`` names it."""

    def __init__(self, step: str, reason: BaseException):
        super().__init__(f"step '{step}' failed: {reason}")
        self.step = step
        self.reason = reason


@dataclass
class RunOptions:
    archive: str  # a local path (download already resolved)
    out_dir: Path
    classes: Sequence[str] = DEFAULT_CLASSES
    endpoint_name: str = DEFAULT_ENDPOINT
    executions: int = 10
    seed: int | None = None  # training's (None: the backend's own) and the test images' choice
    threshold: float | None = None  # None: the filter's configured threshold, else 0.93
    hyperparameter_overrides: dict = field(default_factory=dict)  # NAME -> value, over the backend's defaults
    keep_endpoint: bool = False


@dataclass
class RunSummary:
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds
    training: TrainingOutcome | None = None
    endpoint: EndpointInfo | None = None
    rows: list[ExecutionRow] = field(default_factory=list)
    monitor: object = None
    threshold: float = DEFAULT_THRESHOLD  # the filter's, as the executions ran

    def to_json(self) -> dict:
        return {
            "steps_seconds": {name: round(seconds, 3) for name, seconds in self.steps.items()},
            "model_uri": self.training.model_uri if self.training else None,
            "validation_accuracy": self.training.validation_accuracy if self.training else None,
            "endpoint": self.endpoint.name if self.endpoint else None,
            "executions": [row.to_json() for row in self.rows],
        }


Say = Callable[[str], None]


@contextmanager
def step(name: str, summary: RunSummary, say: Say) -> Iterator[None]:
    say(f"── {name}")
    started = time.perf_counter()
    try:
        yield
    except StepFailed:
        raise
    except Exception as error:  # every failure is reported as the step's
        raise StepFailed(name, error) from error
    summary.steps[name] = time.perf_counter() - started


def run_executions(backend: Backend, workflow, cases: Sequence[ImageCase],
                   class_names: Sequence[str]) -> tuple[list[ExecutionRow], list[ExecutionOutcome]]:
    """One execution per case, named ``scones-RUN-NNNN`` (AWS keeps names unique for 90 days)."""
    run_id = uuid.uuid4().hex[:8]
    outcomes = [backend.start_execution(workflow, case.execution_input(), name=f"scones-{run_id}-{index:04d}")
                for index, case in enumerate(cases)]
    rows = [execution_row(outcome, case, class_names) for outcome, case in zip(outcomes, cases)]
    return rows, outcomes


def execute_test_images(backend: Backend, *, endpoint_name: str, threshold: float | None, count: int, seed: int | None,
                        definition: dict | None = None) -> tuple[list[ExecutionRow], list[ExecutionOutcome]]:
    """The execute step: deploy the workflow, run it on ``count`` random staged test images (``scones execute``)."""
    workflow = backend.deploy_workflow(endpoint_name=endpoint_name, threshold=threshold, definition=definition)
    cases = pick_test_cases(backend.storage, backend.bucket, count, seed)
    return run_executions(backend, workflow, cases, read_class_names(backend.storage, backend.bucket) or ())


def write_executions(out_dir: Path, rows: Sequence[ExecutionRow], outcomes: Sequence[ExecutionOutcome]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "executions.json").write_text(json.dumps([row.to_json() for row in rows], indent=2) + "\n")
    with open(out_dir / "executions.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ExecutionRow.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(row.to_json() for row in rows)
    histories = out_dir / "histories"
    histories.mkdir(exist_ok=True)
    for outcome in outcomes:
        (histories / f"{outcome.name}.json").write_text(json.dumps({
            "name": outcome.name, "input": outcome.input, "status": outcome.status, "output": outcome.output,
            "error": outcome.error, "cause": outcome.cause, "events": list(outcome.history),
        }, indent=2, default=str) + "\n")


def workflow_graphs(definition: dict, outcomes: Sequence[ExecutionOutcome]) -> list[ReportFigure]:
    """The workflow graph of the first succeeded and the first failed execution, coloured as the console does."""
    from scones.asl.diagram import layout
    from scones.asl.diagram_drawing import render
    from scones.asl.state_outcomes import error_notes, state_outcomes

    graphs = []
    for status, file_name in WORKFLOW_GRAPH_FILES.items():
        outcome = next((outcome for outcome in outcomes if outcome.status == status), None)
        if outcome is not None:
            states = state_outcomes(outcome.history)
            png = render(layout(definition, error_notes(states)), ".png", outcomes=states)
            ending = f"failed with {outcome.error}" if outcome.error else "succeeded"
            graphs.append(ReportFigure(file_name, f"The workflow graph of {outcome.name}, which {ending}", png))
    return graphs


def labelled_inferences(rows: Sequence[ExecutionRow]) -> list[LabelledInference]:
    """The executions' inferences with their images' true classes, for the report's threshold curve."""
    return [LabelledInference(row.true_class, row.predicted_class, row.confidence) for row in rows
            if row.predicted_class is not None and row.confidence is not None]


def download_prefix(storage, prefix_uri: str, target: Path) -> int:
    """Copy every object under ``prefix_uri`` into ``target``, keeping relative paths."""
    count = 0
    prefix_key_length = len(prefix_uri.split("/", 3)[3]) if prefix_uri.count("/") >= 3 else 0
    for stored in storage.list(prefix_uri):
        relative = stored.uri.split("/", 3)[3][prefix_key_length:].lstrip("/")
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(storage.get(stored.uri))
        count += 1
    return count


def run_pipeline(backend: Backend, options: RunOptions, say: Say, *, build_monitor_report: Callable) -> RunSummary:
    """Stage → train → deploy → executions → endpoint torn down → monitoring."""
    summary = RunSummary()
    class_names: list[str] = []
    out = options.out_dir
    backend.check_hyperparameters(options.hyperparameter_overrides)
    out.mkdir(parents=True, exist_ok=True)
    with step("stage", summary, say):
        report = backend.stage(options.archive, classes=options.classes)
        say(report.summary())
    with step("train", summary, say):
        hyperparameters = backend.default_hyperparameters(options.hyperparameter_overrides)
        summary.training = backend.train(hyperparameters=hyperparameters, seed=options.seed, log=say)
        (out / "model.tar.gz").write_bytes(backend.storage.get(summary.training.model_uri))
        class_names = list(summary.training.class_names)
        say(f"model: {summary.training.model_uri} (validation accuracy "
            f"{summary.training.validation_accuracy:.3f}, best epoch {summary.training.best_epoch})")
    graphs: list[ReportFigure] = []
    try:
        with step("deploy", summary, say):
            summary.endpoint = backend.deploy(model_uri=summary.training.model_uri,
                                              endpoint_name=options.endpoint_name)
            say(f"endpoint {summary.endpoint.name} at {summary.endpoint.location}")
        with step("execute", summary, say):
            workflow = backend.deploy_workflow(endpoint_name=options.endpoint_name, threshold=options.threshold)
            summary.threshold = workflow.threshold
            cases = pick_test_cases(backend.storage, backend.bucket, options.executions,
                                    DEFAULT_CASE_SEED if options.seed is None else options.seed)
            summary.rows, outcomes = run_executions(backend, workflow, cases, class_names)
            write_executions(out, summary.rows, outcomes)
            graphs = workflow_graphs(workflow.definition, outcomes)
    finally:
        if summary.endpoint is not None and not options.keep_endpoint:
            backend.delete_endpoint(summary.endpoint.name)
            say(f"endpoint {summary.endpoint.name} deleted (its captures are flushed)")
    with step("monitor", summary, say):
        capture_uri = backend.captures_uri(options.endpoint_name)
        copied = download_prefix(backend.storage, capture_uri, out / "captures")
        say(f"{copied} capture file(s) copied to {out / 'captures'}")
        summary.monitor = build_monitor_report(StorageCaptures(backend.storage, capture_uri),
                                               class_names=class_names, threshold=summary.threshold,
                                               out_dir=out / "monitor", workflow_graphs=graphs,
                                               labelled=labelled_inferences(summary.rows))
        say(f"report: {out / 'monitor' / 'report.html'}")
    (out / "run.json").write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    return summary
