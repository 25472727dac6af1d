"""A small classic BPF interpreter with the kernel's semantics: the test oracle for filters the kernel runs."""

from __future__ import annotations

from collections.abc import Mapping

from ...codec.constants import NLA_TYPE_MASK
from ...codec.structs import nlattr
from ...errors import EncodeError
from .check import _validate
from .constants import (
    _ABS,
    _AD_BASE,
    _ADD,
    _ALU,
    _AND,
    _DIV,
    _IMM,
    _IND,
    _JA,
    _JEQ,
    _JGE,
    _JGT,
    _JMP,
    _LD,
    _LDX,
    _LSH,
    _MEM,
    _MOD,
    _MSH,
    _MUL,
    _NEG,
    _OR,
    _RET,
    _RET_K,
    _S,
    _SRC_X,
    _ST,
    _STX,
    _SUB,
    _TAX,
    _U32,
    _XOR,
    BPF_MEMWORDS,
    SKF_AD,
    SKF_LL_OFF,
    SKF_NET_OFF,
    Instruction,
    _s32,
)
from .program import Program, _image

__all__ = ["run"]


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

