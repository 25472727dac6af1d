"""tcpdump expressions compiled through libpcap, checked against tcpdump itself.

Independent oracles for the compile path and the text formats: ``tcpdump -ddd``,
``-dd`` and ``-d`` (no interface: tcpdump compiles for Ethernet with
``pcap_open_dead``, as netring does), and libpcap's own interpreter
(``tcpdump -r FILE -w OUT EXPR`` keeps the packets its ``bpf_filter`` accepts).
Needs libpcap and tcpdump, not root.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import bpf_corpus as corpus
import pytest

from netring.errors import EncodeError
from netring.packet import bpf
from netring.packet.edge.filter import compile_filter, describe_source, libpcap_version
from netring.pcap.format import LINKTYPE, PCAP_MAGIC_US, pcap_file_header, pcap_record_header

pytestmark = [
    pytest.mark.skipif(libpcap_version() is None, reason="needs libpcap (libpcap0.8)"),
    pytest.mark.skipif(shutil.which("tcpdump") is None, reason="needs tcpdump as the oracle"),
]

UNIQUE = sorted(set(corpus.EXPRESSIONS))


def tcpdump(*args: str) -> str:
    proc = subprocess.run(["tcpdump", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"tcpdump {' '.join(args)}: {proc.stderr.strip()}"
    return proc.stdout


def test_compile_equals_tcpdump_ddd_and_the_text_formats_match() -> None:
    assert len(UNIQUE) >= 50
    for expr, snaplen in UNIQUE:
        program = compile_filter(expr, snaplen=snaplen)
        assert program.source == "libpcap" and program.expression == expr
        s = str(snaplen)
        assert bpf.parse_ddd(tcpdump("-s", s, "-ddd", expr)) == bpf.Program(
            program.instructions), expr
        assert bpf.format_dd(program) == tcpdump("-s", s, "-dd", expr), expr
        # libpcap before 1.10.5 pads an operand-less line with spaces; compare without them
        theirs = [line.rstrip() for line in tcpdump("-s", s, "-d", expr).splitlines()]
        assert bpf.disassemble(program).splitlines() == theirs, expr


@pytest.mark.parametrize(("linktype", "name", "expr"), [
    (113, "LINUX_SLL", "tcp port 22"), (113, "LINUX_SLL", "ip6 and udp"),
    (12, "RAW", "host 10.0.0.1 and tcp"), (1, "EN10MB", "vlan 10 and udp port 53"),
])
def test_other_link_types_and_no_optimizer(linktype: int, name: str, expr: str) -> None:
    assert compile_filter(expr, linktype).instructions == bpf.parse_ddd(
        tcpdump("-y", name, "-ddd", expr)).instructions
    assert compile_filter(expr, linktype, optimize=False).instructions == bpf.parse_ddd(
        tcpdump("-O", "-y", name, "-ddd", expr)).instructions


def _write_pcap(path: pathlib.Path, frames: list[bytes]) -> None:
    out = [pcap_file_header.pack(PCAP_MAGIC_US, 2, 4, 0, 0, 262144, LINKTYPE.ETHERNET)]
    for i, f in enumerate(frames):
        out.append(pcap_record_header.pack(i + 1, 0, len(f), len(f)) + f)
    path.write_bytes(b"".join(out))


def _kept(path: pathlib.Path) -> list[int]:
    data = path.read_bytes()
    pos, kept = pcap_file_header.size, []
    while pos < len(data):
        sec, _, caplen, _ = pcap_record_header.unpack_from(data, pos)
        kept.append(sec - 1)
        pos += pcap_record_header.size + caplen
    return kept


def test_interpreter_verdicts_equal_libpcaps_bpf_filter(tmp_path: pathlib.Path) -> None:
    frames = [f for _, f in corpus.FRAMES]  # raw frames, VLAN tags in the bytes
    _write_pcap(tmp_path / "in.pcap", frames)
    wrong = []
    for expr, _ in UNIQUE:
        program = compile_filter(expr)
        tcpdump("-r", str(tmp_path / "in.pcap"), "-w", str(tmp_path / "out.pcap"), expr)
        theirs = _kept(tmp_path / "out.pcap")
        ours = [i for i, f in enumerate(frames) if bpf.run(program, f)]
        if ours != theirs:
            wrong.append((expr, ours, theirs))
    assert wrong == []


def test_libpcap_errors_carry_its_reason_and_the_expression() -> None:
    with pytest.raises(EncodeError, match=r"tcpdump expression 'tcp port': libpcap: .*syntax error"):
        compile_filter("tcp port")
    with pytest.raises(EncodeError, match=r"'port 99999': libpcap: illegal port number 99999"):
        compile_filter("port 99999")
    with pytest.raises(EncodeError, match=r"'net 10.0.0.1/8': libpcap: non-network bits set"):
        compile_filter("net 10.0.0.1/8")
    with pytest.raises(EncodeError, match=r"a NUL character at offset 2"):
        compile_filter("ip\x00")


def test_ip_broadcast_needs_the_netmask() -> None:
    with pytest.raises(EncodeError, match=r"netmask not known"):
        compile_filter("ip broadcast")
    program = compile_filter("ip broadcast", netmask=0xFFFFFF00)
    hits = {name for name, f in corpus.FRAMES if bpf.run(program, f)}
    assert hits == {"v4 udp dhcp broadcast", "v4 to 10.0.0.255"}


def test_protochain_is_refused_the_kernel_takes_no_backward_jump() -> None:
    # libpcap compiles `protochain` to a loop; the kernel's checker refuses the backward ja
    raw = bpf.parse_ddd(tcpdump("-ddd", "ip6 protochain 6"))
    with pytest.raises(EncodeError, match=r"`ja       \d+`: jump offset \d+ \(-\d+\) lands on \d+, "
                                          r"backwards .*\[rule: jump-range\]"):
        bpf.validate(raw)
    with pytest.raises(EncodeError, match=r"\[rule: jump-range\]"):
        compile_filter("ip6 protochain 6")


def test_describe_source_names_libpcap_and_the_expression() -> None:
    program = compile_filter("udp port 53")
    text = describe_source(program)
    version = libpcap_version()
    assert version and version.startswith("libpcap version ")
    assert text == f"filter 'udp port 53': {len(program)} BPF instructions compiled by {version}"
