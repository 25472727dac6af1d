"""Classic BPF socket filters on plain buffers: programs, bytecode text, the kernel's checker,
an interpreter and a disassembler.

Pure module: no system calls.  Attaching a program to a socket, and compiling a
tcpdump expression with libpcap, live in :mod:`netring.packet.edge.filter`.

A program is an array of ``struct sock_filter`` (include/uapi/linux/filter.h), host
byte order, 8 bytes each::

    0        2    3    4                 8
    +--------+----+----+-----------------+
    |  code  | jt | jf |        k        |      code = class | size/op | mode/src
    +--------+----+----+-----------------+      jt/jf: forward jump distances (u8)
       u16    u8   u8         u32              k: constant, offset or jump distance

    code bits (include/uapi/linux/bpf_common.h):
      7 6 5 4 3 2 1 0
      +-----+---+-----+
      | mode|sz |class|   BPF_LD / BPF_LDX:  BPF_MODE | BPF_SIZE | BPF_CLASS
      +-----+---+-----+
      |  op   |s|class|   BPF_ALU / BPF_JMP: BPF_OP | BPF_SRC (K or X) | BPF_CLASS
      +-------+-+-----+

The machine (the kernel runs it converted to eBPF, with these classic semantics):
32-bit accumulator ``A``, index register ``X``, 16 words of scratch memory
``M[0..15]``; every jump goes forward, so a program ends within its length.  Loads
past the end of the packet, and division by ``X == 0``, end the program with 0.
The return value is how many bytes of the packet to keep (0 = drop).

Negative load offsets reach outside the packet bytes (include/uapi/linux/filter.h)::

    SKF_AD_OFF  + n   (-0x1000 + n)   ancillary data (SKF_AD.*: protocol, pkttype, ifindex, ...)
    SKF_NET_OFF + n   (-0x100000 + n) byte n of the network header
    SKF_LL_OFF  + n   (-0x200000 + n) byte n of the link-layer header

Text formats (those of ``tcpdump -ddd``, ``-dd`` and ``-d``)::

    -ddd   4                          -dd   { 0x28, 0, 0, 0x0000000c },
           40 0 0 12                        { 0x15, 0, 1, 0x00000800 },
           21 0 1 2048                      { 0x6, 0, 0, 0x00040000 },
           6 0 0 262144                     { 0x6, 0, 0, 0x00000000 },
           6 0 0 0
                                      -d    (000) ldh      [12]
    (-ddd joined with commas, as             (001) jeq      #0x800           jt 2	jf 3
    iptables' bpf match takes it,            (002) ret      #262144
    is accepted too)                         (003) ret      #0

API::

    Program(instructions, source="bytecode", expression=None)   .to_bytes()  len()
    Program.from_bytes(data)               a sock_filter array back into a Program
    stmt(code, k) / jump(code, k, jt, jf)  BPF_STMT / BPF_JUMP
    parse_ddd(text) -> Program             -ddd, comma-joined -ddd, or -dd text
    format_ddd(program) / format_dd(program) -> str
    looks_like_bytecode(text) -> bool
    validate(program)                      the kernel's bpf_check_classic rules (EncodeError)
    run(program, packet, *, wirelen, ancillary, net_offset) -> int   accept length
    disassemble(program) -> str            tcpdump -d text
"""

from __future__ import annotations

import functools
import operator
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from ..codec.constants import NLA_TYPE_MASK
from ..codec.structs import nlattr
from ..errors import DecodeError, EncodeError

__all__ = [
    "BPF_CLASS",
    "BPF_SIZE",
    "BPF_MODE",
    "BPF_ALU_OP",
    "BPF_JMP_OP",
    "BPF_SRC",
    "BPF_RVAL",
    "BPF_MISCOP",
    "SKF_AD",
    "SKF_AD_OFF",
    "SKF_NET_OFF",
    "SKF_LL_OFF",
    "BPF_MAXINSNS",
    "BPF_MEMWORDS",
    "OPCODES",
    "sock_filter",
    "sock_fprog",
    "Instruction",
    "Program",
    "stmt",
    "jump",
    "parse_ddd",
    "format_ddd",
    "format_dd",
    "looks_like_bytecode",
    "validate",
    "run",
    "disassemble",
]


# -- constants (include/uapi/linux/bpf_common.h, include/uapi/linux/filter.h) -------------------
class BPF_CLASS(IntEnum):
    """Instruction classes, ``BPF_CLASS(code) = code & 0x07`` (``BPF_LD`` ... ``BPF_MISC``)."""

    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    RET = 0x06
    MISC = 0x07


