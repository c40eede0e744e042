"""The local endpoint under load: requests/s with Data Capture on, against the bare predictor.

    .venv/bin/python benchmarks/bench_endpoint.py [--seconds 8] [--captured 10000]

Needs ApacheBench (``apt-get install -y apache2-utils``) for the light-client
figures; without it those lines say so and the boto3 figures still print.

Model: a freshly initialised ResNet-20 for 3×32×32 images and 2 classes (the
local backend's default network, with its mirror average; ``--plain-model``
without it), exported as the algorithm's model.tar.gz and
served by ``backends/local/predictor.py`` — the real artifact path.

Prints, in one run:

1. the bare predictor's throughput at batch 32 (``predict`` on 32 PNGs: decode + forward),
   measured before and after the endpoint runs; their mean is the peer;
2. endpoint requests/s with a light client — ApacheBench, ``ab -k`` (HTTP/1.0
   keep-alive), 32 and 64 concurrent, one 32×32 PNG, capture at 100 % — and
   each as a fraction of (1): the target is ≥ 0.8 at 32 clients;
3. endpoint requests/s at 1, 8 and 32 concurrent boto3 clients over loopback,
   capture at 100 %, and the 32-client figure as a fraction of (1);
4. 10,000 captured invocations: records written to S3 and duplicate eventIds;
5. first of all, one decompression bomb — a valid PNG of 13,000×13,000 black
   pixels (about 0.5 MB) — sent to the endpoint: the answer, its time, and the
   server process's peak RSS before and after (refused from its header: no growth).

The machine is shared: the load average is printed at the start and the end,
and only ratios within one run mean anything.

Clients run in separate processes (spawned, so they do not share the
server's interpreter lock), threads within them; each level warms up under
its own load, then counts the requests completed in a fixed window. S3 is the
embedded server, in its own process. Clients, server and S3 share this
machine's CPUs, so the table also shows CPU milliseconds per request spent in
the server process (model included) and in the client processes: on a
machine with one core's worth of CPU, what boto3 spends per call is CPU the
model does not get.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import tempfile
import threading
import time

BUCKET = "scones-bench"
IMAGES = 256
LEVELS = ((1, 1), (8, 2), (32, 4))  # (clients, processes)
AB_LEVELS = (32, 64)
WARM_UP_SECONDS = 3.0


def bench_images(count: int = IMAGES) -> list[bytes]:
    import numpy as np

    from scones.images import encode_png

    rng = np.random.default_rng(0)
    return [encode_png(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)) for _ in range(count)]


def client_process(url: str, endpoint: str, threads: int, start_at: float, stop_at: float | None,
                   requests_per_thread: list[int] | None) -> tuple[int, int]:
    """Invoke ``endpoint`` from ``threads`` threads.

    Timed run (``stop_at``): invoke from now on, count what completes between
    ``start_at`` and ``stop_at`` (the time before is warm-up under the same
    load). Counted run (``requests_per_thread``): exactly that many requests per
    thread, all after ``start_at``. Returns (requests counted, errors).
    """
    import boto3
    import botocore.config

    images = bench_images()
    runtime = boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test",
                           config=botocore.config.Config(max_pool_connections=threads,
                                                         retries={"total_max_attempts": 1, "mode": "standard"}))
    counts = [0] * threads
    errors = [0] * threads

    def run(number: int) -> None:
        index = number
        while True:
            if requests_per_thread is not None and counts[number] >= requests_per_thread[number]:
                return
            if stop_at is not None and time.time() >= stop_at:
                return
            try:
                runtime.invoke_endpoint(EndpointName=endpoint, ContentType="image/png",
                                        Body=images[index % len(images)])["Body"].read()
            except Exception:
                errors[number] += 1
                continue
            finished = time.time()
            if stop_at is None or start_at <= finished <= stop_at:
                counts[number] += 1
            index += threads

    if requests_per_thread is not None:
        time.sleep(max(0.0, start_at - time.time()))
    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts), sum(errors)


def drive(url: str, endpoint: str, clients: int, processes: int, *, seconds: float | None = None,
          total_requests: int | None = None) -> tuple[int, int, float]:
    """Run ``clients`` clients in ``processes`` processes; returns (completed, errors, seconds measured)."""
    per_process = [clients // processes + (p < clients % processes) for p in range(processes)]
    plans: list[list[int] | None] = [None] * processes
    if total_requests is not None:
        per_client = [total_requests // clients + (c < total_requests % clients) for c in range(clients)]
        starts = [sum(per_process[:p]) for p in range(processes)]
        plans = [per_client[starts[p]:starts[p] + per_process[p]] for p in range(processes)]
    start_at = time.time() + WARM_UP_SECONDS
    stop_at = start_at + seconds if seconds is not None else None
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        results = pool.starmap(client_process, [(url, endpoint, per_process[p], start_at, stop_at, plans[p])
                                                for p in range(processes)])
    elapsed = seconds if seconds is not None else time.time() - start_at
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed


def apache_bench_report(target: str, body: bytes, clients: int, seconds: float) -> str:
    """ab's report of ``ab -k -c clients`` POSTing ``body`` to ``target`` for ``seconds``, after a 1 s warm-up."""
    with tempfile.NamedTemporaryFile(suffix=".png") as file:
        file.write(body)
        file.flush()

        def run(duration: float) -> str:
            command = ["ab", "-k", "-q", "-c", str(clients), "-t", f"{duration:g}", "-n", "10000000", "-s", "30",
                       "-p", file.name, "-T", "image/png", target]
            return subprocess.run(command, capture_output=True, text=True, timeout=duration + 60,
                                  check=True).stdout

        run(1)
        return run(seconds)


