"""setuptools needs cffi_modules as a setup() keyword; everything else is in pyproject.toml."""

from setuptools import setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    """cffi calls ``pre_run(ext, ffi)`` just before it writes the module's C source:
    build_libuv.py checks the interpreter's headers there (failing at once, before
    compiling anything) and reports the compile and the link on stderr."""

    def pre_run(self, ext, ffi):
        ffi.uvffi_before_build(self, ext)


setup(cffi_modules=["build_libuv.py:ffibuilder"], cmdclass={"build_ext": BuildExt})