class BPF_SIZE(IntEnum):
    """Load widths, ``BPF_SIZE(code) = code & 0x18`` (``BPF_W``, ``BPF_H``, ``BPF_B``)."""

    W = 0x00
    H = 0x08
    B = 0x10


class BPF_MODE(IntEnum):
    """Load modes, ``BPF_MODE(code) = code & 0xe0`` (``BPF_IMM`` ... ``BPF_MSH``)."""

    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    LEN = 0x80
    MSH = 0xA0


class BPF_ALU_OP(IntEnum):
    """ALU operations, ``BPF_OP(code) = code & 0xf0`` of a ``BPF_ALU`` (``BPF_ADD`` ...)."""

    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0


class BPF_JMP_OP(IntEnum):
    """Jump operations, ``BPF_OP(code) = code & 0xf0`` of a ``BPF_JMP`` (``BPF_JA`` ...)."""

    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40


class BPF_SRC(IntEnum):
    """Operand source, ``BPF_SRC(code) = code & 0x08``: the constant ``k`` or ``X``."""

    K = 0x00
    X = 0x08


class BPF_RVAL(IntEnum):
    """Return value source, ``BPF_RVAL(code) = code & 0x18`` (``BPF_K``, ``BPF_X``, ``BPF_A``).

    The kernel accepts ``ret #k`` and ``ret a`` only.
    """

    K = 0x00
    X = 0x08
    A = 0x10


class BPF_MISCOP(IntEnum):
    """``BPF_MISC`` operations, ``BPF_MISCOP(code) = code & 0xf8`` (``BPF_TAX``, ``BPF_TXA``)."""

    TAX = 0x00
    TXA = 0x80


class SKF_AD(IntEnum):
    """Ancillary data, loaded with an absolute load at ``SKF_AD_OFF + SKF_AD.*`` (``SKF_AD_*``).

    ``ALU_XOR_X`` is not a load: it computes ``A ^= X``.  ``MAX`` is the first unused offset.
    """

    PROTOCOL = 0
    PKTTYPE = 4
    IFINDEX = 8
    NLATTR = 12
    NLATTR_NEST = 16
    MARK = 20
    QUEUE = 24
    HATYPE = 28
    RXHASH = 32
    CPU = 36
    ALU_XOR_X = 40
    VLAN_TAG = 44
    VLAN_TAG_PRESENT = 48
    PAY_OFFSET = 52
    RANDOM = 56
    VLAN_TPID = 60
    MAX = 64


SKF_AD_OFF = -0x1000  # ancillary data
SKF_NET_OFF = -0x100000  # network header
SKF_LL_OFF = -0x200000  # link-layer header
BPF_MAXINSNS = 4096  # longest program the kernel takes (bpf_common.h)
BPF_MEMWORDS = 16  # scratch memory words M[0..15] (filter.h)

# struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; };   uapi/linux/filter.h
sock_filter = struct.Struct("=HBBI")
assert sock_filter.size == 8

# struct sock_fprog { unsigned short len; struct sock_filter __user *filter; };  uapi/linux/filter.h
# native alignment: 16 bytes on 64-bit (pointer at 8), 8 on 32-bit (pointer at 4)
sock_fprog = struct.Struct("@HP")
assert sock_fprog.size in (8, 16)

Instruction = tuple[int, int, int, int]  # (code, jt, jf, k)

_U32 = 0xFFFFFFFF
_AD_BASE = SKF_AD_OFF & _U32  # 0xfffff000: absolute loads at or above it are ancillary
_C, _S, _M, _A, _J, _X = BPF_CLASS, BPF_SIZE, BPF_MODE, BPF_ALU_OP, BPF_JMP_OP, BPF_SRC

