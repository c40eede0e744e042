"""HTTP/1.x on loopback for the local endpoint: one event loop holds the connections, a bounded pool does the work.

Why not :class:`http.server.ThreadingHTTPServer` (what the endpoint used
before): a thread per connection, and no time limit on reading. A client that
sends part of a request (a Content-Length larger than its body) or stays idle
holds its thread forever; 2,000 of them made ``/ping`` fail. It also kept an
HTTP/1.0 ``Connection: Keep-Alive`` connection open without saying so in the
response, so ApacheBench's ``-k`` (an HTTP/1.0 client) waited for a close that
never came.

Why not uvicorn, gunicorn or werkzeug (all installed with the project's
dependencies), chosen by measurement (``benchmarks/bench_http_server.py``,
``ab -k -c 32``, a fixed answer computed on a worker thread, load average 6):
this server 15,446 requests/s, every request on a kept-alive connection;
uvicorn 0.54 2,317 requests/s, none kept alive — without httptools (not
installed) it parses with h11, which closes every HTTP/1.0 connection, and an
ASGI server still needs a thread pool here, since the work (the
micro-batcher's futures, MXNet) is synchronous. gunicorn's arbiter must own a
process's main thread and signals, and its workers are processes that would
each load their own model and micro-batcher; werkzeug's development server is
:mod:`http.server` with a thread per connection. An event loop for the
connections plus a thread pool for the work is what those servers do; this
module is that, with the rules below as pure functions.

The rules, as a production server applies them:

- a connection with nothing to say for ``idle_timeout_seconds`` (5 s, as
  uvicorn's keep-alive timeout) is closed; a request whose head and body have
  not all arrived ``request_timeout_seconds`` after its first byte is answered
  408 and closed;
- at most ``max_connections`` connections are open (a new one past that gets
  503 and is closed); idle ones cost a socket, never a thread;
- at most ``workers`` requests are worked on at once (one thread each); the
  rest wait in the pool's queue, at most one request per connection;
- HTTP/1.1 connections persist unless the client says ``Connection: close``;
  HTTP/1.0 ones persist only when the client says ``Connection: Keep-Alive``,
  and then the response says ``Connection: keep-alive``;
- requests are answered in order, one at a time per connection (pipelined
  requests wait in the buffer).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Mapping, Protocol

log = logging.getLogger(__name__)

HEAD_END = b"\r\n\r\n"
KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 406: "Not Acceptable", 408: "Request Timeout",
           411: "Length Required", 413: "Payload Too Large", 415: "Unsupported Media Type",
           424: "Failed Dependency", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
           501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported"}


@dataclass(frozen=True)
class ServerLimits:
    """The bounds every connection and request lives within."""

    workers: int = 64  # several micro-batches of 16 can gather while one runs
    max_connections: int = 4096
    idle_timeout_seconds: float = 5.0
    request_timeout_seconds: float = 30.0
    max_head_bytes: int = 64 * 1024
    max_body_bytes: int = 6 * 1024 * 1024

    def __post_init__(self):
        if min(self.workers, self.max_connections, self.max_head_bytes, self.max_body_bytes) < 1:
            raise ValueError(f"server limits must be positive, got {self}")
        if self.idle_timeout_seconds <= 0 or self.request_timeout_seconds <= 0:
            raise ValueError(f"server timeouts must be positive, got {self}")


class BadRequest(ValueError):
    """A request the server answers itself (status, message) and then closes the connection."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str
    version: str  # "HTTP/1.0" or "HTTP/1.1"
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class HttpRequest:
    """A whole request: ``body`` is None when it was over the size limit (read and dropped);
    ``body_error`` says why the body could not be read at all (the connection then closes)."""

    head: RequestHead
    body: bytes | None
    body_error: str | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False  # close the connection after this response


class HttpApplication(Protocol):
    def quick_answer(self, request: HttpRequest) -> HttpResponse | None:
        """An answer cheap enough for the event loop (e.g. /ping), or None to send the request to the pool."""

    def answer(self, request: HttpRequest) -> HttpResponse:
        """The answer, computed on a worker thread; must not raise."""

    def protocol_error(self, status: int, message: str) -> HttpResponse:
        """The answer to a request the server refuses before the application sees it."""


# --------------------------------------------------------------- pure rules

def parse_request_head(data: bytes) -> RequestHead:
    """The request line and headers (without the blank line); raises BadRequest."""
    lines = data.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise BadRequest(400, f"bad request line {lines[0][:100]!r}: send METHOD TARGET HTTP/1.1")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        if version.startswith("HTTP/"):
            raise BadRequest(505, f"{version[:20]} is not served here: speak HTTP/1.1 or HTTP/1.0")
        raise BadRequest(400, f"bad request line {lines[0][:100]!r}: send METHOD TARGET HTTP/1.1")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[0] in " \t":
            raise BadRequest(400, f"bad header line {line[:100]!r}: send NAME: VALUE")
        key, value = name.lower(), value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if method not in KNOWN_METHODS:
        raise BadRequest(501, f"Unsupported method ({method[:20]!r})")
    return RequestHead(method, target, version, headers)


