"""Pure protocol modules must not import OS modules: OS calls live at the edge."""

from __future__ import annotations

import ast
import pathlib

import netring

SRC = pathlib.Path(netring.__file__).parent
FORBIDDEN = {"socket", "mmap", "os", "ctypes", "select", "selectors", "fcntl", "subprocess", "signal"}

# Purity is a matter of location: every module under these packages is pure except
# those in an edge module or folder (``edge.py``, ``edge_*.py``, ``edge/``).
PURE_PACKAGES = ("codec", "nlmmap", "packet", "pcap", "subsystems")
PURE_MODULES = ("errors.py", "conn.py", "strided.py")


def _is_edge(rel: pathlib.PurePath) -> bool:
    """True for a module inside an edge folder, or an edge module itself."""
    return any(part == "edge" or part.startswith(("edge.", "edge_")) for part in rel.parts[1:])


def _pure_files() -> list[pathlib.Path]:
    files = [SRC / m for m in PURE_MODULES]
    for d in PURE_PACKAGES:
        for f in sorted((SRC / d).rglob("*.py")):
            if not _is_edge(f.relative_to(SRC)):
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
    assert any(f.parent.name == "nlmmap" for f in files)
    offenders = {}
    for f in files:
        bad = _runtime_imports(ast.parse(f.read_text())) & FORBIDDEN
        if bad:
            offenders[str(f.relative_to(SRC))] = sorted(bad)
    assert offenders == {}


def test_edge_locations_are_the_only_exemptions() -> None:
    pure = {str(f.relative_to(SRC)) for f in _pure_files()}
    assert "nlmmap/cursor.py" in pure and "nlmmap/edge/shm.py" not in pure
    assert _is_edge(pathlib.PurePath("packet/edge.py"))
    assert _is_edge(pathlib.PurePath("packet/edge_v3.py"))
    assert _is_edge(pathlib.PurePath("subsystems/nfqueue/edge.py"))
    assert _is_edge(pathlib.PurePath("subsystems/nfqueue/edge/sock.py"))
    assert not _is_edge(pathlib.PurePath("subsystems/rtnetlink/hedge.py"))
    assert not _is_edge(pathlib.PurePath("nlmmap/edgecase.py"))


def test_checker_catches_a_forbidden_import() -> None:
    assert "socket" in _runtime_imports(ast.parse("def f():\n    import socket\n"))
    assert "os" not in _runtime_imports(
        ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import os\n")
    )


def test_no_module_imports_typing_at_run_time() -> None:
    """typing costs a tenth of a command's start-up: its names come from
    ``codec/types.py`` at run time, and from typing only under ``TYPE_CHECKING``."""
    offenders = sorted(str(f.relative_to(SRC)) for f in SRC.rglob("*.py")
                       if "typing" in _runtime_imports(ast.parse(f.read_text())))
    assert offenders == []
    assert "typing" in _runtime_imports(ast.parse("from typing import Any\n"))


def test_typing_stand_ins_behave_as_netring_uses_them() -> None:
    """At run time ``Class[T]`` is the class and a Protocol is a plain base class."""
    from netring.codec.types import Generic, Protocol, TypeVar

    T = TypeVar("T")

    class Box(Generic[T]):  # type: ignore[misc]
        pass

    class Named(Protocol):
        def name(self) -> str: ...

    class Impl(Named):
        def name(self) -> str:
            return "impl"

    assert Box[int] is Box and isinstance(Box(), Box)
    assert Impl().name() == "impl"