# -- the opcode table ------------------------------------------------------------------------
# Every code the kernel's chk_code_allowed() accepts (net/core/filter.c), with its tcpdump -d
# mnemonic and operand form.  Operand forms: "#%d" k signed, "#0x%x" k in hex, "[abs]" an
# absolute load (ancillary offsets by name), "[x + %d]", "#pktlen", "4*([%d]&0xf)", "M[%d]",
# "x", "" (none), "ja" (the target instruction).
OPCODES: dict[int, tuple[str, str]] = {
    _C.RET | BPF_RVAL.K: ("ret", "#%d"),
    _C.RET | BPF_RVAL.A: ("ret", ""),
    _C.LD | _S.W | _M.ABS: ("ld", "[abs]"),
    _C.LD | _S.H | _M.ABS: ("ldh", "[abs]"),
    _C.LD | _S.B | _M.ABS: ("ldb", "[abs]"),
    _C.LD | _S.W | _M.LEN: ("ld", "#pktlen"),
    _C.LDX | _S.W | _M.LEN: ("ldx", "#pktlen"),
    _C.LD | _S.W | _M.IND: ("ld", "[x + %d]"),
    _C.LD | _S.H | _M.IND: ("ldh", "[x + %d]"),
    _C.LD | _S.B | _M.IND: ("ldb", "[x + %d]"),
    _C.LD | _M.IMM: ("ld", "#0x%x"),
    _C.LDX | _M.IMM: ("ldx", "#0x%x"),
    _C.LDX | _S.B | _M.MSH: ("ldxb", "4*([%d]&0xf)"),
    _C.LD | _M.MEM: ("ld", "M[%d]"),
    _C.LDX | _M.MEM: ("ldx", "M[%d]"),
    _C.ST: ("st", "M[%d]"),
    _C.STX: ("stx", "M[%d]"),
    _C.JMP | _J.JA: ("ja", "ja"),
    **{_C.JMP | op | _X.K: (op.name.lower(), "#0x%x") for op in (_J.JEQ, _J.JGT, _J.JGE, _J.JSET)},
    **{_C.JMP | op | _X.X: (op.name.lower(), "x") for op in (_J.JEQ, _J.JGT, _J.JGE, _J.JSET)},
    **{_C.ALU | op | _X.K: (op.name.lower(), "#0x%x" if op in (_A.AND, _A.OR, _A.XOR) else "#%d")
       for op in _A if op is not _A.NEG},
    **{_C.ALU | op | _X.X: (op.name.lower(), "x") for op in _A if op is not _A.NEG},
    _C.ALU | _A.NEG: ("neg", ""),
    _C.MISC | BPF_MISCOP.TAX: ("tax", ""),
    _C.MISC | BPF_MISCOP.TXA: ("txa", ""),
}
assert len(OPCODES) == 49  # the kernel's list: 21 ALU, 13 loads, 2 stores, 2 misc, 2 ret, 9 jumps

# Plain ints for the loops below (an enum attribute lookup costs more than the work).
_LD, _LDX, _ST, _STX, _ALU, _JMP, _RET = (int(c) for c in (_C.LD, _C.LDX, _C.ST, _C.STX, _C.ALU,
                                                            _C.JMP, _C.RET))
_ABS, _IND, _MEM, _IMM, _MSH = (int(m) for m in (_M.ABS, _M.IND, _M.MEM, _M.IMM, _M.MSH))
_ADD, _SUB, _MUL, _DIV, _OR, _AND, _LSH, _RSH, _NEG, _MOD, _XOR = (int(o) for o in _A)
_JA, _JEQ, _JGT, _JGE = (int(o) for o in (_J.JA, _J.JEQ, _J.JGT, _J.JGE))
_SRC_X, _RET_K, _TAX = int(_X.X), int(_C.RET | BPF_RVAL.K), int(BPF_MISCOP.TAX)
_DIVMOD_K = frozenset((_ALU | _DIV, _ALU | _MOD))
_SHIFT_K = frozenset((_ALU | _LSH, _ALU | _RSH))
_STORES = frozenset((_ST, _STX))
_MEM_LOADS = frozenset((_LD | _MEM, _LDX | _MEM))
_COND_JUMPS = frozenset(c for c in OPCODES if c & 0x07 == _C.JMP and c & 0xF0 != _J.JA)
_MEM_INSNS = frozenset((_C.LD | _M.MEM, _C.LDX | _M.MEM, _C.ST, _C.STX))
_ABS_LOADS = frozenset((_C.LD | _S.W | _M.ABS, _C.LD | _S.H | _M.ABS, _C.LD | _S.B | _M.ABS))
_RETS = frozenset((_C.RET | BPF_RVAL.K, _C.RET | BPF_RVAL.A))
_ANCILLARY = frozenset(int(a) for a in SKF_AD if a is not SKF_AD.MAX)
# libpcap's names for ancillary loads in tcpdump -d output
_AD_NAMES = {
    SKF_AD.PROTOCOL: "proto", SKF_AD.PKTTYPE: "type", SKF_AD.IFINDEX: "ifidx",
    SKF_AD.NLATTR: "nla", SKF_AD.NLATTR_NEST: "nlan", SKF_AD.MARK: "mark",
    SKF_AD.QUEUE: "queue", SKF_AD.HATYPE: "hatype", SKF_AD.RXHASH: "rxhash",
    SKF_AD.CPU: "cpu", SKF_AD.ALU_XOR_X: "xor_x", SKF_AD.VLAN_TAG: "vlan_tci",
    SKF_AD.VLAN_TAG_PRESENT: "vlanp", SKF_AD.PAY_OFFSET: "poff", SKF_AD.RANDOM: "random",
    SKF_AD.VLAN_TPID: "vlan_tpid",
}
_SOURCES = ("libpcap", "bytecode")


