"""Classic BPF, pure side: constants, programs, bytecode text, the checker, the
interpreter and the disassembler; and the edge's no-libpcap path."""

from __future__ import annotations

import dataclasses
import pathlib
import re
import struct

import bpf_corpus as corpus
import pytest

from netring.errors import DecodeError, EncodeError, NotSupportedError
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
    OPCODES,
    SKF_AD,
    SKF_AD_OFF,
    SKF_LL_OFF,
    SKF_NET_OFF,
    Program,
    disassemble,
    format_dd,
    format_ddd,
    jump,
    looks_like_bytecode,
    parse_ddd,
    run,
    stmt,
    validate,
)
from netring.packet.edge import filter as edge

C, S, M, A, J, X, R = BPF_CLASS, BPF_SIZE, BPF_MODE, BPF_ALU_OP, BPF_JMP_OP, BPF_SRC, BPF_RVAL
RET_A = stmt(C.RET | R.A)
LDW, LDH, LDB = C.LD | S.W | M.ABS, C.LD | S.H | M.ABS, C.LD | S.B | M.ABS


def prog(*insns: bpf.Instruction) -> Program:
    return Program(insns)


# -- constants ----------------------------------------------------------------------------------------
def _header_defines() -> dict[str, int]:
    found: dict[str, int] = {}
    for name in ("filter.h", "bpf_common.h"):
        path = pathlib.Path("/usr/include/linux") / name
        if not path.exists():
            pytest.skip(f"needs the kernel UAPI header {path} (linux-libc-dev)")
        for m in re.finditer(r"^#define\s+(\w+)\s+\(?(-?0x[0-9a-fA-F]+|-?\d+)\)?\s*(?:/\*.*)?$",
                             path.read_text(), re.M):
            found[m.group(1)] = int(m.group(2), 0)
    return found


def test_constants_equal_the_kernel_headers() -> None:
    defines = _header_defines()
    ours: dict[str, int] = {
        **{f"BPF_{e.name}": int(e) for e in BPF_CLASS},
        **{f"BPF_{e.name}": int(e) for e in BPF_SIZE},
        **{f"BPF_{e.name}": int(e) for e in BPF_MODE},
        **{f"BPF_{e.name}": int(e) for e in BPF_ALU_OP},
        **{f"BPF_{e.name}": int(e) for e in BPF_JMP_OP},
        **{f"BPF_{e.name}": int(e) for e in BPF_SRC},
        "BPF_A": int(BPF_RVAL.A),
        **{f"BPF_{e.name}": int(e) for e in BPF_MISCOP},
        **{f"SKF_AD_{e.name}": int(e) for e in SKF_AD},
        "SKF_AD_OFF": SKF_AD_OFF, "SKF_NET_OFF": SKF_NET_OFF, "SKF_LL_OFF": SKF_LL_OFF,
        "BPF_MAXINSNS": bpf.BPF_MAXINSNS, "BPF_MEMWORDS": bpf.BPF_MEMWORDS,
    }
    assert {k: defines.get(k) for k in ours} == ours
    # every SKF_AD_* the header defines is here
    assert {k for k in defines if k.startswith("SKF_AD_")} <= set(ours)


def test_struct_layouts() -> None:
    assert bpf.sock_filter.size == 8
    assert bpf.sock_filter.pack(0x28, 1, 2, 12) == struct.pack("=HBBI", 0x28, 1, 2, 12)
    assert bpf.sock_fprog.size == (16 if struct.calcsize("P") == 8 else 8)


def test_opcode_table_is_the_kernels_list() -> None:
    classes = [c & 7 for c in OPCODES]
    assert len(OPCODES) == 49
    assert classes.count(C.ALU) == 21 and classes.count(C.JMP) == 9
    assert classes.count(C.LD) + classes.count(C.LDX) == 13
    assert C.RET | R.X not in OPCODES and C.LDX | S.W | M.ABS not in OPCODES


# -- Program ------------------------------------------------------------------------------------------
def test_program_normalises_negative_k_and_packs_host_order() -> None:
    p = prog((LDH, 0, 0, SKF_AD_OFF + SKF_AD.PROTOCOL), stmt(C.RET | R.K, 0xFFFF))
    assert p.instructions[0] == (LDH, 0, 0, 0xFFFFF000)
    assert p.to_bytes() == struct.pack("=HBBIHBBI", LDH, 0, 0, 0xFFFFF000, 6, 0, 0, 0xFFFF)
    assert len(p) == 2 and p.source == "bytecode" and p.expression is None
    assert Program.from_bytes(p.to_bytes()) == p
    assert repr(p) == "<Program 2 instructions, source='bytecode'>"
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.source = "libpcap"  # type: ignore[misc]
    assert hash(p) == hash(Program(p.instructions))


