"""The embedded S3 server process: moto's S3 application behind waitress, on loopback.

Run as ``python -m scones.backends.local.embedded_s3_server --port 0``: it prints
``listening http://HOST:PORT`` once ready and exits when its standard input
closes, so it never outlives the Scones process that started it. It serves
moto's S3 app directly rather than moto's all-services dispatcher, which
scans every moto module on each request (a third of the server's time).

Why waitress rather than werkzeug's development server (which ``scones up``
still uses for its mixed S3 + SageMaker app): werkzeug closes the connection
after every response and starts a thread per connection, so each GetObject
paid for a TCP connect, a new thread and HTTP parsing in :mod:`http.server`
on top of moto's own work. waitress keeps connections alive and works on a
fixed pool of threads. Measured on 2,000 GetObject calls of 2 KB PNGs over
signed, kept-alive connections (the reads ``scones batch`` makes): server
CPU 0.84 ms a GET against werkzeug's 1.08–1.36 ms, 1,063 GETs/s at 16
threads against 682–758 (cheroot, the other pure-Python production server:
0.98–1.12 ms, 576/s).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

# moto's work holds the interpreter lock, so more threads than this buy nothing on a laptop; they
# let a slow request (a large PUT) not hold up the GETs behind it.
SERVER_THREADS = 8
# waitress's default is 100; `scones batch` and staging open one connection per reading thread.
CONNECTION_LIMIT = 1000


def moto_s3_app():
    """moto's S3 application alone (see the module's docstring for why not its dispatcher)."""
    from moto.server import create_backend_app

    return create_backend_app("s3")


def make_quiet_server(host: str, port: int, app):
    """A threaded werkzeug server for ``app`` that logs no request lines."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return make_server(host, port, app, threaded=True, request_handler=QuietHandler)


class _BodilessExpectParser(HTTPRequestParser):
    """waitress's parser, but a request with ``Expect: 100-continue`` and no body is complete with its headers.

    botocore sends ``Expect: 100-continue`` with every PutObject, an empty
    one included (``Content-Length: 0``). waitress 3.0.2 answers such a
    request's headers with ``100 Continue`` and marks it incomplete again,
    to wait for a body that has already ended, so the request is never
    served and the client times out. There being nothing to continue, the
    expectation is dropped, as RFC 9110 allows (a server need not send 100
    for no content).
    """

    def parse_header(self, header_plus):
        super().parse_header(header_plus)
        if not self.chunked and self.content_length == 0:
            self.expect_continue = False


class _Channel(HTTPChannel):
    parser_class = _BodilessExpectParser


def make_s3_server(host: str, port: int):
    """moto's S3 app on a waitress server bound to ``host``:``port`` (0: a free port); call ``run()`` to serve."""
    logging.getLogger("waitress").setLevel(logging.ERROR)  # no per-request or queue-depth chatter
    server = create_server(moto_s3_app(), host=host, port=port, threads=SERVER_THREADS,
                           connection_limit=CONNECTION_LIMIT, asyncore_use_poll=True)
    server.channel_class = _Channel
    return server


def exit_when_parent_goes() -> None:
    """Block on stdin; the parent closing it (or dying) ends this process."""
    sys.stdin.buffer.read()
    os._exit(0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Serve an S3 API on loopback (moto).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--foreground", action="store_true", help="do not watch stdin")
    args = parser.parse_args(argv)
    server = make_s3_server(args.host, args.port)
    print(f"listening http://{server.effective_host}:{server.effective_port}", flush=True)
    if not args.foreground:
        threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    server.run()


if __name__ == "__main__":
    main()