def _s32(v: int) -> int:
    return v - 0x100000000 if v & 0x80000000 else v


# -- the program ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Program:
    """A classic BPF program: ``sock_filter`` instructions and where they came from.

    Attributes:
        instructions: ``(code, jt, jf, k)`` tuples.  A negative ``k`` (such as
            ``SKF_AD_OFF + SKF_AD.PROTOCOL``) is stored as its 32-bit two's complement.
        source: ``"libpcap"`` (compiled from a tcpdump expression) or ``"bytecode"``
            (parsed from ``tcpdump -ddd``/``-dd`` text or built by hand).
        expression: the tcpdump expression it was compiled from, else ``None``.

    Construction checks field ranges only (``EncodeError``); :func:`validate` applies
    the kernel's rules.
    """

    instructions: tuple[Instruction, ...]
    source: str = "bytecode"
    expression: str | None = None

    def __post_init__(self) -> None:
        insns: list[Instruction] = []
        for i, insn in enumerate(self.instructions):
            try:
                code, jt, jf, k = (operator.index(v) for v in insn)
            except (TypeError, ValueError):
                raise EncodeError(
                    f"BPF instruction {i}: {insn!r} is not four integers (code, jt, jf, k)"
                ) from None
            _check_fields(code, jt, jf, k, f"BPF instruction {i}")
            insns.append((code, jt, jf, k & _U32))
        if self.source not in _SOURCES:
            raise EncodeError(f"BPF program source {self.source!r}: expected one of {_SOURCES}")
        object.__setattr__(self, "instructions", tuple(insns))

    def __len__(self) -> int:
        return len(self.instructions)

    def __repr__(self) -> str:
        what = f", expression={self.expression!r}" if self.expression is not None else ""
        return f"<Program {len(self)} instructions, source={self.source!r}{what}>"

    def to_bytes(self) -> bytes:
        """The packed ``struct sock_filter`` array (host order), as ``SO_ATTACH_FILTER`` takes it."""
        pack = sock_filter.pack
        return b"".join(pack(*insn) for insn in self.instructions)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, source: str = "bytecode",
                   expression: str | None = None) -> Program:
        """A program from a packed ``sock_filter`` (or libpcap ``bpf_insn``) array.

        Raises:
            DecodeError: the length is not a multiple of 8.
        """
        if len(data) % sock_filter.size:
            raise DecodeError(f"a sock_filter array of {len(data)} bytes is not a multiple of "
                              f"{sock_filter.size}", len(data) - len(data) % sock_filter.size)
        return cls(tuple(sock_filter.iter_unpack(data)), source, expression)


def _check_fields(code: int, jt: int, jf: int, k: int, where: str) -> None:
    for name, value, lo, hi in (("code", code, 0, 0xFFFF), ("jt", jt, 0, 0xFF),
                                ("jf", jf, 0, 0xFF), ("k", k, -0x80000000, _U32)):
        if not lo <= value <= hi:
            raise EncodeError(f"{where}: {name} {value} is out of range {lo}..{hi}")


def stmt(code: int, k: int = 0) -> Instruction:
    """``BPF_STMT(code, k)``: an instruction that does not jump."""
    return (code, 0, 0, k & _U32)


def jump(code: int, k: int, jt: int, jf: int) -> Instruction:
    """``BPF_JUMP(code, k, jt, jf)``: a conditional jump (or ``BPF_JA`` with ``k``)."""
    return (code, jt, jf, k & _U32)


# -- text formats ----------------------------------------------------------------------------------
_INT = r"[+-]?(?:0[xX][0-9a-fA-F]+|\d+)"
_DD_GROUP = re.compile(r"\{([^{}]*)\}")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def looks_like_bytecode(text: str) -> bool:
    """True when ``text`` is meant as bytecode rather than a tcpdump expression.

    That is: its first line (or first comma-separated item) is a lone integer, as
    ``tcpdump -ddd`` output starts, or it holds a ``{ ... }`` group as ``-dd`` output
    does.  No tcpdump expression has either shape.
    """
    s = text.strip()
    if not s:
        return False
    if "{" in s:
        return True
    first = re.split(r"[\n,]", s, maxsplit=1)[0].strip()
    return re.fullmatch(_INT, first) is not None


def _int(token: str) -> int:
    """A decimal or ``0x`` hex integer, optionally signed (ValueError otherwise)."""
    if not re.fullmatch(_INT, token):
        raise ValueError(token)
    sign = -1 if token[0] == "-" else 1
    digits = token.lstrip("+-")
    return sign * (int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits, 10))


