"""Classic BPF socket filters on plain buffers: programs, bytecode text, the kernel's checker,
an interpreter and a disassembler.

Pure package: no system calls (``constants``, ``program`` with its text forms,
``check`` the kernel's checker, ``interp`` the interpreter).  Attaching a program to a socket, and compiling a
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

from .check import (
    validate,
)
from .constants import (
    BPF_ALU_OP,
    BPF_CLASS,
    BPF_JMP_OP,
    BPF_MAXINSNS,
    BPF_MEMWORDS,
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
    Instruction,
    sock_filter,
    sock_fprog,
)
from .interp import (
    run,
)
from .program import (
    Program,
    disassemble,
    format_dd,
    format_ddd,
    jump,
    looks_like_bytecode,
    parse_ddd,
    stmt,
)

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
