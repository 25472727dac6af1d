"""Public API surface and CLI wiring."""

from __future__ import annotations

import subprocess
import sys

import pytest

import netring
from netring.cli import build_parser, main


def test_every_exported_name_imports() -> None:
    assert netring.__all__
    for name in netring.__all__:
        assert hasattr(netring, name), name


def test_exception_hierarchy_is_rooted() -> None:
    for name in ("DecodeError", "EncodeError", "NetlinkError", "DumpInterrupted", "Overrun",
                 "RingError", "NotSupportedError"):
        assert issubclass(getattr(netring, name), netring.NetringError)


def test_decode_error_carries_offset() -> None:
    e = netring.DecodeError("bad", 12)
    assert e.offset == 12 and "offset 12" in str(e)


def test_netlink_error_is_an_oserror_with_ext_ack_text() -> None:
    e = netring.NetlinkError(22, "RTM_NEWLINK", 5, "Unknown device type", 32)
    assert isinstance(e, OSError) and e.errno == 22
    assert str(e) == "RTM_NEWLINK: EINVAL, seq 5: Unknown device type [attribute at offset 32]"


def test_cli_without_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: netring" in capsys.readouterr().out


def test_cli_lists_subcommands() -> None:
    text = build_parser().format_help()
    for cmd in ("probe", "bench"):
        assert cmd in text


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "netring", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.strip() == f"netring {netring.__version__}"


_EDGE_MODULES = ("ctypes", "socket", "mmap", "select", "selectors", "fcntl", "typing",
                 "ipaddress")


@pytest.mark.parametrize("stmt", ["import netring", "import netring.codec",
                                  "import netring.nlmmap", "import netring.pcap"])
def test_importing_the_pure_layer_loads_no_os_module(stmt: str) -> None:
    """The package top and the pure packages load no OS binding (and not typing):
    edge names are imported on first use."""
    code = (f"import sys; {stmt}; "
            f"print(','.join(m for m in {_EDGE_MODULES!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_edge_names_load_on_first_use() -> None:
    code = ("import sys, netring; assert 'socket' not in sys.modules; "
            "s = netring.NetlinkSocket; assert 'netring.socket' in sys.modules; "
            "print(s.__module__, netring.Rtnl.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["netring.socket", "netring.subsystems.rtnetlink.edge.rtnl"]


def test_bench_list_matches_the_harnesses() -> None:
    import pkgutil

    from netring.cli.bench import BENCHMARKS
    from netring.tools import bench

    found = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    assert list(BENCHMARKS) == found


def test_the_socket_edge_loads_ctypes_only_for_batches() -> None:
    """A plain socket (requests, dumps) needs no ctypes; recvmmsg and setns load it."""
    code = ("import sys, netring.socket, netring.netns; print('ctypes' in sys.modules); "
            "import netring._sys as s; s.MMsgBatch; print('ctypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]


def test_every_name_a_module_exports_exists() -> None:
    """``from M import *`` works for every module: each ``__all__`` name is defined
    at run time (not only for the type checker)."""
    code = ("import importlib, pathlib, netring\n"
            "root = pathlib.Path(netring.__file__).parent\n"
            "missing = []\n"
            "for f in sorted(root.rglob('*.py')):\n"
            "    rel = f.relative_to(root.parent).with_suffix('')\n"
            "    name = '.'.join(rel.parts[:-1] if rel.name == '__init__' else rel.parts)\n"
            "    if name.endswith('__main__'):\n"
            "        continue\n"
            "    mod = importlib.import_module(name)\n"
            "    missing += [f'{name}.{n}' for n in getattr(mod, '__all__', ()) if not hasattr(mod, n)]\n"
            "print(missing)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.strip()
    assert out == "[]"