def _fields(parts: Sequence[str], where: str, got: str) -> Instruction:
    if len(parts) != 4:
        raise EncodeError(f"{where}: expected 4 integers 'code jt jf k', got {got!r}")
    try:
        code, jt, jf, k = (_int(p) for p in parts)
    except ValueError:
        raise EncodeError(f"{where}: expected 4 integers 'code jt jf k', got {got!r}") from None
    _check_fields(code, jt, jf, k, where)
    return (code, jt, jf, k & _U32)


def parse_ddd(text: str) -> Program:
    """Parse bytecode text: ``tcpdump -ddd`` output, the same joined by commas, or ``-dd``.

    ``-ddd``: the instruction count on the first line, then ``code jt jf k`` per line
    (decimal, or ``0x`` hex; ``k`` may be negative).  ``-dd``: ``{ code, jt, jf, k },``
    groups, optionally inside a C array declaration (``struct sock_filter f[] = {...};``).

    Raises:
        EncodeError: naming the line (or item) and what is wrong with it.
    """
    if "{" in text:
        return _parse_dd(text)
    s = text.strip()
    sep, unit = (",", "item") if "\n" not in s and "," in s else ("\n", "line")
    lines = [(n, line.strip()) for n, line in enumerate(text.split(sep), 1) if line.strip()]
    if not lines:
        raise EncodeError("BPF bytecode: the text is empty")
    first_no, first = lines[0]
    try:
        count = _int(first)
    except ValueError:
        raise EncodeError(f"BPF bytecode, {unit} {first_no}: expected the instruction count "
                          f"(tcpdump -ddd format), got {first!r}") from None
    insns = [_fields(line.split(), f"BPF bytecode, {unit} {n}", line) for n, line in lines[1:]]
    if count != len(insns):
        raise EncodeError(f"BPF bytecode, {unit} {first_no}: the count says {count} "
                          f"instructions, {len(insns)} follow")
    return Program(tuple(insns), "bytecode")


def _parse_dd(text: str) -> Program:
    insns: list[Instruction] = []
    for m in _DD_GROUP.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        body = m.group(1).strip()
        if "{" in text[m.start() + 1 : m.end()] or not body:
            raise EncodeError(f"BPF bytecode, line {line}: empty {{ }} group")
        insns.append(_fields([p.strip() for p in body.split(",")], f"BPF bytecode, line {line}",
                             m.group(0)))
    rest = _COMMENT.sub(" ", _DD_GROUP.sub(" ", text))
    rest = re.sub(r"^[^{=]*=", " ", rest.strip(), count=1) if "=" in rest else rest
    stray = re.search(r"[^\s{},;]+", rest)
    if stray:
        at = text.find(stray.group(0))
        raise EncodeError(f"BPF bytecode, line {text.count(chr(10), 0, max(at, 0)) + 1}: "
                          f"unexpected {stray.group(0)!r} outside a {{ code, jt, jf, k }} group "
                          "(tcpdump -dd format)")
    if not insns:
        raise EncodeError("BPF bytecode: no { code, jt, jf, k } groups")
    return Program(tuple(insns), "bytecode")


def format_ddd(program: Program) -> str:
    """``tcpdump -ddd`` text: the count, then ``code jt jf k`` per line (decimal)."""
    return f"{len(program)}\n" + "".join(f"{c} {t} {f} {k}\n" for c, t, f, k in program.instructions)


def format_dd(program: Program) -> str:
    """``tcpdump -dd`` text: one ``{ 0xcode, jt, jf, 0xk },`` C initializer per line."""
    return "".join(f"{{ 0x{c:x}, {t}, {f}, 0x{k:08x} }},\n" for c, t, f, k in program.instructions)


# -- disassembly -------------------------------------------------------------------------------------
def _image(insn: Instruction, pc: int) -> str:
    code, jt, jf, k = insn
    entry = OPCODES.get(code)
    if entry is None:
        return f"({pc:03d}) {'unimp':<8} 0x{code:x}"
    op, form = entry
    if form == "[abs]":
        name = _AD_NAMES.get(SKF_AD(k - _AD_BASE)) if k - _AD_BASE in _ANCILLARY else None
        operand = f"[{name}]" if name else f"[{_s32(k)}]"
    elif form == "ja":
        operand = str(_s32((pc + 1 + k) & _U32))  # C int arithmetic, as libpcap prints it
    elif "%d" in form:
        operand = form % _s32(k)
    elif "%x" in form:
        operand = form % k
    else:
        operand = form
    if code in _COND_JUMPS:
        return f"({pc:03d}) {op:<8} {operand:<16} jt {pc + 1 + jt}\tjf {pc + 1 + jf}"
    return f"({pc:03d}) {op:<8} {operand}" if operand else f"({pc:03d}) {op}"


