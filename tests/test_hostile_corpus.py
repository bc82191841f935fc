"""Every file of the bad-input corpus (tests/corpus/) gives exactly its outcome in cases.toml.

Each case runs the `check` command in-process from the corpus directory, in memory and in
streaming mode. A run that cannot be
done exits 2 with one actionable line on stderr; any other run finishes, accounts for every
row and reports each rejected row with its file, spreadsheet row number and reason.
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from corpus_parquet import TRUNCATED, tables

from igrt_edits.cli import main

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST = CORPUS / "cases.toml"
CASES: list[dict[str, Any]] = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["case"]
ACCOUNTING = ("read", "checked", "rejected", "out_of_scope")
# A numeric overflow or invalid cast on bad input is a bug even when the outcome looks right.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def run_check(args: list[str], tmp_path: Path, monkeypatch) -> tuple[Any, Path, Path]:
    """Run `igrt-edits check ARGS` from the corpus directory with JSON and rejects outputs."""
    monkeypatch.chdir(CORPUS)
    out, rejects = tmp_path / "out.json", tmp_path / "rejects.csv"
    command = ["check", *args, "--format", "json", "-o", str(out), "--rejects", str(rejects)]
    result = CliRunner().invoke(main, command)
    return result, out, rejects


def assert_no_traceback(result) -> None:
    """The command ended through its own exit, not an exception."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"unhandled {result.exception!r}") from result.exception
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["--no-stream", "--stream"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case(case: dict[str, Any], mode: str, tmp_path: Path, monkeypatch) -> None:
    """In memory and streaming through partitions, every case has the same outcome."""
    result, out, rejects = run_check(
        [*case["inputs"], *case.get("args", []), mode], tmp_path, monkeypatch
    )
    assert_no_traceback(result)
    assert result.exit_code == case["exit"], result.stderr
    if case["exit"] == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        pattern = ".*".join(re.escape(part) for part in case["error"].split("*"))
        assert re.fullmatch("igrt-edits: error: " + pattern, lines[0]), lines[0]
        assert not out.exists() and not rejects.exists()  # nothing written before the stop
        return
    summary = json.loads(out.read_text(encoding="utf-8"))["summary"]
    findings = json.loads(out.read_text(encoding="utf-8"))["findings"]
    rows = {key: summary[f"rows_{key}"] for key in ACCOUNTING}
    assert rows == case["rows"]
    assert rows["read"] == rows["checked"] + rows["rejected"] + rows["out_of_scope"]
    got = sorted([f["rule_id"], f["claim_id"], f["line_number"]] for f in findings)
    assert got == sorted(case["findings"])
    with rejects.open(encoding="utf-8", newline="") as handle:
        rejected = [
            [r["source_file"], int(r["source_row"]), r["column"], r["reason"]]
            for r in csv.DictReader(handle)
        ]
    assert rejected == case["rejects"]
    assert summary["skipped_files"] == case.get("skipped", [])


def _corpus_files() -> set[str]:
    return {
        p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file() and p != MANIFEST
    }


def _covered(case: dict[str, Any]) -> set[str]:
    named = [*case["inputs"], *case.get("args", []), *case.get("covers", [])]
    covered = set()
    for name in named:
        path = CORPUS / name
        if path.is_dir():
            covered |= {p.relative_to(CORPUS).as_posix() for p in path.rglob("*") if p.is_file()}
        elif path.is_file():
            covered.add(name)
    return covered


def test_every_corpus_file_has_a_case() -> None:
    covered = set().union(*(_covered(c) for c in CASES))
    assert _corpus_files() - covered == set()


def test_case_names_are_unique() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))


def test_parquet_corpus_matches_its_builder() -> None:
    directory = CORPUS / "parquet"
    for name, table in tables().items():
        assert pq.read_table(directory / name).equals(table), name
    whole = (directory / "int_codes.parquet").read_bytes()
    assert (directory / TRUNCATED).read_bytes() == whole[:200]


def test_corpus_command_fails_on_a_traceback(capsys) -> None:
    """`python3 tasks.py corpus` turns any traceback into a failure it reports."""
    import sys

    import tasks

    crash = "import sys; sys.stderr.write('Traceback (most recent call last):'); sys.exit(1)"
    assert tasks.run_corpus([sys.executable, "-c", crash]) == 1
    report = capsys.readouterr().out
    runs = 2 * len(CASES)  # in memory and streaming
    assert f"{runs} runs of {len(CASES)} cases: {runs} failed, {runs} with a traceback" in report
