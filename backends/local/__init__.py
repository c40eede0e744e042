"""The local backend: everything on this machine, nothing billed.

Storage is a real S3 API over HTTP: LocalStack when it runs, else an S3 server
started here on 127.0.0.1 (see :mod:`scones.backends.local.s3_service`).
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

from scones.backends.local.s3_service import (
    EmbeddedS3,
    S3Endpoint,
    choose_s3_endpoint,
    localstack_is_healthy,
    scones_up_is_running,
)
from scones.backend import DEFAULT_BUCKET
from scones.staging import DEFAULT_CLASSES, StageReport, stage_archive
from scones.storage import Storage, s3_client

DEFAULT_REGION = "us-east-1"


class LocalBackend:
    name = "local"

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str = DEFAULT_REGION,
        bucket: str = DEFAULT_BUCKET,
        environ: Mapping[str, str] = os.environ,
    ):
        self.region = region
        self.bucket = bucket
        self._embedded: EmbeddedS3 | None = None
        chosen = choose_s3_endpoint(endpoint_url, environ, localstack_is_healthy, scones_up_is_running)
        if chosen is None:
            self._embedded = EmbeddedS3()
            chosen = S3Endpoint(self._embedded.start(), "embedded")
        self.s3_endpoint = chosen
        self._storage = Storage(s3_client(chosen.url, region=region))

    @property
    def storage(self) -> Storage:
        return self._storage

    def describe(self) -> list[str]:
        return [self.s3_endpoint.describe()]

    def stage(self, archive_path: str, *, bucket: str | None = None,
              classes: Sequence[str] = DEFAULT_CLASSES, on_progress=None) -> StageReport:
        return stage_archive(archive_path, self.storage, bucket or self.bucket, classes, on_progress=on_progress)

    def close(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None

    def __enter__(self) -> "LocalBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
