"""Lambda deployment packages: each handler with exactly the ``scones`` modules it imports.

The handlers in ``lambdas/`` import a few standard-library-only modules of
``scones`` (the event contract, the threshold rule, the client factory).
:func:`module_closure` walks their ``import`` statements with :mod:`ast`,
restricted to the ``scones`` package, and :func:`build_zip` writes those files
(and nothing else: no numpy, no MXNet, no boto3, which the runtime provides)
into a byte-for-byte reproducible zip, so the same code always has the same
SHA-256 and an unchanged function is never updated.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT_PACKAGE = "scones"
LAMBDA_PACKAGE = "scones.lambdas"
# Zip entries get this timestamp so identical sources give identical bytes.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)


class PackagingError(RuntimeError):
    """A handler imports something that cannot be packaged."""


@dataclass(frozen=True)
class SourceModule:
    name: str  # scones.lambda_events
    path: Path  # where its source is on this machine
    is_package: bool

    @property
    def archive_name(self) -> str:
        """Where the module goes in the zip: its import path, whatever folder it lives in here."""
        parts = self.name.split(".")
        return "/".join(parts) + ("/__init__.py" if self.is_package else ".py")


def locate(name: str) -> SourceModule:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise PackagingError(f"cannot find the source of {name}: the package must be installed from source")
    return SourceModule(name, Path(spec.origin), spec.submodule_search_locations is not None)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST):
    """Every import statement that can run, function bodies included; ``if TYPE_CHECKING:`` never runs."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _import_nodes(child)


def imported_names(module: SourceModule) -> set[str]:
    """Absolute names of the ``scones`` modules ``module`` imports (``from scones import x`` may name one)."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    names: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[:len(anchor) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return {name for name in names if name == ROOT_PACKAGE or name.startswith(ROOT_PACKAGE + ".")}


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent is a module, not a package
        return False


def _with_parents(name: str) -> list[str]:
    """Importing ``a.b.c`` runs ``a`` and ``a.b`` first."""
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]


def module_closure(handler_module: str) -> list[SourceModule]:
    """The handler and every ``scones`` module importing it runs, transitively, sorted by name."""
    found: dict[str, SourceModule] = {}
    pending = _with_parents(handler_module)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        if not is_module(name):
            continue  # ``from scones.x import function``: the function is not a module
        module = locate(name)
        found[name] = module
        for imported in imported_names(module):
            pending.extend(parent for parent in _with_parents(imported) if parent not in found)
    return [found[name] for name in sorted(found)]


@dataclass(frozen=True)
class LambdaPackage:
    handler: str  # scones/lambdas/classify_image.lambda_handler
    zip_bytes: bytes
    files: tuple[str, ...]

    @property
    def code_sha256(self) -> str:
        """What Lambda reports as ``CodeSha256``: base64 of the zip's SHA-256."""
        return base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode("ascii")


def build_zip(modules: list[SourceModule]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for module in sorted(modules, key=lambda m: m.archive_name):
            entry = zipfile.ZipInfo(module.archive_name, date_time=FIXED_DATE_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, module.path.read_bytes())
    return buffer.getvalue()


def package_handler(handler_module_name: str) -> LambdaPackage:
    """The zip for ``lambdas/<handler_module_name>.py``, with its handler string."""
    module = f"{LAMBDA_PACKAGE}.{handler_module_name}"
    modules = module_closure(module)
    return LambdaPackage(
        handler=f"{module.replace('.', '/')}.lambda_handler",
        zip_bytes=build_zip(modules),
        files=tuple(sorted(m.archive_name for m in modules)),
    )
