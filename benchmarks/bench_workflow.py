"""Workflow executions end to end on the local backend: 3 Lambdas + endpoint + Data Capture.

    python benchmarks/bench_workflow.py [--executions 300] [--threads 1,4]

Each execution is the real state machine (asl/scones_workflow.asl.json) in
the ASL interpreter: serializeImageData reads a PNG from S3 over HTTP,
classifyImage calls the endpoint over HTTP (ResNet-20, micro-batched, Data
Capture on), filterInferences applies the threshold. Prints executions/s and
p50/p99 latency per concurrency level, and checks every invocation was captured.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from scones.backends.local import LocalBackend
from scones.capture import CaptureConfig, parse_record
from scones.images import encode_png
from scones.lst import LstEntry, format_lst
from scones.bucket_layout import capture_destination
from scones.bucket_layout import model_uri as model_uri_of
from scones.staged_bucket import pick_test_cases

BUCKET = "bench-workflow"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def stage_images(storage, count=50):
    rng = np.random.default_rng(0)
    entries = []
    for index in range(count):
        name = f"img_{index:03d}.png"
        storage.put(f"s3://{BUCKET}/test/{name}", encode_png(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)))
        entries.append(LstEntry(index, index % 2, name))
    storage.put(f"s3://{BUCKET}/test.lst", format_lst(entries).encode())


def main():
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_endpoint import default_model_artifact, model_description

    parser = argparse.ArgumentParser()
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument("--threads", default="1,4")
    args = parser.parse_args()
    with LocalBackend(bucket=BUCKET) as backend:
        storage = backend.storage
        storage.ensure_bucket(BUCKET)
        stage_images(storage)
        model_uri = model_uri_of(BUCKET, "resnet20")
        storage.put(model_uri, default_model_artifact())
        endpoint = backend.deploy(model_uri=model_uri, capture=CaptureConfig(capture_destination(BUCKET)))
        workflow = backend.deploy_workflow(endpoint_name=endpoint.name, threshold=0.0)
        print(f"{backend.describe()[0]}; endpoint {endpoint.location}; model {model_description(False)} (fresh weights)")
        print(f"{'threads':>7} {'executions':>10} {'exec/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'succeeded':>9}")
        total = 0
        for threads in (int(t) for t in args.threads.split(",")):
            cases = pick_test_cases(storage, BUCKET, args.executions, seed=threads)

            def one(case):
                started = time.perf_counter()
                outcome = backend.start_execution(workflow, case.execution_input())
                return time.perf_counter() - started, outcome.status

            backend.start_execution(workflow, cases[0].execution_input())  # warm-up (binds executors)
            total += 1
            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                results = list(pool.map(one, cases))
            wall = time.perf_counter() - started
            total += len(cases)
            latencies = [seconds * 1000 for seconds, _ in results]
            succeeded = sum(status == "SUCCEEDED" for _, status in results)
            print(f"{threads:>7} {len(cases):>10} {len(cases) / wall:>8.1f} {statistics.median(latencies):>8.1f} "
                  f"{percentile(latencies, 0.99):>8.1f} {succeeded:>9}")
        backend.delete_endpoint(endpoint.name)
        lines = [line for stored in storage.list(f"s3://{BUCKET}/data_capture/")
                 for line in storage.get(stored.uri).decode().splitlines()]
        ids = [parse_record(line).event_id for line in lines]
        print(f"captured records = {len(lines)} for {total} executions; duplicates = {len(ids) - len(set(ids))}")


if __name__ == "__main__":
    main()
