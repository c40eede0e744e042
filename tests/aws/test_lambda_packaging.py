"""Lambda zips: exactly the scones modules each handler imports, reproducible, and runnable on their own."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import boto3
import pytest

from scones.backends.aws.lambda_packaging import imported_names, locate, module_closure, package_handler

# What `import scones.lambdas.<handler>` runs: the package __init__ (which imports nothing), the lambdas
# package, the handler, and the standard-library-only modules it imports.
COMMON = ["scones/__init__.py", "scones/errors.py", "scones/function_environment.py", "scones/lambda_events.py",
          "scones/lambdas/__init__.py"]
EXPECTED_FILES = {
    "serialize_image_data": sorted(COMMON + ["scones/clients.py", "scones/lambdas/serialize_image_data.py"]),
    "classify_image": sorted(COMMON + ["scones/clients.py", "scones/lambdas/classify_image.py"]),
    "filter_inferences": sorted(COMMON + ["scones/inferences.py", "scones/lambdas/filter_inferences.py"]),
}
FORBIDDEN = {"numpy", "mxnet", "boto3", "botocore", "PIL", "matplotlib"}


def zip_names(package) -> list[str]:
    return sorted(zipfile.ZipFile(io.BytesIO(package.zip_bytes)).namelist())


def top_level_imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted(EXPECTED_FILES))
def test_the_zip_holds_exactly_the_imported_modules(module):
    package = package_handler(module)
    assert zip_names(package) == EXPECTED_FILES[module]
    assert list(package.files) == EXPECTED_FILES[module]
    assert package.handler == f"scones/lambdas/{module}.lambda_handler"


@pytest.mark.parametrize("module", sorted(EXPECTED_FILES))
def test_the_zip_imports_no_numpy_or_mxnet_and_packages_no_boto3(module):
    archive = zipfile.ZipFile(io.BytesIO(package_handler(module).zip_bytes))
    assert not any(name.split("/")[0] in FORBIDDEN for name in archive.namelist())
    # scones.clients imports boto3 and botocore, which the Lambda runtime provides; nothing else heavy is imported.
    allowed = {"boto3", "botocore"}
    for name in archive.namelist():
        heavy = top_level_imports(archive.read(name).decode("utf-8")) & (FORBIDDEN - allowed)
        assert not heavy, f"{name} imports {heavy}"


def test_the_zip_is_byte_for_byte_reproducible():
    first = package_handler("classify_image")
    second = package_handler("classify_image")
    assert first.zip_bytes == second.zip_bytes and first.code_sha256 == second.code_sha256


def test_type_checking_imports_and_non_modules_are_left_out():
    names = imported_names(locate("scones.backend"))
    assert "scones.storage" not in names  # imported under `if TYPE_CHECKING:` only
    closure = [m.name for m in module_closure("scones.lambdas.filter_inferences")]
    assert "scones.inferences.DEFAULT_THRESHOLD" not in closure and "scones.storage" not in closure


def test_relative_imports_resolve_within_the_package():
    # scones.asl uses relative imports throughout; its closure stays inside scones.asl and scones.
    closure = {m.name for m in module_closure("scones.asl.definition")}
    assert {"scones", "scones.asl", "scones.asl.definition", "scones.asl.clock"} <= closure
    assert all(name == "scones" or name.startswith("scones.") for name in closure)


def test_the_extracted_zip_runs_a_handler_without_the_installed_package(tmp_path):
    """Extract the zip and import the handler in a Python that cannot see the editable install."""
    zipfile.ZipFile(io.BytesIO(package_handler("filter_inferences").zip_bytes)).extractall(tmp_path)
    script = textwrap.dedent(f"""
        import json, os, sys
        sys.path[:0] = [{str(tmp_path)!r}]
        os.environ["THRESHOLD"] = "0.9"
        from scones.lambdas.filter_inferences import lambda_handler
        import scones
        assert scones.__file__.startswith({str(tmp_path)!r}), scones.__file__
        result = lambda_handler({{"body": {{"inferences": [0.95, 0.05]}}}}, None)
        heavy = sorted(m for m in ("numpy", "mxnet", "boto3") if m in sys.modules)
        print(json.dumps({{"result": result, "heavy": heavy}}))
    """)
    # -S: no site-packages, so neither the editable install nor numpy/mxnet can be found.
    done = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"result": {"statusCode": 200, "body": {"inferences": [0.95, 0.05]}},
                                       "heavy": []}


def test_the_serialize_zip_needs_only_boto3_from_the_runtime(tmp_path):
    zipfile.ZipFile(io.BytesIO(package_handler("serialize_image_data").zip_bytes)).extractall(tmp_path)
    site_packages = str(Path(boto3.__file__).parents[1])  # where this environment's boto3 is installed
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(tmp_path)!r}]
        sys.path.append({site_packages!r})  # boto3, as the Lambda runtime provides it
        import scones.lambdas.serialize_image_data
        assert "numpy" not in sys.modules and "mxnet" not in sys.modules
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
