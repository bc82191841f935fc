#!/usr/bin/env python3
"""Set up igrt-edits in a local virtual environment and run it. Needs only Python 3.11+.

python3 tasks.py demo        # install, then lint the bundled sample claims
python3 tasks.py test        # install with test tools, then run the test suite
python3 tasks.py corpus      # check every bad input of tests/corpus/; fail on a traceback
python3 tasks.py spark-test  # the same suite, Spark tests included, in .venv-spark (needs Java)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
SPARK_VENV = ROOT / ".venv-spark"
DEMO = ["sample_claims/radonc_demo.csv"]
CORPUS = ROOT / "tests" / "corpus"


def bin_dir(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts" if os.name == "nt" else "bin")


BIN = bin_dir(VENV)


def run(*command: str | Path) -> int:
    print("+", " ".join(str(c) for c in command), flush=True)
    return subprocess.call([str(c) for c in command], cwd=ROOT)


def install(extra: str, venv_dir: Path = VENV, constraints: str = "constraints.txt") -> None:
    """Create the environment and install the project (editable) with the pinned versions."""
    python = bin_dir(venv_dir) / "python"
    if not python.exists() and not python.with_suffix(".exe").exists():
        print(f"creating {venv_dir}", flush=True)
        venv.EnvBuilder(with_pip=True).create(venv_dir)
    stamp = venv_dir / f".installed-{extra}"
    inputs = [ROOT / "pyproject.toml", ROOT / constraints]
    if stamp.exists() and all(p.stat().st_mtime <= stamp.stat().st_mtime for p in inputs):
        return
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    target = f".[{extra}]" if extra else "."
    if run(*pip, "-c", constraints, "-e", target) != 0:
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


def corpus() -> int:
    install("")
    return run_corpus([BIN / "igrt-edits"])


def run_corpus(command: list[str | Path]) -> int:
    """Run `check` on every case of tests/corpus/cases.toml, in memory and streaming; non-zero
    on a traceback or an exit status other than the case's."""
    cases = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
    runs = [(case, mode) for case in cases for mode in ("--no-stream", "--stream")]
    failed = tracebacks = 0
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(os.cpu_count()) as pool:
        futures = [
            pool.submit(_run_case, command, case, mode, Path(scratch) / str(i))
            for i, (case, mode) in enumerate(runs)
        ]
        for (case, mode), future in zip(runs, futures, strict=True):
            status, stderr = future.result()
            ok = status == case["exit"] and "Traceback" not in stderr
            failed += not ok
            tracebacks += "Traceback" in stderr
            mark = "ok  " if ok else "FAIL"
            print(f"{mark} exit {status} (expected {case['exit']})  {case['name']} {mode}")
            if not ok:
                print(stderr, flush=True)
    print(f"{len(runs)} runs of {len(cases)} cases: {failed} failed, {tracebacks} with a traceback")
    return 1 if failed else 0


def _run_case(command: list[str | Path], case: dict, mode: str, scratch: Path) -> tuple[int, str]:
    """(exit status, stderr) of one case, run from the corpus directory."""
    outputs = ["--format", "json", "-o", f"{scratch}.json", "--rejects", f"{scratch}.csv"]
    args = [*command, "check", *case["inputs"], *case.get("args", []), mode, *outputs]
    done = subprocess.run(
        [str(a) for a in args],
        cwd=CORPUS,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    return done.returncode, done.stderr


def spark_test() -> int:
    """The whole suite with PySpark and pandas 2 (constraints-spark.txt): Spark runs included."""
    install("spark,test", SPARK_VENV, "constraints-spark.txt")
    python = bin_dir(SPARK_VENV) / "python"
    os.environ["IGRT_EDITS_REQUIRE_SPARK"] = "1"  # the Spark tests must run here, not skip
    return run(python, "-m", "pytest", *(sys.argv[2:] or ["-rs"]))


if __name__ == "__main__":
    commands = {"demo": demo, "test": test, "corpus": corpus, "spark-test": spark_test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]]())
