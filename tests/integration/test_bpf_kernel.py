"""Classic BPF against the real kernel: what a packet socket's filter keeps is what
``netring.packet.bpf.run`` predicts.

Each test builds a private namespace with a veth pair::

    tx (AF_PACKET, bound to veth0) --send frame--> veth0 ==== veth1 --> plain    (no filter)
                                                                    --> filtered (the program)

and sends hand-built frames.  ``plain`` proves each frame arrived (and shows the
bytes the filter ran over); ``filtered`` keeps what the kernel's filter accepted,
cut to the filter's return value.  ``filtered`` is bound after ``plain``, so the
kernel delivers to it first (new packet taps go to the head of the device's
list): once ``plain`` holds a frame, ``filtered`` has had its verdict.  IPv6 is
off in the namespace and no addresses are set, so no other traffic crosses.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from collections.abc import Iterator, Sequence

import bpf_corpus as corpus
import pytest
from nsutil import Netns, sh

from netring.errors import EncodeError, FilterLocked
from netring.netns import socket_in
from netring.packet import bpf
from netring.packet.bpf import (
    BPF_ALU_OP,
    BPF_CLASS,
    BPF_JMP_OP,
    BPF_MISCOP,
    BPF_MODE,
    BPF_RVAL,
    BPF_SIZE,
    BPF_SRC,
    SKF_AD,
    SKF_AD_OFF,
    SKF_LL_OFF,
    SKF_NET_OFF,
    Program,
    jump,
    stmt,
)
from netring.packet.edge.filter import (
    attach_filter,
    compile_filter,
    detach_filter,
    libpcap_version,
    lock_filter,
)

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
C, S, M, A, J, X = BPF_CLASS, BPF_SIZE, BPF_MODE, BPF_ALU_OP, BPF_JMP_OP, BPF_SRC
RET_A = stmt(C.RET | BPF_RVAL.A)


class Wire:
    """veth0 -> veth1 in a private namespace with three packet sockets (see the module text)."""

    def __init__(self, ns: Netns) -> None:
        sh("ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
           "net.ipv6.conf.default.disable_ipv6=1")
        ns.add_veth(up=False)
        ns.ip("link", "set", "veth0", "address", "02:00:00:00:00:01")
        ns.ip("link", "set", "veth1", "address", "02:00:00:00:00:02")
        ns.ip("link", "set", "veth0", "up")
        ns.ip("link", "set", "veth1", "up")
        self.ifindex = int(ns.ip_json("link", "show", "veth1")[0]["ifindex"])
        self.socks: list[socket.socket] = []
        self.tx = self._open(ns, "veth0", 0)
        self.plain = self._open(ns, "veth1", ETH_P_ALL)
        self.filtered = self._open(ns, "veth1", ETH_P_ALL)

    def _open(self, ns: Netns, dev: str, proto: int) -> socket.socket:
        s = socket_in(ns.path, socket.AF_PACKET, socket.SOCK_RAW, 0)  # no tap until bound
        self.socks.append(s)
        s.bind((dev, proto))
        return s

    def close(self) -> None:
        for s in self.socks:
            s.close()

    def views(self, frames: Sequence[bytes]) -> list[corpus.View]:
        return [corpus.kernel_view(f, self.ifindex) for f in frames]

    def exchange(self, frames: Sequence[bytes]) -> list[bytes]:
        """Send ``frames``; return what ``filtered`` received (after ``plain`` saw them all)."""
        _drain(self.filtered, 0)
        _drain(self.plain, 0)
        for f in frames:
            self.tx.send(f)
        seen: list[bytes] = []
        deadline = time.monotonic() + 10
        while len(seen) < len(frames):
            left = deadline - time.monotonic()
            assert left > 0, f"only {len(seen)} of {len(frames)} frames reached veth1"
            if select.select([self.plain], [], [], left)[0]:
                data, addr = self.plain.recvfrom(65536)
                if addr[2] != PACKET_OUTGOING:
                    seen.append(data)
        assert seen == [v.data for v in self.views(frames)], "the receive path changed a frame"
        return _drain(self.filtered, 0.02)


def _drain(s: socket.socket, settle: float) -> list[bytes]:
    got: list[bytes] = []
    for _ in range(100000):
        try:
            data, addr = s.recvfrom(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            if settle and select.select([s], [], [], settle)[0]:
                continue
            return got
        if addr[2] != PACKET_OUTGOING:
            got.append(data)
    raise AssertionError("a packet socket never ran dry")


def predicted(program: Program, views: Sequence[corpus.View],
              net_offset: int = 14) -> list[bytes]:
    """What ``filtered`` should hold: each accepted frame cut to min(return value, length)."""
    out = []
    for v in views:
        keep = bpf.run(program, v.data, ancillary=v.ancillary, net_offset=net_offset)
        if keep:
            out.append(v.data[:keep])
    return out


@pytest.fixture
def wire(netns: Netns) -> Iterator[Wire]:
    w = Wire(netns)
    try:
        yield w
    finally:
        w.close()


def _need_libpcap() -> None:
    if libpcap_version() is None:
        pytest.skip("needs libpcap (libpcap0.8) to compile tcpdump expressions")


# -- the oracle: tcpdump expressions over the corpus ----------------------------------------------
def test_kernel_verdicts_equal_the_interpreter_for_libpcap_programs(wire: Wire) -> None:
    _need_libpcap()
    frames = [f for _, f in corpus.FRAMES]
    views = wire.views(frames)
    assert len(frames) >= 40 and len(corpus.EXPRESSIONS) >= 50
    wrong = []
    accepted_somewhere = dropped_somewhere = truncated = 0
    for expr, snaplen in corpus.EXPRESSIONS:
        program = compile_filter(expr, snaplen=snaplen)
        attach_filter(wire.filtered, program)
        got = wire.exchange(frames)
        want = predicted(program, views)
        if got != want:
            wrong.append((expr, snaplen, [len(g) for g in got], [len(w) for w in want]))
        accepted_somewhere += bool(want)
        dropped_somewhere += len(want) < len(frames)
        truncated += any(len(w) < len(v.data) for w, v in zip(want, views, strict=False))
    assert wrong == []
    # the corpus exercises both verdicts for nearly every expression, and truncation
    assert accepted_somewhere >= len(corpus.EXPRESSIONS) - 3
    assert dropped_somewhere == len(corpus.EXPRESSIONS)
    assert truncated >= 5


def test_vlan_offload_hides_the_tag_from_bytecode_but_not_from_ancillary_loads(wire: Wire) -> None:
    _need_libpcap()
    frames = [f for name, f in corpus.FRAMES if name.startswith(("vlan", "qinq", "v4 tcp syn"))]
    # libpcap without a live Linux handle tests the tag in the bytes: the kernel has taken
    # the outer tag out, so `vlan 100` matches nothing
    attach_filter(wire.filtered, compile_filter("vlan 100"))
    assert wire.exchange(frames) == []
    present = Program((stmt(C.LD | S.B | M.ABS, SKF_AD_OFF + SKF_AD.VLAN_TAG_PRESENT),
                       jump(C.JMP | J.JEQ | X.K, 1, 0, 1), stmt(C.RET | BPF_RVAL.K, 0xFFFF),
                       stmt(C.RET | BPF_RVAL.K, 0)))
    attach_filter(wire.filtered, present)
    got = wire.exchange(frames)
    assert len(got) == 3 and got == predicted(present, wire.views(frames))


# -- hand-built programs: every instruction class, the kernel against run() -----------------------
def _probe_frames() -> list[bytes]:
    """Long frames (so the accept length can show 10 bits of A) with varied headers, one
    carrying netlink attributes at byte 100 for the NLATTR loads."""
    frames = []
    for name, f in corpus.FRAMES:
        if name.startswith(("v4 tcp syn", "v4 udp dns", "arp", "v6 tcp", "vlan", "qinq",
                            "802.3", "v4 options", "v4 icmp echo")):
            frames.append(f + corpus.pad(1200 - len(f)))
    attrs = (struct.pack("=HH", 8, 1) + b"abcd" + struct.pack("=HH", 6, 2) + b"xy\0\0"
             + struct.pack("=HH", 20, 0x8003) + struct.pack("=HH", 8, 5) + b"1234"
             + struct.pack("=HH", 8, 6) + b"5678" + struct.pack("=HH", 5, 7) + b"z\0\0\0")
    base = corpus.eth(corpus.MAC_RX, corpus.MAC_TX, 0x88B5, corpus.pad(86))
    frames.append(base + attrs + corpus.pad(1200 - len(base) - len(attrs)))
    return frames


def _tails() -> list[list[bpf.Instruction]]:
    """Endings that map A to an accept length 1..1024 through four bit windows."""
    out = []
    for shift in (0, 10, 20, 22):
        t = [stmt(C.ALU | A.RSH | X.K, shift)] if shift else []
        out.append(t + [stmt(C.ALU | A.AND | X.K, 0x3FF), stmt(C.ALU | A.ADD | X.K, 1), RET_A])
    return out


LDW, LDH, LDB = C.LD | S.W | M.ABS, C.LD | S.H | M.ABS, C.LD | S.B | M.ABS
LDWI, LDHI, LDBI = C.LD | S.W | M.IND, C.LD | S.H | M.IND, C.LD | S.B | M.IND

#: (name, instructions that leave a value in A); each runs with every tail
COMPUTE: list[tuple[str, list[bpf.Instruction]]] = [
    ("ld [14]", [stmt(LDW, 14)]),
    ("ldh [12]", [stmt(LDH, 12)]),
    ("ldb [23]", [stmt(LDB, 23)]),
    ("ld [x + 10]", [stmt(C.LDX | M.IMM, 4), stmt(LDWI, 10)]),
    ("ldh [x + 20]", [stmt(C.LDX | M.IMM, 16), stmt(LDHI, 20)]),
    ("ldb [x + 15] wrapping", [stmt(C.LDX | M.IMM, 0xFFFFFFFF), stmt(LDBI, 15)]),
    ("ldh [x - 4] wrapping", [stmt(C.LDX | M.IMM, 16), stmt(LDHI, -4)]),
    ("ld #pktlen", [stmt(C.LD | S.W | M.LEN)]),
    ("ldx #pktlen; txa", [stmt(C.LDX | S.W | M.LEN), stmt(C.MISC | BPF_MISCOP.TXA)]),
    ("ld #imm", [stmt(C.LD | M.IMM, 0xDEADBEEF)]),
    ("ldxb 4*([14]&0xf)", [stmt(C.LDX | S.B | M.MSH, 14), stmt(C.MISC | BPF_MISCOP.TXA)]),
    ("ldb net+9", [stmt(LDB, SKF_NET_OFF + 9)]),
    ("ld net+12", [stmt(LDW, SKF_NET_OFF + 12)]),
    ("ldh ll+12", [stmt(LDH, SKF_LL_OFF + 12)]),
    ("ldb [x + net]", [stmt(C.LDX | M.IMM, 2), stmt(LDBI, SKF_NET_OFF + 7)]),
    ("st/ldx M", [stmt(LDW, 26), stmt(C.ST, 3), stmt(C.LD | M.IMM, 0), stmt(C.LDX | M.MEM, 3),
                  stmt(C.MISC | BPF_MISCOP.TXA)]),
    ("stx/ld M", [stmt(C.LDX | S.B | M.MSH, 14), stmt(C.STX, 15), stmt(C.LD | M.IMM, 7),
                  stmt(C.LD | M.MEM, 15)]),
    ("tax; neg", [stmt(LDW, 14), stmt(C.MISC | BPF_MISCOP.TAX), stmt(C.ALU | A.NEG),
                  stmt(C.ALU | A.ADD | X.X)]),
    *[(f"{op.name.lower()} #k", [stmt(LDW, 26), stmt(C.ALU | op | X.K, k)]) for op, k in (
        (A.ADD, 0x89ABCDEF), (A.SUB, 0x100), (A.MUL, 2654435761), (A.DIV, 7), (A.MOD, 1000),
        (A.AND, 0xF0F0F0F0), (A.OR, 0x80000001), (A.XOR, 0xDEADBEEF), (A.LSH, 5), (A.RSH, 3))],
    *[(f"{op.name.lower()} x={x}", [stmt(LDW, 26), stmt(C.LDX | M.IMM, x), stmt(C.ALU | op | X.X)])
      for op, x in ((A.ADD, 0xFFFFFFFF), (A.SUB, 0x12345678), (A.MUL, 0x10001), (A.DIV, 3),
                    (A.DIV, 0), (A.MOD, 0), (A.MOD, 77), (A.AND, 0xFF00), (A.OR, 0xF),
                    (A.XOR, 0xFFFFFFFF), (A.LSH, 33), (A.RSH, 40), (A.LSH, 31), (A.RSH, 0))],
    ("ancillary protocol", [stmt(LDH, SKF_AD_OFF + SKF_AD.PROTOCOL)]),
    ("ancillary pkttype", [stmt(LDB, SKF_AD_OFF + SKF_AD.PKTTYPE)]),
    ("ancillary ifindex", [stmt(LDW, SKF_AD_OFF + SKF_AD.IFINDEX)]),
    ("ancillary hatype", [stmt(LDH, SKF_AD_OFF + SKF_AD.HATYPE)]),
    ("ancillary mark", [stmt(LDW, SKF_AD_OFF + SKF_AD.MARK)]),
    ("ancillary queue", [stmt(LDW, SKF_AD_OFF + SKF_AD.QUEUE)]),
    ("ancillary vlan tag", [stmt(LDH, SKF_AD_OFF + SKF_AD.VLAN_TAG)]),
    ("ancillary vlan present", [stmt(LDB, SKF_AD_OFF + SKF_AD.VLAN_TAG_PRESENT)]),
    ("ancillary vlan tpid", [stmt(LDH, SKF_AD_OFF + SKF_AD.VLAN_TPID)]),
    ("ancillary xor x", [stmt(LDW, 14), stmt(C.LDX | M.IMM, 0x0F0F0F0F),
                         stmt(LDW, SKF_AD_OFF + SKF_AD.ALU_XOR_X)]),
    *[(f"ancillary nla a={a} x={x}", [stmt(C.LD | M.IMM, a), stmt(C.LDX | M.IMM, x),
                                      stmt(LDW, SKF_AD_OFF + SKF_AD.NLATTR)])
      for a, x in ((100, 1), (100, 2), (100, 3), (100, 6), (100, 7), (108, 2), (1196, 1),
                   (1199, 1))],
    *[(f"ancillary nlan a={a} x={x}", [stmt(C.LD | M.IMM, a), stmt(C.LDX | M.IMM, x),
                                       stmt(LDW, SKF_AD_OFF + SKF_AD.NLATTR_NEST)])
      for a, x in ((116, 5), (116, 6), (116, 3), (100, 2))],
    ("out of bounds ldb", [stmt(LDB, 5000)]),
    ("out of bounds ld at the end", [stmt(LDW, 1198)]),
    ("out of bounds net+", [stmt(LDH, SKF_NET_OFF + 1190)]),
    ("below SKF_AD_OFF", [stmt(LDB, SKF_AD_OFF - 4)]),
    ("below SKF_LL_OFF", [stmt(LDB, SKF_LL_OFF - 1)]),
    ("k >= 2^31", [stmt(LDB, 0x80000000)]),
]


def _branching() -> list[tuple[str, list[bpf.Instruction]]]:
    """Jumps with every operation, K and X, constants with the top bit set, and ja."""
    out = []
    for op in (J.JEQ, J.JGT, J.JGE, J.JSET):
        for k in (0x45000000, 0x80000000, 0x02000000, 0xFFFFFFFF, 0x0800, 0x86DD):
            for src in (X.K, X.X):
                body = [stmt(LDW, 14)] if op is not J.JEQ else [stmt(LDH, 12)]
                if src is X.X:
                    body.append(stmt(C.LDX | M.IMM, k))
                out.append((f"{op.name.lower()} {src.name} {k:#x}", body + [
                    jump(C.JMP | op | src, k, 1, 0), stmt(C.RET | BPF_RVAL.K, 100),
                    stmt(C.RET | BPF_RVAL.K, 200)]))
    out.append(("ja", [stmt(C.JMP | J.JA, 1), stmt(C.RET | BPF_RVAL.K, 0),
                       stmt(C.RET | BPF_RVAL.K, 300)]))
    out.append(("ret #0", [stmt(C.RET | BPF_RVAL.K, 0)]))
    out.append(("ret #60", [stmt(C.RET | BPF_RVAL.K, 60)]))
    out.append(("ret #0xffffffff", [stmt(C.RET | BPF_RVAL.K, 0xFFFFFFFF)]))
    return out


def test_kernel_runs_hand_built_programs_as_the_interpreter_does(wire: Wire) -> None:
    frames = _probe_frames()
    views = wire.views(frames)
    programs = [(f"{name} / tail {i}", Program(tuple(body + tail)))
                for name, body in COMPUTE for i, tail in enumerate(_tails())]
    programs += [(name, Program(tuple(body))) for name, body in _branching()]
    wrong = []
    for name, program in programs:
        attach_filter(wire.filtered, program)
        got = wire.exchange(frames)
        want = predicted(program, views)
        if got != want:
            wrong.append((name, [len(g) for g in got], [len(w) for w in want]))
    assert wrong == []
    assert len(programs) > 300


# -- the checker: the kernel refuses exactly what validate() refuses -------------------------------
def test_kernel_refuses_what_validate_refuses_and_names_the_rule() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for rule, program in corpus.BAD_PROGRAMS:
            with pytest.raises(EncodeError, match=rf"\[rule: {rule}\]") as info:
                attach_filter(s, program)
            cause = info.value.__cause__
            assert isinstance(cause, OSError) and cause.errno == errno.EINVAL, rule
            assert "the kernel refused the program (EINVAL)" in str(info.value)
        for program in corpus.GOOD_PROGRAMS:
            attach_filter(s, program)
        assert detach_filter(s) is True


def test_lock_filter_makes_attach_and_detach_fail_with_eperm(wire: Wire) -> None:
    frames = [f for _, f in corpus.FRAMES[:6]]
    keep_60 = Program((stmt(C.RET | BPF_RVAL.K, 60),))
    attach_filter(wire.filtered, keep_60, lock=True)
    with pytest.raises(FilterLocked, match=r"SO_ATTACH_FILTER: .*locked \(SO_LOCK_FILTER, EPERM\)") \
            as info:
        attach_filter(wire.filtered, Program((stmt(C.RET | BPF_RVAL.K, 0),)))
    assert isinstance(info.value, PermissionError) and info.value.errno == errno.EPERM
    with pytest.raises(FilterLocked, match=r"SO_DETACH_FILTER"):
        detach_filter(wire.filtered)
    lock_filter(wire.filtered)  # locking again is allowed
    # the locked filter is still the one in force
    assert wire.exchange(frames) == [f[:60] for f in frames]


def test_detach_filter_reports_whether_there_was_one(wire: Wire) -> None:
    frames = [f for _, f in corpus.FRAMES[:4]]
    assert detach_filter(wire.filtered) is False  # the kernel's ENOENT
    attach_filter(wire.filtered, Program((stmt(C.RET | BPF_RVAL.K, 0),)))
    assert wire.exchange(frames) == []
    assert detach_filter(wire.filtered) is True
    assert wire.exchange(frames) == frames


def test_a_locked_socket_without_a_filter_takes_none() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        lock_filter(s.fileno())
        with pytest.raises(FilterLocked):
            attach_filter(s.fileno(), Program((stmt(C.RET | BPF_RVAL.K, 0),)))


def test_bytecode_from_tcpdump_attaches_without_libpcap(wire: Wire,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [f for _, f in corpus.FRAMES]
    monkeypatch.setenv("NETRING_LIBPCAP", "none")
    ddd = sh("tcpdump", "-ddd", "udp port 53", check=True).stdout
    program = compile_filter(ddd)
    assert program.source == "bytecode"
    attach_filter(wire.filtered, program)
    got = wire.exchange(frames)
    assert len(got) == 4 and got == predicted(program, wire.views(frames))
