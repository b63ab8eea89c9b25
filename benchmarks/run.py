"""Run every benchmark in this folder and print its figures: `make bench`."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent

if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.stem for p in HERE.glob("*.py") if p.stem != "run")
    for name in names:
        print(f"\n== {name} ==", flush=True)
        runpy.run_path(str(HERE / f"{name}.py"), run_name="__main__")
