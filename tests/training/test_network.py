"""The Gluon ResNet: which network a depth means, and the algorithm's exported symbol layout."""

from __future__ import annotations

import json

import mxnet as mx
import numpy as np
import pytest

from scones.backends.local import network


def test_depth_picks_the_family_and_height_picks_the_stem():
    assert network.resnet_spec(20, (3, 32, 32)) == network.ResNetSpec((3, 3, 3), (16, 16, 32, 64), False, True)
    assert network.resnet_spec(110, (3, 28, 28)).units == (18, 18, 18)
    assert network.resnet_spec(18, (3, 32, 32)) == network.ResNetSpec((2, 2, 2, 2), (64, 64, 128, 256, 512),
                                                                      False, True)
    assert network.resnet_spec(152, (3, 224, 224)) == network.ResNetSpec(
        (3, 8, 36, 3), (64, 256, 512, 1024, 2048), True, False)
    with pytest.raises(ValueError, match="num_layers must be one of 18, 34, 50, 101, 152, 200 .* got 21"):
        network.resnet_spec(21, (3, 32, 32))


def exported(num_layers: int, image_shape: tuple[int, int, int], classes: int = 2):
    net = network.build_network(num_layers, classes, image_shape)
    mx.random.seed(0)
    network.initialize(net)
    return net, network.export_symbol(net)


def test_symbol_takes_raw_pixels_normalises_in_graph_and_ends_in_softmax():
    _, symbol = exported(20, (3, 32, 32))
    nodes = json.loads(symbol.tojson())["nodes"]
    operators = [(node["op"], node["name"]) for node in nodes if node["op"] != "null"]
    assert nodes[0]["name"] == "data"
    assert operators[:3] == [("_copy", "id"), ("BatchNorm", "bn_data"), ("Convolution", "conv0")]
    assert operators[-4:] == [("Pooling", "pool1"), ("Flatten", "flatten0"), ("FullyConnected", "fc"),
                              ("SoftmaxOutput", "softmax")]
    assert json.loads(nodes[[n["name"] for n in nodes].index("bn_data")]["attrs"]["fix_gamma"].lower())
    assert symbol.list_outputs() == ["softmax_output"]
    arguments = symbol.list_arguments()
    assert arguments[:4] == ["data", "bn_data_gamma", "bn_data_beta", "conv0_weight"]
    assert arguments[-3:] == ["fc_weight", "fc_bias", "softmax_label"]
    assert "stage3_unit1_sc_weight" in arguments and "stage3_unit3_conv2_weight" in arguments
    assert symbol.list_auxiliary_states()[:2] == ["bn_data_moving_mean", "bn_data_moving_var"]


@pytest.mark.parametrize("mirror_average", [False, True])
def test_variables_are_declared_bare_as_resnet_py_declares_them(mirror_average):
    net, _ = exported(20, (3, 32, 32))
    for name, parameter in net.collect_params().items():  # Gluon records these on its variables
        if name.endswith("_beta"):
            parameter.wd_mult = 0.0
    symbol = network.export_symbol(net, mirror_average=mirror_average)
    variables = [node for node in json.loads(symbol.tojson())["nodes"] if node["op"] == "null"]
    assert [node["name"] for node in variables][:4] == ["data", "bn_data_gamma", "bn_data_beta", "bn_data_moving_mean"]
    assert [node for node in variables if "attrs" in node] == []


def test_large_images_get_the_imagenet_stem():
    _, symbol = exported(18, (3, 64, 64))
    operators = [node["name"] for node in json.loads(symbol.tojson())["nodes"] if node["op"] != "null"]
    assert operators[:6] == ["id", "bn_data", "conv0", "bn0", "relu0", "pooling0"]


@pytest.mark.parametrize("num_layers, image_shape", [(20, (3, 32, 32)), (18, (3, 48, 40))])
def test_output_is_one_score_per_class_and_export_matches_gluon(num_layers, image_shape):
    net, symbol = exported(num_layers, image_shape, classes=3)
    pixels = np.random.RandomState(0).uniform(0, 255, (4, *image_shape)).astype(np.float32)
    logits = net(mx.nd.array(pixels)).asnumpy()
    assert logits.shape == (4, 3)
    arrays = mx.nd.load_frombuffer(network.export_params(net, symbol))
    assert set(arrays) == ({f"arg:{n}" for n in symbol.list_arguments()} - {"arg:data", "arg:softmax_label"}) | {
        f"aux:{n}" for n in symbol.list_auxiliary_states()}
    args = {k[4:]: v for k, v in arrays.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in arrays.items() if k.startswith("aux:")}
    executor = symbol.bind(mx.cpu(), args={**args, "data": mx.nd.array(pixels), "softmax_label": mx.nd.zeros(4)},
                           aux_states=aux, grad_req="null")
    probabilities = executor.forward(is_train=False)[0].asnumpy()
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_mirror_average_is_the_mean_softmax_of_each_image_and_its_mirror():
    net, plain = exported(20, (3, 32, 32))
    rng = np.random.RandomState(2)
    params = net.collect_params()
    for name, parameter in params.items():  # moving statistics away from 0/1, so BatchNorm matters
        if name.endswith("_moving_mean"):
            parameter.set_data(mx.nd.array(rng.uniform(-0.5, 0.5, parameter.shape)))
        if name.endswith("_moving_var"):
            parameter.set_data(mx.nd.array(rng.uniform(0.5, 2.0, parameter.shape)))
    params["bn_data_moving_mean"].set_data(mx.nd.full((3,), 127.0))  # raw pixels in, as trained
    params["bn_data_moving_var"].set_data(mx.nd.full((3,), 5000.0))
    params["fc_weight"].set_data(params["fc_weight"].data() * 0.01)  # unsaturated softmaxes, so the mean shows
    symbol = network.export_symbol(net, mirror_average=True)
    operators = [(node["op"], node["name"]) for node in json.loads(symbol.tojson())["nodes"] if node["op"] != "null"]
    assert operators[:4] == [("_copy", "id"), ("BatchNorm", "bn_data"), ("reverse", "mirror"),
                             ("Concat", "mirror_concat")]
    assert operators[-1] == ("SoftmaxOutput", "softmax")
    assert symbol.list_arguments() == plain.list_arguments()
    assert symbol.list_auxiliary_states() == plain.list_auxiliary_states()
    assert network.export_params(net, symbol) == network.export_params(net, plain)

    pixels = rng.uniform(0, 255, (5, 3, 32, 32)).astype(np.float32)
    arrays = mx.nd.load_frombuffer(network.export_params(net, symbol))
    args = {k[4:]: v for k, v in arrays.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in arrays.items() if k.startswith("aux:")}
    executor = symbol.bind(mx.cpu(), args={**args, "data": mx.nd.array(pixels), "softmax_label": mx.nd.zeros(5)},
                           aux_states=aux, grad_req="null")
    averaged = executor.forward(is_train=False)[0].asnumpy()
    one_way = net(mx.nd.array(pixels)).softmax().asnumpy()
    mirrored = net(mx.nd.array(pixels[:, :, :, ::-1].copy())).softmax().asnumpy()
    assert not np.allclose(one_way, mirrored, atol=1e-3)  # the mirror really is another input
    np.testing.assert_allclose(averaged, (one_way + mirrored) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0, rtol=1e-6)
