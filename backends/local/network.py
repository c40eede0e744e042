"""The built-in algorithm's ResNet, written in Gluon, exported in the algorithm's symbol layout.

SageMaker's image-classification algorithm builds mxnet's
``example/image-classification/symbols/resnet.py`` (pre-activation ResNet,
"Identity Mappings in Deep Residual Networks"). Its graph takes raw 0–255 RGB
pixels and normalises inside: ``data → id (_copy) → bn_data (BatchNorm,
fix_gamma) → conv0 … → fc → softmax (SoftmaxOutput, label softmax_label)``.
Every block here names its operators and parameters exactly as that symbol
does (``stage1_unit1_bn1_gamma``, ``bn_data_moving_mean``, ``fc_weight``, …),
so the exported ``image-classification-symbol.json`` and ``.params`` are
interchangeable with a SageMaker training job's, in both directions.

Which network a depth means follows ``resnet.py``: the stem is a 3×3 stride-1
convolution for images up to 32 pixels high (CIFAR) and 7×7/2 + max-pool
above; the body is the 4-stage ImageNet ResNet for 18–200 layers and the
3-stage 6n+2 CIFAR ResNet (16/32/64 filters) for 20–110 layers. (mxnet's
``get_symbol`` picks the CIFAR family from the image height, ``height <= 28``;
SageMaker documents it by depth, as here, which is what makes 20–110 usable on
the course's 32×32 images.)
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

import mxnet as mx
from mxnet import gluon

from scones.hyperparameters import LARGE_IMAGE_LAYERS, SMALL_IMAGE_LAYERS

BN_EPS = 2e-5
BN_MOMENTUM = 0.9
CONV_WORKSPACE = 256
# Images up to this height get the CIFAR stem (resnet.py: ``if height <= 32``).
SMALL_STEM_MAX_HEIGHT = 32
# Units per stage of the ImageNet family, from resnet.py's get_symbol.
LARGE_IMAGE_UNITS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3),
                     101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3)}
DATA_NAME = "data"
OUTPUT_NAME = "softmax"
# resnet.py / ``mx.model.fit``'s initializer for ResNets: He-normal on fan-in.
WEIGHT_INITIALIZER = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)


@dataclass(frozen=True)
class ResNetSpec:
    """The shape of one ResNet: units per stage, widths (stem first), block type, stem type."""

    units: tuple[int, ...]
    filter_list: tuple[int, ...]
    bottle_neck: bool
    small_stem: bool


def resnet_spec(num_layers: int, image_shape: tuple[int, int, int]) -> ResNetSpec:
    """The network ``num_layers`` means for ``image_shape`` (channels, height, width)."""
    small_stem = image_shape[1] <= SMALL_STEM_MAX_HEIGHT
    if num_layers in SMALL_IMAGE_LAYERS:
        per_stage = (num_layers - 2) // 6
        return ResNetSpec((per_stage,) * 3, (16, 16, 32, 64), False, small_stem)
    if num_layers in LARGE_IMAGE_LAYERS:
        bottle_neck = num_layers >= 50
        filters = (64, 256, 512, 1024, 2048) if bottle_neck else (64, 64, 128, 256, 512)
        return ResNetSpec(LARGE_IMAGE_UNITS[num_layers], filters, bottle_neck, small_stem)
    raise ValueError(
        f"num_layers must be one of {', '.join(map(str, LARGE_IMAGE_LAYERS))} (large images) "
        f"or {', '.join(map(str, SMALL_IMAGE_LAYERS))} (small images), got {num_layers}"
    )


# ------------------------------------------------------------------------ layers
# Each layer is a HybridBlock with an empty prefix whose parameters carry the
# symbolic API's full names, so Gluon adds nothing to the names resnet.py uses.

class BatchNorm(gluon.HybridBlock):
    """``mx.sym.BatchNorm(name=…)``: parameters ``<name>_gamma/_beta/_moving_mean/_moving_var``."""

    def __init__(self, name: str, channels: int, *, fix_gamma: bool = False):
        super().__init__(prefix="")
        self._op = name
        self._fix_gamma = fix_gamma
        shape = (channels,)
        self.gamma = self.params.get(f"{name}_gamma", shape=shape, init="ones",
                                     grad_req="null" if fix_gamma else "write")
        self.beta = self.params.get(f"{name}_beta", shape=shape, init="zeros")
        self.moving_mean = self.params.get(f"{name}_moving_mean", shape=shape, init="zeros",
                                           grad_req="null", differentiable=False)
        self.moving_var = self.params.get(f"{name}_moving_var", shape=shape, init="ones",
                                          grad_req="null", differentiable=False)

    def hybrid_forward(self, F, x, gamma, beta, moving_mean, moving_var):
        return F.BatchNorm(x, gamma, beta, moving_mean, moving_var, eps=BN_EPS, momentum=BN_MOMENTUM,
                           fix_gamma=self._fix_gamma, name=self._op)


class Convolution(gluon.HybridBlock):
    """``mx.sym.Convolution(no_bias=True, name=…)`` with weight ``<name>_weight``."""

    def __init__(self, name: str, channels: int, in_channels: int, kernel: int, stride: int,
                 pad: int | None):
        super().__init__(prefix="")
        self._op = name
        self._attrs = {"kernel": (kernel, kernel), "stride": (stride, stride), "num_filter": channels,
                       "no_bias": True, "workspace": CONV_WORKSPACE}
        if pad is not None:  # resnet.py's shortcut convolutions leave pad unset
            self._attrs["pad"] = (pad, pad)
        self.weight = self.params.get(f"{name}_weight", shape=(channels, in_channels, kernel, kernel))

    def hybrid_forward(self, F, x, weight):
        return F.Convolution(x, weight, name=self._op, **self._attrs)


class FullyConnected(gluon.HybridBlock):
    """``mx.sym.FullyConnected(name=…)`` with ``<name>_weight`` and ``<name>_bias``."""

    def __init__(self, name: str, units: int, in_units: int):
        super().__init__(prefix="")
        self._op = name
        self._units = units
        self.weight = self.params.get(f"{name}_weight", shape=(units, in_units))
        self.bias = self.params.get(f"{name}_bias", shape=(units,), init="zeros")

    def hybrid_forward(self, F, x, weight, bias):
        return F.FullyConnected(x, weight, bias, num_hidden=self._units, name=self._op)


class ResidualUnit(gluon.HybridBlock):
    """resnet.py's ``residual_unit``: a pre-activation basic or bottleneck unit."""

    def __init__(self, name: str, in_channels: int, channels: int, stride: int, dim_match: bool,
                 bottle_neck: bool, add_name: str):
        super().__init__(prefix="")
        self._unit = name
        self._add = add_name
        self._dim_match = dim_match
        self._bottle_neck = bottle_neck
        self.bn1 = BatchNorm(f"{name}_bn1", in_channels)
        if bottle_neck:
            inner = channels // 4
            self.conv1 = Convolution(f"{name}_conv1", inner, in_channels, 1, 1, 0)
            self.bn2 = BatchNorm(f"{name}_bn2", inner)
            self.conv2 = Convolution(f"{name}_conv2", inner, inner, 3, stride, 1)
            self.bn3 = BatchNorm(f"{name}_bn3", inner)
            self.conv3 = Convolution(f"{name}_conv3", channels, inner, 1, 1, 0)
        else:
            self.conv1 = Convolution(f"{name}_conv1", channels, in_channels, 3, stride, 1)
            self.bn2 = BatchNorm(f"{name}_bn2", channels)
            self.conv2 = Convolution(f"{name}_conv2", channels, channels, 3, 1, 1)
        if not dim_match:
            self.sc = Convolution(f"{name}_sc", channels, in_channels, 1, stride, None)

    def _relu(self, F, x, number: int):
        return F.Activation(x, act_type="relu", name=f"{self._unit}_relu{number}")

    def hybrid_forward(self, F, x):
        act1 = self._relu(F, self.bn1(x), 1)
        body = self.conv2(self._relu(F, self.bn2(self.conv1(act1)), 2))
        if self._bottle_neck:
            body = self.conv3(self._relu(F, self.bn3(body), 3))
        shortcut = x if self._dim_match else self.sc(act1)
        return F.elemwise_add(body, shortcut, name=self._add)


