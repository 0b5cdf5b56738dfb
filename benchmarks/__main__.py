"""Run every benchmark module in this package, in order."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main() -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n== {name.removeprefix('bench_')}: {module.__doc__.splitlines()[0]}")
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
