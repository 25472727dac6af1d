#!/usr/bin/env python3
"""Run NetfilterQueue 1.1.0's own test suite against netring's drop-in, and against
NetfilterQueue itself for comparison.

Usage (root: the suite makes network namespaces and iptables rules inside them)::

    python tools/compat_check.py [--json] [--no-reference] [--cache DIR] [-k EXPR]

What it does, every time, into a cache directory (``$XDG_CACHE_HOME/netring-bench``,
default ``~/.cache/netring-bench``), never into the environment netring runs from:

1. a venv ``compat-venv`` made with this interpreter, holding the suite's test
   dependencies at the versions NetfilterQueue 1.1.0's test requirements pin
   (pytest 6.2.5, trio 0.19.0, pytest-trio 0.7.0, async_generator 1.10 and theirs)
   and Cython, setuptools and wheel for step 2;
2. NetfilterQueue 1.1.0's sdist from PyPI::

       pip download --no-binary :all: --no-deps --no-build-isolation NetfilterQueue==1.1.0

   (``--no-build-isolation`` reads the sdist's metadata with the venv's Cython
   wheel instead of compiling Cython from source first); its ``tests/`` are
   extracted into a temporary directory;
3. two small modules written there: ``unshare`` (the suite imports it for
   ``unshare(flags)`` and the ``CLONE_*`` constants; this one calls libc's
   ``unshare`` through ctypes and, after a new mount namespace, makes ``/``
   private as unshare(1) does, so the suite's mounts stay in it) and a
   ``netfilterqueue`` package that re-exports :mod:`netring.compat.netfilterqueue`;
4. pytest as NetfilterQueue's CI runs it (``-W error -ra -v``, in ``tests/``), with
   that package first on ``PYTHONPATH`` (and netring's ``src``): the drop-in run;
5. unless ``--no-reference``: NetfilterQueue 1.1.0 itself pip-installed into the
   venv (its build needs the Debian package ``libnetfilter-queue-dev``, installed
   with apt-get only when ``dpkg -s`` says it is missing), and the same suite.

It prints each test's outcome for both and a summary; the exit status is 0 when
the drop-in passes every test NetfilterQueue passes, 1 when it does not, 3 when
the suite could not be run (PyPI unreachable and nothing cached, not root ...).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

NETFILTERQUEUE = "NetfilterQueue==1.1.0"
SDIST = "NetfilterQueue-1.1.0.tar.gz"
#: the suite's dependencies as NetfilterQueue 1.1.0's test-requirements.txt pins them
#: (newer trio drops trio.open_process, which its conftest uses)
TEST_REQUIREMENTS = (
    "pytest==6.2.5", "trio==0.19.0", "pytest-trio==0.7.0", "async_generator==1.10",
    "outcome==1.1.0", "attrs==21.4.0", "sniffio==1.2.0", "sortedcontainers==2.4.0",
    "idna==3.3", "iniconfig==1.1.1", "pluggy==1.0.0", "py==1.11.0", "toml==0.10.2",
)
#: what step 2 needs in the venv
DOWNLOAD_REQUIREMENTS = ("cython", "setuptools", "wheel")
SRC = Path(__file__).resolve().parent.parent / "src"

UNSHARE_SHIM = '''\
"""unshare(flags) and the CLONE_* constants, through libc (what the suite needs of
python-unshare).  After a new mount namespace, / is made private (as unshare(1)
does) so that mounts made there never reach the parent's namespace."""
import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def unshare(flags):
    _check(_libc.unshare(ctypes.c_int(flags)))
    if flags & CLONE_NEWNS:
        _check(_libc.mount(None, b"/", None, ctypes.c_ulong(_MS_REC | _MS_PRIVATE), None))
'''

NETFILTERQUEUE_SHIM = '''\
"""NetfilterQueue's import name, resolved to netring's drop-in."""
from netring.compat.netfilterqueue import *  # noqa: F401,F403
from netring.compat.netfilterqueue import VERSION  # noqa: F401