def disassemble(program: Program) -> str:
    """``tcpdump -d`` text: one ``(NNN) op operand`` line per instruction, newline-terminated.

    Ancillary loads print by libpcap's names (``ldh [proto]``, ``ld [vlanp]``); codes the
    kernel does not accept print as ``unimp 0xCODE``.
    """
    return "".join(_image(insn, pc) + "\n" for pc, insn in enumerate(program.instructions))


# -- the kernel's checker ------------------------------------------------------------------------------
def _reject(pc: int, insn: Instruction, why: str, rule: str) -> EncodeError:
    image = _image(insn, pc).split(") ", 1)[1]
    return EncodeError(f"BPF program rejected: instruction {pc} `{image}`: {why} [rule: {rule}]")


def validate(program: Program) -> None:
    """Apply the kernel's checks (``bpf_check_classic``, net/core/filter.c), in its order.

    The rules, each named in the error as ``[rule: NAME]``:

    ``length``          1 <= instructions <= BPF_MAXINSNS (4096)
    ``opcode``          only the codes of :data:`OPCODES` (``chk_code_allowed``)
    ``div-by-zero``     ``div #0`` / ``mod #0``
    ``shift``           ``lsh #k`` / ``rsh #k`` with k >= 32
    ``scratch-index``   ``ld/ldx/st/stx M[k]`` with k >= BPF_MEMWORDS (16)
    ``jump-range``      a jump whose target is past the last instruction
    ``ancillary``       an absolute load at or above SKF_AD_OFF that names no SKF_AD_*
    ``last-ret``        the last instruction is not ``ret #k`` / ``ret a``
    ``scratch-uninit``  ``M[k]`` read on a path where it was never written
                        (``check_load_and_stores``)

    Raises:
        EncodeError: the first rule broken, with the instruction, its disassembly and numbers.
    """
    _validate(program.instructions)


@functools.lru_cache(maxsize=256)
def _validate(insns: tuple[Instruction, ...]) -> None:
    """:func:`validate` over the instruction tuple; a program that passed is remembered."""
    n = len(insns)
    if not 1 <= n <= BPF_MAXINSNS:
        raise EncodeError(f"BPF program rejected: {n} instructions; the kernel takes 1.."
                          f"{BPF_MAXINSNS} (BPF_MAXINSNS) [rule: length]")
    for pc, insn in enumerate(insns):
        code, jt, jf, k = insn
        if code not in OPCODES:
            raise _reject(pc, insn, f"opcode 0x{code:02x} is not a classic BPF instruction the "
                          "kernel accepts", "opcode")
        if code in _DIVMOD_K and k == 0:
            raise _reject(pc, insn, "division by the constant 0", "div-by-zero")
        if code in _SHIFT_K and k >= 32:
            raise _reject(pc, insn, f"shift by {k}; the kernel takes 0..31", "shift")
        if code in _MEM_INSNS and k >= BPF_MEMWORDS:
            raise _reject(pc, insn, f"scratch memory index {k} >= BPF_MEMWORDS "
                          f"({BPF_MEMWORDS})", "scratch-index")
        if code == _JMP | _JA and k >= n - pc - 1:
            target = _s32((pc + 1 + k) & _U32)
            where = "backwards" if target <= pc else "past the last instruction"
            signed = f" ({_s32(k)})" if k & 0x80000000 else ""
            raise _reject(pc, insn, f"jump offset {k}{signed} lands on {target}, "
                          f"{where} (the kernel takes {pc + 1}..{n - 1} from here)", "jump-range")
        if code in _COND_JUMPS:
            for name, off in (("jt", jt), ("jf", jf)):
                if pc + off + 1 >= n:
                    raise _reject(pc, insn, f"{name} target {pc + off + 1} is past the last "
                                  f"instruction ({n - 1})", "jump-range")
        if code in _ABS_LOADS and k >= _AD_BASE and k - _AD_BASE not in _ANCILLARY:
            raise _reject(pc, insn, f"offset SKF_AD_OFF + {k - _AD_BASE} is no ancillary "
                          f"field the kernel knows (SKF_AD_*: multiples of 4 below "
                          f"{int(SKF_AD.MAX)})", "ancillary")
    if insns[-1][0] not in _RETS:
        raise _reject(n - 1, insns[-1], "the last instruction must be `ret #k` or `ret a`",
                      "last-ret")
    _check_load_and_stores(insns)