@pytest.mark.parametrize(("insn", "message"), [
    ((0x10000, 0, 0, 0), r"instruction 0: code 65536 is out of range 0\.\.65535"),
    ((6, 256, 0, 0), r"jt 256 is out of range 0\.\.255"),
    ((6, 0, -1, 0), r"jf -1 is out of range"),
    ((6, 0, 0, 1 << 32), r"k 4294967296 is out of range -2147483648\.\.4294967295"),
    ((6, 0, 0, -(1 << 31) - 1), r"k -2147483649 is out of range"),
    ((6, 0, 0), r"is not four integers"),
    (("ret", 0, 0, 0), r"is not four integers"),
])
def test_program_rejects_bad_fields(insn: tuple[object, ...], message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        Program((insn,))  # type: ignore[arg-type]


def test_program_source_and_from_bytes_length() -> None:
    with pytest.raises(EncodeError, match="source 'tcpdump'"):
        Program((stmt(6),), "tcpdump")
    with pytest.raises(DecodeError, match="12 bytes is not a multiple of 8"):
        Program.from_bytes(bytes(12))


# -- bytecode text -------------------------------------------------------------------------------------
SAMPLE = prog(stmt(LDH, 12), jump(C.JMP | J.JEQ | X.K, 0x86DD, 0, 3), stmt(LDB, 20),
              jump(C.JMP | J.JSET | X.K, 0x80000000, 1, 0), stmt(C.RET | R.K, 262144),
              stmt(C.RET | R.K, 0), stmt(LDW, SKF_AD_OFF + SKF_AD.IFINDEX), RET_A)


def test_ddd_and_dd_round_trip() -> None:
    ddd = format_ddd(SAMPLE)
    assert ddd.splitlines()[:3] == ["8", "40 0 0 12", "21 0 3 34525"]
    assert ddd.splitlines()[7] == "32 0 0 4294963208"
    assert parse_ddd(ddd) == SAMPLE
    dd = format_dd(SAMPLE)
    assert dd.splitlines()[1] == "{ 0x15, 0, 3, 0x000086dd },"
    assert parse_ddd(dd) == SAMPLE
    assert parse_ddd(ddd.strip().replace("\n", ",")) == SAMPLE  # iptables' bpf match form
    assert parse_ddd("\n\n" + ddd + "\n\n") == SAMPLE


def test_dd_inside_a_c_array_with_comments() -> None:
    text = ("/* tcpdump -dd ip */\nstruct sock_filter code[] = {\n"
            "\t{ 0x28, 0, 0, 0x0000000c },  // ldh [12]\n"
            "\t{ 0x15, 0, 1, 0x00000800 },\n\t{ 0x6, 0, 0, 0x00040000 },\n"
            "\t{ 0x6, 0, 0, 0x00000000 }\n};\n")
    assert parse_ddd(text).instructions == (
        (0x28, 0, 0, 12), (0x15, 0, 1, 0x800), (6, 0, 0, 0x40000), (6, 0, 0, 0))


def test_ddd_takes_hex_and_negative_k() -> None:
    assert parse_ddd("2\n0x28 0 0 -4096\n6 0 0 0xFFFF").instructions == (
        (0x28, 0, 0, 0xFFFFF000), (6, 0, 0, 0xFFFF))


@pytest.mark.parametrize(("text", "message"), [
    ("", r"the text is empty"),
    ("   \n ", r"the text is empty"),
    ("ip and tcp", r"line 1: expected the instruction count \(tcpdump -ddd format\), got 'ip and tcp'"),
    ("3\n40 0 0 12\n6 0 0 0", r"line 1: the count says 3 instructions, 2 follow"),
    ("2\n40 0 0\n6 0 0 0", r"line 2: expected 4 integers 'code jt jf k', got '40 0 0'"),
    ("2\n40 0 0 12\n\n6 0 x 0", r"line 4: expected 4 integers 'code jt jf k', got '6 0 x 0'"),
    ("1\n6 0 300 0", r"line 2: jf 300 is out of range 0\.\.255"),
    ("1\n6 0 0 4294967296", r"line 2: k 4294967296 is out of range"),
    ("2,40 0 0 12,6 0 0", r"item 3: expected 4 integers"),
    ("{ 0x28, 0, 0, 0xc },\n0x6, 0, 0, 0\n", r"line 2: unexpected '0x6' outside a"),
    ("{ 0x28, 0, 0xc },", r"line 1: expected 4 integers 'code jt jf k', got '\{ 0x28, 0, 0xc \}'"),
    ("{ }", r"line 1: empty \{ \} group"),
    ("{;", r"no \{ code, jt, jf, k \} groups"),
    ("{ 0x28, 0, 0, 12 ", r"line 1: unexpected '0x28' outside a \{ code, jt, jf, k \} group"),
])
def test_parse_ddd_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        parse_ddd(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n", True),
    ("4,40 0 0 12,21 0 1 2048,6 0 0 262144,6 0 0 0", True),
    ("{ 0x6, 0, 0, 0x00000000 },", True),
    ("  12\n", True),
    ("tcp port 80", False),
    ("100 < len", False),
    ("ip[8] < 5", False),
    ("", False),
    (" \n ", False),
])
def test_looks_like_bytecode(text: str, expected: bool) -> None:
    assert looks_like_bytecode(text) is expected


