"""``python -m rasa_patches``: which patches this environment would install, and whether
the installed Rasa is one they were written for (exit status 1 if not). Installs nothing."""

from __future__ import annotations

import sys

from rasa_patches import (
    OFF_ENV,
    PATCHES,
    RasaPatchesRefused,
    check_rasa_version,
    installed_rasa_version,
    switched_off,
)


def main() -> int:
    try:
        off = switched_off()
    except RasaPatchesRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    print(f"Rasa {installed_rasa_version()}; {OFF_ENV}={','.join(sorted(off)) or '(vuoto)'}")
    for patch in PATCHES:
        state = "spenta" if patch.name in off else "attiva"
        versions = ", ".join(patch.rasa_versions) if patch.rasa_versions else "qualsiasi"
        print(f"  {patch.name:<20} {state:<7} Rasa {versions:<10} {patch.replaces}")
    try:
        check_rasa_version(patch for patch in PATCHES if patch.name not in off)
    except RasaPatchesRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
