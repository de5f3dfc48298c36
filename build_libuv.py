"""The cffi build script: gets the pinned libuv, declares the C API, and compiles
libuv's own sources plus uvffi's C core (src/uvffi/_c/) into the extension ``uvffi._uv``.

libuv is not ours, so it is never committed: ``vendor/libuv/PIN`` names the
release and where it comes from (uvloop's sdist on PyPI, which carries libuv's
release tree), and this script fetches that archive with pip, checks its sha256
and unpacks only libuv's sources. After that, builds are offline.

``UVFFI_USE_SYSTEM_LIBUV=1`` links the system's libuv instead. ``UVFFI_CFLAGS`` and
``UVFFI_LDFLAGS`` (shell-split) are appended to the compile and link flags, e.g.
``-fsanitize=address`` for scripts/asan.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Mapping, Optional

from cffi import FFI

ROOT = Path(__file__).resolve().parent
VENDOR = ROOT / "vendor" / "libuv"
PIN = VENDOR / "PIN"
C_DIR = ROOT / "src" / "uvffi" / "_c"

# What of libuv's release tree we unpack (and ship in our sdist).
KEEP = ("include/", "src/", "LICENSE", "LICENSE-extra", "CMakeLists.txt")

# From libuv 1.52's CMakeLists.txt: the portable sources, then the platform's.
COMMON_SOURCES = [
    "fs-poll.c", "idna.c", "inet.c", "random.c", "strscpy.c", "strtok.c",
    "thread-common.c", "threadpool.c", "timer.c", "uv-common.c",
    "uv-data-getter-setters.c", "version.c",
]
UNIX_SOURCES = [
    "async.c", "core.c", "dl.c", "fs.c", "getaddrinfo.c", "getnameinfo.c",
    "loop-watcher.c", "loop.c", "pipe.c", "poll.c", "process.c",
    "random-devurandom.c", "signal.c", "stream.c", "tcp.c", "thread.c", "tty.c",
    "udp.c",
]
LINUX_SOURCES = [
    "linux.c", "procfs-exepath.c", "random-getrandom.c", "random-sysctl-linux.c",
    "proctitle.c",
]
DARWIN_SOURCES = [
    "proctitle.c", "bsd-ifaddrs.c", "kqueue.c", "random-getentropy.c",
    "darwin-proctitle.c", "darwin.c", "fsevents.c",
]


class BuildError(SystemExit):
    """A build failure explained in one line."""


def report(message: str) -> None:
    """Say what the build is doing, on stderr: ``pip install -v`` shows it."""
    print(f"uvffi: {message}", file=sys.stderr, flush=True)


def missing_headers(paths: Mapping[str, str], implementation: str) -> Optional[str]:
    """Why this interpreter cannot compile a C extension, in one line, or None.

    ``paths`` is ``sysconfig.get_paths()`` (its ``include`` and ``platinclude``
    directories: PyPy's own include directory is its ``include``), and
    ``implementation`` is ``sys.implementation.name``. Without these headers the
    compiler fails only on the first source that includes them, after libuv's."""
    dirs = list(dict.fromkeys(d for d in (paths.get("include"), paths.get("platinclude")) if d))
    missing = [h for h in ("Python.h", "pyconfig.h") if not any((Path(d) / h).is_file() for d in dirs)]
    if not missing:
        return None
    if implementation == "pypy":
        who, package = "PyPy", "pypy3-dev"
    else:
        who, package = "CPython", "python3-dev"
    where = " or ".join(dirs) or "sysconfig's include directory (none is configured)"
    return (f"uvffi: cannot compile: {who}'s C headers ({', '.join(missing)}) are missing from {where}; "
            f"install {package} (Debian/Ubuntu: apt-get install {package}) and retry.")


def check_python_headers() -> None:
    """Fail at once, before compiling anything, when this interpreter's headers are missing."""
    reason = missing_headers(sysconfig.get_paths(), sys.implementation.name)
    if reason:
        raise BuildError(reason)


def before_build(command: Any, ext: Any) -> None:
    """setup.py's build_ext calls this (through cffi's ``pre_run`` hook) before it writes
    the module's C source: check the headers, then report the compile and the link."""
    check_python_headers()
    libuv = [s for s in ext.sources if str(VENDOR) in os.path.abspath(s)]
    build_extension = command.build_extension

    def reporting_build_extension(extension: Any) -> None:
        link = command.compiler.link_shared_object

        def reporting_link(*args: Any, **kwargs: Any) -> Any:
            report(f"linking {extension.name}")
            return link(*args, **kwargs)

        command.compiler.link_shared_object = reporting_link
        what = f"{len(libuv)} libuv sources and the C glue" if libuv else "the C glue (system libuv)"
        report(f"compiling {what} (about 10-20 s on 2 cores; unchanged files are skipped)")
        try:
            build_extension(extension)
        finally:
            command.compiler.link_shared_object = link
        report(f"built {extension.name}")

    command.build_extension = reporting_build_extension


def read_pin() -> dict[str, str]:
    """Parse vendor/libuv/PIN (``key = value`` lines)."""
    pin: dict[str, str] = {}
    for line in PIN.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pin[key.strip()] = value.strip()
    return pin


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def unpack(archive: Path, member: str) -> None:
    """Extract libuv's sources (and nothing else) from the archive."""
    with tarfile.open(archive) as tar:
        for info in tar.getmembers():
            if not info.name.startswith(member):
                continue
            rel = info.name[len(member):]
            if not rel.startswith(KEEP) or ".." in Path(rel).parts:
                continue
            target = VENDOR / rel
            if info.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif info.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(info)
                assert src is not None
                target.write_bytes(src.read())


def run_pip(args: list[str]) -> subprocess.CompletedProcess:
    """Run pip: this interpreter's own (outside pip's build isolation), else one on PATH."""
    env = dict(os.environ)
    # pip's isolated build environment hides the interpreter's site-packages
    # (and pip with them) through PYTHONPATH; the download needs the real pip.
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONNOUSERSITE", None)
    candidates = [[sys.executable, "-m", "pip"]]
    candidates += [[exe] for exe in (shutil.which("pip3"), shutil.which("pip")) if exe]
    proc = None
    for cmd in candidates:
        proc = subprocess.run(cmd + args, capture_output=True, text=True, env=env)
        if proc.returncode == 0:
            return proc
    assert proc is not None
    return proc


def fetch_libuv() -> None:
    """Make sure vendor/libuv holds the pinned release, fetching it if absent."""
    if (VENDOR / "include" / "uv.h").exists():
        return
    pin = read_pin()
    archive_env = os.environ.get("UVFFI_LIBUV_ARCHIVE")
    with tempfile.TemporaryDirectory() as tmp:
        if archive_env:
            archive = Path(archive_env)
        else:
            requirement = pin["origin"]
            name = requirement.split("==")[0]
            args = ["download", "--quiet", "--no-deps", "--no-binary", name, requirement, "-d", tmp]
            print(f"uvffi: fetching libuv {pin['version']} from {requirement} with pip", file=sys.stderr)
            # pip prepares the sdist's metadata: quick with the setuptools at hand,
            # else in an isolated environment of its own.
            proc = run_pip(args + ["--no-build-isolation"])
            if proc.returncode != 0:
                proc = run_pip(args)
            archive = Path(tmp) / pin["archive"]
            if proc.returncode != 0 or not archive.exists():
                last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                raise BuildError(
                    f"uvffi: cannot fetch libuv {pin['version']} ({requirement} from PyPI): {last}. "
                    f"Put libuv's sources in {VENDOR} or set UVFFI_LIBUV_ARCHIVE to {pin['archive']}."
                )
        got = sha256_of(archive)
        if got != pin["sha256"]:
            raise BuildError(
                f"uvffi: {archive.name} has sha256 {got}, but vendor/libuv/PIN pins {pin['sha256']}; refusing to build."
            )
        unpack(archive, pin["member"])
    if not (VENDOR / "include" / "uv.h").exists():
        raise BuildError(f"uvffi: {pin['archive']} holds no libuv under {pin['member']}.")
    report(f"libuv {pin['version']} unpacked into {VENDOR} (sha256 checked); later builds are offline")


def core_files() -> list[Path]:
    """uvffi.h and the C files module.c includes, in its order (the registration list)."""
    names = re.findall(r'^#include "([^"]+)"', (C_DIR / "module.c").read_text(), flags=re.M)
    return [C_DIR / n for n in names] + [C_DIR / "module.c"]


def cdef_text() -> str:
    """The cffi declarations: the ``/*@cdef ... */`` blocks of the core's files, in
    include order. Each declaration sits beside its definition."""
    blocks = [m.group(1) for f in core_files() for m in CDEF_BLOCK.finditer(f.read_text())]
    return "\n".join(blocks)


CDEF_BLOCK = re.compile(r"/\*@cdef\n(.*?)\*/", re.S)



def make_ffibuilder() -> FFI:
    """Declare the API and the sources; fetch libuv first unless the system's is used."""
    builder = FFI()
    builder.cdef(cdef_text())
    use_system = os.environ.get("UVFFI_USE_SYSTEM_LIBUV", "") not in ("", "0")
    kwargs: dict = {
        "include_dirs": [str(C_DIR)],
        # The core is #included, not compiled apart: rebuild when it changes.
        "depends": [str(p) for p in sorted(C_DIR.glob("*.[ch]"))],
        "extra_compile_args": [
            "-std=gnu11", "-fno-strict-aliasing", "-O2", "-Wno-unused-function",
            "-Werror=implicit-function-declaration", "-Werror=int-conversion", "-Werror=incompatible-pointer-types",
        ],
        "define_macros": [
            ("_CFFI_NO_LIMITED_API", None), ("_GNU_SOURCE", None), ("_FILE_OFFSET_BITS", "64"),
            ("_LARGEFILE_SOURCE", None),
        ],
        "py_limited_api": False,
    }
    if sys.platform == "darwin":
        # ld64: export only the module's init symbol; libuv's and the glue's stay private.
        init = "_cffi_pypyinit__uv" if sys.implementation.name == "pypy" else "PyInit__uv"
        kwargs["extra_link_args"] = [f"-Wl,-exported_symbol,_{init}"]
    if use_system:
        kwargs["libraries"] = ["uv"]
        if sys.platform.startswith("linux"):
            # The glue's symbols stay private with the system libuv too.
            kwargs["extra_link_args"] = [f"-Wl,--version-script={C_DIR / 'exports.map'}"]
    else:
        fetch_libuv()
        unix = UNIX_SOURCES + (DARWIN_SOURCES if sys.platform == "darwin" else LINUX_SOURCES)
        sources = [VENDOR / "src" / f for f in COMMON_SOURCES] + [VENDOR / "src" / "unix" / f for f in unix]
        kwargs["sources"] = [str(p) for p in sources]
        kwargs["include_dirs"] += [str(VENDOR / "include"), str(VENDOR / "src")]
        kwargs["libraries"] = ["pthread"] if sys.platform == "darwin" else ["dl", "rt", "pthread"]
        if sys.platform.startswith("linux"):
            # Export only the module's init symbols: libuv's stay private.
            kwargs["extra_link_args"] = [f"-Wl,--version-script={C_DIR / 'exports.map'}"]
    # Extra flags from the environment (sanitizer builds: scripts/asan).
    kwargs["extra_compile_args"] += shlex.split(os.environ.get("UVFFI_CFLAGS", ""))
    kwargs["extra_link_args"] = kwargs.get("extra_link_args", []) + shlex.split(os.environ.get("UVFFI_LDFLAGS", ""))
    builder.set_source("uvffi._uv", '#include <uv.h>\n#include "module.c"\n', **kwargs)
    # For setup.py's build_ext (cffi hands it this object) and for __main__ below.
    builder.uvffi_before_build = before_build  # type: ignore[attr-defined]
    builder.uvffi_libuv_sources = kwargs.get("sources", [])  # type: ignore[attr-defined]
    return builder


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    check_python_headers()
    os.chdir(ROOT)
    report(f"compiling {len(ffibuilder.uvffi_libuv_sources)} libuv sources and the C glue, then linking")
    # UVFFI_BUILD_DIR: where to build (scripts/asan builds apart from the normal build).
    ffibuilder.compile(tmpdir=os.environ.get("UVFFI_BUILD_DIR", str(ROOT / "build" / "cffi")), verbose=True)