# -- the checker ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rule", "program"), corpus.BAD_PROGRAMS,
                         ids=[f"{r}-{i}" for i, (r, _) in enumerate(corpus.BAD_PROGRAMS)])
def test_validate_names_the_rule(rule: str, program: Program) -> None:
    with pytest.raises(EncodeError, match=rf"^BPF program rejected: .*\[rule: {rule}\]$"):
        validate(program)


@pytest.mark.parametrize("program", corpus.GOOD_PROGRAMS)
def test_validate_takes_good_programs(program: Program) -> None:
    validate(program)


@pytest.mark.parametrize(("program", "numbers"), [
    (Program((stmt(C.RET | R.K),) * 4097), "4097 instructions; the kernel takes 1..4096"),
    (prog(RET_A, stmt(C.ALU | A.DIV | X.K, 0), RET_A), "instruction 1 `div      #0`"),
    (prog(stmt(C.ALU | A.LSH | X.K, 40), RET_A), "shift by 40; the kernel takes 0..31"),
    (prog(stmt(C.ST, 16), RET_A), "scratch memory index 16 >= BPF_MEMWORDS (16)"),
    (prog(stmt(LDH, 12), jump(C.JMP | J.JEQ | X.K, 0x800, 2, 0), RET_A, RET_A),
     "instruction 1 `jeq      #0x800           jt 4\tjf 2`: jt target 4 is past the last "
     "instruction (3)"),
    (prog(RET_A, stmt(C.JMP | J.JA, 0xFFFFFFF0), RET_A),
     "jump offset 4294967280 (-16) lands on -14, backwards"),
    (prog(stmt(LDB, SKF_AD_OFF + 13), RET_A), "offset SKF_AD_OFF + 13 is no ancillary field"),
    (prog(stmt(C.LD | M.IMM, 1)), "instruction 0 `ld       #0x1`: the last instruction must be"),
    (prog(stmt(C.LDX | M.MEM, 7), RET_A), "M[7] is read before it is written"),
])
def test_validate_messages_carry_the_numbers(program: Program, numbers: str) -> None:
    with pytest.raises(EncodeError) as info:
        validate(program)
    assert numbers in str(info.value)


def test_validate_checks_in_the_kernels_order() -> None:
    # a bad opcode at 0 is found before the missing ret at the end
    with pytest.raises(EncodeError, match=r"\[rule: opcode\]"):
        validate(prog(stmt(0xFF), stmt(C.LD | M.IMM, 1)))
    # per-instruction rules come before the last-ret rule and the scratch walk
    with pytest.raises(EncodeError, match=r"\[rule: shift\]"):
        validate(prog(stmt(C.LD | M.MEM, 0), stmt(C.ALU | A.RSH | X.K, 32)))


# -- the interpreter -------------------------------------------------------------------------------------
PKT = bytes(range(1, 61))  # 60 bytes: 01 02 03 ... 3c


def _ret_a(*body: bpf.Instruction) -> Program:
    return prog(*body, RET_A)