def apache_bench(url: str, endpoint: str, body: bytes, clients: int, seconds: float) -> tuple[float, int, int]:
    """(requests/s, failed, keep-alive requests) of ``ab -k -c clients`` on the endpoint."""
    report = apache_bench_report(f"{url}/endpoints/{endpoint}/invocations", body, clients, seconds)
    return (ab_figure(report, "Requests per second"),
            int(ab_figure(report, "Failed requests") + ab_figure(report, "Non-2xx responses")),
            int(ab_figure(report, "Keep-Alive requests")))


def ab_figure(report: str, label: str) -> float:
    """A figure of ab's report; 0 for a line ab leaves out (it omits zero Non-2xx and Keep-Alive counts)."""
    found = re.search(rf"^{label}:\s+([\d.]+)", report, re.M)
    return float(found.group(1)) if found else 0.0


def bomb_png(side: int = 13_000) -> bytes:
    """A valid RGB PNG of ``side``×``side`` black pixels, compressed row by row (never held decoded)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor, row, parts = zlib.compressobj(9), b"\0" * (1 + 3 * side), []
    for _ in range(side):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts))
            + chunk(b"IEND", b""))


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def send_bomb(url: str, endpoint: str) -> None:
    import boto3
    import botocore.config

    bomb = bomb_png()
    runtime = boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test",
                           config=botocore.config.Config(read_timeout=120, retries={"total_max_attempts": 1}))
    before, began = peak_rss_mb(), time.perf_counter()
    try:
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="image/png", Body=bomb)["Body"].read()
        outcome = "answered 200 (decoded)"
    except runtime.exceptions.ModelError as error:
        outcome = f"refused: {error.response['OriginalStatusCode']} {error.response['OriginalMessage'][:90]}"
    print(f"bomb PNG 13000x13000 ({len(bomb) / 1e3:.0f} KB): {outcome} in {time.perf_counter() - began:.2f} s; "
          f"server peak RSS {before:.0f} MB before, {peak_rss_mb():.0f} MB after")


def cpu_seconds() -> tuple[float, float]:
    """CPU time used so far by this process (the server) and by its finished children (the clients)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def effective_cores(seconds: float = 1.0) -> float:
    """How many cores two busy processes really get together (1.0: they share one)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        pool.map(spin, [0.1, 0.1])
        alone = spin(seconds)
        together = sum(pool.map(spin, [seconds, seconds]))
    return together / alone


def spin(seconds: float) -> int:
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        count += 1
    return count


def default_model_artifact(*, plain: bool = False) -> bytes:
    """A freshly initialised model.tar.gz of the local default network (ResNet-20 with the mirror average in
    its graph); ``plain`` leaves the mirror average out (half the compute per image)."""
    import mxnet as mx

    from scones.backends.local import network
    from scones.hyperparameters import Hyperparameters
    from scones.model_artifact import build_model_tarball

    hp = Hyperparameters.local_default()
    mx.random.seed(0)
    net = network.build_network(hp.num_layers, hp.num_classes, hp.image_shape)
    network.initialize(net)
    net(mx.nd.zeros((1, *hp.image_shape)))
    symbol = network.export_symbol(net, mirror_average=bool(hp.mirror_average) and not plain)
    return build_model_tarball(symbol.tojson().encode(), {1: network.export_params(net, symbol)},
                               (32, *hp.image_shape))


def model_description(plain: bool) -> str:
    return "ResNet-20, 3x32x32, 2 classes, " + ("no mirror average" if plain else "mirror average in the graph")


def bare_throughput(tarball: bytes, images: list[bytes], seconds: float) -> tuple[float, float]:
    """(images/s, CPU ms per image) of ``Predictor.predict`` on batches of 32 PNGs."""
    from scones.backends.local.predictor import Predictor

    predictor = Predictor.from_artifact(tarball)
    batches = [images[start:start + 32] for start in range(0, len(images), 32)]
    predictor.predict(batches[0])
    cpu_before, _ = cpu_seconds()
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        predictor.predict(batches[(done // 32) % len(batches)])
        done += 32
    elapsed = time.perf_counter() - began
    return done / elapsed, (cpu_seconds()[0] - cpu_before) / done * 1000


def count_capture(storage, bucket: str, endpoint: str) -> tuple[int, int, int]:
    """(files, records, duplicate eventIds) under the endpoint's capture prefix."""
    uris = [item.uri for item in storage.list(f"s3://{bucket}/data_capture/{endpoint}/")]
    ids = [json.loads(line)["eventMetadata"]["eventId"]
           for data in storage.get_many(uris) for line in data.decode().splitlines()]
    return len(uris), len(ids), len(ids) - len(set(ids))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per concurrency level")
    parser.add_argument("--captured", type=int, default=10_000, help="invocations in the capture count")
    parser.add_argument("--plain-model", action="store_true", help="serve ResNet-20 without the mirror average")
    args = parser.parse_args()

    from scones.backends.local.endpoints import deploy_local_endpoint, serve
    from scones.backends.local.s3_choice import EmbeddedS3
    from scones.capture import CaptureConfig
    from scones.storage import Storage, s3_client

    began = time.perf_counter()
    print(f"machine: {os.cpu_count()} CPUs reported; two busy processes get {effective_cores():.2f} cores' worth; "
          f"load average {os.getloadavg()[0]:.2f}")
    images = bench_images()
    tarball = default_model_artifact(plain=args.plain_model)
    print(f"model: freshly initialised {model_description(args.plain_model)}; model.tar.gz {len(tarball) / 1e6:.2f} MB; "
          f"served by backends/local/predictor.py")
    bare_before, bare_cpu = bare_throughput(tarball, images, args.seconds)
    print(f"bare predictor, batch 32 (decode + forward): {bare_before:8.1f} images/s, {bare_cpu:.2f} CPU ms/image")

    with EmbeddedS3() as s3:
        storage = Storage(s3_client(s3.url))
        storage.ensure_bucket(BUCKET)
        model_uri = f"s3://{BUCKET}/models/resnet20/model.tar.gz"
        storage.put(model_uri, tarball)
        capture = CaptureConfig(f"s3://{BUCKET}/data_capture")
        with serve(storage, BUCKET) as server:
            deploy_local_endpoint(server, "bench-load", model_uri, capture=capture)
            print(f"endpoint at {server.url}, Data Capture 100 %, S3 at {s3.url}")
            send_bomb(server.url, "bench-load")
            ab_rates = {}
            if shutil.which("ab") is None:
                print("ab (ApacheBench) is not installed: apt-get install -y apache2-utils for the light-client figures")
            for clients in AB_LEVELS if shutil.which("ab") else ():
                ab_rates[clients] = apache_bench(server.url, "bench-load", images[0], clients, args.seconds)
            print(f"{'clients':>8} {'requests/s':>11} {'vs bare':>8} {'errors':>7} {'mean batch':>11} "
                  f"{'server CPU ms/req':>18} {'client CPU ms/req':>18}")
            batcher = server.resolver.resolve("bench-load").container.batcher
            rates = {}
            for clients, processes in LEVELS:
                before, (server_before, clients_before) = batcher.stats(), cpu_seconds()
                done, errors, seconds = drive(server.url, "bench-load", clients, processes, seconds=args.seconds)
                after, (server_after, clients_after) = batcher.stats(), cpu_seconds()
                # CPU and batch figures span warm-up + window; so does the request count used to divide them.
                served = after.items - before.items
                mean = served / max(1, after.batches - before.batches)
                rates[clients] = done / seconds
                print(f"{clients:>8} {rates[clients]:>11.1f} {rates[clients] / bare_before:>8.2f} {errors:>7} {mean:>11.1f} "
                      f"{(server_after - server_before) / served * 1000:>18.2f} "
                      f"{(clients_after - clients_before) / served * 1000:>18.2f}")
            boto3_rates = rates

            deploy_local_endpoint(server, "bench-capture", model_uri, capture=capture)
            done, errors, seconds = drive(server.url, "bench-capture", 32, 4, total_requests=args.captured)
            writer = server.resolver.resolve("bench-capture").capture
            writer.flush()
            files, records, duplicates = count_capture(storage, BUCKET, "bench-capture")
            print(f"captured invocations: {done} answered in {seconds:.1f} s, {errors} errors")
            print(f"records written = {records} (in {files} files), duplicates = {duplicates}, "
                  f"write failures = {writer.failures}")
    bare_after, _ = bare_throughput(tarball, images, args.seconds)
    bare = (bare_before + bare_after) / 2
    print(f"bare predictor again: {bare_after:8.1f} images/s; peer = mean {bare:.1f} images/s")
    print("light client (ab -k, HTTP/1.0 keep-alive), capture 100 %:")
    for clients, (rate, failed, kept) in ab_rates.items():
        print(f"  {clients:>3} clients: {rate:8.1f} requests/s = {rate / bare:.2f} of bare batch-32 "
              f"({failed} failed, {kept} on kept-alive connections)")
    if 32 in ab_rates:
        ratio = ab_rates[32][0] / bare
        print(f"ab 32 clients / bare batch-32 throughput = {ratio:.2f} (target >= 0.80: "
              f"{'met' if ratio >= 0.8 else 'NOT met'})")
    print(f"boto3 32 clients / bare batch-32 throughput = {boto3_rates[32] / bare:.2f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}; total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
