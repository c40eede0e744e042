"""Where the five real exported Scones Unlimited state machines are, and how a test gets one.

They live on the project's shared data volume, ``../shared`` next to the
repository root; a user's checkout does not have it, so tests that need them
skip, saying so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SEEDS = REPO_ROOT.parent / "shared" / "data" / "seed-state-machines"
SEED_NAMES = (
    "Sudonuma__jsonpath_catch-succeed",
    "angernarwa__jsonpath_payload-body",
    "idarapatrick__jsonpath_payload-template_catch-fail",
    "justtmanss__jsonata",
    "sukruta230901__jsonpath_inputpath-body_retry",
)


def seed(name: str) -> dict:
    """The definition ``name`` (with or without ``.asl.json``); skips the test when the folder is absent."""
    if not SEEDS.is_dir():
        pytest.skip(f"the seed state machines are not here ({SEEDS} is absent): they are on the project's "
                    f"shared data volume only, which users' checkouts do not have")
    file_name = name if name.endswith(".asl.json") else f"{name}.asl.json"
    return json.loads((SEEDS / file_name).read_text())
