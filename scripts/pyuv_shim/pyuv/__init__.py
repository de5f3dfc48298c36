"""``import pyuv`` resolving to uvffi, for running pyuv 1.4.0's own test suite.

Put this directory's parent (``scripts/pyuv_shim``) on ``sys.path``. Importing ``pyuv`` then
gives the ``uvffi`` package itself (``pyuv is uvffi``), and ``pyuv.<sub>`` is ``uvffi.<sub>``
for every submodule uvffi has, found at import time by a meta-path finder: a module added to
uvffi later appears here without editing this file. A name uvffi does not have raises
ModuleNotFoundError, as it would for a missing pyuv submodule.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Optional, Sequence

_PREFIX = "pyuv."
_TARGET = "uvffi."


class _AliasLoader(importlib.abc.Loader):
    """Loads ``pyuv.<sub>`` as the already-imported (or now imported) ``uvffi.<sub>``."""

    def __init__(self, real_name: str) -> None:
        self.real_name = real_name
        self._real_spec: Optional[importlib.machinery.ModuleSpec] = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.real_name)
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system set module.__spec__ to the alias spec: give the module its own back.
        module.__spec__ = self._real_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if not fullname.startswith(_PREFIX):
            return None
        real_name = _TARGET + fullname[len(_PREFIX):]
        if real_name in sys.modules:
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real_name))
        try:
            real_spec = importlib.util.find_spec(real_name)
        except ModuleNotFoundError:
            real_spec = None
        if real_spec is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real_name))


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())

import uvffi  # noqa: E402

# `import pyuv` gives uvffi itself, as `import uvffi as pyuv` would; its already-imported
# submodules are registered under pyuv.* too, so `sys.modules["pyuv.error"]` is uvffi.error.
for _name, _module in list(sys.modules.items()):
    if _name.startswith(_TARGET):
        sys.modules.setdefault(_PREFIX + _name[len(_TARGET):], _module)
sys.modules[__name__] = uvffi