@pytest.mark.parametrize(("body", "a"), [
    ((stmt(LDW, 0),), 0x01020304),
    ((stmt(LDH, 1),), 0x0203),
    ((stmt(LDB, 59),), 60),
    ((stmt(LDW, 56),), 0x393A3B3C),
    ((stmt(C.LDX | M.IMM, 2), stmt(C.LD | S.B | M.IND, 1)), 4),
    ((stmt(C.LDX | M.IMM, 0xFFFFFFFF), stmt(C.LD | S.H | M.IND, 2)), 0x0203),  # X + k wraps
    ((stmt(C.LDX | M.IMM, 10), stmt(C.LD | S.W | M.IND, -2)), 0x090A0B0C),
    ((stmt(C.LD | S.W | M.LEN),), 60),
    ((stmt(C.LDX | S.W | M.LEN), stmt(C.MISC | BPF_MISCOP.TXA)), 60),
    ((stmt(C.LD | M.IMM, 0xCAFEF00D),), 0xCAFEF00D),
    ((stmt(C.LDX | S.B | M.MSH, 4), stmt(C.MISC | BPF_MISCOP.TXA)), 20),  # 4 * (0x05 & 0xf)
    ((stmt(C.LD | M.IMM, 9), stmt(C.LDX | S.B | M.MSH, 0)), 9),  # MSH leaves A alone
    ((stmt(C.LD | M.IMM, 7), stmt(C.ST, 15), stmt(C.LD | M.IMM, 0), stmt(C.LD | M.MEM, 15)), 7),
    ((stmt(C.LDX | M.IMM, 8), stmt(C.STX, 0), stmt(C.LDX | M.IMM, 0), stmt(C.LDX | M.MEM, 0),
      stmt(C.MISC | BPF_MISCOP.TXA)), 8),
    ((stmt(C.LD | M.IMM, 5), stmt(C.MISC | BPF_MISCOP.TAX), stmt(C.LD | M.IMM, 0),
      stmt(C.ALU | A.ADD | X.X)), 5),
    ((stmt(LDB, SKF_NET_OFF + 0),), 15),  # net_offset 14: byte 14
    ((stmt(LDH, SKF_LL_OFF + 12),), 0x0D0E),
])
def test_loads_and_moves(body: tuple[bpf.Instruction, ...], a: int) -> None:
    assert run(_ret_a(*body), PKT, net_offset=14) == a


@pytest.mark.parametrize("body", [
    (stmt(LDW, 57),),  # the word would end past the packet
    (stmt(LDH, 59),),
    (stmt(LDB, 60),),
    (stmt(LDB, 0x80000000),),  # a negative offset below SKF_LL_OFF
    (stmt(LDB, SKF_LL_OFF - 1),),
    (stmt(LDB, SKF_AD_OFF - 1),),  # SKF_NET_OFF-relative, far past the end
    (stmt(LDB, SKF_NET_OFF + 46),),  # 14 + 46 = 60
    (stmt(C.LDX | M.IMM, 59), stmt(C.LD | S.H | M.IND, 0)),
    (stmt(C.LDX | S.B | M.MSH, 60),),
])
def test_out_of_bounds_loads_end_with_zero(body: tuple[bpf.Instruction, ...]) -> None:
    assert run(prog(*body, stmt(C.RET | R.K, 99)), PKT, net_offset=14) == 0


def test_wirelen_is_bpf_len_but_loads_reach_only_the_bytes_given() -> None:
    assert run(_ret_a(stmt(C.LD | S.W | M.LEN)), PKT, wirelen=1500) == 1500
    assert run(prog(stmt(LDB, 100), stmt(C.RET | R.K, 1)), PKT, wirelen=1500) == 0


@pytest.mark.parametrize(("a", "op", "v", "result"), [
    (0xFFFFFFFF, A.ADD, 2, 1),
    (0, A.SUB, 1, 0xFFFFFFFF),
    (0x10000, A.MUL, 0x10000, 0),
    (0xFFFFFFFF, A.MUL, 0xFFFFFFFF, 1),
    (7, A.DIV, 2, 3),
    (0xFFFFFFFF, A.DIV, 0x10000, 0xFFFF),
    (7, A.MOD, 4, 3),
    (0xF0, A.AND, 0x3C, 0x30),
    (0xF0, A.OR, 0x0F, 0xFF),
    (0xFF, A.XOR, 0x0F, 0xF0),
    (1, A.LSH, 31, 0x80000000),
    (0x80000000, A.RSH, 31, 1),
])
def test_alu_is_32_bit(a: int, op: BPF_ALU_OP, v: int, result: int) -> None:
    k = prog(stmt(C.LD | M.IMM, a), stmt(C.ALU | op | X.K, v), RET_A)
    x = prog(stmt(C.LD | M.IMM, a), stmt(C.LDX | M.IMM, v), stmt(C.ALU | op | X.X), RET_A)
    assert run(k, PKT) == result
    assert run(x, PKT) == result


