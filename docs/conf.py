"""Sphinx configuration: API pages from the docstrings (autodoc, under the public names),
narrative pages in Markdown (myst-parser). Built by scripts/docs with warnings as errors."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not any(Path(p).resolve() == ROOT / "src" for p in sys.path if p):
    # A source checkout with the extension built in place; an installed uvffi works too.
    sys.path.append(str(ROOT / "src"))

import uvffi  # noqa: E402
from uvffi import aio  # noqa: E402

project = "uvffi"
release = version = uvffi.__version__
copyright = "uvffi contributors"  # noqa: A001

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.doctest"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
# Every reference to uvffi's own names must resolve. Python's own (builtins, typing, the
# standard library) are not linked: the build runs offline, without Python's inventory.
nitpicky = True
_STDLIB = (r"(builtins|typing|types|collections|concurrent|threading|weakref|signal|socket"
           r"|traceback|contextlib|contextvars|abc|os|asyncio|ssl)(\..*)?")
nitpick_ignore_regex = [
    (r"py:.*", _STDLIB),
    (r"py:.*", r"(int|float|str|bytes|bool|object|tuple|list|dict|set|type|None|Any|Callable|Optional"
               r"|Union|Tuple|List|Dict|Type|TypeVar|Iterator|Iterable|Exception|BaseException"
               r"|RuntimeError|ValueError|TypeError|OSError|NotImplementedError|KeyboardInterrupt"
               r"|SystemExit|TracebackType|Future|NamedTuple|T|L|H|SockAddr)"),
    # Type variables (``L = TypeVar("L", bound="Loop")``) and private helpers named in the
    # signatures of public methods: not API, so not documented.
    (r"py:class", r"uvffi\.[\w.]*\.[A-Z]"),
    (r"py:class", r"uvffi\.[\w.]*\._\w+"),
]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
html_theme = "alabaster"
html_theme_options = {"nosidebar": False}
html_static_path: list[str] = []

doctest_global_setup = "import uvffi"


def _public_names() -> dict[str, str]:
    """Internal path -> public name, for every class uvffi re-exports (uvffi.loop.Loop -> uvffi.Loop)."""
    names = {}
    for name in uvffi.__all__:
        obj = getattr(uvffi, name)
        if inspect.isclass(obj):
            names[f"{obj.__module__}.{obj.__qualname__}"] = f"uvffi.{name}"
    # uvffi.aio: a public subpackage that uvffi does not import (uvffi.aio.loop.Loop -> uvffi.aio.Loop)
    for name in aio.__all__:
        obj = getattr(aio, name)
        if inspect.isclass(obj):
            names[f"{obj.__module__}.{obj.__qualname__}"] = f"uvffi.aio.{name}"
    return names


PUBLIC = _public_names()


def _text_signature(app, what, name, obj, options, signature, return_annotation):
    """C methods (CPython's Ops types): show the ``__text_signature__`` as written
    (``run(mode=uvffi.RUN_DEFAULT)``, not the evaluated ``run(mode=0)``)."""
    text = getattr(obj, "__text_signature__", None)
    if text and signature:
        return re.sub(r"^\(\$\w+(, /)?,?\s*", "(", text), return_annotation
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    typevar = getattr(module, (return_annotation or "").rpartition(".")[2], None)
    bound = getattr(typevar, "__bound__", None)
    if bound is not None:
        # ``-> ~uvffi.loop.L`` where ``L = TypeVar("L", bound="Loop")``: show the bound.
        return signature, getattr(bound, "__forward_arg__", getattr(bound, "__name__", return_annotation))
    return None


def _drop_clinic_marker(app, what, name, obj, options, lines):
    """A C method exposed under another name (``Timer.start`` is ``_timer_start``) keeps its
    ``start(...)\\n--`` header in ``__doc__``; autodoc takes the first line as the signature,
    the ``--`` line is dropped here."""
    while lines and lines[0].strip() in ("--", ""):
        lines.pop(0)


def _public_reference(app, env, node, contnode):
    """Type hints name classes by their module (``uvffi.loop.Loop``), and docstrings of other
    modules say :meth:`Loop.default_loop`: resolve both to the public names autodoc documents
    (``uvffi.Loop``, ``uvffi.Loop.default_loop``)."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    public_target = None
    for internal, public in PUBLIC.items():
        if target == internal or target.startswith(internal + "."):
            public_target = public + target[len(internal):]
    if public_target is None and target.split(".")[0] in uvffi.__all__:
        public_target = "uvffi." + target
    if public_target is None:
        return None
    domain = env.domains["py"]
    return domain.resolve_xref(env, node.get("refdoc"), app.builder, node.get("reftype"),
                               public_target, node, contnode)


def _public_bases(app, name, obj, options, bases):
    """Show public bases only: CPython's C types (``uvffi._uv.TimerOps``), the Python
    implementation they sit before (a class of the same name) and private helpers
    (``_LoopWatcher``) give way to their own public bases."""
    def public(cls):
        if cls is object or (cls.__module__ != "uvffi._uv" and not cls.__name__.startswith("_")
                             and not (cls is not obj and cls.__name__ == obj.__name__)):
            return [cls]
        return [b for base in cls.__bases__ for b in public(base)]

    shown = [b for base in bases for b in public(base)]
    bases[:] = [b for b in shown if b is not object] or ([object] if object in shown else [])


def _unqualified_loop(app, doctree):
    """In uvffi's own signatures and docstrings a bare ``Loop`` is :class:`uvffi.Loop`;
    with :class:`uvffi.aio.Loop` documented too the name is ambiguous, so say which."""
    from sphinx.addnodes import pending_xref

    for node in doctree.findall(pending_xref):
        if node.get("refdomain") == "py" and node.get("reftarget") == "Loop":
            node["reftarget"] = "uvffi.Loop"
            node["refspecific"] = False


def setup(app):
    app.connect("doctree-read", _unqualified_loop)
    app.connect("autodoc-process-signature", _text_signature)
    app.connect("autodoc-process-docstring", _drop_clinic_marker)
    app.connect("missing-reference", _public_reference)
    app.connect("autodoc-process-bases", _public_bases)
