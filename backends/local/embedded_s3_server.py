"""The embedded S3 server process: moto's S3 application behind werkzeug, on loopback.

Run as ``python -m scones.backends.local.embedded_s3_server --port 0``: it prints
``listening http://HOST:PORT`` once ready and exits when its standard input
closes, so it never outlives the Scones process that started it. It serves
moto's S3 app directly rather than moto's all-services dispatcher, which
scans every moto module on each request (a third of the server's time).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading


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


def make_s3_server(host: str, port: int):
    return make_quiet_server(host, port, moto_s3_app())


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
    host, port = server.server_address[:2]
    print(f"listening http://{host}:{port}", flush=True)
    if not args.foreground:
        threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
