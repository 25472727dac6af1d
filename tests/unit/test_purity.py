"""Pure protocol modules must not import OS modules: OS calls live at the edge."""

from __future__ import annotations

import ast
import pathlib

import netring

SRC = pathlib.Path(netring.__file__).parent
FORBIDDEN = {"socket", "mmap", "os", "ctypes", "select", "selectors", "fcntl", "subprocess", "signal"}

# Packages/modules that must stay pure.  Edge modules are named explicitly below.
PURE_DIRS = ("codec", "ring", "packet", "subsystems")
EDGE_MODULES = {
    # ring/ and packet/ each keep their OS work in one edge module
    "ring/engine.py",
    "ring/kernel.py",
    "ring/shm.py",
    "ring/writer.py",
    "packet/edge.py",
}


def _pure_files() -> list[pathlib.Path]:
    files = [SRC / "errors.py"]
    for d in PURE_DIRS:
        for f in sorted((SRC / d).rglob("*.py")):
            rel = f.relative_to(SRC)
            if str(rel) not in EDGE_MODULES and "edge" not in rel.parts:
                files.append(f)
    return files


def _runtime_imports(tree: ast.AST) -> set[str]:
    """Top-level module names imported at run time (``if TYPE_CHECKING:`` excluded)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name.split(".")[0] for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.add(child.module.split(".")[0])
            visit(child)

    visit(tree)
    return found


def test_pure_modules_import_no_os_module() -> None:
    files = _pure_files()
    assert any(f.parent.name == "codec" for f in files)
    offenders = {}
    for f in files:
        bad = _runtime_imports(ast.parse(f.read_text())) & FORBIDDEN
        if bad:
            offenders[str(f.relative_to(SRC))] = sorted(bad)
    assert offenders == {}


def test_checker_catches_a_forbidden_import() -> None:
    assert "socket" in _runtime_imports(ast.parse("def f():\n    import socket\n"))
    assert "os" not in _runtime_imports(
        ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import os\n")
    )
