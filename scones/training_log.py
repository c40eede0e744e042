"""The algorithm's per-epoch metric lines: format them, parse them, group them by epoch.

SageMaker's image-classification container logs, per epoch (``mx.mod.fit``'s
format, 0-based epochs, accuracies with six decimals)::

    [09/07/2019 22:57:58 INFO 140484553713472] Epoch[0] Train-accuracy=0.375000
    [09/07/2019 22:57:58 INFO 140484553713472] Epoch[0] Train-top_k_accuracy_2=0.273438
    [09/07/2019 22:57:58 INFO 140484553713472] Epoch[0] Time cost=14.863
    [09/07/2019 22:57:59 INFO 140484553713472] Epoch[0] Validation-accuracy=0.771429
    [09/07/2019 22:58:00 INFO 140484553713472] Storing the best model with validation accuracy: 0.771429

The local backend writes the same lines (without the timestamp prefix), so one
parser reads a CloudWatch log of a SageMaker job and a local run alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

TRAIN_ACCURACY = "Train-accuracy"
VALIDATION_ACCURACY = "Validation-accuracy"
TIME_COST = "Time cost"

_METRIC_LINE = re.compile(r"Epoch\[(\d+)\] ([A-Za-z][\w-]*(?: cost)?)=(-?[0-9.]+(?:[eE][-+]?\d+)?)\s*$")

# For the aws backend's MetricDefinitions / CloudWatch filters: the value is group 1.
METRIC_REGEXES = {
    "train:accuracy": r"Epoch\[\d+\] Train-accuracy=([0-9.]+)",
    "validation:accuracy": r"Epoch\[\d+\] Validation-accuracy=([0-9.]+)",
}


@dataclass(frozen=True)
class MetricLine:
    epoch: int
    name: str  # "Train-accuracy", "Validation-accuracy", "Time cost", "Train-top_k_accuracy_2", …
    value: float


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch's figures, as the algorithm reports them (epoch is 0-based)."""

    epoch: int
    train_accuracy: float | None = None
    validation_accuracy: float | None = None
    time_cost: float | None = None
    extra: Mapping[str, float] = field(default_factory=dict)  # e.g. Train-top_k_accuracy_2

    def to_json(self) -> dict:
        return {"epoch": self.epoch, "train_accuracy": self.train_accuracy,
                "validation_accuracy": self.validation_accuracy, "time_cost": self.time_cost,
                **({"extra": dict(self.extra)} if self.extra else {})}


def format_metric(epoch: int, name: str, value: float) -> str:
    """``Epoch[3] Train-accuracy=0.830000`` (``Time cost`` gets three decimals, as mxnet logs it)."""
    if name == TIME_COST:
        return f"Epoch[{epoch}] {TIME_COST}={value:.3f}"
    return f"Epoch[{epoch}] {name}={value:f}"


def format_epoch(metrics: EpochMetrics) -> list[str]:
    """An epoch's lines in the container's order: train metrics, time cost, validation."""
    lines = []
    if metrics.train_accuracy is not None:
        lines.append(format_metric(metrics.epoch, TRAIN_ACCURACY, metrics.train_accuracy))
    lines += [format_metric(metrics.epoch, name, value) for name, value in metrics.extra.items()]
    if metrics.time_cost is not None:
        lines.append(format_metric(metrics.epoch, TIME_COST, metrics.time_cost))
    if metrics.validation_accuracy is not None:
        lines.append(format_metric(metrics.epoch, VALIDATION_ACCURACY, metrics.validation_accuracy))
    return lines


def format_best_model(validation_accuracy: float) -> str:
    """The line the container writes when an epoch beats the best validation accuracy so far."""
    return f"Storing the best model with validation accuracy: {validation_accuracy:f}"


def parse_metric(line: str) -> MetricLine | None:
    """The metric on ``line``, whatever prefix precedes it (timestamps, ``INFO:root:``); else None."""
    match = _METRIC_LINE.search(line)
    if match is None:
        return None
    epoch, name, value = match.groups()
    return MetricLine(int(epoch), name, float(value))


def collect_epochs(lines: Iterable[str]) -> list[EpochMetrics]:
    """Group a log's metric lines by epoch, in epoch order; other lines are skipped."""
    by_epoch: dict[int, dict[str, float]] = {}
    for line in lines:
        metric = parse_metric(line)
        if metric is not None:
            by_epoch.setdefault(metric.epoch, {})[metric.name] = metric.value
    epochs = []
    for epoch in sorted(by_epoch):
        values = by_epoch[epoch]
        epochs.append(EpochMetrics(
            epoch=epoch,
            train_accuracy=values.pop(TRAIN_ACCURACY, None),
            validation_accuracy=values.pop(VALIDATION_ACCURACY, None),
            time_cost=values.pop(TIME_COST, None),
            extra=values,
        ))
    return epochs
