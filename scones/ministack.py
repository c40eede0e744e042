"""MiniStack, started from its own virtualenv on a free loopback port and stopped afterwards.

MiniStack is the free LocalStack-compatible emulator (S3, IAM, STS, Lambda,
Step Functions, CloudWatch, the tagging API) that runs without Docker. It pins
botocore exactly, so it cannot share the project's environment: it lives in
``.venv-ministack`` (``make test`` builds it from ``requirements/ministack.txt``)
and is only ever reached over HTTP. This is the one place that starts it, for
the test fixture and the benchmarks alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

from scones.errors import SconesError

MINISTACK_VENV = Path(__file__).resolve().parent.parent / ".venv-ministack"
REQUIREMENTS = "requirements/ministack.txt"
HEALTH_PATH = "/_localstack/health"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
HEALTH_PROBE_INTERVAL_SECONDS = 0.1


class MiniStackUnavailable(SconesError):
    """MiniStack is not installed where expected, or did not start."""


def ministack_command(venv: Path = MINISTACK_VENV) -> Path:
    """The ``ministack`` console script of ``venv``; says how to build the venv when it is missing."""
    command = venv / "bin" / "ministack"
    if not command.exists():
        raise MiniStackUnavailable(
            f"MiniStack not found at {command}: run `make test` (it builds {venv.name} from {REQUIREMENTS}) "
            f"or `python3.11 -m venv {venv.name} && {venv.name}/bin/pip install -r {REQUIREMENTS}`")
    return command


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers_health(url: str) -> bool:
    """True when ``url`` answers LocalStack's health path (MiniStack and LocalStack both do)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + HEALTH_PATH, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def ministack_environment(port: int, environ: dict[str, str]) -> dict[str, str]:
    """The server's environment: loopback only, on ``port``; no AWS endpoint overrides of the caller's."""
    kept = {name: value for name, value in environ.items() if not name.startswith("AWS_ENDPOINT_URL")}
    return {**kept, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group (its Lambda workers too), SIGKILL if it lingers."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=STOP_TIMEOUT_SECONDS)


@contextlib.contextmanager
def running_ministack(venv: Path = MINISTACK_VENV, *,
                      timeout: float = START_TIMEOUT_SECONDS) -> Iterator[str]:
    """MiniStack's URL (``http://127.0.0.1:PORT``) while it runs; stopped, with its workers, on exit."""
    command = ministack_command(venv)
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="scones-ministack-") as scratch:
        log = Path(scratch) / "ministack.log"
        with log.open("wb") as output:
            server = subprocess.Popen([str(command)], env={**ministack_environment(port, dict(os.environ)),
                                                           "TMPDIR": scratch},
                                      stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                      cwd=scratch, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while not answers_health(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise MiniStackUnavailable(
                        f"MiniStack did not start on {url} within {timeout:.0f} s: {_last_line(log)}")
                time.sleep(HEALTH_PROBE_INTERVAL_SECONDS)
            yield url
        finally:
            _stop(server)