def test_neg_and_shifts_by_x_past_31() -> None:
    assert run(_ret_a(stmt(C.LD | M.IMM, 1), stmt(C.ALU | A.NEG)), PKT) == 0xFFFFFFFF
    # the kernel masks a 32-bit shift count to 5 bits (libpcap's bpf_filter gives 0 instead)
    assert run(_ret_a(stmt(C.LD | M.IMM, 1), stmt(C.LDX | M.IMM, 33),
                      stmt(C.ALU | A.LSH | X.X)), PKT) == 2
    assert run(_ret_a(stmt(C.LD | M.IMM, 0x100), stmt(C.LDX | M.IMM, 40),
                      stmt(C.ALU | A.RSH | X.X)), PKT) == 1


@pytest.mark.parametrize("op", [A.DIV, A.MOD])
def test_division_by_x_zero_ends_with_zero(op: BPF_ALU_OP) -> None:
    program = prog(stmt(C.LD | M.IMM, 10), stmt(C.LDX | M.IMM, 0), stmt(C.ALU | op | X.X),
                   stmt(C.RET | R.K, 99))
    assert run(program, PKT) == 0


@pytest.mark.parametrize(("op", "a", "k", "taken"), [
    (J.JEQ, 5, 5, True), (J.JEQ, 5, 6, False),
    (J.JGT, 0xFFFFFFFF, 0x80000000, True),  # unsigned: the top bit is not a sign
    (J.JGT, 5, 5, False), (J.JGE, 5, 5, True), (J.JGE, 0x7FFFFFFF, 0x80000000, False),
    (J.JSET, 0x10, 0x11, True), (J.JSET, 0x10, 0x01, False),
])
def test_conditional_jumps(op: BPF_JMP_OP, a: int, k: int, taken: bool) -> None:
    tail = (stmt(C.RET | R.K, 1), stmt(C.RET | R.K, 2))
    with_k = prog(stmt(C.LD | M.IMM, a), jump(C.JMP | op | X.K, k, 0, 1), *tail)
    with_x = prog(stmt(C.LD | M.IMM, a), stmt(C.LDX | M.IMM, k), jump(C.JMP | op | X.X, 0, 0, 1),
                  *tail)
    assert run(with_k, PKT) == run(with_x, PKT) == (1 if taken else 2)


def test_ja_and_ret() -> None:
    program = prog(stmt(C.JMP | J.JA, 1), stmt(C.RET | R.K, 1), stmt(C.RET | R.K, 0xFFFFFFFF))
    assert run(program, PKT) == 0xFFFFFFFF  # more than the packet: a socket keeps it whole
    assert run(prog(stmt(C.RET | R.K, 0)), PKT) == 0


def test_ancillary_loads() -> None:
    anc = {SKF_AD.PROTOCOL: 0x0800, SKF_AD.PKTTYPE: 3, SKF_AD.IFINDEX: 300,
           SKF_AD.MARK: 0x1_0000_0005, SKF_AD.VLAN_TAG_PRESENT: 1}
    for ad, size, want in ((SKF_AD.PROTOCOL, LDH, 0x0800), (SKF_AD.PKTTYPE, LDB, 3),
                           (SKF_AD.IFINDEX, LDB, 300),  # the width is ignored
                           (SKF_AD.MARK, LDW, 5), (SKF_AD.VLAN_TAG_PRESENT, LDB, 1)):
        assert run(_ret_a(stmt(size, SKF_AD_OFF + ad)), PKT, ancillary=anc) == want
    xor = _ret_a(stmt(C.LD | M.IMM, 0xF0), stmt(C.LDX | M.IMM, 0xFF),
                 stmt(LDW, SKF_AD_OFF + SKF_AD.ALU_XOR_X))
    assert run(xor, PKT) == 0x0F
    with pytest.raises(EncodeError, match=r"instruction 0 `ld       \[queue\]`: the program loads "
                                          r"SKF_AD_QUEUE; pass it as run\(\.\.\., ancillary="):
        run(_ret_a(stmt(LDW, SKF_AD_OFF + SKF_AD.QUEUE)), PKT, ancillary=anc)


