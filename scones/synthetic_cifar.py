"""Build CIFAR-100 python archives byte-compatible with the official one.

CIFAR-100 cannot be downloaded in every place Scones runs (CI, offline
laptops), so tests and benchmarks build archives of their own with known
pixels. They are written the way Python 2 wrote the real ones: protocol 2
pickles whose strings are byte strings (``BINSTRING``), dict keys like
``b'fine_labels'``, and arrays reconstructed through ``numpy.core.multiarray``.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from scones.images import CIFAR_ROW_BYTES

# The real CIFAR-100 fine label names, in label order (8 = bicycle, 48 = motorcycle).
FINE_LABEL_NAMES = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus "
    "butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch "
    "crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo "
    "keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse "
    "mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy "
    "porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper "
    "snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television "
    "tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm"
).split()
COARSE_LABEL_NAMES = (
    "aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices "
    "household_furniture insects large_carnivores large_man-made_outdoor_things "
    "large_natural_outdoor_scenes large_omnivores_and_herbivores medium_mammals "
    "non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2"
).split()


class Python2Pickler(pickle._Pickler):
    """A protocol-2 pickler that writes every str and bytes as a Python 2 byte string."""

    def __init__(self, file):
        super().__init__(file, protocol=2)

    def save_py2_str(self, obj):
        data = obj.encode("latin-1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + len(data).to_bytes(4, "little") + data)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


def python2_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer).dump(obj)
    return buffer.getvalue()


@dataclass(frozen=True)
class SyntheticSplit:
    data: np.ndarray  # (N, 3072) uint8
    fine_labels: Sequence[int]
    filenames: Sequence[str]


def synthetic_split(fine_labels: Sequence[int], *, seed: int, prefix: str = "img") -> SyntheticSplit:
    """Rows of seeded random pixels with the given labels and course-style file names."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(len(fine_labels), CIFAR_ROW_BYTES), dtype=np.uint8)
    names = [f"{FINE_LABEL_NAMES[label]}_s_{seed:02d}{row:06d}.png" for row, label in enumerate(fine_labels)]
    return SyntheticSplit(data=data, fine_labels=list(fine_labels), filenames=names)


def split_record(split: SyntheticSplit, batch_label: str) -> dict:
    """A ``train``/``test`` dict with the real keys and types."""
    fine = [int(x) for x in split.fine_labels]
    return {
        b"filenames": [str(name) for name in split.filenames],
        b"batch_label": batch_label,
        b"fine_labels": fine,
        b"coarse_labels": [label % len(COARSE_LABEL_NAMES) for label in fine],
        b"data": np.ascontiguousarray(split.data, dtype=np.uint8),
    }


def _add_member(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(payload))


def write_cifar_archive(
    path: str | Path,
    train: SyntheticSplit,
    test: SyntheticSplit,
    *,
    fine_label_names: Sequence[str] = FINE_LABEL_NAMES,
    members: Sequence[str] = ("train", "test", "meta"),
    compresslevel: int = 6,
) -> Path:
    """Write ``cifar-100-python/{train,test,meta}`` as a .tar.gz, like the official archive.

    ``members`` lets a test leave one out.
    """
    path = Path(path)
    payloads = {
        "train": lambda: python2_pickle(split_record(train, "training batch 1 of 1")),
        "test": lambda: python2_pickle(split_record(test, "testing batch 1 of 1")),
        "meta": lambda: python2_pickle({
            b"fine_label_names": list(fine_label_names),
            b"coarse_label_names": list(COARSE_LABEL_NAMES),
        }),
    }
    with tarfile.open(path, mode="w:gz", compresslevel=compresslevel) as tar:
        dir_info = tarfile.TarInfo("cifar-100-python")
        dir_info.type = tarfile.DIRTYPE
        dir_info.mode = 0o755
        tar.addfile(dir_info)
        for member in members:
            _add_member(tar, f"cifar-100-python/{member}", payloads[member]())
    return path
