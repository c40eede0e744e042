"""Fixtures for the scones.asl tests: a fake clock and an executor that never sleeps."""

from __future__ import annotations

import random

import pytest

from scones.asl import FakeClock, StateMachine


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def run(clock):
    """``run(definition, input, resources=..., **options)``: execute on the fake clock, seeded."""

    def execute(definition, input=None, **options):
        options.setdefault("clock", clock)
        options.setdefault("random", random.Random(7))
        machine = definition if isinstance(definition, StateMachine) else StateMachine(definition)
        return machine.execute(input, **options)

    return execute