class ResNet(gluon.HybridBlock):
    """The whole network up to ``fc``; :func:`export_checkpoint` adds the ``softmax`` head.

    Training uses the logits with a softmax cross-entropy loss, which has the
    same gradient as SoftmaxOutput; the head is added only for export.
    """

    def __init__(self, spec: ResNetSpec, num_classes: int):
        super().__init__(prefix="")
        self.spec = spec
        stem = spec.filter_list[0]
        self.bn_data = BatchNorm("bn_data", 3, fix_gamma=True)
        if spec.small_stem:
            self.conv0 = Convolution("conv0", stem, 3, 3, 1, 1)
        else:
            self.conv0 = Convolution("conv0", stem, 3, 7, 2, 3)
            self.bn0 = BatchNorm("bn0", stem)
        self.units = gluon.nn.HybridSequential(prefix="")
        in_channels, count = stem, 0
        for stage, (units, channels) in enumerate(zip(spec.units, spec.filter_list[1:]), start=1):
            for unit in range(1, units + 1):
                stride = 1 if stage == 1 or unit > 1 else 2
                self.units.add(ResidualUnit(f"stage{stage}_unit{unit}", in_channels, channels, stride,
                                            unit > 1, spec.bottle_neck, f"_plus{count}"))
                in_channels, count = channels, count + 1
        self.bn1 = BatchNorm("bn1", in_channels)
        self.fc = FullyConnected("fc", num_classes, in_channels)

    def hybrid_forward(self, F, x):
        return self.from_normalised(F, self.normalise(F, x))

    def normalise(self, F, x):
        """``data → id → bn_data``: the graph's own normalisation of raw 0–255 pixels."""
        return self.bn_data(F.identity(x, name="id"))

    def from_normalised(self, F, x):
        """Everything after ``bn_data``, up to the logits of ``fc``."""
        x = self.conv0(x)
        if not self.spec.small_stem:
            x = F.Activation(self.bn0(x), act_type="relu", name="relu0")
            x = F.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max", name="pooling0")
        x = F.Activation(self.bn1(self.units(x)), act_type="relu", name="relu1")
        x = F.Pooling(x, global_pool=True, kernel=(7, 7), pool_type="avg", name="pool1")
        return self.fc(F.Flatten(x, name="flatten0"))


