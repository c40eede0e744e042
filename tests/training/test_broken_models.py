"""Twenty-one kinds of broken model.tar.gz: each is refused when loaded, in one line naming the artifact.

A model that loads must serve; one that cannot is an ArtifactError (a user
error: `scones deploy` prints it as one line), never an MXNet traceback with
its C++ frames, and never a model that loads and then fails every call.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile

import mxnet as mx
import pytest

from scones.backends.local.predictor import Predictor
from scones.model_artifact import ArtifactError, build_model_tarball

from .test_model_artifact import tarball

SOURCE = "s3://b/m.tar.gz"
SYMBOL, PARAMS, SHAPES = "image-classification-symbol.json", "image-classification-0001.params", "model-shapes.json"
DAMAGED = f"{SOURCE} is not a tar.gz archive or is damaged ("
TRUNCATED = DAMAGED + "Compressed file ended before the end-of-stream marker was reached)"
NOT_LOADABLE = f"{SOURCE}: MXNet cannot load checkpoint 1 (Check failed: curr_ptr_ + size <= buffer_size_); "


def _network(head=None) -> tuple[bytes, dict]:
    """A small convolutional classifier (or, with ``head``, another output on its convolution) and its weights."""
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), pad=(1, 1), name="conv0")
    pool = mx.sym.Pooling(conv, global_pool=True, kernel=(1, 1), pool_type="avg", name="pool")
    classifier = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Flatten(pool), num_hidden=3, name="fc"), name="softmax")
    symbol = classifier if head is None else head(conv)
    shapes, _, _ = symbol.infer_shape(data=(1, 3, 32, 32))
    weights = {f"arg:{name}": mx.nd.ones(shape) for name, shape in zip(symbol.list_arguments(), shapes)
               if name not in ("data", "softmax_label")}
    return symbol.tojson().encode(), weights


def _params(weights: dict) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "params")
        mx.nd.save(path, weights)
        with open(path, "rb") as saved:
            return saved.read()


def _cases() -> dict[str, tuple[bytes, str]]:
    symbol, weights = _network()
    params = _params(weights)
    shapes = json.dumps([{"shape": [1, 3, 32, 32], "name": "data"}]).encode()
    good = build_model_tarball(symbol, {1: params}, (1, 3, 32, 32))
    conv_symbol, conv_weights = _network(head=lambda conv: conv)
    resized = {**weights, "arg:fc_weight": mx.nd.ones((3, 5))}
    no_data = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=2, name="fc").tojson().encode()
    huge = json.dumps([{"shape": [1, 3, 100000, 100000], "name": "data"}]).encode()
    return {
        "not a tar": (b"garbage", DAMAGED + "truncated header)"),
        "empty": (b"", DAMAGED + "empty file)"),
        "cut in half": (good[:len(good) // 2], TRUNCATED),
        "cut in its gzip trailer": (good[:-8], TRUNCATED),
        "gzip of no tar": (gzip.compress(b"x" * 2000), DAMAGED + "invalid header)"),
        "no symbol": (tarball({PARAMS: params, SHAPES: shapes}), f"{SOURCE} has no {SYMBOL}"),
        "no params": (tarball({SYMBOL: symbol, SHAPES: shapes}), f"{SOURCE} has no image-classification-NNNN.params"),
        "no shapes": (tarball({SYMBOL: symbol, PARAMS: params}), f"{SOURCE} has no {SHAPES}"),
        "symbol not JSON": (tarball({SYMBOL: b"{nope", PARAMS: params, SHAPES: shapes}),
                            f"{SOURCE}: {SYMBOL} is not an MXNet symbol (Expecting property name"),
        "symbol JSON of no symbol": (tarball({SYMBOL: b'{"a": 1}', PARAMS: params, SHAPES: shapes}),
                                     f"{SOURCE}: {SYMBOL} is not an MXNet symbol (no 'nodes' and 'heads')"),
        "symbol not UTF-8": (tarball({SYMBOL: b"\xff\xfe", PARAMS: params, SHAPES: shapes}),
                             f"{SOURCE}: {SYMBOL} is not an MXNet symbol"),
        "params garbage": (tarball({SYMBOL: symbol, PARAMS: b"garbage bytes", SHAPES: shapes}), NOT_LOADABLE),
        "params cut in half": (tarball({SYMBOL: symbol, PARAMS: params[:len(params) // 2], SHAPES: shapes}), NOT_LOADABLE),
        "params empty": (tarball({SYMBOL: symbol, PARAMS: b"", SHAPES: shapes}), NOT_LOADABLE),
        "params missing a weight": (
            tarball({SYMBOL: symbol, PARAMS: _params({k: v for k, v in weights.items() if k != "arg:fc_weight"}),
                  SHAPES: shapes}),
            f"{SOURCE}: the .params lacks 1 weight(s) the symbol needs (fc_weight); "),
        "params of the wrong shape": (
            tarball({SYMBOL: symbol, PARAMS: _params(resized), SHAPES: shapes}),
            f"{SOURCE}: 1 weight(s) of the .params do not fit the symbol (fc_weight is (3, 5), the symbol needs "
            "(3, 4)); the symbol and params come from different models"),
        "shapes of another format": (tarball({SYMBOL: symbol, PARAMS: params, SHAPES: b'{"data": 1}'}),
                                     f"{SOURCE}: {SHAPES} must be [{{\"shape\": [batch, 3, height, width]"),
        "shapes asking for huge images": (tarball({SYMBOL: symbol, PARAMS: params, SHAPES: huge}),
                                          f"{SOURCE}: {SHAPES} asks for 100000×100000 input images"),
        "symbol without a data input": (tarball({SYMBOL: no_data, PARAMS: params, SHAPES: shapes}),
                                        f"{SOURCE}: the symbol has no 'data' input"),
        "symbol scoring no classes": (tarball({SYMBOL: conv_symbol, PARAMS: _params(conv_weights), SHAPES: shapes}),
                                      f"{SOURCE}: the symbol outputs shape (1, 4, 32, 32), not one score per class"),
        "member outside the archive": (tarball({SYMBOL: symbol, PARAMS: params, SHAPES: shapes, "../x": b"1"}),
                                       f"{SOURCE} member '../x' points outside the archive"),
    }


CASES = _cases()


@pytest.mark.parametrize("kind", CASES)
def test_a_broken_model_is_refused_in_one_line_naming_it(kind):
    data, beginning = CASES[kind]
    with pytest.raises(ArtifactError) as caught:
        Predictor.from_artifact(data, source=SOURCE)
    message = str(caught.value)
    assert message.startswith(beginning)
    assert "\n" not in message and "Traceback" not in message and ".h\", line" not in message

