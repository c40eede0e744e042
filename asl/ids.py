"""Version-4 UUIDs from a given random source.

Execution names, Lambda request ids, task tokens and States.UUID all come from
the execution's random source, so a seeded ``random.Random`` makes a whole run
reproducible. (``uuid.uuid4()`` would read the OS entropy pool instead.)
"""

from __future__ import annotations

import random

_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))


def random_uuid(rng: random.Random) -> str:
    """A random (version 4, RFC 4122 variant) UUID string."""
    value = "%032x" % (rng.getrandbits(128) & _VERSION_MASK | _VERSION_4)
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
