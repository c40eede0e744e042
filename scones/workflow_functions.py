"""The workflow's three functions: their logical names, placeholders and handler modules.

Apart from :mod:`scones.workflow` (which loads the definition through the ASL
interpreter) so that names and policies (``backends/aws/naming.py``,
``iam_policies.py``) depend on nothing but these facts.
"""

from __future__ import annotations

WORKFLOW_NAME = "scones-workflow"

# The function whose configuration holds the threshold (`scones workflow set-threshold` changes only it).
FILTER_FUNCTION = "filterInferences"
# The workflow's functions, by the logical names its placeholders use.
FUNCTIONS = {
    "serializeImageData": "SerializeImageDataArn",
    "classifyImage": "ClassifyImageArn",
    FILTER_FUNCTION: "FilterInferencesArn",
}
# `scones batch`: its state machine (asl/scones_batch.asl.json) and the one function its children call.
BATCH_MACHINE_NAME = "scones-batch"
BATCH_FUNCTION = "classifyBatch"
BATCH_FUNCTION_PLACEHOLDER = "ClassifyBatchArn"
# Which handler module in lambdas/ each function runs.
HANDLER_MODULES = {
    "serializeImageData": "serialize_image_data",
    "classifyImage": "classify_image",
    FILTER_FUNCTION: "filter_inferences",
    BATCH_FUNCTION: "classify_batch",
}
