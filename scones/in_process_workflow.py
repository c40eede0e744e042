"""What the backends that run the workflow in this process (local, memory) share.

Their functions' configuration is a record in their own S3
(:mod:`scones.filter_configuration`), read when an execution starts; they have
no CloudWatch, so ``--fail-above`` (exit 3) is the alarm. A mixin, beside
:class:`~scones.backend.Backend` (which stays pure: it is in every Lambda zip).
"""

from __future__ import annotations

from scones.errors import InputError
from scones.filter_configuration import read_local_threshold, write_local_threshold


class InProcessWorkflow:
    """``set_threshold``, ``filter_threshold`` and ``publish_low_confidence_share`` for local and memory."""

    def set_threshold(self, threshold: float) -> None:
        write_local_threshold(self.storage, self.bucket, threshold)

    def filter_threshold(self) -> float | None:
        return read_local_threshold(self.storage, self.bucket)

    def publish_low_confidence_share(self, endpoint_name: str, share: float, *, fail_above: float | None = None) -> str:
        raise InputError("--publish-metrics puts CloudWatch metrics and alarms: use it with --backend aws; "
                         "locally, --fail-above is the alarm (scones monitor exits 3)")