def keeps_alive(head: RequestHead) -> bool:
    """HTTP/1.1 persists unless told ``close``; HTTP/1.0 only when told ``keep-alive``."""
    tokens = {token.strip().lower() for token in (head.header("Connection") or "").split(",")}
    if head.version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def body_length(head: RequestHead) -> int:
    """The body's byte count from Content-Length (0 without one); raises ValueError saying what to send."""
    if "chunked" in (head.header("Transfer-Encoding") or "").lower():
        raise ValueError("send the body with a Content-Length header: the local endpoint does not "
                         "read chunked request bodies")
    text = head.header("Content-Length") or "0"
    if not text.isdigit():
        raise ValueError(f"Content-Length {text!r} is not a byte count")
    return int(text)


def response_bytes(response: HttpResponse, *, keep_alive: bool, http10: bool, date: str, server: str) -> bytes:
    """The status line, headers and body as one write."""
    lines = [f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Unknown')}",
             f"Server: {server}", f"Date: {date}"]
    lines += [f"{name}: {value}" for name, value in response.headers]
    if response.content_type:
        lines.append(f"Content-Type: {response.content_type}")
    lines.append(f"Content-Length: {len(response.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    elif http10:
        lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


# ---------------------------------------------------------------- connections

class _Connection(asyncio.Protocol):
    """One client connection: buffers bytes, frames requests, hands them out, writes answers in order."""

    def __init__(self, server: "HttpServer"):
        self._server = server
        self._limits = server.limits
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: RequestHead | None = None
        self._length = 0  # body bytes the current head announced
        self._body_error: str | None = None
        self._dropped = 0  # bytes of an oversize body read and dropped so far
        self._busy = False  # a request is being answered
        self._timer: asyncio.TimerHandle | None = None

    # asyncio callbacks
    def connection_made(self, transport) -> None:
        self._transport = transport
        if not self._server._admit(self):
            self._write(self._server.app.protocol_error(
                503, f"the server holds its limit of {self._limits.max_connections} connections; retry later"),
                keep_alive=False, http10=False)
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm(self._limits.idle_timeout_seconds)

    def connection_lost(self, exc) -> None:
        self._disarm()
        self._server._release(self)
        self._transport = None

    def data_received(self, data: bytes) -> None:
        if not self._buffer and self._head is None and not self._busy:
            self._arm(self._limits.request_timeout_seconds)  # a request has begun
        self._buffer += data
        if len(self._buffer) > self._limits.max_head_bytes + self._limits.max_body_bytes:
            self._transport.pause_reading()  # a pipelining client waits until we catch up
        self._advance()

    def eof_received(self) -> bool:
        return False

    # framing
    def _advance(self) -> None:
        """Frame and hand out the next request if one is complete and none is being answered."""
        if self._busy or self._transport is None:
            return
        if self._head is None and not self._read_head():
            return
        if self._body_error is not None:
            return self._dispatch(HttpRequest(self._head, None, self._body_error))
        if self._length > self._limits.max_body_bytes:  # an oversize body is read and dropped
            dropped = min(len(self._buffer), self._length - self._dropped)
            del self._buffer[:dropped]
            self._dropped += dropped
            if self._dropped == self._length:
                self._dispatch(HttpRequest(self._head, None))
            return
        if len(self._buffer) >= self._length:
            body = bytes(self._buffer[:self._length])
            del self._buffer[:self._length]
            self._dispatch(HttpRequest(self._head, body))

    def _read_head(self) -> bool:
        end = self._buffer.find(HEAD_END)
        if end < 0:
            if len(self._buffer) > self._limits.max_head_bytes:
                self._refuse(431, f"the request head is over {self._limits.max_head_bytes} bytes")
            return False
        try:
            head = parse_request_head(bytes(self._buffer[:end]))
        except BadRequest as error:
            self._refuse(error.status, error.message)
            return False
        del self._buffer[:end + len(HEAD_END)]
        self._head, self._dropped, self._body_error = head, 0, None
        try:
            self._length = body_length(head)
        except ValueError as error:
            self._length, self._body_error = 0, str(error)
        return True

    def _dispatch(self, request: HttpRequest) -> None:
        self._busy = True
        self._disarm()
        keep_alive = keeps_alive(request.head) and request.body_error is None
        answer = self._server.app.quick_answer(request)
        if answer is not None:
            return self._finish(answer, request.head, keep_alive)
        future = self._server.pool.submit(self._server.app.answer, request)
        future.add_done_callback(lambda done: self._server.hand_back(self, done, request.head, keep_alive))

    def _finished(self, future: Future, head: RequestHead, keep_alive: bool) -> None:
        try:
            answer = future.result()
        except Exception:  # the application promised not to raise; never show the client a trace
            log.exception("%s %s failed in the application", head.method, head.target)
            answer = self._server.app.protocol_error(500, "the server failed on this request")
        self._finish(answer, head, keep_alive)

    def _finish(self, answer: HttpResponse, head: RequestHead, keep_alive: bool) -> None:
        keep_alive = keep_alive and not answer.close
        self._head, self._busy = None, False
        if self._transport is None:
            return
        self._write(answer, keep_alive=keep_alive, http10=head.version == "HTTP/1.0")
        if keep_alive:
            self._arm(self._limits.request_timeout_seconds if self._buffer else self._limits.idle_timeout_seconds)
            self._transport.resume_reading()
            self._advance()

    # answers and timers
    def _refuse(self, status: int, message: str) -> None:
        self._busy = True
        self._disarm()
        self._write(self._server.app.protocol_error(status, message), keep_alive=False, http10=False)

    def _write(self, response: HttpResponse, *, keep_alive: bool, http10: bool) -> None:
        self._transport.write(response_bytes(response, keep_alive=keep_alive, http10=http10,
                                             date=self._server.date(), server=self._server.name))
        if not keep_alive:
            self._transport.close()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self._server.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._transport is None or self._busy:
            return
        if self._buffer or self._head is not None:
            self._refuse(408, f"the request did not arrive whole within {self._limits.request_timeout_seconds:g} s")
        else:
            self._transport.close()  # idle: nothing to answer

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


class HttpServer:
    """Serves ``app`` on ``address`` from an event-loop thread and a bounded worker pool."""

    def __init__(self, app: HttpApplication, address: tuple[str, int], *, limits: ServerLimits = ServerLimits(),
                 name: str = "SconesLocalRuntime/1", backlog: int = 1024):
        self.app = app
        self.limits = limits
        self.name = name
        self._socket = socket.create_server(address, backlog=backlog)
        self.server_address = self._socket.getsockname()
        self.loop = asyncio.new_event_loop()
        self.pool = ThreadPoolExecutor(limits.workers, thread_name_prefix=f"http worker {self.server_address[1]}")
        self._connections: set[_Connection] = set()
        self._listener: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._dates: tuple[int, str] = (0, "")
        self._answered: deque = deque()  # (connection, future, head, keep_alive) from the workers
        self._answered_lock = threading.Lock()
        self._delivery_due = False  # a delivery is scheduled on the loop

    # the loop thread's bookkeeping
    def _admit(self, connection: _Connection) -> bool:
        if len(self._connections) >= self.limits.max_connections:
            return False
        self._connections.add(connection)
        return True

    def _release(self, connection: _Connection) -> None:
        self._connections.discard(connection)

    def hand_back(self, connection: _Connection, future: Future, head: RequestHead, keep_alive: bool) -> None:
        """From a worker: queue the answer for the loop, waking it only if no wake-up is pending.

        One wake-up (a byte through the loop's self-pipe) per burst of answers,
        not per answer: a micro-batch finishes 32 requests at once.
        """
        self._answered.append((connection, future, head, keep_alive))
        with self._answered_lock:
            if self._delivery_due:
                return
            self._delivery_due = True
        self.loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._answered_lock:
            self._delivery_due = False
        while self._answered:
            connection, future, head, keep_alive = self._answered.popleft()
            connection._finished(future, head, keep_alive)

    def date(self) -> str:
        """The Date header, formatted once a second."""
        now = int(self.loop.time() // 1)
        if self._dates[0] != now:
            self._dates = (now, formatdate(usegmt=True))
        return self._dates[1]

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    # lifecycle
    def start(self) -> "HttpServer":
        self._listener = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Connection(self), sock=self._socket))
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"http server {self.server_address}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop_accepting(self) -> None:
        """Close the listening socket; open connections keep being served."""
        if self._listener is not None:
            self.loop.call_soon_threadsafe(self._listener.close)
        else:
            self._socket.close()

    def close(self) -> None:
        """Stop accepting, close every connection, stop the loop and the pool."""
        self.stop_accepting()
        if self._thread is not None:
            def stop() -> None:
                for connection in list(self._connections):
                    connection.abort()
                self.loop.call_soon(self.loop.stop)

            self.loop.call_soon_threadsafe(stop)
            self._thread.join()
            self._thread = None
        self.pool.shutdown(wait=True)
        if not self.loop.is_closed():
            self.loop.close()
