"""The kernel's checker (``bpf_check_classic``): each rule a program must pass before ``SO_ATTACH_FILTER`` takes it, named with its numbers."""

from __future__ import annotations

import functools

from ...errors import EncodeError
from .constants import (
    _ABS_LOADS,
    _AD_BASE,
    _ANCILLARY,
    _COND_JUMPS,
    _DIVMOD_K,
    _JA,
    _JMP,
    _MEM_INSNS,
    _MEM_LOADS,
    _RETS,
    _SHIFT_K,
    _STORES,
    _U32,
    BPF_MAXINSNS,
    BPF_MEMWORDS,
    OPCODES,
    SKF_AD,
    Instruction,
    _s32,
)
from .program import Program, _image

__all__ = ["validate"]


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


