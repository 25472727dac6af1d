"""Build hook: netring's optional C accelerator (``netring._accel``).

Everything else is in pyproject.toml.  The extension is optional: without a C
compiler or the Python headers the build goes on and netring runs its pure-Python
code (the same results, slower on a few bulk paths).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("netring._accel", ["src/netring/_accel.c"], optional=True)])
