"""The runtime's HTTP server under abuse: partial and idle connections, many of them, a bounded pool, keep-alive."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from .endpoint_support import ENDPOINT, GatedPredictor, TinyPredictor, png_image, served_endpoint

from scones.backends.local.http_server import (
    BadRequest,
    RequestHead,
    ServerLimits,
    body_length,
    keeps_alive,
    parse_request_head,
)

INVOKE = f"/endpoints/{ENDPOINT}/invocations"


# ------------------------------------------------------------------------ pure rules

def test_a_request_head_is_parsed_with_lower_case_header_names_and_repeated_headers_joined():
    head = parse_request_head(b"POST /x HTTP/1.0\r\nContent-Length: 3\r\nX-A: 1\r\nx-a: 2")
    assert head == RequestHead("POST", "/x", "HTTP/1.0", {"content-length": "3", "x-a": "1, 2"})


@pytest.mark.parametrize("data, status", [
    (b"GET /", 400), (b"GET / HTTP/2.0", 505), (b"GET / SPDY", 400), (b"BREW /pot HTTP/1.1", 501),
    (b"GET / HTTP/1.1\r\nno colon", 400), (b"GET / HTTP/1.1\r\nA: 1\r\n folded", 400),
])
def test_a_malformed_head_is_refused_with_its_status(data, status):
    with pytest.raises(BadRequest) as caught:
        parse_request_head(data)
    assert caught.value.status == status


@given(version=st.sampled_from(["HTTP/1.0", "HTTP/1.1"]),
       tokens=st.lists(st.sampled_from(["close", "keep-alive", "Keep-Alive", "upgrade", "TE"]), max_size=3))
def test_http11_persists_unless_told_close_and_http10_only_when_told_keep_alive(version, tokens):
    head = RequestHead("GET", "/", version, {"connection": ", ".join(tokens)} if tokens else {})
    lowered = {token.lower() for token in tokens}
    expected = "keep-alive" in lowered if version == "HTTP/1.0" else "close" not in lowered
    assert keeps_alive(head) is expected


@pytest.mark.parametrize("headers, message", [
    ({"transfer-encoding": "chunked"}, "send the body with a Content-Length header"),
    ({"content-length": "-1"}, "Content-Length '-1' is not a byte count"),
])
def test_a_body_without_a_usable_length_is_refused(headers, message):
    with pytest.raises(ValueError, match=message):
        body_length(RequestHead("POST", "/", "HTTP/1.1", headers))


# ------------------------------------------------------------------ over the wire

def connect(server) -> socket.socket:
    host, port = server.runtime.server_address[:2]
    return socket.create_connection((host, port), timeout=10)


def read_until_closed(raw: socket.socket) -> bytes:
    answer = b""
    while chunk := raw.recv(65536):
        answer += chunk
    return answer


def ping(server) -> int:
    host, port = server.runtime.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status
    finally:
        connection.close()


def partial_request() -> bytes:
    """A request whose Content-Length promises 100 bytes more than it sends."""
    body = png_image(1)
    return (f"POST {INVOKE} HTTP/1.1\r\nContent-Type: image/png\r\n"
            f"Content-Length: {len(body) + 100}\r\n\r\n").encode() + body


def test_a_partial_request_is_answered_408_and_closed_after_the_request_timeout(storage, bucket, model_uri):
    limits = ServerLimits(request_timeout_seconds=0.2)
    with served_endpoint(storage, bucket, model_uri, capture=None, limits=limits) as server:
        with connect(server) as raw:
            raw.sendall(partial_request())
            answer = read_until_closed(raw)  # bounded by the socket's 10 s timeout
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
        assert b"Connection: close" in answer and answer.endswith(b"did not arrive whole within 0.2 s")
        assert ping(server) == 200


def test_an_idle_connection_is_closed_after_the_idle_timeout(storage, bucket, model_uri):
    with served_endpoint(storage, bucket, model_uri, capture=None,
                         limits=ServerLimits(idle_timeout_seconds=0.2)) as server:
        with connect(server) as raw:
            assert read_until_closed(raw) == b""  # closed by the server, nothing said


def test_two_thousand_partial_connections_do_not_stop_ping_or_invocations(storage, bucket, model_uri, tiny_predictor):
    with served_endpoint(storage, bucket, model_uri, capture=None) as server:
        held = []
        try:
            for _ in range(2000):
                raw = connect(server)
                raw.sendall(partial_request())
                held.append(raw)
            assert ping(server) == 200
            host, port = server.runtime.server_address[:2]
            connection = http.client.HTTPConnection(host, port, timeout=10)
            connection.request("POST", INVOKE, body=png_image(2), headers={"Content-Type": "image/png"})
            response = connection.getresponse()
            assert (response.status, json.loads(response.read())) == (200, tiny_predictor.predict([png_image(2)])[0])
            connection.close()
            assert server.runtime.open_connections >= 2000
        finally:
            for raw in held:
                raw.close()


def test_connections_past_the_limit_get_503_and_are_closed(storage, bucket, model_uri):
    with served_endpoint(storage, bucket, model_uri, capture=None, limits=ServerLimits(max_connections=3)) as server:
        held = [connect(server) for _ in range(3)]
        with connect(server) as extra:
            answer = read_until_closed(extra)
        for raw in held:
            raw.close()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert answer.endswith(b"the server holds its limit of 3 connections; retry later")


def test_work_is_bounded_by_the_pool_while_ping_still_answers(storage, bucket, model_uri, tiny_params):
    gate = threading.Event()
    gated = GatedPredictor(TinyPredictor(tiny_params), gate)
    with served_endpoint(storage, bucket, model_uri, capture=None, load_predictor=lambda _: gated,
                         limits=ServerLimits(workers=2)) as server:
        host, port = server.runtime.server_address[:2]
        statuses = []

        def invoke(seed: int) -> None:
            connection = http.client.HTTPConnection(host, port, timeout=10)
            connection.request("POST", INVOKE, body=png_image(seed), headers={"Content-Type": "image/png"})
            statuses.append(connection.getresponse().status)
            connection.close()

        clients = [threading.Thread(target=invoke, args=(seed,)) for seed in range(5)]
        for client in clients:
            client.start()
        assert gated.entered.wait(10)
        assert ping(server) == 200  # answered by the event loop while both workers wait on the model
        def workers() -> int:
            return sum(t.name.startswith(f"http worker {port}") for t in threading.enumerate())

        assert 1 <= workers() <= 2  # the pool starts workers as requests come, never more than its size
        gate.set()
        for client in clients:
            client.join()
        assert workers() <= 2
    assert statuses == [200] * 5


# ---------------------------------------------------------------------- keep-alive

def read_response(stream) -> tuple[bytes, bytes]:
    """One response (head, body) from a connection's file, framed by Content-Length."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        assert line, "the server closed the connection"
        head += line
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    return head, stream.read(length)


