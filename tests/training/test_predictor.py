"""The predictor: serving preprocessing, probabilities, round trips, SageMaker-made artifacts, threads."""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
import threading

import mxnet as mx
import numpy as np
import pytest
from PIL import Image
from .synthetic_data import synthetic_image, tiny_hyperparameters

from scones.backends.local.predictor import Predictor, load_predictor
from scones.backends.local.training import LabelledImages, train_network
from scones.images import ImageDecodeError, decode_image, encode_png
from scones.model_artifact import (
    ArtifactError,
    ModelMetadata,
    build_model_tarball,
    read_model_tarball,
)
from scones.bucket_layout import metadata_uri, model_uri


def labelled(count: int, rng: np.random.RandomState) -> LabelledImages:
    labels = np.arange(count) % 2
    return LabelledImages(np.stack([synthetic_image(label, rng) for label in labels]), labels.astype(np.int32))


@pytest.fixture(scope="module")
def tarball() -> bytes:
    """A model.tar.gz from a short real training on the two colour patterns."""
    rng = np.random.RandomState(3)
    hyperparameters = tiny_hyperparameters(epochs=8, mini_batch_size=4, learning_rate=0.05)
    trained = train_network(labelled(16, rng), labelled(8, rng), hyperparameters, seed=1, progress=False,
                            log=lambda line: None)
    return build_model_tarball(trained.symbol_json, trained.checkpoints, (4, 3, 32, 32))


@pytest.fixture(scope="module")
def pngs() -> list[bytes]:
    rng = np.random.RandomState(9)
    return [encode_png(synthetic_image(index % 2, rng)) for index in range(12)]


def test_predictions_are_class_probabilities_per_image(tarball, pngs):
    predictor = Predictor.from_artifact(tarball)
    predictions = predictor.predict(pngs)
    assert len(predictions) == len(pngs) and all(len(p) == 2 for p in predictions)
    assert all(isinstance(value, float) for p in predictions for value in p)
    np.testing.assert_allclose([sum(p) for p in predictions], 1.0, rtol=1e-5)
    assert [int(np.argmax(p)) for p in predictions] == [index % 2 for index in range(len(pngs))]
    assert json.loads(predictor.invoke(pngs[1])) == predictor.predict([pngs[1]])[0]
    assert (predictor.class_names, predictor.image_shape) == (("class_0", "class_1"), (3, 32, 32))


def test_a_model_trained_with_the_mirror_average_is_served_as_it_was_validated(pngs):
    """The exported graph answers what training's validation measured, and is the plain graph's mean over mirrors."""
    rng = np.random.RandomState(4)
    validation = labelled(8, rng)
    hyperparameters = tiny_hyperparameters(epochs=2, mini_batch_size=4, learning_rate=0.05, mirror_average=1,
                                           lr_schedule="cosine", label_smoothing=0.1)
    trained = train_network(labelled(16, rng), validation, hyperparameters, seed=1, progress=False,
                            log=lambda line: None)
    operators = [node["name"] for node in json.loads(trained.symbol_json)["nodes"] if node["op"] != "null"]
    assert operators[:4] == ["id", "bn_data", "mirror", "mirror_concat"]
    mirrored = Predictor.from_artifact(build_model_tarball(trained.symbol_json, trained.checkpoints, (4, 3, 32, 32)))
    plain_symbol = tiny_plain_symbol()
    plain = Predictor.from_artifact(build_model_tarball(plain_symbol, trained.checkpoints, (4, 3, 32, 32)))

    images = [encode_png(image) for image in validation.images]
    answers = np.array(mirrored.predict(images))
    assert float(np.mean(answers.argmax(axis=1) == validation.labels)) == trained.best_validation_accuracy
    flipped = [encode_png(np.ascontiguousarray(image[:, ::-1])) for image in validation.images]
    np.testing.assert_allclose(answers, (np.array(plain.predict(images)) + np.array(plain.predict(flipped))) / 2,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mirrored.predict(pngs[:1]), mirrored.predict(pngs[:5])[:1], rtol=1e-5, atol=1e-6)


