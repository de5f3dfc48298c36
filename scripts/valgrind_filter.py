"""Read valgrind memcheck logs; fail on errors that involve uvffi's code.

Usage: python3 scripts/valgrind_filter.py LOGFILE...

An error record counts as uvffi's when one of its frames is in the ``_uv``
extension module (uvffi's C glue or libuv). The interpreter's own records are
counted and ignored.
"""

from __future__ import annotations

import re
import sys

OURS = re.compile(r"_uv\.cpython|/_uv\.|/uvffi/_c/|vendor/libuv|uvffi_|uv__|\buv_")


def main(paths: list[str]) -> int:
    ours, others = [], 0
    for path in paths:
        with open(path, errors="replace") as f:
            text = f.read()
        # Records are separated by blank "==pid== " lines.
        for block in re.split(r"\n==\d+== \n", text):
            lines = [ln for ln in block.splitlines() if ln.startswith("==")]
            if not lines or not any(k in block for k in ("Invalid ", "uninitialised", "Mismatched", "free()")):
                continue
            if any(OURS.search(ln) for ln in lines if (" at 0x" in ln or " by 0x" in ln)):
                ours.append(block)
            else:
                others += 1
    for block in ours:
        print(block, "\n")
    print(f"valgrind: {len(paths)} log(s), {len(ours)} error record(s) in uvffi/libuv code, "
          f"{others} interpreter record(s) ignored")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
