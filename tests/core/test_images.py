"""Row ↔ array ↔ PNG conversions are exact inverses."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

from scones.images import (
    CIFAR_ROW_BYTES,
    ImageDecodeError,
    array_to_row,
    decode_image,
    encode_png,
    row_to_array,
)

rows = arrays(np.uint8, (CIFAR_ROW_BYTES,))


@given(rows)
def test_row_array_round_trip(row):
    assert np.array_equal(array_to_row(row_to_array(row)), row)


@settings(max_examples=50)
@given(rows)
def test_png_round_trip_is_lossless(row):
    image = row_to_array(row)
    assert np.array_equal(decode_image(encode_png(image)), image)


def test_row_is_channel_planar():
    row = np.zeros(CIFAR_ROW_BYTES, dtype=np.uint8)
    row[0] = 200            # red of pixel (0, 0)
    row[1024 + 33] = 100    # green of pixel (1, 1)
    row[2048 + 1023] = 50   # blue of pixel (31, 31)
    image = row_to_array(row)
    assert image[0, 0].tolist() == [200, 0, 0]
    assert image[1, 1].tolist() == [0, 100, 0]
    assert image[31, 31].tolist() == [0, 0, 50]


def test_png_is_32x32_rgb():
    png = encode_png(np.full((32, 32, 3), 7, dtype=np.uint8))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # IHDR: width, height, bit depth 8, colour type 2 (truecolour RGB)
    assert png[16:26] == (32).to_bytes(4, "big") + (32).to_bytes(4, "big") + bytes([8, 2])


def test_decode_converts_alpha_to_rgb():
    from PIL import Image
    import io

    buffer = io.BytesIO()
    Image.new("RGBA", (4, 4), (10, 20, 30, 255)).save(buffer, format="PNG")
    assert decode_image(buffer.getvalue()).shape == (4, 4, 3)
    assert decode_image(buffer.getvalue())[0, 0].tolist() == [10, 20, 30]


def test_bad_bytes_are_refused_with_advice():
    with pytest.raises(ImageDecodeError, match=r"the 9-byte body is not an image .*send PNG or JPEG"):
        decode_image(b"not a png")


@pytest.mark.parametrize("bad", [np.zeros(3071, np.uint8), np.zeros(3072, np.int16)])
def test_row_shape_and_dtype_checked(bad):
    with pytest.raises(ValueError, match="a CIFAR row is 3072 uint8 values"):
        row_to_array(bad)
