"""The pure core is pure by structure: the modules that decide things import no SDK, no network, no clock.

Like the Lambda packaging test, this reads the source: the transitive
``scones`` imports of each deciding module (function bodies included, ``if
TYPE_CHECKING:`` excluded), and in each of them every import and every call
that reads a clock. A module that starts talking to S3 or reading the time
fails here, not in review.
"""

from __future__ import annotations

import ast

import pytest

from scones.backends.aws.lambda_packaging import module_closure

# What decides: formats, keys, rules, plans, rows; and the contract itself.
PURE_CORE = (
    "scones.backend", "scones.bucket_layout", "scones.capture", "scones.class_names", "scones.errors",
    "scones.execution_inputs", "scones.execution_rows", "scones.hyperparameters", "scones.images",
    "scones.inferences", "scones.lambda_events", "scones.lst", "scones.model_artifact", "scones.s3_uri",
    "scones.staging", "scones.training_log", "scones.monitoring.buckets", "scones.monitoring.rows",
    "scones.monitoring.reading", "scones.monitoring.summary", "scones.monitoring.threshold_curve",
    "scones.workflow_functions", "scones.json_depth",
)
# SDKs, network, processes, threads and clocks: what the edges (storage, backends, servers) use.
FORBIDDEN_IMPORTS = {"boto3", "botocore", "urllib3", "requests", "moto", "socket", "ssl", "http", "urllib",
                     "asyncio", "subprocess", "threading", "concurrent", "time", "scones.storage", "scones.clients"}
CLOCK_CALLS = {"now", "utcnow", "today"}


def is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def runnable_nodes(node: ast.AST):
    """Every node that can run: ``if TYPE_CHECKING:`` bodies never do."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from runnable_nodes(other)
            continue
        yield child
        yield from runnable_nodes(child)


def impurities(source: str) -> list[str]:
    found = []
    for node in runnable_nodes(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        forbidden = [name for name in names if any(".".join(name.split(".")[:end]) in FORBIDDEN_IMPORTS
                                                   for end in range(1, name.count(".") + 2))]
        if forbidden:
            found.append(f"imports {forbidden[0]}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_CALLS:
            found.append(f"reads the clock ({ast.unparse(node.func)}())")
    return found


@pytest.mark.parametrize("module", PURE_CORE)
def test_a_deciding_module_and_all_it_imports_are_pure(module):
    problems = {dependency.name: impurities(dependency.path.read_text(encoding="utf-8"))
                for dependency in module_closure(module)}
    assert {name: found for name, found in problems.items() if found} == {}


@pytest.mark.parametrize("source, problem", [
    ("import boto3", "imports boto3"),
    ("from scones.storage import Storage", "imports scones.storage"),
    ("def f():\n    import urllib.request", "imports urllib.request"),
    ("from datetime import datetime\nstamp = datetime.now()", "reads the clock (datetime.now())"),
    ("from time import monotonic", "imports time"),
])
def test_the_check_finds_what_it_forbids(source, problem):
    assert impurities(source) == [problem]


def test_type_checking_imports_are_not_run():
    assert impurities("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import boto3\n") == []
