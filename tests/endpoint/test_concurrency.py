"""Many clients at once over loopback: every answer right, every invocation captured exactly once, batched."""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter

from .endpoint_support import ENDPOINT, assert_same_answers, capture_lines, png_image, runtime_client, served_endpoint

from scones.backends.local.capture_writer import FlushPolicy
from scones.backends.local.micro_batcher import BatchPolicy

THREADS, REQUESTS = 16, 25


def run_clients(count: int, work) -> list:
    """Run ``work(client_number)`` on ``count`` threads started together; their results in order."""
    results: list = [None] * count
    start = threading.Barrier(count)

    def client(number: int) -> None:
        start.wait()
        results[number] = work(number)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_invocations_are_batched_answered_right_and_captured_exactly_once(
        storage, bucket, model_uri, tiny_predictor):
    images = [png_image(seed) for seed in range(THREADS * REQUESTS)]
    expected = tiny_predictor.predict(images)
    with served_endpoint(storage, bucket, model_uri, batching=BatchPolicy(max_wait_seconds=0.02),
                         flushing=FlushPolicy(max_records=64)) as server:
        client = runtime_client(server.url)

        def invoke_all(number: int) -> list[tuple[int, bytes]]:
            mine = range(number * REQUESTS, (number + 1) * REQUESTS)
            return [(index, client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png",
                                                   Body=images[index])["Body"].read()) for index in mine]

        answers = dict(pair for pairs in run_clients(THREADS, invoke_all) for pair in pairs)
        stats = server.resolver.resolve(ENDPOINT).container.batcher.stats()

    assert_same_answers([json.loads(answers[index]) for index in range(len(images))], expected)
    assert stats.items == THREADS * REQUESTS
    assert max(stats.histogram) > 1, f"no batching happened: {stats.histogram}"

    records = capture_lines(storage, bucket)
    event_ids = [record["eventMetadata"]["eventId"] for record in records]
    assert len(records) == THREADS * REQUESTS
    assert len(set(event_ids)) == len(records)
    sent = Counter(base64.b64decode(r["captureData"]["endpointInput"]["data"]) for r in records)
    assert sent == Counter(images)
    for record in records:
        index = images.index(base64.b64decode(record["captureData"]["endpointInput"]["data"]))
        assert record["captureData"]["endpointOutput"]["data"] == answers[index].decode()


def test_a_bad_image_among_concurrent_requests_fails_alone(storage, bucket, model_uri, tiny_predictor):
    bodies = [png_image(seed) for seed in range(7)] + [b"\x89PNG but broken"]
    with served_endpoint(storage, bucket, model_uri, capture=None) as server:
        client = runtime_client(server.url)

        def invoke(number: int):
            try:
                return json.loads(client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png",
                                                         Body=bodies[number])["Body"].read())
            except client.exceptions.ModelError as error:
                return error.response["OriginalStatusCode"]

        results = run_clients(len(bodies), invoke)
    assert results[:7] == tiny_predictor.predict(bodies[:7])
    assert results[7] == 400
