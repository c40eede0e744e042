"""The algorithm's metric lines: exact format, parse of real SageMaker logs, round trip."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scones.training_log import (
    EpochMetrics,
    MetricLine,
    collect_epochs,
    format_best_model,
    format_epoch,
    format_metric,
    parse_metric,
)

# From a SageMaker image-classification job's CloudWatch log (2020).
SAGEMAKER_LOG = """\
[07/14/2020 22:20:23 INFO 140558353856320] Setting number of threads: 3
[07/14/2020 22:20:42 INFO 140558353856320] Epoch[0] Train-accuracy=0.150391
[07/14/2020 22:20:42 INFO 140558353856320] Epoch[0] Train-top_k_accuracy_2=0.273438
[07/14/2020 22:20:42 INFO 140558353856320] Epoch[0] Time cost=8.095
[07/14/2020 22:20:43 INFO 140558353856320] Epoch[0] Validation-accuracy=0.253906
[07/14/2020 22:20:43 INFO 140558353856320] Storing the best model with validation accuracy: 0.253906
[07/14/2020 22:20:44 INFO 140558353856320] Saved checkpoint to "/opt/ml/model/image-classification-0001.params"
[07/14/2020 22:20:46 INFO 140558353856320] Epoch[1] Batch [20]#011Speed: 233.466 samples/sec#011accuracy=0.517857
[07/14/2020 22:20:46 INFO 140558353856320] Epoch[1] Train-accuracy=0.642578
[07/14/2020 22:20:46 INFO 140558353856320] Epoch[1] Time cost=2.620
[07/14/2020 22:20:47 INFO 140558353856320] Epoch[1] Validation-accuracy=0.554688
"""


def test_lines_have_the_containers_format():
    metrics = EpochMetrics(epoch=3, train_accuracy=0.83, validation_accuracy=0.805, time_cost=12.3454,
                           extra={"Train-top_k_accuracy_2": 1.0})
    assert format_epoch(metrics) == [
        "Epoch[3] Train-accuracy=0.830000",
        "Epoch[3] Train-top_k_accuracy_2=1.000000",
        "Epoch[3] Time cost=12.345",
        "Epoch[3] Validation-accuracy=0.805000",
    ]
    assert format_best_model(0.805) == "Storing the best model with validation accuracy: 0.805000"


def test_a_sagemaker_log_parses_into_epochs():
    assert collect_epochs(SAGEMAKER_LOG.splitlines()) == [
        EpochMetrics(0, 0.150391, 0.253906, 8.095, {"Train-top_k_accuracy_2": 0.273438}),
        EpochMetrics(1, 0.642578, 0.554688, 2.620, {}),
    ]
    assert parse_metric("INFO:root:Epoch[4] Validation-accuracy=0.125000") == MetricLine(4, "Validation-accuracy", 0.125)
    assert parse_metric("Storing the best model with validation accuracy: 0.253906") is None


accuracies = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(epoch=st.integers(min_value=0, max_value=10**6), train=accuracies, validation=accuracies,
       seconds=st.floats(min_value=0, max_value=1e6, allow_nan=False), top_k=st.one_of(st.none(), accuracies))
def test_format_then_parse_round_trips(epoch, train, validation, seconds, top_k):
    extra = {} if top_k is None else {"Train-top_k_accuracy_2": top_k}
    metrics = EpochMetrics(epoch, train, validation, seconds, extra)
    lines = format_epoch(metrics)
    assert collect_epochs(["noise", *lines, format_best_model(validation)]) == [EpochMetrics(
        epoch, float(f"{train:f}"), float(f"{validation:f}"), float(f"{seconds:.3f}"),
        {name: float(f"{value:f}") for name, value in extra.items()})]
    assert parse_metric(format_metric(epoch, "Validation-accuracy", validation)).value == float(f"{validation:f}")
