"""Scones: the Scones Unlimited image-classification workflow, on one laptop or on AWS.

``scones.get_backend("local")`` gives a backend whose storage, training,
endpoint and state machine all run here; ``get_backend("aws")`` deploys the
same artifacts to AWS. This module imports nothing on purpose: the names are
loaded on first use (PEP 562), so a Lambda handler importing a ``scones``
module packages only what it uses.
"""

import importlib

__version__ = "0.1.0"
_EXPORTS = {"Backend": "scones.backend", "get_backend": "scones.backend"}
# Subpackages a user reaches as attributes after a bare ``import scones`` (``scones.asl.execute``).
_SUBPACKAGES = ("asl",)
__all__ = ["Backend", "get_backend", "asl", "__version__"]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
