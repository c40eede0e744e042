"""Which S3 the local backend talks to, and the embedded S3 server it starts when none runs.

Order of choice, first match wins:

1. an explicit ``--endpoint-url``;
2. ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (boto3's own variables);
3. LocalStack, when its health endpoint answers (``LOCALSTACK_HOST``, default
   ``localhost:4566``, as ``localstack-client`` reads it);
4. a ``scones up`` running in another terminal (127.0.0.1:4567);
5. an embedded S3 server (moto's) started on 127.0.0.1 on a free port, for the
   life of this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, Mapping

from localstack_client.config import get_service_endpoint

UP_HOST = "127.0.0.1"
UP_PORT = 4567
PROBE_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    kind: str  # explicit | environment | localstack | scones-up | embedded

    def describe(self) -> str:
        return {
            "explicit": f"S3 at {self.url} (--endpoint-url)",
            "environment": f"S3 at {self.url} (from AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL)",
            "localstack": f"S3 at {self.url} (LocalStack)",
            "scones-up": f"S3 at {self.url} (`scones up`)",
            "embedded": f"S3 at {self.url} (embedded server: LocalStack not running)",
        }[self.kind]


def localstack_url(environ: Mapping[str, str]) -> str:
    """LocalStack's edge URL as localstack-client computes it (honours LOCALSTACK_HOST)."""
    host = environ.get("LOCALSTACK_HOST")
    if host:
        return f"http://{host}" if "://" not in host else host
    return get_service_endpoint("s3")


def choose_s3_endpoint(
    explicit: str | None,
    environ: Mapping[str, str],
    is_localstack: Callable[[str], bool],
    is_scones_up: Callable[[str], bool],
) -> S3Endpoint | None:
    """Pick an existing S3 endpoint, or None when an embedded one must be started."""
    if explicit:
        return S3Endpoint(explicit, "explicit")
    from_env = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    if from_env:
        return S3Endpoint(from_env, "environment")
    candidate = localstack_url(environ)
    if is_localstack(candidate):
        return S3Endpoint(candidate, "localstack")
    up = f"http://{UP_HOST}:{UP_PORT}"
    if is_scones_up(up):
        return S3Endpoint(up, "scones-up")
    return None


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError):
        return None


def localstack_is_healthy(url: str) -> bool:
    """True when LocalStack's health endpoint reports S3 available or running."""
    body = _get(url.rstrip("/") + "/_localstack/health")
    if body is None:
        return False
    try:
        services = json.loads(body).get("services", {})
    except (ValueError, AttributeError):
        return False
    return services.get("s3") in ("available", "running")


def scones_up_is_running(url: str) -> bool:
    """True when a `scones up` S3 answers at ``url``."""
    body = _get(url.rstrip("/") + "/")
    return body is not None and b"ListAllMyBucketsResult" in body


class EmbeddedS3:
    """An S3 server in a child process (see :mod:`.embedded_s3_server`), bound to loopback.

    A separate process gives client and server a core each instead of one
    shared GIL; the child exits when this process closes its stdin or dies.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.url: str | None = None

    def start(self) -> str:
        with self._lock:
            if self.url is None:
                self.url = self._spawn()
        return self.url

    def _spawn(self) -> str:
        errors = tempfile.TemporaryFile()
        process = subprocess.Popen(
            [sys.executable, "-m", "scones.backends.local.embedded_s3_server", "--host", self.host,
             "--port", str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
        )
        first_line = process.stdout.readline().decode().strip()
        if not first_line.startswith("listening "):
            process.kill()
            process.wait()
            errors.seek(0)
            detail = errors.read().decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"the embedded S3 server did not start on {self.host}:{self.port}: {detail[0]}")
        self._process = process
        return first_line.split(" ", 1)[1]

    def stop(self) -> None:
        with self._lock:
            if self._process is not None:
                self._process.stdin.close()
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                self._process.stdout.close()
                self._process = None
                self.url = None

    def __enter__(self) -> "EmbeddedS3":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
