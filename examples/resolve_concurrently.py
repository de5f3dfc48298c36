"""Resolve several names at once with ``uvffi.dns.getaddrinfo`` callbacks: each call with a
``callback`` returns a pending request at once and the lookup runs on libuv's thread
pool, so all of them are pending together before ``loop.run()``, which returns when the
last callback has run. The callbacks come in the order the lookups finish, which varies:
the results are printed sorted.

``callback(result, errorno)`` gets a list of ``AddrinfoResult`` and None, or None and a
``UV_EAI_*`` code: the last name shows that error path. Only names that resolve without
the network are asked: ``localhost`` (the hosts file) and numeric addresses. The bad
name is asked with ``AI_NUMERICHOST`` for the same reason: it fails without a name server
being asked (without the flag one would be, and the code would depend on it:
``UV_EAI_NONAME``, or ``UV_EAI_AGAIN`` when none answers)."""

from __future__ import annotations

import socket
from typing import Any, List, Optional, Tuple

import uvffi
from uvffi import dns
from uvffi.errno import errorcode

LOOKUPS: List[Tuple[str, int, int]] = [  # host, family, flags
    ("localhost", socket.AF_INET, 0),  # AF_INET: some hosts files also give it ::1
    ("127.0.0.1", 0, 0),
    ("::1", 0, 0),
    ("192.0.2.10", 0, 0),  # a numeric host (TEST-NET-1, reserved for documentation)
    ("no-such-host.invalid", 0, socket.AI_NUMERICHOST),
]


def main() -> None:
    loop = uvffi.Loop()
    results: List[str] = []

    def done(host: str) -> Any:
        def on_resolved(result: Optional[List[dns.AddrinfoResult]], error: Optional[int]) -> None:
            if error is not None:
                results.append(f"{host}: error {errorcode[error]}")
            else:
                assert result is not None
                addresses = sorted({r.sockaddr[0] for r in result if r.sockaddr is not None})
                results.append(f"{host}: {', '.join(addresses)}")
        return on_resolved

    requests = [dns.getaddrinfo(loop, host, 8080, family, socket.SOCK_STREAM, 0, flags, callback=done(host))
                for host, family, flags in LOOKUPS]
    pending = sum(r.pending for r in requests)
    print(f"submitted {len(requests)} lookups; pending before loop.run(): {pending}")
    loop.run()  # the lookups run on the thread pool; each callback runs here, on the loop thread
    print(f"callbacks run: {len(results)}; pending after loop.run(): {sum(r.pending for r in requests)}")
    for line in sorted(results):
        print(line)
    loop.close()


if __name__ == "__main__":
    main()