def _check_load_and_stores(insns: tuple[Instruction, ...]) -> None:
    """Scratch cells must be written before they are read, on every path (the kernel's
    ``check_load_and_stores``: a 16-bit mask of valid cells carried along each jump)."""
    masks = [0xFFFF] * len(insns)
    valid = 0
    for pc, insn in enumerate(insns):
        code, jt, jf, k = insn
        valid &= masks[pc]
        if code in _STORES:
            valid |= 1 << k
        elif code in _MEM_LOADS:
            if not valid & (1 << k):
                raise _reject(pc, insn, f"M[{k}] is read before it is written on some path to "
                              "this instruction", "scratch-uninit")
        elif code == _JMP | _JA:
            masks[pc + 1 + k] &= valid
            valid = 0xFFFF
        elif code in _COND_JUMPS:
            masks[pc + 1 + jt] &= valid
            masks[pc + 1 + jf] &= valid
            valid = 0xFFFF


# -- the interpreter -------------------------------------------------------------------------------------
_SIZES: dict[int, int] = {_S.W: 4, _S.H: 2, _S.B: 1}
_FROM_ANCILLARY = {  # ancillary fields run() takes from its `ancillary` mapping
    SKF_AD.PROTOCOL, SKF_AD.PKTTYPE, SKF_AD.IFINDEX, SKF_AD.MARK, SKF_AD.QUEUE,
    SKF_AD.HATYPE, SKF_AD.RXHASH, SKF_AD.CPU, SKF_AD.VLAN_TAG, SKF_AD.VLAN_TAG_PRESENT,
    SKF_AD.PAY_OFFSET, SKF_AD.RANDOM, SKF_AD.VLAN_TPID,
}


def _cannot_run(pc: int, insn: Instruction, why: str) -> EncodeError:
    image = _image(insn, pc).split(") ", 1)[1]
    return EncodeError(f"BPF run: instruction {pc} `{image}`: {why}")


class _OutOfBounds(Exception):
    """A load outside the packet: the program ends with 0."""


def _position(off: int, size: int, n: int, net_offset: int | None, pc: int,
              insn: Instruction) -> int:
    """The byte position a signed load offset reaches, or raise _OutOfBounds (the kernel's
    bpf_skb_load_helper_*: negative offsets relative to the network or link-layer header)."""
    if off < 0:
        if off >= SKF_NET_OFF:
            if net_offset is None:
                raise _cannot_run(pc, insn, "a load relative to SKF_NET_OFF needs "
                                  "run(..., net_offset=N), where the network header starts")
            off = off - SKF_NET_OFF + net_offset
        elif off >= SKF_LL_OFF:
            off -= SKF_LL_OFF  # the packet starts at its link-layer header
        else:
            raise _OutOfBounds
    if off + size > n:
        raise _OutOfBounds
    return off


def _nla_find(pkt: bytes, pos: int, rem: int, attrtype: int) -> int:
    """The kernel's nla_find(): offset of the first attribute of ``attrtype`` in ``rem``
    bytes at ``pos``, stopping at the first malformed one; 0 when none."""
    while rem >= nlattr.size:
        nla_len, nla_type = nlattr.unpack_from(pkt, pos)
        if nla_len < nlattr.size or nla_len > rem:
            break
        if nla_type & NLA_TYPE_MASK == attrtype:
            return pos
        step = (nla_len + 3) & ~3
        pos += step
        rem -= step
    return 0


def _nlattr(pkt: bytes, a: int, x: int, nested: bool) -> int:
    """bpf_skb_get_nlattr / bpf_skb_get_nlattr_nest (net/core/filter.c)."""
    n = len(pkt)
    if n < nlattr.size or a > n - nlattr.size:
        return 0
    if not nested:
        return _nla_find(pkt, a, n - a, x)
    nla_len = nlattr.unpack_from(pkt, a)[0]
    if nla_len > n - a:
        return 0
    return _nla_find(pkt, a + nlattr.size, nla_len - nlattr.size, x)


