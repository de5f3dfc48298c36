"""Read AddressSanitizer/LeakSanitizer logs and fail on uvffi's errors and leaks.

Usage: python3 scripts/asan_leaks.py LOGFILE...

- Any ASan error report (``ERROR: AddressSanitizer``) fails.
- A leak report (``Direct leak`` / ``Indirect leak``) counts as uvffi's when its
  allocation stack reaches a frame of the ``_uv`` extension module (uvffi's C glue
  or libuv) before any frame of the interpreter (``libpython``/``python``):
  memory that the glue or libuv allocated and never freed. Leaks allocated by the
  interpreter itself (it does not free everything at exit) are counted and ignored.
  Reference leaks (a Python object the glue forgot to release) are not visible
  here: tests/test_stateful.py and scripts/soak catch those with weakrefs, counts
  of live objects and resident memory.
"""

from __future__ import annotations

import re
import sys

FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (\S+)(.*)$")
# Frames of the interpreter and of cffi's backend: CPython's own sources
# (symbolized as Objects/..., Python/..., ...) or their shared objects.
INTERPRETER = re.compile(r"(^| )(\(?)(Objects|Python|Modules|Parser|Include)/|libpython|/bin/python|_cffi_backend")


def owner(frames: list[str]) -> str:
    """'uvffi' if the allocation comes from the _uv module, else 'other'."""
    for line in frames:
        m = FRAME.match(line)
        if not m:
            continue
        where = m.group(2) + m.group(3)
        if "libasan" in where or "asan_" in m.group(2) or "__interceptor" in m.group(2):
            continue
        ours = ("/_uv.", "/uvffi/_c/", "/vendor/libuv/")
        if any(o in where for o in ours):
            return "uvffi"
        if INTERPRETER.search(where):
            return "other"
    return "other"


def main(paths: list[str]) -> int:
    errors = 0
    ours: list[str] = []
    others = 0
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        if "ERROR: AddressSanitizer" in text:
            errors += 1
            print(f"=== ASan error in {path} ===")
            print(text[:8000])
        blocks = re.split(r"\n(?=(?:Direct|Indirect) leak of )", text)
        for block in blocks:
            if not block.startswith(("Direct leak", "Indirect leak")):
                continue
            if owner(block.splitlines()[1:]) == "uvffi":
                ours.append(f"{path}:\n{block.strip()}")
            else:
                others += 1
    for block in ours:
        print(block)
        print()
    print(f"asan: {len(paths)} log(s), {errors} ASan error report(s), {len(ours)} uvffi/libuv leak(s), "
          f"{others} interpreter leak record(s) ignored")
    return 1 if errors or ours else 0


if __name__ == "__main__":
    sys.exit(main([p for p in sys.argv[1:] if not p.endswith("*")]))
