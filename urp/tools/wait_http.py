"""Wait until HTTP endpoints answer, failing early if a watched process exits."""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except (urllib.error.URLError, OSError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(urls: list[str], timeout: float, pids: list[int]) -> bool:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        if not all(_alive(pid) for pid in pids):
            return False
        pending = [url for url in pending if not _answers(url)]
        if pending:
            time.sleep(0.5)
    return not pending


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--pids", type=int, nargs="*", default=[])
    args = parser.parse_args()
    if wait_for(args.urls, args.timeout, args.pids):
        return 0
    print(f"Servizi non pronti entro {args.timeout:.0f} s: {' '.join(args.urls)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
