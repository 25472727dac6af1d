"""A classic BPF program: :class:`Program`, the ``BPF_STMT``/``BPF_JUMP`` helpers, the ``tcpdump -ddd``/``-dd`` text forms and the ``-d`` disassembly."""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import DecodeError, EncodeError
from .constants import (
    _AD_BASE,
    _AD_NAMES,
    _ANCILLARY,
    _COND_JUMPS,
    _SOURCES,
    _U32,
    OPCODES,
    SKF_AD,
    Instruction,
    _s32,
    sock_filter,
)

__all__ = ["Program", "disassemble", "format_dd", "format_ddd", "jump", "looks_like_bytecode", "parse_ddd", "stmt"]


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


