"""The Backend interface and the registry that picks one by name.

Like fsspec's protocols, a backend is chosen by a short name (``"local"``,
``"aws"``) and imported only when asked for, so ``import scones`` stays light
(the Lambda handlers import ``scones`` modules and must not pull in MXNet).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    from scones.staging import StageReport
    from scones.storage import Storage

# name -> "module:attribute", imported on first use.
BACKENDS = {
    "local": "scones.backends.local:LocalBackend",
}


@runtime_checkable
class Backend(Protocol):
    """What every backend offers: one storage, and one method per workflow step."""

    name: str

    @property
    def storage(self) -> "Storage": ...

    def describe(self) -> list[str]:
        """Human-readable lines saying which services this backend talks to."""

    def stage(self, archive_path: str, *, bucket: str, classes: Sequence[str]) -> "StageReport":
        """Stage the chosen classes of a CIFAR-100 archive into ``bucket``."""

    def close(self) -> None:
        """Stop whatever the backend started (servers, threads)."""

    def __enter__(self) -> "Backend": ...

    def __exit__(self, *exc) -> None: ...


def get_backend(name: str = "local", **settings) -> Backend:
    """Create the backend registered as ``name`` with its ``settings``."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}") from None
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)(**settings)
