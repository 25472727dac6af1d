"""Side-by-side benchmarks, runnable as ``netring bench NAME`` or ``benchmarks/*.py``.

Each module exposes ``run(quick: bool = False, out: TextIO | None = sys.stdout) -> dict``:
it measures netring beside its naive baseline and the named peers *in one run*,
prints a human table with ratios, the command line and the machine to ``out``
(when not ``None``), and returns the figures as a JSON-able dict.
"""
