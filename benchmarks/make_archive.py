"""Write a CIFAR-100-format archive: seeded noise (full size by default), or real vehicle images.

    python benchmarks/make_archive.py /tmp/cifar-100-python.tar.gz [--train 50000 --test 10000]
    python benchmarks/make_archive.py /tmp/vehicles.tar.gz --vehicles ../shared/data/cifar100-vehicles/train

Noise labels are spread evenly over the 100 fine classes, as in the real
archive (500 train and 100 test rows per class at full size): for benchmarks,
and for trying `scones run` offline, though a model learns nothing from them.
``--vehicles`` takes a folder of the real bicycle/motorcycle PNGs with the
course's ``train.lst`` and splits them 80/20 (stratified, seeded) into the
archive's train and test members: `scones run` on it trains on real pixels.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from scones.images import array_to_row, decode_image
from scones.lst import parse_lst
from scones.synthetic_cifar import FINE_LABEL_NAMES, SyntheticSplit, synthetic_split, write_cifar_archive

VEHICLE_LABELS = (FINE_LABEL_NAMES.index("bicycle"), FINE_LABEL_NAMES.index("motorcycle"))


def build(path: str, train_rows: int = 50_000, test_rows: int = 10_000, seed: int = 0):
    train = synthetic_split([row % 100 for row in range(train_rows)], seed=seed)
    test = synthetic_split([row % 100 for row in range(test_rows)], seed=seed + 1)
    return write_cifar_archive(path, train, test, compresslevel=1)


def vehicle_splits(folder: Path, seed: int = 0, test_fraction: float = 0.2) -> tuple[SyntheticSplit, SyntheticSplit]:
    """The folder's images as train/test splits, stratified by class, in CIFAR row order."""
    entries = parse_lst((folder / "train.lst").read_text(), source=str(folder / "train.lst"))
    rng = random.Random(seed)
    test = set()
    for label in {entry.label for entry in entries}:
        members = [entry for entry in entries if entry.label == label]
        test.update(entry.path for entry in rng.sample(members, round(len(members) * test_fraction)))

    def split(chosen):
        chosen = sorted(chosen, key=lambda entry: entry.index)
        rows = np.stack([array_to_row(decode_image((folder / entry.path).read_bytes())) for entry in chosen])
        return SyntheticSplit(rows, [VEHICLE_LABELS[entry.label] for entry in chosen], [e.path for e in chosen])

    return (split([e for e in entries if e.path not in test]), split([e for e in entries if e.path in test]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--vehicles", type=Path, help="folder of real vehicle PNGs with train.lst")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.vehicles:
        path = write_cifar_archive(args.path, *vehicle_splits(args.vehicles))
    else:
        path = build(args.path, args.train, args.test)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
