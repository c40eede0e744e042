"""Image conversions: CIFAR row ↔ pixel array ↔ PNG bytes.

A CIFAR row is 3,072 bytes stored channel-planar (1,024 red, then green, then
blue, each row-major), while PIL and the rest of the world want height × width
× RGB. Keeping these conversions in one place, pure and exact, is what lets the
tests compare staged PNGs byte for byte with the archive they came from.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from scones.errors import InputError

CIFAR_SIDE = 32
CIFAR_ROW_BYTES = 3 * CIFAR_SIDE * CIFAR_SIDE


class ImageDecodeError(InputError):
    """Bytes that are not an image PIL can read."""


def row_to_array(row: np.ndarray) -> np.ndarray:
    """Turn one channel-planar CIFAR row (3072 uint8) into a 32×32×3 RGB array."""
    row = np.asarray(row)
    if row.shape != (CIFAR_ROW_BYTES,) or row.dtype != np.uint8:
        raise InputError(
            f"a CIFAR row is {CIFAR_ROW_BYTES} uint8 values, got shape {row.shape} dtype {row.dtype}"
        )
    return row.reshape(3, CIFAR_SIDE, CIFAR_SIDE).transpose(1, 2, 0)


def array_to_row(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`row_to_array`: a 32×32×3 uint8 array back to its CIFAR row."""
    image = np.asarray(image)
    if image.shape != (CIFAR_SIDE, CIFAR_SIDE, 3) or image.dtype != np.uint8:
        raise InputError(
            f"a CIFAR image is 32x32x3 uint8, got shape {image.shape} dtype {image.dtype}"
        )
    return np.ascontiguousarray(image.transpose(2, 0, 1)).reshape(CIFAR_ROW_BYTES)


def encode_png(image: np.ndarray) -> bytes:
    """Encode an H×W×3 uint8 array as an RGB PNG (deterministic for a given Pillow)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


SCALE_DOWN = "send it scaled down (the model resizes every image to its own input size anyway)"


class ImageTooLarge(ImageDecodeError):
    """An image whose header declares more pixels than the reader allows: refused before decoding."""


def decode_image(data: bytes, max_pixels: int | None = None) -> np.ndarray:
    """Decode PNG/JPEG/any PIL-readable bytes to an H×W×3 uint8 RGB array.

    Alpha and palette images are converted to RGB, as SageMaker's image
    classification container does before inference. With ``max_pixels``, an
    image whose header declares more pixels is refused (:class:`ImageTooLarge`)
    before any pixel is decoded: a 20 KB PNG can declare 13,000×13,000 pixels,
    which take 2 GB to decode.
    """
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError as error:  # Pillow's own refusal, past 2 × Image.MAX_IMAGE_PIXELS
        if max_pixels is None:
            raise _not_decodable(data, error) from error
        raise ImageTooLarge(f"the image declares over {2 * Image.MAX_IMAGE_PIXELS:,} pixels, over the limit of "
                            f"{max_pixels:,}; {SCALE_DOWN}") from None
    except Exception as error:  # PIL raises several unrelated types for bad bytes
        raise _not_decodable(data, error) from error
    with image:
        width, height = image.size
        if max_pixels is not None and width * height > max_pixels:
            raise ImageTooLarge(
                f"the image is {width}×{height} = {width * height:,} pixels, over the limit of {max_pixels:,}; "
                f"{SCALE_DOWN}"
            )
        try:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
        except Exception as error:
            raise _not_decodable(data, error) from error


def _not_decodable(data: bytes, error: Exception) -> ImageDecodeError:
    return ImageDecodeError(
        f"the {len(data)}-byte body is not an image Pillow can decode ({error}); send PNG or JPEG bytes"
    )
