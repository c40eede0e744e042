"""MXNet's OpenMP pool for a process that trains: every core this process may use.

MXNet 1.9 sizes the OpenMP pool its CPU operators run on once, when libmxnet
loads: to ``OMP_NUM_THREADS`` if that is set, else to half the processors on
x86, assuming every core has a hyper-thread twin. On a 2-core laptop or CI
machine that is one thread. Measured on this project's 2-core machine:

- training (ResNet-20 forward, backward and update at batch 64) runs at
  about 370 images/s with one thread and 620–660 with two;
- serving one image at a time is the other way round: 1.3 ms per image with
  one thread, 4–5 ms with two (the fork and join of every operator's
  parallel region costs more than a 32×32 image's work).

So :mod:`.training` calls :func:`size_openmp_pool` before it imports MXNet,
and a process whose first use of MXNet is training (``scones train``,
``scones run``, a SageMaker training job of ``scones up``) gets every core; a
process that only serves (``scones deploy``) keeps MXNet's own choice. A
value the user set wins, and once MXNet has loaded, nothing here changes it.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def size_openmp_pool() -> None:
    """Set ``OMP_NUM_THREADS`` to :func:`usable_cores` unless it is set already."""
    os.environ.setdefault("OMP_NUM_THREADS", str(usable_cores()))
