"""A real MXNet model in the built-in algorithm's artifact layout, with outputs known in advance.

data → bn_data (identity statistics) → global average pool → fc1 → softmax:
the logit of class 0 is ``SLOPE * (mean red − mean blue)``, class 1's is 0.
So a red image is confidently class 0 (bicycle), a blue one class 1
(motorcycle), and a grey one exactly 50/50, below any sensible threshold.
"""

from __future__ import annotations

import math
import os
import tempfile

import mxnet as mx
import numpy as np

from scones.images import encode_png
from scones.model_artifact import build_model_tarball

SLOPE = 0.05


def colour_symbol() -> mx.sym.Symbol:
    data = mx.sym.Variable("data")
    normalised = mx.sym.BatchNorm(data, name="bn_data", fix_gamma=True, eps=2e-5)
    pooled = mx.sym.Pooling(normalised, global_pool=True, kernel=(1, 1), pool_type="avg", name="pool")
    logits = mx.sym.FullyConnected(mx.sym.Flatten(pooled, name="flatten"), num_hidden=2, name="fc1")
    return mx.sym.SoftmaxOutput(logits, name="softmax")


def colour_params() -> bytes:
    weights = {
        "arg:bn_data_gamma": mx.nd.ones(3), "arg:bn_data_beta": mx.nd.zeros(3),
        "aux:bn_data_moving_mean": mx.nd.zeros(3), "aux:bn_data_moving_var": mx.nd.ones(3),
        "arg:fc1_weight": mx.nd.array([[SLOPE, 0, -SLOPE], [0, 0, 0]]), "arg:fc1_bias": mx.nd.zeros(2),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.params")
        mx.nd.save(path, weights)
        with open(path, "rb") as handle:
            return handle.read()


def colour_model_tarball() -> bytes:
    return build_model_tarball(colour_symbol().tojson().encode(), {1: colour_params()}, (1, 3, 32, 32))


def solid_png(red: int, green: int, blue: int) -> bytes:
    return encode_png(np.full((32, 32, 3), (red, green, blue), dtype=np.uint8))


def expected_probabilities(red: int, blue: int) -> list[float]:
    """What the model answers for a solid image (bn_data's eps aside)."""
    logit = SLOPE * (red - blue) / math.sqrt(1 + 2e-5)
    first = 1 / (1 + math.exp(-logit))
    return [first, 1 - first]