@pytest.mark.parametrize("round_number", range(4))
def test_http10_keep_alive_from_32_clients_on_a_fresh_endpoint_answers_every_request_on_one_connection_each(
        storage, bucket, model_uri, tiny_predictor, round_number):
    """The pattern of ``ab -k -c 32``: HTTP/1.0 requests with ``Connection: Keep-Alive``, each client on one socket."""
    image = png_image(round_number)
    expected = json.dumps(tiny_predictor.predict([image])[0]).encode()
    request = (f"POST {INVOKE} HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
               f"Content-Length: {len(image)}\r\n\r\n").encode() + image
    with served_endpoint(storage, bucket, model_uri) as server:
        answers = []

        def client() -> None:
            with connect(server) as raw, raw.makefile("rb") as stream:
                for _ in range(10):
                    raw.sendall(request)
                    answers.append(read_response(stream))

        clients = [threading.Thread(target=client) for _ in range(32)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
    assert len(answers) == 320
    assert all(head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nConnection: keep-alive\r\n" in head
               for head, _ in answers)
    assert {body for _, body in answers} == {expected}


def test_http11_connections_persist_across_requests(storage, bucket, model_uri, tiny_predictor):
    with served_endpoint(storage, bucket, model_uri, capture=None) as server:
        host, port = server.runtime.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=10)
        sockets, bodies = set(), []
        for seed in range(20):
            connection.request("POST", INVOKE, body=png_image(seed), headers={"Content-Type": "image/png"})
            response = connection.getresponse()
            bodies.append(json.loads(response.read()))
            sockets.add(id(connection.sock))
        connection.close()
    assert len(sockets) == 1
    assert bodies == tiny_predictor.predict([png_image(seed) for seed in range(20)])


def test_a_pipelined_second_request_is_answered_after_the_first(storage, bucket, model_uri, tiny_predictor):
    one, two = png_image(1), png_image(2)
    requests = b"".join((f"POST {INVOKE} HTTP/1.1\r\nContent-Type: image/png\r\nContent-Length: {len(body)}\r\n"
                         f"{'Connection: close' if body is two else 'X-Note: first'}\r\n\r\n").encode() + body
                        for body in (one, two))
    with served_endpoint(storage, bucket, model_uri, capture=None) as server:
        with connect(server) as raw, raw.makefile("rb") as stream:
            raw.sendall(requests)
            answers = [read_response(stream)[1], read_response(stream)[1]]
    assert [json.loads(body) for body in answers] == tiny_predictor.predict([one, two])
