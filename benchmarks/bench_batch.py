"""``scones batch`` throughput: images/s through the Distributed Map, against the bare predictor's batch 32.

    .venv/bin/python benchmarks/bench_batch.py [--generated 10000] [--seconds 6]

Model: the freshly initialised ResNet-20 of bench_endpoint.py, exported as
the algorithm's model.tar.gz and served by the local endpoint. S3: the
embedded S3 server (its own process), over HTTP.

Prints, in one run:

1. the peer: ``Predictor.predict`` on batches of 32 PNGs (decode + forward),
   measured before and after the batch runs (as bench_endpoint.py does); their mean;
2. ``LocalBackend.batch`` over 200 real vehicle PNGs (../shared/data), and over
   ``--generated`` 32×32 noise PNGs: wall time from the call to the report
   (listing, the state machine, S3 reads, decode, forward passes, ResultWriter,
   records.json and summary.json), images/s, and images/s as a ratio of (1).
   The target is ≥ 0.7.

The machine is shared: only ratios within one run mean anything.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BUCKET = "scones-bench-batch"
VEHICLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar100-vehicles" / "train"
REAL_IMAGES = 200


def generated_images(count: int) -> list[bytes]:
    import numpy as np

    from scones.images import encode_png

    rng = np.random.default_rng(1)
    return [encode_png(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)) for _ in range(count)]


def real_images(count: int) -> list[bytes]:
    paths = sorted(VEHICLES.glob("*.png"))[:count]
    if len(paths) < count:
        raise SystemExit(f"{VEHICLES} holds {len(paths)} PNGs; {count} are needed")
    return [path.read_bytes() for path in paths]


def timed_batch(backend, prefix: str) -> tuple[float, object]:
    began = time.perf_counter()
    report = backend.batch(f"s3://{BUCKET}/{prefix}", out_uri=f"s3://{BUCKET}/results/{prefix}", threshold=0.5)
    return time.perf_counter() - began, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=10_000, help="generated images in the second run")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds of each bare predictor measurement")
    parser.add_argument("--plain-model", action="store_true", help="serve ResNet-20 without the mirror average")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_endpoint import bare_throughput, default_model_artifact, model_description

    from scones.backends.local import LocalBackend

    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    tarball = default_model_artifact(plain=args.plain_model)
    print(f"model: freshly initialised {model_description(args.plain_model)}")
    generated = generated_images(args.generated)
    peer_before, _ = bare_throughput(tarball, generated[:256], args.seconds)
    print(f"bare predictor, batch 32 (decode + forward): {peer_before:8.1f} images/s")
    with LocalBackend(bucket=BUCKET) as backend:
        storage = backend.storage
        storage.ensure_bucket(BUCKET)
        model_uri = f"s3://{BUCKET}/models/resnet20/model.tar.gz"
        storage.put(model_uri, tarball)
        backend.deploy(model_uri=model_uri)
        storage.put_many({f"s3://{BUCKET}/real/{n:03d}.png": body for n, body in enumerate(real_images(REAL_IMAGES))})
        storage.put_many({f"s3://{BUCKET}/generated/{n:05d}.png": body for n, body in enumerate(generated)})
        print(f"staged {REAL_IMAGES} real and {len(generated)} generated PNGs to {storage.endpoint_url}")
        timed_batch(backend, "real/")  # warm-up: binds the executors for its batch sizes
        runs = [("200 real vehicle PNGs", "real/"), (f"{len(generated)} generated PNGs", "generated/")]
        results = [(label, *timed_batch(backend, prefix)) for label, prefix in runs]
    peer_after, _ = bare_throughput(tarball, generated[:256], args.seconds)
    peer = (peer_before + peer_after) / 2
    print(f"bare predictor again: {peer_after:8.1f} images/s; peer = mean {peer:.1f} images/s")
    print(f"{'run':>24} {'images':>7} {'failed':>6} {'seconds':>8} {'images/s':>9} {'ratio':>6}")
    for label, seconds, report in results:
        images = report.summary["images"]
        print(f"{label:>24} {images:7d} {report.summary['failed']:6d} {seconds:8.2f} {images / seconds:9.1f} "
              f"{images / seconds / peer:6.2f}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