def tiny_plain_symbol() -> bytes:
    """The symbol of tiny_hyperparameters' network without the mirror average."""
    from scones.backends.local import network

    net = network.build_network(20, 2, (3, 32, 32))
    return network.export_symbol(net).tojson().encode()


def test_save_load_round_trip_predicts_identically(tarball, pngs):
    repacked = read_model_tarball(tarball).to_tarball()
    assert Predictor.from_artifact(repacked).predict(pngs) == Predictor.from_artifact(tarball).predict(pngs)


def test_preprocessing_is_the_serving_containers(tarball, pngs):
    predictor = Predictor.from_artifact(tarball)
    pixels = synthetic_image(1, np.random.RandomState(0))
    assert np.array_equal(predictor.preprocess([encode_png(pixels)])[0], pixels.transpose(2, 0, 1).astype(np.float32))
    big = io.BytesIO()
    Image.fromarray(np.kron(pixels, np.ones((2, 3, 1), dtype=np.uint8))).save(big, format="JPEG", quality=95)
    rgba = io.BytesIO()
    Image.fromarray(pixels).convert("RGBA").save(rgba, format="PNG")
    batch = predictor.preprocess([big.getvalue(), rgba.getvalue()])
    assert batch.shape == (2, 3, 32, 32) and batch.dtype == np.float32
    assert np.array_equal(batch[1], pixels.transpose(2, 0, 1))
    assert predictor.predict(pngs[:3]) == predictor.predict_arrays(predictor.preprocess(pngs[:3])).tolist()
    with pytest.raises(ImageDecodeError, match="^image 1: the 4-byte body is not an image Pillow can decode"):
        predictor.predict([pngs[0], b"text"])


def test_batches_of_any_size(tarball, pngs):
    predictor = Predictor.from_artifact(tarball)
    one_by_one = np.array([predictor.predict([png])[0] for png in pngs])
    many = predictor.predict_arrays(np.repeat(predictor.preprocess(pngs), 6, axis=0))  # 72 images: two chunks
    np.testing.assert_allclose(many, np.repeat(one_by_one, 6, axis=0), rtol=1e-5, atol=1e-6)
    assert predictor.predict_arrays(np.empty((0, 3, 32, 32), dtype=np.float32)).shape == (0, 2)
    with pytest.raises(ValueError, match=r"expected N×3×32×32 pixels, got \(2, 3, 16, 16\)"):
        predictor.predict_arrays(np.zeros((2, 3, 16, 16)))



@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65])
def test_each_image_gets_its_own_answer_whatever_batch_bucket_it_lands_in(tarball, pngs, count):
    """Padding to the 1–64 buckets must not leak into anyone's answer (the endpoint tests' stand-in pads to 32)."""
    predictor = Predictor.from_artifact(tarball)
    alone = {index: predictor.predict([png])[0] for index, png in enumerate(pngs)}
    order = [index % len(pngs) for index in range(count)]
    together = predictor.predict_arrays(predictor.preprocess([pngs[index] for index in order]))
    np.testing.assert_allclose(together, np.array([alone[index] for index in order]), rtol=1e-5, atol=1e-6)

