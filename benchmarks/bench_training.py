"""Benchmark: local training on the course's real images, then the predictor's speed.

Stages a stratified 80/20 split of the 1,000 CIFAR-100 bicycle/motorcycle
training PNGs into an embedded S3 (train/, test/, train.lst, test.lst,
classes.json — the layout `scones stage` writes), trains with
``Hyperparameters.local_default`` through ``train_from_storage`` (the path
`scones train` takes), and prints validation accuracy, wall time, peak memory,
batch-1 latency and batch-64 throughput of the resulting model.

    .venv/bin/python benchmarks/bench_training.py [../shared/data/cifar100-vehicles/train] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from scones.backends.local.predictor import load_predictor
from scones.backends.local.s3_choice import EmbeddedS3
from scones.backends.local.training import train_from_storage
from scones.hyperparameters import Hyperparameters
from scones.lst import LstEntry, format_lst, parse_lst
from scones.storage import Storage, s3_client

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar100-vehicles" / "train"
BUCKET = "scones-bench-training"
VALIDATION_FRACTION = 0.2
LATENCY_CALLS = 200
THROUGHPUT_BATCH = 64
THROUGHPUT_ROUNDS = 20


def stratified_split(entries: list[LstEntry], fraction: float, seed: int) -> tuple[list[LstEntry], list[LstEntry]]:
    """The same share of every class held out, chosen by a seeded shuffle."""
    rng = np.random.RandomState(seed)
    held_out = set()
    for label in sorted({entry.label for entry in entries}):
        members = [index for index, entry in enumerate(entries) if entry.label == label]
        rng.shuffle(members)
        held_out.update(members[:round(len(members) * fraction)])
    train = [entry for index, entry in enumerate(entries) if index not in held_out]
    return train, [entry for index, entry in enumerate(entries) if index in held_out]


def class_names(data_dir: Path, entries: list[LstEntry]) -> list[str]:
    """Class id → name, from the manifest's label column (checked against the .lst)."""
    with open(data_dir / "manifest.csv", newline="") as file:
        by_file = {row["filename"]: row["label"] for row in csv.DictReader(file)}
    names: dict[int, str] = {}
    for entry in entries:
        if names.setdefault(entry.label, by_file[entry.path]) != by_file[entry.path]:
            raise SystemExit(f"manifest.csv and train.lst disagree about class {entry.label} at {entry.path}")
    return [names[label] for label in sorted(names)]


def stage(storage: Storage, data_dir: Path, train: list[LstEntry], validation: list[LstEntry],
          names: list[str]) -> None:
    storage.ensure_bucket(BUCKET)
    objects = {}
    for prefix, entries in (("train", train), ("test", validation)):
        for entry in entries:
            objects[f"s3://{BUCKET}/{prefix}/{entry.path}"] = (data_dir / entry.path).read_bytes()
    storage.put_many(objects)
    storage.put(f"s3://{BUCKET}/train.lst", format_lst(train).encode())
    storage.put(f"s3://{BUCKET}/test.lst", format_lst(validation).encode())
    storage.put(f"s3://{BUCKET}/classes.json", json.dumps(names).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0, help="split and training seed")
    parser.add_argument("--progress", action="store_true", help="show the per-epoch progress bars")
    parser.add_argument("-H", "--hyperparameter", action="append", default=[], metavar="NAME=VALUE",
                        help="override a local default, e.g. -H epochs=80")
    args = parser.parse_args()

    entries = parse_lst((args.data_dir / "train.lst").read_text(), source=str(args.data_dir / "train.lst"))
    train, validation = stratified_split(entries, VALIDATION_FRACTION, args.seed)
    hyperparameters = Hyperparameters.local_default(num_training_samples=len(train))
    if args.hyperparameter:
        overrides = dict(pair.split("=", 1) for pair in args.hyperparameter)
        hyperparameters = Hyperparameters.from_mapping({**hyperparameters.to_sagemaker(), **overrides})
    print(f"data: {len(entries)} images from {args.data_dir}; split {len(train)} train / {len(validation)} "
          f"validation (stratified, seed {args.seed})")
    print(f"hyperparameters: {hyperparameters.to_sagemaker()}")

    with EmbeddedS3() as server:
        storage = Storage(s3_client(server.url))
        stage(storage, args.data_dir, train, validation, class_names(args.data_dir, entries))
        result = train_from_storage(storage, BUCKET, hyperparameters, job_name=f"bench-{int(time.time())}",
                                    seed=args.seed, progress=args.progress, log=print)
        predictor = load_predictor(storage, result.model_uri)
        images = storage.get_many(f"s3://{BUCKET}/test/{entry.path}" for entry in validation)

    predictor.predict(images[:1])  # bind the batch-1 executor before timing
    latencies = []
    for index in range(LATENCY_CALLS):
        started = time.perf_counter()
        predictor.predict([images[index % len(images)]])
        latencies.append(time.perf_counter() - started)
    batch = images[:THROUGHPUT_BATCH]
    predictor.predict(batch)
    started = time.perf_counter()
    for _ in range(THROUGHPUT_ROUNDS):
        predictor.predict(batch)
    throughput = THROUGHPUT_ROUNDS * len(batch) / (time.perf_counter() - started)
    epoch_seconds = sum(m.time_cost for m in result.metrics)

    print()
    print(f"best validation accuracy:  {result.best_validation_accuracy:.4f} "
          f"(Epoch[{result.best_epoch}] of {len(result.metrics)}; target >= 0.92)")
    print(f"last validation accuracy:  {result.metrics[-1].validation_accuracy:.4f}")
    print(f"training wall time:        {result.wall_seconds:.1f} s "
          f"(train_from_storage: read, {len(result.metrics)} epochs, upload; epochs alone {epoch_seconds:.1f} s;"
          f" target <= 300 s)")
    print(f"peak memory (ru_maxrss):   {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"predictor latency batch 1: {statistics.median(latencies) * 1000:.2f} ms median of {LATENCY_CALLS} "
          f"(p90 {statistics.quantiles(latencies, n=10)[-1] * 1000:.2f} ms; PNG decode included; target <= 10 ms)")
    print(f"predictor throughput b64:  {throughput:.0f} images/s ({THROUGHPUT_ROUNDS} rounds of {len(batch)})")
    print(f"model: {result.model_uri} (classes {', '.join(result.class_names)})")


if __name__ == "__main__":
    main()
