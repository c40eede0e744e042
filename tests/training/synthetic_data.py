"""Tiny staged data sets for training tests: two colour patterns any network separates at once."""

from __future__ import annotations

import json

import numpy as np

from scones.hyperparameters import Hyperparameters
from scones.images import encode_png
from scones.lst import LstEntry, format_lst

CLASS_NAMES = ("bicycle", "motorcycle")
# Reddish horizontal stripes vs bluish vertical stripes, with pixel noise.
_BASE = {0: (200, 60, 40), 1: (40, 70, 200)}


def synthetic_image(label: int, rng: np.random.RandomState, side: int = 32) -> np.ndarray:
    stripes = (np.arange(side) // 4 % 2 * 40)[:, None] if label == 0 else (np.arange(side) // 4 % 2 * 40)[None, :]
    image = np.array(_BASE[label], dtype=float) + stripes[..., None] + rng.normal(0, 12, (side, side, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def stage_synthetic(storage, bucket: str, *, train_per_class: int = 8, validation_per_class: int = 4,
                    classes_json: bool = True, seed: int = 0) -> None:
    """Write train/, test/, train.lst, test.lst (and classes.json) as `scones stage` lays them out."""
    rng = np.random.RandomState(seed)
    objects = {}
    for split, per_class in (("train", train_per_class), ("test", validation_per_class)):
        entries = []
        for index in range(per_class * 2):
            label = index % 2
            name = f"{CLASS_NAMES[label]}_s_{index:06d}.png"
            objects[f"s3://{bucket}/{split}/{name}"] = encode_png(synthetic_image(label, rng))
            entries.append(LstEntry(index, label, name))
        objects[f"s3://{bucket}/{split}.lst"] = format_lst(entries).encode()
    if classes_json:
        objects[f"s3://{bucket}/classes.json"] = json.dumps(list(CLASS_NAMES)).encode()
    storage.put_many(objects)


def tiny_hyperparameters(**changes) -> Hyperparameters:
    """The smallest real training: ResNet-20 on 16 images, one epoch of two batches."""
    base = Hyperparameters(num_classes=2, num_training_samples=16, num_layers=20, image_shape=(3, 32, 32),
                           epochs=1, mini_batch_size=8, augmentation_type="crop")
    return base.replace(**changes)
