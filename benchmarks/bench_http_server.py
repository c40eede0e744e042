"""The endpoint's HTTP server against uvicorn: requests/s of a fixed answer, worked on a thread pool.

    .venv/bin/python benchmarks/bench_http_server.py [--seconds 4]

Needs ApacheBench (``apt-get install -y apache2-utils``). Both servers answer
every ``POST`` (a 3,000-byte body, like a 32×32 PNG) with ``[0.5, 0.5]``
computed on a worker thread, as the endpoint's model work is; the client is
``ab -k -c 32`` (HTTP/1.0 keep-alive, as in ``bench_endpoint.py``). uvicorn
runs with h11, its parser when httptools is not installed (it is not here).
This is the measurement behind the choice in ``backends/local/http_server.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_endpoint import apache_bench_report, ab_figure  # noqa: E402

ANSWER = b"[0.5, 0.5]"


class FixedAnswer:
    """An HttpApplication answering every request on the pool."""

    def quick_answer(self, request):
        return None

    def answer(self, request):
        from scones.backends.local.http_server import HttpResponse

        return HttpResponse(200, ANSWER, "application/json")

    def protocol_error(self, status, message):
        from scones.backends.local.http_server import HttpResponse

        return HttpResponse(status, message.encode())


async def asgi_fixed_answer(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = await asyncio.get_running_loop().run_in_executor(None, lambda: ANSWER)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def summary(report: str) -> str:
    return (f"{ab_figure(report, 'Requests per second'):9.1f} requests/s, "
            f"{int(ab_figure(report, 'Keep-Alive requests'))} on kept-alive connections, "
            f"{int(ab_figure(report, 'Failed requests'))} failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    if shutil.which("ab") is None:
        sys.exit("ab (ApacheBench) is not installed: apt-get install -y apache2-utils")
    import uvicorn

    from scones.backends.local.http_server import HttpServer

    print(f"load average {os.getloadavg()[0]:.2f}; ab -k -c 32 for {args.seconds:g} s each")
    body = b"\0" * 3000
    server = HttpServer(FixedAnswer(), ("127.0.0.1", 0)).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/x"
        print(f"scones http_server (event loop + pool): {summary(apache_bench_report(url, body, 32, args.seconds))}")
    finally:
        server.close()

    listening = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(asgi_fixed_answer, log_level="error", access_log=False, http="h11", lifespan="off")
    other = uvicorn.Server(config)
    started = threading.Event()

    async def serve() -> None:
        task = asyncio.create_task(other.serve(sockets=[listening]))
        while not other.started:
            await asyncio.sleep(0.01)
        started.set()
        await task

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    started.wait(30)
    try:
        url = f"http://127.0.0.1:{listening.getsockname()[1]}/x"
        print(f"uvicorn {uvicorn.__version__} (h11, executor):       "
              f"{summary(apache_bench_report(url, body, 32, args.seconds))}")
    finally:
        other.should_exit = True
        thread.join(30)


if __name__ == "__main__":
    main()
