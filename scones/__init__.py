"""Scones: the Scones Unlimited image-classification workflow, on one laptop or on AWS.

``scones.get_backend("local")`` gives a backend whose storage, training,
endpoint and state machine all run here; ``get_backend("aws")`` deploys the
same artifacts to AWS. This module imports nothing heavy on purpose.
"""

from scones.backend import Backend, get_backend

__version__ = "0.1.0"
__all__ = ["Backend", "get_backend", "__version__"]