def run(program: Program, packet: bytes | bytearray | memoryview, *, wirelen: int | None = None,
        ancillary: Mapping[int, int] | None = None, net_offset: int | None = None) -> int:
    """Run ``program`` over one packet with the kernel's classic BPF semantics.

    Args:
        program: checked with :func:`validate` first (the kernel runs no other kind).
        packet: the bytes from the link-layer header on, as an ``AF_PACKET``
            ``SOCK_RAW`` socket's filter sees them (with VLAN offload, the kernel has
            already taken an 802.1Q tag out of them).
        wirelen: the packet's full length (``BPF_LEN``, the kernel's ``skb->len``);
            defaults to ``len(packet)``.  Loads reach only the bytes given.
        ancillary: values for ancillary loads, keyed by :class:`SKF_AD` (``PROTOCOL``,
            ``PKTTYPE``, ``IFINDEX``, ``MARK``, ``QUEUE``, ``HATYPE``, ``RXHASH``, ``CPU``,
            ``VLAN_TAG``, ``VLAN_TAG_PRESENT``, ``PAY_OFFSET``, ``RANDOM``, ``VLAN_TPID``).
            ``ALU_XOR_X``, ``NLATTR`` and ``NLATTR_NEST`` are computed.
        net_offset: where the network header starts in ``packet``, for loads relative
            to ``SKF_NET_OFF`` (14 for Ethernet without a tag in the bytes).

    Returns:
        The program's return value: how many bytes to keep (a socket keeps
        ``min(value, length)``); 0 drops the packet.  An out-of-bounds load and
        division by ``X == 0`` end the program with 0.

    Raises:
        EncodeError: the program breaks a kernel rule (see :func:`validate`), or loads
            an ancillary field ``ancillary`` lacks, or an ``SKF_NET_OFF`` offset without
            ``net_offset``.
    """
    _validate(program.instructions)
    pkt = bytes(packet)
    n = len(pkt)
    length = n if wirelen is None else wirelen
    anc = ancillary or {}
    insns = program.instructions
    a = x = 0
    mem = [0] * BPF_MEMWORDS
    pc = 0
    try:
        while True:  # jumps go forward only: at most len(program) steps
            insn = insns[pc]
            code, jt, jf, k = insn
            pc += 1
            cls = code & 0x07
            if cls == _RET:
                return k if code == _RET_K else a
            if cls == _LD:
                mode = code & 0xE0
                if mode == _ABS or mode == _IND:
                    if mode == _ABS and k >= _AD_BASE:
                        a = _ancillary_load(k - _AD_BASE, a, x, pkt, anc, pc - 1, insn)
                        continue
                    size = _SIZES[code & 0x18]
                    off = _s32(k) if mode == _ABS else _s32((x + k) & _U32)
                    pos = _position(off, size, n, net_offset, pc - 1, insn)
                    a = int.from_bytes(pkt[pos:pos + size], "big")
                elif mode == _IMM:
                    a = k
                elif mode == _MEM:
                    a = mem[k]
                else:  # LEN
                    a = length & _U32
            elif cls == _LDX:
                mode = code & 0xE0
                if mode == _MSH:
                    pos = _position(_s32(k), 1, n, net_offset, pc - 1, insn)
                    x = (pkt[pos] & 0x0F) << 2
                elif mode == _IMM:
                    x = k
                elif mode == _MEM:
                    x = mem[k]
                else:  # LEN
                    x = length & _U32
            elif cls == _ST:
                mem[k] = a
            elif cls == _STX:
                mem[k] = x
            elif cls == _ALU:
                op = code & 0xF0
                if op == _NEG:
                    a = -a & _U32
                    continue
                v = x if code & _SRC_X else k
                if op == _ADD:
                    a = (a + v) & _U32
                elif op == _SUB:
                    a = (a - v) & _U32
                elif op == _MUL:
                    a = (a * v) & _U32
                elif op == _DIV or op == _MOD:
                    if v == 0:
                        return 0  # div/mod by X == 0 (a constant 0 is refused by validate)
                    a = a // v if op == _DIV else a % v
                elif op == _OR:
                    a |= v
                elif op == _AND:
                    a &= v
                elif op == _XOR:
                    a ^= v
                elif op == _LSH:
                    a = (a << (v & 31)) & _U32  # the kernel masks a 32-bit shift to 5 bits
                else:  # RSH
                    a >>= v & 31
            elif cls == _JMP:
                op = code & 0xF0
                if op == _JA:
                    pc += k
                    continue
                v = x if code & _SRC_X else k
                if op == _JEQ:
                    taken = a == v
                elif op == _JGT:
                    taken = a > v
                elif op == _JGE:
                    taken = a >= v
                else:  # JSET
                    taken = (a & v) != 0
                pc += jt if taken else jf
            else:  # MISC
                if code & 0xF8 == _TAX:
                    x = a
                else:
                    a = x
    except _OutOfBounds:
        return 0


def _ancillary_load(field: int, a: int, x: int, pkt: bytes, anc: Mapping[int, int], pc: int,
                    insn: Instruction) -> int:
    ad = SKF_AD(field)
    if ad is SKF_AD.ALU_XOR_X:
        return a ^ x
    if ad is SKF_AD.NLATTR or ad is SKF_AD.NLATTR_NEST:
        return _nlattr(pkt, a, x, ad is SKF_AD.NLATTR_NEST)
    assert ad in _FROM_ANCILLARY
    if ad not in anc:
        raise _cannot_run(pc, insn, f"the program loads SKF_AD_{ad.name}; pass it as "
                          f"run(..., ancillary={{SKF_AD.{ad.name}: value}})")
    return int(anc[ad]) & _U32

