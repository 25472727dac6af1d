"""Classic BPF's kernel facts: opcode fields, ancillary offsets, limits, ``struct sock_filter`` / ``sock_fprog`` and the kernel's opcode table (include/uapi/linux/bpf_common.h, filter.h; net/core/filter.c)."""

from __future__ import annotations

import struct
from enum import IntEnum

__all__ = ["BPF_ALU_OP", "BPF_CLASS", "BPF_JMP_OP", "BPF_MAXINSNS", "BPF_MEMWORDS", "BPF_MISCOP", "BPF_MODE", "BPF_RVAL", "BPF_SIZE", "BPF_SRC", "Instruction", "OPCODES", "SKF_AD", "SKF_AD_OFF", "SKF_LL_OFF", "SKF_NET_OFF", "sock_filter", "sock_fprog"]


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


