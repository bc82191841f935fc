"""Runs with nothing left to check still succeed, with every row accounted for."""

from __future__ import annotations

from pathlib import Path

from igrt_edits.config import Config
from igrt_edits.run.check import run_check

SAMPLES = Path(__file__).resolve().parent.parent / "sample_claims"


def test_header_only_csv_is_a_valid_empty_extract(tmp_path, catalog):
    header = (SAMPLES / "radonc_demo.csv").read_text(encoding="utf-8").splitlines()[0]
    empty = tmp_path / "empty.csv"
    empty.write_text(header + "\n", encoding="utf-8")
    _, _, result = run_check([str(empty)], Config(), catalog)
    assert result.findings.empty
    assert result.totals() == {
        "rows_read": 0,
        "rows_checked": 0,
        "rows_rejected": 0,
        "rows_out_of_scope": 0,
    }


def test_every_line_rejected_as_a_repeat(catalog):
    # The same claims in two files: every claim line appears twice, so every row is rejected.
    paths = [str(SAMPLES / "radonc_demo.csv"), str(SAMPLES / "radonc_demo.parquet")]
    _, _, result = run_check(paths, Config(), catalog)
    assert result.findings.empty
    assert result.totals()["rows_rejected"] == result.totals()["rows_read"] == 872
