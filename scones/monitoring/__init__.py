"""Monitoring an endpoint from its SageMaker Data Capture records.

The same report comes out of captures written by the local endpoint and by a
real SageMaker endpoint, read from S3 or from a downloaded folder::

    from scones.monitoring import StorageCaptures, build_report, endpoint_captures_uri

    source = StorageCaptures(storage, endpoint_captures_uri("my-bucket", "scones-endpoint"))
    summary = build_report(source, out_dir="scones-output/monitor", class_names=["bicycle", "motorcycle"])
    summary.alert.triggered

Names are imported on first use (PEP 562), so importing the package, or
``scones.monitoring.command`` from the main CLI, does not load matplotlib.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "build_report": "scones.monitoring.build",
    "CaptureFile": "scones.monitoring.reading",
    "CaptureSource": "scones.monitoring.reading",
    "DirectoryCaptures": "scones.monitoring.reading",
    "StorageCaptures": "scones.monitoring.reading",
    "TimeWindow": "scones.monitoring.reading",
    "NoCapturesFound": "scones.monitoring.reading",
    "MalformedLine": "scones.monitoring.reading",
    "endpoint_captures_uri": "scones.bucket_layout",
    "read_records": "scones.monitoring.reading",
    "InferenceRow": "scones.monitoring.rows",
    "inference_row": "scones.monitoring.rows",
    "MonitorSummary": "scones.monitoring.summary",
    "Alert": "scones.monitoring.summary",
    "monitor_command": "scones.monitoring.command",
    "ALERT_EXIT_CODE": "scones.monitoring.command",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