def test_net_relative_load_needs_net_offset() -> None:
    with pytest.raises(EncodeError, match=r"SKF_NET_OFF needs run\(\.\.\., net_offset=N\)"):
        run(_ret_a(stmt(LDB, SKF_NET_OFF)), PKT)


def _nla(type_: int, payload: bytes) -> bytes:
    body = struct.pack("=HH", 4 + len(payload), type_) + payload
    return body + bytes(-len(body) % 4)


def test_netlink_attribute_loads() -> None:
    nested = _nla(5, b"1234") + _nla(6, b"5678")
    attrs = _nla(1, b"abcd") + _nla(2, b"xy") + _nla(0x8003, nested) + _nla(7, b"z")
    pkt = bytes(16) + attrs  # attributes from byte 16

    def nla(a: int, x: int, nest: bool = False) -> int:
        ad = SKF_AD.NLATTR_NEST if nest else SKF_AD.NLATTR
        return run(_ret_a(stmt(C.LD | M.IMM, a), stmt(C.LDX | M.IMM, x),
                          stmt(LDW, SKF_AD_OFF + ad)), pkt)

    assert [nla(16, t) for t in (1, 2, 3, 7, 9)] == [16, 24, 32, 52, 0]  # 0x8003: NLA_F_NESTED
    assert nla(24, 1) == 0  # the search starts at A
    assert nla(len(pkt) - 3, 1) == 0  # no room for a header at A
    assert [nla(32, t, nest=True) for t in (5, 6, 1)] == [36, 44, 0]
    assert nla(16, 5, nest=True) == 0  # "abcd" read as an attribute header is too long
    broken = bytes(16) + struct.pack("=HH", 3, 1) + _nla(2, b"ok")
    assert run(_ret_a(stmt(C.LD | M.IMM, 16), stmt(C.LDX | M.IMM, 2),
                      stmt(LDW, SKF_AD_OFF + SKF_AD.NLATTR)), broken) == 0  # stops at len 3


def test_run_checks_the_program_and_takes_any_buffer() -> None:
    with pytest.raises(EncodeError, match=r"\[rule: last-ret\]"):
        run(prog(stmt(C.LD | M.IMM, 1)), PKT)
    program = _ret_a(stmt(LDB, 2))
    assert run(program, memoryview(PKT)) == run(program, bytearray(PKT)) == 3


def test_libpcap_style_program_over_the_corpus() -> None:
    # `tcp port 80`, as libpcap 1.10 compiles it for Ethernet
    text = ("20\n40 0 0 12\n21 0 6 34525\n48 0 0 20\n21 0 15 6\n40 0 0 54\n21 12 0 80\n"
            "40 0 0 56\n21 10 11 80\n21 0 10 2048\n48 0 0 23\n21 0 8 6\n40 0 0 20\n"
            "69 6 0 8191\n177 0 0 14\n72 0 0 14\n21 2 0 80\n72 0 0 16\n21 0 1 80\n"
            "6 0 0 262144\n6 0 0 0\n")
    program = parse_ddd(text)
    hits = {name for name, f in corpus.FRAMES if run(program, f)}
    assert hits == {"v4 tcp syn :80", "v4 tcp syn-ack from :80", "v4 options tcp syn :80",
                    "v4 tcp psh-ack :80 1000B", "v4 ttl 1 tcp :80", "v4 192.168 tcp :80",
                    "v4 tcp cut at 4B", "v6 tcp syn :80", "v4 tcp :80 1400B", "v4 tcp ecn cwr"}


