"""Run every benchmark in this folder and print its figures: `make bench`."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent

if __name__ == "__main__":
    # The fault soak is long and starts servers of its own: `make soak` runs it.
    names = sys.argv[1:] or sorted(
        p.stem for p in HERE.glob("*.py") if p.stem not in {"run", "soak"}
    )
    for name in names:
        print(f"\n== {name} ==", flush=True)
        runpy.run_path(str(HERE / f"{name}.py"), run_name="__main__")
