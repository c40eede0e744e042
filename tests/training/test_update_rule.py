"""One update of the local trainer equals one update of mxnet's Module, the algorithm's training path."""

from __future__ import annotations

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from scones.backends.local import network
from scones.backends.local.training import DECAYED_SUFFIXES, prepared_network, to_network_input

from .synthetic_data import tiny_hyperparameters


def module_update(symbol: mx.sym.Symbol, start: dict[str, mx.nd.NDArray], images: np.ndarray,
                  labels: np.ndarray, optimizer: str, optimizer_params: dict) -> dict[str, np.ndarray]:
    """The weights after what ``Module.fit`` does with one batch: forward, backward, update (the optimizer
    created from its name, as the algorithm's training does)."""
    data = to_network_input(images)
    module = mx.mod.Module(symbol, data_names=["data"], label_names=["softmax_label"], context=mx.cpu())
    module.bind(data_shapes=[("data", data.shape)], label_shapes=[("softmax_label", labels.shape)])
    args = {name: start[name] for name in symbol.list_arguments() if name in start}
    aux = {name: start[name] for name in symbol.list_auxiliary_states()}
    module.init_params(arg_params=args, aux_params=aux)
    module.init_optimizer(optimizer=optimizer, optimizer_params=optimizer_params)
    batch = mx.io.DataBatch([data], [mx.nd.array(labels)])
    module.forward_backward(batch)
    module.update()
    return {name: array.asnumpy() for name, array in module.get_params()[0].items()}


@pytest.mark.parametrize("optimizer", ["sgd", "nag"])
def test_one_step_matches_mxnet_module_including_which_parameters_decay(optimizer):
    hyperparameters = tiny_hyperparameters(optimizer=optimizer, weight_decay=0.05, learning_rate=0.5)
    net, trainer = prepared_network(hyperparameters, seed=3)
    symbol = network.export_symbol(net)  # bare variables, as resnet.py's: Module decides what decays by name
    rng = np.random.RandomState(0)
    for name, param in net.collect_params().items():  # initialised at 0, where decay would not show
        if name.endswith(("_beta", "_bias")):
            param.set_data(mx.nd.array(rng.uniform(0.5, 1.0, param.shape)))
    start = {name: param.data().copy() for name, param in net.collect_params().items()}
    images = rng.randint(0, 256, (8, 32, 32, 3)).astype(np.uint8)
    labels = np.array([0, 1] * 4, dtype=np.float32)

    with autograd.record():
        loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()(net(to_network_input(images)), mx.nd.array(labels))
    loss.backward()
    trainer.step(len(labels))
    ours = {name: param.data().asnumpy() for name, param in net.collect_params().items()}

    expected = module_update(symbol, start, images, labels, optimizer,
                             {"learning_rate": hyperparameters.learning_rate, "momentum": hyperparameters.momentum,
                              "wd": hyperparameters.weight_decay, "rescale_grad": 1 / len(labels)})
    # The weights the optimizer updates (the moving statistics are the BatchNorm operator's business).
    # bn_data has fix_gamma: its gamma is read as 1 whatever it holds. Module still decays the stored
    # value (no gradient, but an argument); Gluon leaves it out of the update, at 1.
    updated = sorted(set(symbol.list_arguments()) - {"data", "softmax_label", "bn_data_gamma"})
    assert len(updated) == 63  # ResNet-20: 23 weights, 19 gammas, 20 betas, fc_bias
    for name in updated:
        np.testing.assert_allclose(ours[name], expected[name], rtol=1e-4, atol=1e-5, err_msg=name)
    exempt = [name for name in updated if not name.endswith(DECAYED_SUFFIXES)]
    assert len(exempt) == 21 and "fc_bias" in exempt and "stage1_unit1_bn1_beta" in exempt