# -- disassembly ---------------------------------------------------------------------------------------
ALL_OPCODES = [
    ((C.RET | R.K, 0, 0, 262144), "ret      #262144"),
    ((C.RET | R.A, 0, 0, 0), "ret"),
    ((LDW, 0, 0, 12), "ld       [12]"),
    ((LDH, 0, 0, 12), "ldh      [12]"),
    ((LDB, 0, 0, 23), "ldb      [23]"),
    ((C.LD | S.W | M.LEN, 0, 0, 0), "ld       #pktlen"),
    ((C.LDX | S.W | M.LEN, 0, 0, 0), "ldx      #pktlen"),
    ((C.LD | S.W | M.IND, 0, 0, 14), "ld       [x + 14]"),
    ((C.LD | S.H | M.IND, 0, 0, 16), "ldh      [x + 16]"),
    ((C.LD | S.B | M.IND, 0, 0, 0xFFFFFFFF), "ldb      [x + -1]"),
    ((C.LD | M.IMM, 0, 0, 0x800), "ld       #0x800"),
    ((C.LDX | M.IMM, 0, 0, 5), "ldx      #0x5"),
    ((C.LDX | S.B | M.MSH, 0, 0, 14), "ldxb     4*([14]&0xf)"),
    ((C.LD | M.MEM, 0, 0, 1), "ld       M[1]"),
    ((C.LDX | M.MEM, 0, 0, 2), "ldx      M[2]"),
    ((C.ST, 0, 0, 3), "st       M[3]"),
    ((C.STX, 0, 0, 4), "stx      M[4]"),
    ((C.JMP | J.JA, 0, 0, 2), "ja       {pc+3}"),
    ((C.JMP | J.JEQ | X.K, 1, 2, 0x86DD), "jeq      #0x86dd          jt {pc+2}\tjf {pc+3}"),
    ((C.JMP | J.JGT | X.K, 0, 0, 0xFFFFFFFF), "jgt      #0xffffffff      jt {pc+1}\tjf {pc+1}"),
    ((C.JMP | J.JGE | X.K, 3, 0, 10), "jge      #0xa             jt {pc+4}\tjf {pc+1}"),
    ((C.JMP | J.JSET | X.K, 0, 9, 0x1FFF), "jset     #0x1fff          jt {pc+1}\tjf {pc+10}"),
    ((C.JMP | J.JEQ | X.X, 0, 0, 0), "jeq      x                jt {pc+1}\tjf {pc+1}"),
    ((C.JMP | J.JGT | X.X, 0, 0, 0), "jgt      x                jt {pc+1}\tjf {pc+1}"),
    ((C.JMP | J.JGE | X.X, 0, 0, 0), "jge      x                jt {pc+1}\tjf {pc+1}"),
    ((C.JMP | J.JSET | X.X, 0, 0, 0), "jset     x                jt {pc+1}\tjf {pc+1}"),
    ((C.ALU | A.ADD | X.K, 0, 0, 0xFFFFFFFF), "add      #-1"),
    ((C.ALU | A.SUB | X.K, 0, 0, 7), "sub      #7"),
    ((C.ALU | A.MUL | X.K, 0, 0, 3), "mul      #3"),
    ((C.ALU | A.DIV | X.K, 0, 0, 4), "div      #4"),
    ((C.ALU | A.MOD | X.K, 0, 0, 5), "mod      #5"),
    ((C.ALU | A.AND | X.K, 0, 0, 0xF), "and      #0xf"),
    ((C.ALU | A.OR | X.K, 0, 0, 0x10), "or       #0x10"),
    ((C.ALU | A.XOR | X.K, 0, 0, 0xFF), "xor      #0xff"),
    ((C.ALU | A.LSH | X.K, 0, 0, 2), "lsh      #2"),
    ((C.ALU | A.RSH | X.K, 0, 0, 6), "rsh      #6"),
    *[((C.ALU | op | X.X, 0, 0, 0), f"{op.name.lower():<8} x") for op in BPF_ALU_OP
      if op is not A.NEG],
    ((C.ALU | A.NEG, 0, 0, 0), "neg"),
    ((C.MISC | BPF_MISCOP.TAX, 0, 0, 0), "tax"),
    ((C.MISC | BPF_MISCOP.TXA, 0, 0, 0), "txa"),
]


def test_disassemble_every_opcode() -> None:
    assert {insn[0] for insn, _ in ALL_OPCODES} == set(OPCODES)
    program = Program(tuple(insn for insn, _ in ALL_OPCODES))
    lines = disassemble(program).splitlines()
    expected = []
    for pc, (_, text) in enumerate(ALL_OPCODES):
        text = re.sub(r"\{pc\+(\d+)\}", lambda m: str(pc + int(m.group(1))), text)  # noqa: B023
        expected.append(f"({pc:03d}) {text}")
    assert lines == expected
    assert disassemble(program).endswith("\n")


