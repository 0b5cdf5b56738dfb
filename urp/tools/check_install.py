"""Check the installed environment after `make install`.

Rasa 3.6.21 declares ``matplotlib<3.6``; 3.5 has no wheel for Python 3.11, so the lock
pins 3.7 (used only by ``rasa test`` plots). It also declares ``aiohttp<3.10``, and every
3.9 release has published vulnerabilities in the HTTP server that the console and the demo
site expose (docs/security.md, "Dipendenze"): the lock pins 3.14, whose client API, the only
part Rasa uses, is the same. Any other broken requirement fails.
"""

from __future__ import annotations

import subprocess
import sys

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