def build_network(num_layers: int, num_classes: int, image_shape: tuple[int, int, int]) -> ResNet:
    """An uninitialised network for the algorithm's ``num_layers``/``num_classes``/``image_shape``."""
    return ResNet(resnet_spec(num_layers, image_shape), num_classes)


def initialize(net: ResNet) -> None:
    """resnet.py's initialisation on the CPU; call ``mx.random.seed`` first for reproducibility."""
    net.initialize(WEIGHT_INITIALIZER, ctx=mx.cpu())


def export_symbol(net: ResNet, *, mirror_average: bool = False) -> mx.sym.Symbol:
    """The network as the algorithm's symbol: ``data`` in, ``softmax`` (SoftmaxOutput) out.

    ``mirror_average`` builds test-time flip averaging into the graph: after
    ``bn_data`` each image is joined by its left–right mirror (``mirror``,
    ``mirror_concat``: one batch of 2N through the same weights), and the
    output is the mean of the two softmaxes. The mean goes through
    ``SoftmaxOutput`` as its logarithm, and softmax(log p) = p for a p that
    sums to 1, so the head is still the algorithm's ``softmax`` node: the same
    one symbol, the same parameters, served unchanged by SageMaker's container
    and by the local endpoint, at twice the compute per image.
    """
    data = mx.sym.var(DATA_NAME)
    if mirror_average:
        normalised = net.normalise(mx.sym, data)
        both = mx.sym.concat(normalised, mx.sym.flip(normalised, axis=3, name="mirror"), dim=0,
                             name="mirror_concat")
        probabilities = mx.sym.softmax(net.from_normalised(mx.sym, both), axis=1, name="mirror_softmax")
        pairs = mx.sym.reshape(probabilities, shape=(-4, 2, -1, -2), name="mirror_pairs")  # (2, N, classes)
        scores = mx.sym.log(mx.sym.mean(pairs, axis=0, name="mirror_mean"), name="mirror_log")
    else:
        scores = net(data)
    return _bare_variables(mx.sym.SoftmaxOutput(scores, name=OUTPUT_NAME))


def _bare_variables(symbol: mx.sym.Symbol) -> mx.sym.Symbol:
    """``symbol`` with its variables declared bare, as resnet.py's are.

    Gluon's variables carry its training settings (``__shape__``, ``__init__``,
    ``__lr_mult__``, ``__wd_mult__``, …). A ``Module`` that trained from the
    artifact, as the algorithm's incremental training does, would obey those
    multipliers instead of deciding by name as it does for SageMaker's own
    symbol; bare, the artifact's graph is the algorithm's node for node.
    """
    graph = json.loads(symbol.tojson())
    for node in graph["nodes"]:
        if node["op"] == "null":
            node.pop("attrs", None)
    return mx.sym.load_json(json.dumps(graph))


def export_params(net: ResNet, symbol: mx.sym.Symbol) -> bytes:
    """The ``.params`` file ``mx.model.save_checkpoint`` writes: ``arg:``/``aux:`` keyed arrays."""
    params = net.collect_params()
    arrays = {f"arg:{name}": params[name].data() for name in symbol.list_arguments() if name in params}
    arrays.update({f"aux:{name}": params[name].data() for name in symbol.list_auxiliary_states()})
    with tempfile.TemporaryDirectory(prefix="scones-params-") as directory:
        path = os.path.join(directory, "checkpoint.params")
        mx.nd.save(path, arrays)
        with open(path, "rb") as file:
            return file.read()