def test_disassemble_names_ancillary_offsets_and_unknown_codes() -> None:
    program = prog(stmt(LDH, SKF_AD_OFF + SKF_AD.PROTOCOL), stmt(LDB, SKF_AD_OFF + SKF_AD.PKTTYPE),
                   stmt(LDW, SKF_AD_OFF + SKF_AD.VLAN_TAG_PRESENT),
                   stmt(LDW, SKF_AD_OFF + SKF_AD.VLAN_TPID), stmt(LDW, SKF_AD_OFF + 64),
                   stmt(LDB, SKF_NET_OFF + 9), stmt(C.RET | R.X), stmt(C.JMP | J.JA, 0xFFFFFFF0))
    assert disassemble(program).splitlines() == [
        "(000) ldh      [proto]", "(001) ldb      [type]", "(002) ld       [vlanp]",
        "(003) ld       [vlan_tpid]", "(004) ld       [-4032]", "(005) ldb      [-1048567]",
        "(006) unimp    0xe", "(007) ja       -8"]


# -- the edge without libpcap ---------------------------------------------------------------------------
DDD_IP = "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n"


@pytest.fixture
def fresh_libpcap_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge, "_libs", {})


def test_no_libpcap_message_and_bytecode_still_works(monkeypatch: pytest.MonkeyPatch,
                                                     fresh_libpcap_cache: None) -> None:
    monkeypatch.setenv(edge.LIBPCAP_ENV, "none")
    with pytest.raises(NotSupportedError) as info:
        edge.compile_filter("tcp port 80")
    assert str(info.value) == (
        "tcpdump-syntax filters need libpcap (libpcap disabled by NETRING_LIBPCAP=none); pass "
        "bytecode in `tcpdump -ddd` format instead (for example the output of "
        "`tcpdump -ddd 'tcp port 80'`)")
    assert edge.libpcap_version() is None
    for text in (DDD_IP, DDD_IP.strip().replace("\n", ","), format_dd(parse_ddd(DDD_IP))):
        program = edge.compile_filter(text)
        assert program.source == "bytecode" and program.expression is None
        assert program.instructions == parse_ddd(DDD_IP).instructions
    assert edge.describe_source(program) == (
        "filter: 4 BPF instructions from bytecode (tcpdump -ddd/-dd text; libpcap not used)")
    with pytest.raises(EncodeError, match=r"\[rule: last-ret\]"):
        edge.compile_filter("1\n0 0 0 0")
    with pytest.raises(EncodeError, match=r"line 2: expected 4 integers"):
        edge.compile_filter("1\n6 0 0")


def test_no_libpcap_found(monkeypatch: pytest.MonkeyPatch, fresh_libpcap_cache: None) -> None:
    import ctypes.util

    monkeypatch.delenv(edge.LIBPCAP_ENV, raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(NotSupportedError, match=re.escape(
            "tcpdump-syntax filters need libpcap (libpcap0.8 not found: "
            "ctypes.util.find_library('pcap') found no libpcap.so); pass bytecode in "
            "`tcpdump -ddd` format instead")):
        edge.compile_filter("ip")


@pytest.mark.parametrize(("setting", "reason"), [
    ("/nonexistent/libpcap.so.0.8", "could not load /nonexistent/libpcap.so.0.8 (from "
                                    "NETRING_LIBPCAP)"),
    ("libc.so.6", "libc.so.6 is not a usable libpcap"),
])
def test_libpcap_that_does_not_load(monkeypatch: pytest.MonkeyPatch, fresh_libpcap_cache: None,
                                    setting: str, reason: str) -> None:
    monkeypatch.setenv(edge.LIBPCAP_ENV, setting)
    with pytest.raises(NotSupportedError, match=re.escape(reason)):
        edge.compile_filter("ip")


def test_pack_fprog_points_at_the_packed_instructions() -> None:
    fprog, buf = edge.pack_fprog(SAMPLE)
    length, address = bpf.sock_fprog.unpack(fprog)
    assert length == len(SAMPLE) and address == buf.buffer_info()[0]
    assert buf.tobytes() == SAMPLE.to_bytes()
    with pytest.raises(EncodeError, match=r"65536 instructions; .*\[rule: length\]"):
        edge.pack_fprog(Program((stmt(C.RET | R.K),) * 0x10000))