__version__ = "netring.compat.netfilterqueue"
'''


def say(text: str) -> None:
    print(f"compat_check: {text}", file=sys.stderr, flush=True)


def cache_dir(given: str | None) -> Path:
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "netring-bench"


class CannotRun(Exception):
    """The suite cannot be run here (the reason is the message)."""


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def run(cmd: list[str], *, log: Path, timeout: float = 1800, **kw: Any) -> subprocess.CompletedProcess[str]:
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout, **kw)
        f.write(r.stdout)
    return r


def venv_python(cache: Path, log: Path) -> str:
    venv = cache / "compat-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        say(f"making the venv {venv}")
        venv.parent.mkdir(parents=True, exist_ok=True)
        r = run([sys.executable, "-m", "venv", str(venv)], log=log, timeout=600)
        if r.returncode != 0:
            raise CannotRun(f"python -m venv {venv} failed: {last_line(r.stdout)}")
    stamp = venv / "netring-compat-requirements.txt"
    want = "\n".join(TEST_REQUIREMENTS + DOWNLOAD_REQUIREMENTS) + "\n"
    if not stamp.exists() or stamp.read_text() != want:
        say(f"pip install the suite's test requirements into {venv} (log: {log})")
        r = run([str(python), "-m", "pip", "install", "-q", *TEST_REQUIREMENTS,
                 *DOWNLOAD_REQUIREMENTS], log=log)
        if r.returncode != 0:
            raise CannotRun(f"pip install of the test requirements failed: {last_line(r.stdout)}")
        stamp.write_text(want)
    return str(python)


def fetch_tests(python: str, cache: Path, log: Path, into: Path) -> Path:
    sdists = cache / "compat-sdist"
    sdists.mkdir(parents=True, exist_ok=True)
    sdist = sdists / SDIST
    if not sdist.exists():
        say(f"pip download {NETFILTERQUEUE} (sdist) into {sdists}")
        r = run([python, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                 "--no-build-isolation", NETFILTERQUEUE, "-d", str(sdists)], log=log)
        if r.returncode != 0 or not sdist.exists():
            raise CannotRun(f"pip download {NETFILTERQUEUE} failed: {last_line(r.stdout)}")
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.split("/")[1:2] == ["tests"] and m.isfile()]
        if not members:
            raise CannotRun(f"{sdist} holds no tests/")
        for m in members:
            m.name = "/".join(m.name.split("/")[1:])
            tar.extract(m, into, filter="data")
    return into / "tests"


def ensure_reference(python: str, log: Path) -> str:
    """NetfilterQueue 1.1.0 in the venv; returns "" or why not."""
    probe = subprocess.run([python, "-c", "import netfilterqueue"], capture_output=True)
    if probe.returncode == 0:
        return ""
    deb = "libnetfilter-queue-dev"
    if subprocess.run(["dpkg", "-s", deb], capture_output=True).returncode != 0:
        if not shutil.which("apt-get"):
            return f"{deb} is not installed and there is no apt-get"
        say(f"apt-get install {deb} (NetfilterQueue's build needs it)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = run(["apt-get", "install", "-y", "-q", deb], log=log, env=env)
        if r.returncode != 0:
            run(["apt-get", "update", "-q"], log=log, env=env)
            r = run(["apt-get", "install", "-y", "-q", deb], log=log, env=env)
        if r.returncode != 0:
            return f"apt-get install {deb} failed: {last_line(r.stdout)}"
    say(f"pip install {NETFILTERQUEUE} into the venv (log: {log})")
    r = run([python, "-m", "pip", "install", "-q", NETFILTERQUEUE], log=log)
    if r.returncode != 0:
        return f"pip install {NETFILTERQUEUE} failed: {last_line(r.stdout)}"
    return ""


def run_suite(python: str, tests: Path, path: list[Path], xml: Path, extra: list[str],
              log: Path) -> dict[str, Any]:
    """pytest over the suite as its CI runs it; per test its outcome, and which module ran."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    env.pop("PYTHONSTARTUP", None)
    where = subprocess.run([python, "-c", "import netfilterqueue; print(netfilterqueue.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tests)
    module = where.stdout.strip() or last_line(where.stderr)
    cmd = [python, "-m", "pytest", "-W", "error", "-ra", "-v", "-p", "no:cacheprovider",
           f"--junitxml={xml}", *extra, "."]
    r = run(cmd, log=log, timeout=900, env=env, cwd=tests)
    outcomes: dict[str, str] = {}
    reasons: dict[str, str] = {}
    if xml.exists():
        for case in ET.parse(xml).getroot().iter("testcase"):
            name = case.get("name", "?")
            outcomes[name] = "passed"
            for tag in ("failure", "error", "skipped"):
                node = case.find(tag)
                if node is not None:
                    outcomes[name] = {"failure": "failed"}.get(tag, tag)
                    reasons[name] = (node.get("message") or "").splitlines()[0][:160] \
                        if node.get("message") else ""
                    break
    summary = last_line(r.stdout).strip("= ")
    return {"module": module, "returncode": r.returncode, "summary": summary,
            "outcomes": outcomes, "reasons": reasons}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    ap.add_argument("--no-reference", action="store_true",
                    help="do not run the suite against NetfilterQueue itself")
    ap.add_argument("--cache", help="cache directory (default ~/.cache/netring-bench)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("-k", dest="select", help="pytest -k expression")
    args = ap.parse_args(argv)
    result: dict[str, Any] = {"suite": f"{NETFILTERQUEUE} tests/", "runs": {}}
    extra = ["-k", args.select] if args.select else []
    cache = cache_dir(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    log = cache / "compat-check.log"
    tmp = Path(tempfile.mkdtemp(prefix="netring-compat-check-"))
    try:
        if os.geteuid() != 0:
            raise CannotRun("needs root (the suite makes network namespaces and iptables rules)")
        if not shutil.which("iptables"):
            raise CannotRun("needs iptables (the suite queues packets with -j NFQUEUE)")
        python = venv_python(cache, log)
        tests = fetch_tests(python, cache, log, tmp)
        (tmp / "common").mkdir()
        (tmp / "common" / "unshare.py").write_text(UNSHARE_SHIM)
        shim = tmp / "netring-shim" / "netfilterqueue"
        shim.mkdir(parents=True)
        (shim / "__init__.py").write_text(NETFILTERQUEUE_SHIM)
        say("the suite against netring.compat.netfilterqueue")
        result["runs"]["netring"] = run_suite(
            python, tests, [shim.parent, tmp / "common", SRC], tmp / "netring.xml", extra, log)
        if not args.no_reference:
            why = ensure_reference(python, log)
            if why:
                result["runs"]["netfilterqueue"] = {"skipped": why}
            else:
                say(f"the suite against {NETFILTERQUEUE}")
                result["runs"]["netfilterqueue"] = run_suite(
                    python, tests, [tmp / "common"], tmp / "reference.xml", extra, log)
    except CannotRun as exc:
        result["error"] = str(exc)
    except (OSError, subprocess.TimeoutExpired) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    ours = result["runs"].get("netring", {}).get("outcomes", {})
    ref = result["runs"].get("netfilterqueue", {}).get("outcomes", {})
    if "error" in result:
        status = 3
    elif not ours:
        result["error"] = "the suite reported no tests: " + result["runs"]["netring"]["summary"]
        status = 3
    else:
        want = {t for t, o in ref.items() if o == "passed"} if ref else set(ours)
        missing = sorted(t for t in want if ours.get(t) != "passed")
        result["drop_in_fails_where_reference_passes"] = missing
        status = 1 if missing else 0
    result["status"] = status
    if args.json:
        print(json.dumps(result, indent=1))
        return status
    if "error" in result:
        print(f"compat_check: cannot run: {result['error']}")
        return status
    names = list(ours) + [n for n in ref if n not in ours]  # the suite's order
    width = max(len(n) for n in names)
    print(f"NetfilterQueue 1.1.0's test suite (pytest -W error), {len(names)} tests")
    print(f"{'test':{width}}  netring.compat  NetfilterQueue 1.1.0")
    for n in names:
        print(f"{n:{width}}  {ours.get(n, '-'):14}  {ref.get(n, '-')}")
    for key, label in (("netring", "netring.compat.netfilterqueue"),
                       ("netfilterqueue", "NetfilterQueue 1.1.0")):
        r = result["runs"].get(key)
        if r is None:
            continue
        if "skipped" in r:
            print(f"{label}: not run: {r['skipped']}")
            continue
        outs = list(r["outcomes"].values())
        print(f"{label}: {outs.count('passed')} of {len(outs)} passed ({r['summary']}); "
              f"module {r['module']}")
        for test, why in r["reasons"].items():
            print(f"    {test}: {why}")
    missing = result["drop_in_fails_where_reference_passes"]
    print("the drop-in passes every test NetfilterQueue passes" if not missing else
          f"the drop-in fails where NetfilterQueue passes: {', '.join(missing)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
