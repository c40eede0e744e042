"""Write a CIFAR-100-format archive of seeded random pixels (full size by default).

    python benchmarks/make_archive.py /tmp/cifar-100-python.tar.gz [--train 50000 --test 10000]

Labels are spread evenly over the 100 fine classes, as in the real archive
(500 train and 100 test rows per class at full size). For benchmarks and for
trying `scones run` offline; the pixels are noise, so a model trained on
them learns nothing.
"""

from __future__ import annotations

import argparse
import time

from scones.testing import synthetic_split, write_cifar_archive


def build(path: str, train_rows: int = 50_000, test_rows: int = 10_000, seed: int = 0):
    train = synthetic_split([row % 100 for row in range(train_rows)], seed=seed)
    test = synthetic_split([row % 100 for row in range(test_rows)], seed=seed + 1)
    return write_cifar_archive(path, train, test, compresslevel=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--train", type=int, default=50_000)
    parser.add_argument("--test", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    path = build(args.path, args.train, args.test)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
