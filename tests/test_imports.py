"""Import rules of the package, read from the source with ``ast`` (every import counts: module level, inside a
function, under ``TYPE_CHECKING``):

- only the composition root (``runtime.py``) and the CLI import :mod:`wbsupply.runtime`; components share
  :mod:`wbsupply.process` instead;
- the product does not import the WB emulator: only the sandbox package itself and the CLI commands that start
  it (``up``, ``sandbox``) import :mod:`wbsupply.sandbox`;
- ``control`` and ``operator`` do not import each other (both use the neutral :mod:`wbsupply.kube`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "wbsupply"

RUNTIME_IMPORTERS = {"wbsupply/runtime.py", "wbsupply/cli.py"}
SANDBOX_STARTERS = {("wbsupply/cli.py", "up"), ("wbsupply/cli.py", "sandbox")}  # (file, function)


@dataclass(frozen=True)
class Import:
    file: str  # "wbsupply/api/app.py"
    line: int
    target: str  # the imported module, e.g. "wbsupply.runtime"
    function: str | None  # the outermost function the import is in (None: module level)

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.target}"


def _module_of(file: str) -> str:
    return file.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def imports_in(source: str, file: str) -> Iterator[Import]:
    """Every import of ``source`` as absolute names (``from a import b`` is ``a.b``: ``b`` may be a module)."""
    package = _module_of(file).split(".")
    if not file.endswith("__init__.py"):
        package = package[:-1]

    def visit(node: ast.AST, function: str | None) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            inner = function
            if function is None and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(file, child.lineno, alias.name, function)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package[: len(package) - child.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                for alias in child.names:
                    yield Import(file, child.lineno, f"{base}.{alias.name}", function)
            yield from visit(child, inner)

    yield from visit(ast.parse(source, filename=file), None)


def all_imports() -> list[Import]:
    root = PACKAGE.parent
    found: list[Import] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        file = path.relative_to(root).as_posix()
        found.extend(imports_in(path.read_text(encoding="utf-8"), file))
    return found


def _is(target: str, module: str) -> bool:
    return target == module or target.startswith(module + ".")


def runtime_violations(found: list[Import]) -> list[Import]:
    return [i for i in found if _is(i.target, "wbsupply.runtime") and i.file not in RUNTIME_IMPORTERS]


def sandbox_violations(found: list[Import]) -> list[Import]:
    return [i for i in found if _is(i.target, "wbsupply.sandbox") and not i.file.startswith("wbsupply/sandbox/")
            and (i.file, i.function) not in SANDBOX_STARTERS]


def control_operator_violations(found: list[Import]) -> list[Import]:
    return [i for i in found
            if (i.file.startswith("wbsupply/control/") and _is(i.target, "wbsupply.operator"))
            or (i.file.startswith("wbsupply/operator/") and _is(i.target, "wbsupply.control"))]


def test_only_the_composition_root_and_the_cli_import_the_runtime() -> None:
    assert [str(i) for i in runtime_violations(all_imports())] == []


def test_the_product_does_not_import_the_sandbox() -> None:
    assert [str(i) for i in sandbox_violations(all_imports())] == []


def test_control_and_operator_do_not_import_each_other() -> None:
    assert [str(i) for i in control_operator_violations(all_imports())] == []


def test_the_rules_see_every_kind_of_import() -> None:
    """The checks above pass only because nothing breaks a rule: each kind of import is seen when it does."""
    api = list(imports_in(
        "from wbsupply.runtime import ProcessContext\n"
        "def f():\n    import wbsupply.sandbox.app\n"
        "if TYPE_CHECKING:\n    from wbsupply import runtime\n",
        "wbsupply/api/app.py"))
    assert [str(i) for i in runtime_violations(api)] == [
        "wbsupply/api/app.py:1 imports wbsupply.runtime.ProcessContext",
        "wbsupply/api/app.py:5 imports wbsupply.runtime"]
    assert [(i.line, i.function) for i in sandbox_violations(api)] == [(3, "f")]
    relative = list(imports_in("from ..operator import names\n", "wbsupply/control/mirroring.py"))
    assert [str(i) for i in control_operator_violations(relative)] == [
        "wbsupply/control/mirroring.py:1 imports wbsupply.operator.names"]
    cli = list(imports_in("def up():\n    from wbsupply.sandbox.app import embedded_sandbox\n"
                          "def api():\n    from wbsupply.sandbox import app\n", "wbsupply/cli.py"))
    assert [(i.line, i.function) for i in sandbox_violations(cli)] == [(4, "api")]
