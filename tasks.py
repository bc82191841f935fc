#!/usr/bin/env python3
"""Set up igrt-edits in a local virtual environment and run it. Needs only Python 3.11+.

python3 tasks.py demo    # install, then lint the bundled sample claims
python3 tasks.py test    # install with test tools, then run the test suite
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
DEMO = ["sample_claims/radonc_demo.csv"]


def run(*command: str | Path) -> int:
    print("+", " ".join(str(c) for c in command), flush=True)
    return subprocess.call([str(c) for c in command], cwd=ROOT)


def install(extra: str) -> None:
    """Create .venv and install the project (editable) with the pinned versions."""
    if not (BIN / "python").exists() and not (BIN / "python.exe").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extra}"
    inputs = [ROOT / "pyproject.toml", ROOT / "constraints.txt"]
    if stamp.exists() and all(p.stat().st_mtime <= stamp.stat().st_mtime for p in inputs):
        return
    pip = [BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    target = f".[{extra}]" if extra else "."
    if run(*pip, "-c", "constraints.txt", "-e", target) != 0:
        sys.exit("installation failed")
    stamp.touch()


def demo() -> int:
    install("")
    status = run(BIN / "igrt-edits", "check", *DEMO)
    if status == 1:
        print("\nexit status 1: the demo extract has error findings, as intended.")
        return 0
    return status


def test() -> int:
    install("test")
    lint = run(BIN / "ruff", "check", "igrt_edits", "tests", "tasks.py")
    tests = run(BIN / "python", "-m", "pytest", *sys.argv[2:])
    return lint or tests


if __name__ == "__main__":
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]]())