def test_many_threads_predict_at_once(tarball, pngs):
    """Mixed batch sizes from 8 threads: same answers as one thread, and no engine deadlock."""
    predictor = Predictor.from_artifact(tarball)
    requests = [pngs[index:index + 1 + index % 3] for index in range(len(pngs))]
    expected = [predictor.predict(request) for request in requests]
    failures = []

    def worker(offset: int) -> None:
        for round_ in range(15):
            index = (offset + round_) % len(requests)
            if predictor.predict(requests[index]) != expected[index]:
                failures.append(index)

    threads = [threading.Thread(target=worker, args=(offset,), daemon=True) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "predict() deadlocked under concurrent calls"
    assert failures == []


def test_class_names_from_the_caller_or_the_metadata(tarball):
    metadata = ModelMetadata(class_names=("bicycle", "motorcycle")).to_json()
    assert Predictor.from_artifact(tarball, metadata=metadata).class_names == ("bicycle", "motorcycle")
    assert Predictor.from_artifact(tarball, metadata=metadata, class_names=["a", "b"]).class_names == ("a", "b")
    with pytest.raises(ArtifactError, match=r"^model.tar.gz scores 2 classes but 3 class names were given"):
        Predictor.from_artifact(tarball, class_names=["a", "b", "c"])


def test_load_predictor_reads_the_metadata_beside_the_model(storage, bucket, tarball, pngs):
    uri = model_uri(bucket, "job-9")
    storage.put(uri, tarball)
    assert load_predictor(storage, uri).class_names == ("class_0", "class_1")
    storage.put(metadata_uri(uri), ModelMetadata(class_names=("bicycle", "motorcycle")).to_json())
    assert load_predictor(storage, uri).class_names == ("bicycle", "motorcycle")


def sagemaker_style_tarball(drop: str | None = None) -> bytes:
    """An artifact as SageMaker's container writes it: symbolic API, mx.model.save_checkpoint, './' names."""
    data = mx.sym.var("data")
    body = mx.sym.BatchNorm(mx.sym.identity(data, name="id"), fix_gamma=True, eps=2e-5, name="bn_data")
    body = mx.sym.Convolution(body, num_filter=4, kernel=(3, 3), pad=(1, 1), no_bias=True, name="conv0")
    body = mx.sym.Pooling(mx.sym.Activation(body, act_type="relu", name="relu1"), global_pool=True,
                          kernel=(7, 7), pool_type="avg", name="pool1")
    fc = mx.sym.FullyConnected(mx.sym.Flatten(body), num_hidden=3, name="fc")
    symbol = mx.sym.SoftmaxOutput(fc, name="softmax")
    module = mx.mod.Module(symbol, context=mx.cpu())
    module.bind(data_shapes=[("data", (2, 3, 32, 32))], label_shapes=[("softmax_label", (2,))])
    mx.random.seed(0)
    module.init_params(mx.init.Xavier())
    args, aux = module.get_params()
    if drop:
        args.pop(drop)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as directory:
        prefix = os.path.join(directory, "image-classification")
        mx.model.save_checkpoint(prefix, 7, symbol, args, aux)
        with open(os.path.join(directory, "model-shapes.json"), "w") as shapes:
            json.dump([{"shape": [2, 3, 32, 32], "name": "data"}], shapes)
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name in sorted(os.listdir(directory)):
                archive.add(os.path.join(directory, name), arcname=f"./{name}")
    return buffer.getvalue()


def test_an_artifact_made_by_mxnets_symbolic_api_is_served(pngs):
    predictor = Predictor.from_artifact(sagemaker_style_tarball())
    assert predictor.class_names == ("class_0", "class_1", "class_2")
    np.testing.assert_allclose([sum(p) for p in predictor.predict(pngs[:4])], 1.0, rtol=1e-5)


def test_params_that_do_not_fit_the_symbol_are_refused():
    with pytest.raises(ArtifactError, match=r"^model.tar.gz: the .params lacks 1 weight\(s\) the symbol needs "
                                            r"\(fc_weight\); the symbol and params come from different models$"):
        Predictor.from_artifact(sagemaker_style_tarball(drop="fc_weight"))


def test_a_model_asking_for_huge_input_images_is_refused_when_loaded(tarball):
    artifact = read_model_tarball(tarball)
    huge = build_model_tarball(artifact.symbol_json, {artifact.epoch: artifact.params}, (1, 3, 100000, 100000))
    with pytest.raises(ArtifactError, match=r"^model.tar.gz: model-shapes.json asks for 100000×100000 input images, "
                                            r"over the 4,194,304 pixels \(2048×2048\) a served model may take: one "
                                            r"image alone would need 111.8 GiB. Train with a smaller image_shape$"):
        Predictor.from_artifact(huge)


def test_decoded_pixels_are_predicted_as_their_encoded_images_are(tarball, pngs):
    predictor = Predictor.from_artifact(tarball)
    pixels = [decode_image(png) for png in pngs]
    assert predictor.predict_pixels(pixels) == predictor.predict(pngs)
    larger = np.asarray(Image.fromarray(pixels[0]).resize((64, 48)))
    assert predictor.predict_pixels([larger]) == predictor.predict([encode_png(larger)])
