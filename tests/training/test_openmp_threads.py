"""A process that trains gives MXNet every usable core; one that only serves keeps MXNet's own choice."""

from __future__ import annotations

import os
import subprocess
import sys

from scones.backends.local.openmp_threads import usable_cores

PROBE = "import os, sys; import {module}; print(os.environ.get('OMP_NUM_THREADS'), 'mxnet' in sys.modules)"


def probe(module: str, environment: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PROBE.format(module=module)], env=environment, capture_output=True,
                          text=True, check=True, timeout=120).stdout.strip()


def unset() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}


def test_training_gets_every_usable_core_when_the_user_set_nothing():
    assert probe("scones.backends.local.training", unset()) == f"{usable_cores()} True"


def test_serving_alone_keeps_mxnets_own_choice():
    assert probe("scones.backends.local.predictor", unset()) == "None True"


def test_a_value_the_user_set_wins():
    assert probe("scones.backends.local.training", {**os.environ, "OMP_NUM_THREADS": "3"}) == "3 True"


def test_usable_cores_is_this_process_affinity():
    assert usable_cores() == len(os.sched_getaffinity(0))
