"""Images the endpoint decodes: refused above the pixel limit before decoding, decoded once, a bounded few at once."""

from __future__ import annotations

import struct
import threading
import zlib

import numpy as np
import pytest
from botocore.exceptions import ClientError
from .endpoint_support import ENDPOINT, TinyPredictor, png_image, runtime_client, served_endpoint

from scones.backends.local import inference_container
from scones.backends.local.inference_container import ImageLimits, pixel_limit
from scones.images import ImageTooLarge, decode_image, encode_png


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width``×``height`` RGB pixels and holds one row: what a decompression bomb's header says."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * (1 + 3 * width)))
            + chunk(b"IEND", b""))


def test_the_limit_is_the_configured_one_or_the_models_own_input_if_larger():
    assert pixel_limit(ImageLimits(), (3, 32, 32)) == 4096 * 4096
    assert pixel_limit(ImageLimits(max_pixels=100), (3, 224, 224)) == 224 * 224


def test_the_limit_is_read_from_the_environment_or_refused_clearly():
    assert ImageLimits.from_environ({}) == ImageLimits()
    assert ImageLimits.from_environ({"SCONES_MAX_IMAGE_PIXELS": "1000000"}).max_pixels == 1_000_000
    with pytest.raises(ValueError, match=r"^SCONES_MAX_IMAGE_PIXELS='lots' is not a pixel count: set it to a whole"):
        ImageLimits.from_environ({"SCONES_MAX_IMAGE_PIXELS": "lots"})


def test_decode_refuses_from_the_header_before_decoding_a_pixel():
    with pytest.raises(ImageTooLarge, match=r"^the image is 13000×13000 = 169,000,000 pixels, over the limit of "
                                            r"16,777,216; send it scaled down"):
        decode_image(png_header_only(13000, 13000), max_pixels=4096 * 4096)
    with pytest.raises(ImageTooLarge, match=r"^the image declares over 178,956,970 pixels, over the limit of 100; "):
        decode_image(png_header_only(20000, 20000), max_pixels=100)  # past Pillow's own bomb check
    image = np.zeros((4, 5, 3), dtype=np.uint8)
    assert decode_image(encode_png(image), max_pixels=20).shape == (4, 5, 3)


def test_a_13000_by_13000_png_is_refused_as_the_containers_413(storage, bucket, model_uri):
    with served_endpoint(storage, bucket, model_uri, capture=None) as server:
        client = runtime_client(server.url)
        with pytest.raises(ClientError) as caught:
            client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=png_header_only(13000, 13000))
    error = caught.value
    assert type(error) is client.exceptions.ModelError
    assert error.response["OriginalStatusCode"] == 413
    assert error.response["OriginalMessage"] == (
        "The request body is refused: the image is 13000×13000 = 169,000,000 pixels, over the limit of 16,777,216; "
        "send it scaled down (the model resizes every image to its own input size anyway)")


def test_the_configured_limit_is_applied_and_an_image_within_it_is_answered(storage, bucket, model_uri, tiny_predictor):
    with served_endpoint(storage, bucket, model_uri, capture=None, images=ImageLimits(max_pixels=40 * 40)) as server:
        client = runtime_client(server.url)
        wide = encode_png(np.zeros((32, 60, 3), dtype=np.uint8))  # 1,920 pixels
        with pytest.raises(client.exceptions.ModelError) as caught:
            client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=wide)
        answer = client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(3))
    assert caught.value.response["OriginalStatusCode"] == 413
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


class PixelsOnly(TinyPredictor):
    """Fails if handed anything but decoded pixels."""

    def predict(self, images):
        raise AssertionError("the container must hand the model decoded pixels, not bytes")

    def predict_pixels(self, images):
        assert all(isinstance(image, np.ndarray) and image.dtype == np.uint8 for image in images)
        return super().predict_pixels(images)


def test_each_body_is_decoded_once_and_the_model_gets_its_pixels(storage, bucket, model_uri, monkeypatch, tiny_params):
    calls = []

    def counting(body, max_pixels=None):
        calls.append(body)
        return decode_image(body, max_pixels)

    monkeypatch.setattr(inference_container, "decode_image", counting)
    images = [png_image(seed) for seed in range(5)]
    with served_endpoint(storage, bucket, model_uri, capture=None,
                         load_predictor=lambda _: PixelsOnly(tiny_params)) as server:
        client = runtime_client(server.url)
        answers = [client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=image)["Body"].read()
                   for image in images]
    assert calls == images and len(answers) == 5


def test_no_more_images_decode_at_once_than_the_limit(storage, bucket, model_uri, monkeypatch):
    lock, inside, most = threading.Lock(), [0], [0]
    two_inside = threading.Event()

    def watched(body, max_pixels=None):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            if inside[0] >= 2:
                two_inside.set()
        assert two_inside.wait(10)  # the first decode waits for a second, so decodes do overlap
        with lock:
            inside[0] -= 1
        return decode_image(body, max_pixels)

    monkeypatch.setattr(inference_container, "decode_image", watched)
    with served_endpoint(storage, bucket, model_uri, capture=None,
                         images=ImageLimits(concurrent_decodes=2)) as server:
        client = runtime_client(server.url)
        threads = [threading.Thread(target=client.invoke_endpoint,
                                    kwargs=dict(EndpointName=ENDPOINT, ContentType="image/png", Body=png_image(seed)))
                   for seed in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert most[0] == 2
