"""setuptools needs cffi_modules as a setup() keyword; everything else is in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["build_libuv.py:ffibuilder"])
