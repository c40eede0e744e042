"""Benchmark: local training on the course's real images, three seeds, then the predictor's speed.

Stages a fixed stratified 80/20 split (split seed 0) of the 1,000 CIFAR-100
bicycle/motorcycle training PNGs into an embedded S3 (train/, test/,
train.lst, test.lst, classes.json — the layout `scones stage` writes), trains
with ``Hyperparameters.local_default`` through ``train_from_storage`` (the path
`scones train` takes) once per training seed, and prints:

- validation accuracy per seed at the kept (best) epoch and at the last epoch,
  and their mean and minimum over the seeds (target: mean >= 0.92);
- wall time per seed (read, train, upload; target <= 300 s each), peak memory;
- training images/s beside the compute floor: raw forward + backward + update
  images/s of the same network at the same batch size on one fixed batch, so
  the gap is what the data pipeline and bookkeeping cost;
- the last model's predictor latency at batch 1 (target <= 2 ms) and
  throughput at batch 32 (PNG decoding included), measured in a fresh process
  that only serves, as `scones deploy` is (this one trained: its MXNet has a
  training process's threads, see ``backends/local/openmp_threads.py``).

    .venv/bin/python benchmarks/bench_training.py [../shared/data/cifar100-vehicles/train] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Before anything imports MXNet: the serving process below gets what the user set, not what training sets.
USER_OMP_THREADS = os.environ.get("OMP_NUM_THREADS")

import numpy as np

from scones.backends.local.s3_choice import EmbeddedS3
from scones.backends.local.training import train_from_storage
from scones.hyperparameters import Hyperparameters
from scones.lst import LstEntry, format_lst, parse_lst
from scones.storage import Storage, s3_client

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar100-vehicles" / "train"
BUCKET = "scones-bench-training"
VALIDATION_FRACTION = 0.2
SPLIT_SEED = 0
LATENCY_CALLS = 200
THROUGHPUT_BATCH = 32
THROUGHPUT_ROUNDS = 40
FLOOR_STEPS = 20
# The floor is the fastest of several windows: a neighbour's burst on a shared machine only ever
# slows a window down, and one 3-second window alone measured 385-480 images/s between runs.
FLOOR_WINDOWS = 5


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


def compute_floor(hyperparameters: Hyperparameters) -> float:
    """Images/s of forward + backward + update alone, the same network and batch size, one fixed batch
    (the fastest of :data:`FLOOR_WINDOWS` windows of :data:`FLOOR_STEPS` steps)."""
    import mxnet as mx
    from mxnet import autograd

    from scones.backends.local import training

    net, trainer = training.prepared_network(hyperparameters, seed=0)
    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    size = hyperparameters.mini_batch_size
    rng = np.random.RandomState(0)
    pixels = training.to_network_input(rng.randint(0, 256, (size, 32, 32, 3)).astype(np.uint8))
    labels = mx.nd.array(rng.randint(0, hyperparameters.num_classes, size))

    def step() -> None:
        with autograd.record():
            value = loss(net(pixels), labels)
        value.backward()
        trainer.step(size)
        value.asnumpy()

    for _ in range(3):
        step()
    rates = []
    for _ in range(FLOOR_WINDOWS):
        started = time.perf_counter()
        for _ in range(FLOOR_STEPS):
            step()
        rates.append(FLOOR_STEPS * size / (time.perf_counter() - started))
    return max(rates)


def predictor_figures(model_path: Path, data_dir: Path) -> tuple[float, float, float]:
    """(median ms, p90 ms) at batch 1 and images/s at batch 32 on the validation images, PNG decoding included."""
    from scones.backends.local.predictor import Predictor

    predictor = Predictor.from_artifact(model_path.read_bytes())
    entries = parse_lst((data_dir / "train.lst").read_text(), source=str(data_dir / "train.lst"))
    images = [(data_dir / entry.path).read_bytes()
              for entry in stratified_split(entries, VALIDATION_FRACTION, SPLIT_SEED)[1]]
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
    return statistics.median(latencies) * 1000, statistics.quantiles(latencies, n=10)[-1] * 1000, throughput


def predictor_figures_in_a_serving_process(tarball: bytes, data_dir: Path) -> tuple[float, float, float]:
    environment = {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}
    if USER_OMP_THREADS is not None:
        environment["OMP_NUM_THREADS"] = USER_OMP_THREADS
    with tempfile.TemporaryDirectory(prefix="scones-bench-") as directory:
        model_path = Path(directory) / "model.tar.gz"
        model_path.write_bytes(tarball)
        answer = subprocess.run([sys.executable, __file__, str(data_dir), "--predictor-figures", str(model_path)],
                                env=environment, capture_output=True, text=True, check=True).stdout
    return tuple(json.loads(answer.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated (the split is fixed)")
    parser.add_argument("--progress", action="store_true", help="show the per-epoch progress bars")
    parser.add_argument("-H", "--hyperparameter", action="append", default=[], metavar="NAME=VALUE",
                        help="override a local default, e.g. -H epochs=80")
    parser.add_argument("--predictor-figures", type=Path, metavar="MODEL_TARBALL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.predictor_figures:  # the serving process
        print(json.dumps(predictor_figures(args.predictor_figures, args.data_dir)))
        return
    seeds = [int(seed) for seed in args.seeds.split(",")]

    entries = parse_lst((args.data_dir / "train.lst").read_text(), source=str(args.data_dir / "train.lst"))
    train, validation = stratified_split(entries, VALIDATION_FRACTION, SPLIT_SEED)
    hyperparameters = Hyperparameters.local_default(num_training_samples=len(train)).with_overrides(
        dict(pair.split("=", 1) for pair in args.hyperparameter))
    print(f"data: {len(entries)} images from {args.data_dir}; split {len(train)} train / {len(validation)} "
          f"validation (stratified, split seed {SPLIT_SEED}); training seeds {seeds}")
    print(f"hyperparameters: {hyperparameters.to_mapping()}")

    results = []
    with EmbeddedS3() as server:
        storage = Storage(s3_client(server.url))
        stage(storage, args.data_dir, train, validation, class_names(args.data_dir, entries))
        for seed in seeds:
            result = train_from_storage(storage, BUCKET, hyperparameters, job_name=f"bench-seed-{seed}-{int(time.time())}",
                                        seed=seed, progress=args.progress, log=lambda line: None)
            results.append(result)
            print(f"seed {seed}: kept Epoch[{result.best_epoch}] {result.best_validation_accuracy:.4f}, last "
                  f"{result.metrics[-1].validation_accuracy:.4f}; {result.wall_seconds:.1f} s", flush=True)
        tarball = storage.get(results[-1].model_uri)

    kept = [result.best_validation_accuracy for result in results]
    last = [result.metrics[-1].validation_accuracy for result in results]
    walls = [result.wall_seconds for result in results]
    trained_images = hyperparameters.num_training_samples * hyperparameters.epochs
    rates = [trained_images / sum(m.time_cost for m in result.metrics) for result in results]
    floor = compute_floor(hyperparameters)
    median_ms, p90_ms, throughput = predictor_figures_in_a_serving_process(tarball, args.data_dir)

    print()
    print(f"validation accuracy, kept epoch: mean {statistics.mean(kept):.4f}, min {min(kept):.4f} "
          f"over {len(seeds)} seeds (target: mean >= 0.92)")
    print(f"validation accuracy, last epoch: mean {statistics.mean(last):.4f}, min {min(last):.4f}")
    print(f"training wall time:              max {max(walls):.1f} s, mean {statistics.mean(walls):.1f} s "
          f"(read, {hyperparameters.epochs} epochs, upload; target <= 300 s)")
    print(f"training images/s:               {statistics.mean(rates):.0f} (epochs alone, augmentation included); "
          f"compute floor {floor:.0f} (forward + backward + update, batch {hyperparameters.mini_batch_size}): "
          f"{statistics.mean(rates) / floor:.2f} of it")
    print(f"peak memory (ru_maxrss):         {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"predictor latency batch 1:       {median_ms:.2f} ms median of {LATENCY_CALLS} (p90 {p90_ms:.2f} ms; "
          f"PNG decode included; target <= 2 ms)")
    print(f"predictor throughput batch 32:   {throughput:.0f} images/s ({THROUGHPUT_ROUNDS} rounds)")


if __name__ == "__main__":
    main()
